//! VP8 and VP9 over the system libvpx, through the raw `vpx_sys` bindings. All the `unsafe` of the VP8/VP9 path is
//! in this file.
//!
//! Encoder settings follow libwebrtc's real-time ones (`libvpx_vp8_encoder.cc`, `libvpx_vp9_encoder.cc`): one pass,
//! no lag, constant bitrate with a 0.5 / 0.6 / 1 s buffer model, the `VPX_DL_REALTIME` deadline, a high
//! `cpu-used`, error resilience on, keyframes capped at 9x an average frame, no spatial resizing. Frame dropping is
//! off, so every frame in gives one frame out.

use std::ffi::CStr;
use std::mem::MaybeUninit;
use std::os::raw::{c_int, c_uint, c_ulong};
use std::ptr;

use stoa_proto::{ErrorCode, RtcError};
use vpx_sys::vp8_dec_control_id::VP8D_GET_FRAME_CORRUPTED;
use vpx_sys::vp8e_enc_control_id::{
    VP8E_SET_CPUUSED, VP8E_SET_MAX_INTRA_BITRATE_PCT, VP8E_SET_NOISE_SENSITIVITY, VP8E_SET_STATIC_THRESHOLD,
    VP8E_SET_TOKEN_PARTITIONS, VP9E_SET_AQ_MODE, VP9E_SET_NOISE_SENSITIVITY, VP9E_SET_ROW_MT, VP9E_SET_TILE_COLUMNS,
};
use vpx_sys::{
    VPX_DECODER_ABI_VERSION, VPX_DL_REALTIME, VPX_EFLAG_FORCE_KF, VPX_ENCODER_ABI_VERSION, VPX_ERROR_RESILIENT_DEFAULT,
    VPX_FRAME_IS_KEY, vpx_codec_ctx_t, vpx_codec_cx_pkt_kind, vpx_codec_dec_cfg_t, vpx_codec_enc_cfg_t,
    vpx_codec_err_t, vpx_enc_pass, vpx_image_t, vpx_img_fmt, vpx_kf_mode, vpx_rc_mode,
};

use super::{VideoCodec, VideoEncoderConfig, VideoFrame, codec_threads, corrupt};
use crate::media::unexpected;

/// Buffer model of the rate control, in milliseconds of the target bitrate (libwebrtc's values).
const BUF_INITIAL_MS: c_uint = 500;
const BUF_OPTIMAL_MS: c_uint = 600;
const BUF_SIZE_MS: c_uint = 1000;

/// A keyframe may be this many percent of an average frame (libwebrtc's `MaxIntraTarget`: half the optimal buffer).
fn max_intra_bitrate_pct(frame_rate: u32) -> c_int {
    let pct = BUF_OPTIMAL_MS as f32 * 0.5 * frame_rate as f32 / 10.0;
    (pct as c_int).max(300)
}

fn codec_error(ctx: &mut vpx_codec_ctx_t, err: vpx_codec_err_t) -> String {
    // SAFETY: libvpx returns static or context-owned NUL-terminated strings (or NULL for no detail).
    unsafe {
        let text = CStr::from_ptr(vpx_sys::vpx_codec_err_to_string(err)).to_string_lossy();
        let detail = vpx_sys::vpx_codec_error_detail(ctx);
        if detail.is_null() {
            text.into_owned()
        } else {
            format!("{text} ({})", CStr::from_ptr(detail).to_string_lossy())
        }
    }
}

/// A libvpx VP8 or VP9 encoder in real-time CBR mode.
pub(super) struct VpxEncoder {
    // Boxed: libvpx keeps pointers into the context and the configuration.
    ctx: Box<vpx_codec_ctx_t>,
    cfg: Box<vpx_codec_enc_cfg_t>,
    codec: VideoCodec,
    width: u32,
    height: u32,
}

// SAFETY: the context is owned by this value and only used through `&mut self`; libvpx contexts have no thread
// affinity.
unsafe impl Send for VpxEncoder {}

impl VpxEncoder {
    pub(super) fn new(config: &VideoEncoderConfig) -> Result<Self, RtcError> {
        let fail = |what: &str, err: vpx_codec_err_t| {
            // SAFETY: a static string.
            let text = unsafe { CStr::from_ptr(vpx_sys::vpx_codec_err_to_string(err)) };
            unexpected(format!(
                "{} encoder {what}: {}",
                config.codec.stats_name(),
                text.to_string_lossy()
            ))
        };
        // SAFETY: the interface getters return static descriptors; the config and context are plain C structs that
        // libvpx fills in (zeroed is their documented initial state).
        unsafe {
            let iface = match config.codec {
                VideoCodec::Vp9 => vpx_sys::vpx_codec_vp9_cx(),
                _ => vpx_sys::vpx_codec_vp8_cx(),
            };
            let mut cfg: Box<vpx_codec_enc_cfg_t> = Box::new(MaybeUninit::zeroed().assume_init());
            let err = vpx_sys::vpx_codec_enc_config_default(iface, &mut *cfg, 0);
            if err != vpx_codec_err_t::VPX_CODEC_OK {
                return Err(fail("default configuration", err));
            }
            let threads = codec_threads(config.width, config.height);
            cfg.g_w = config.width;
            cfg.g_h = config.height;
            cfg.g_profile = 0;
            cfg.g_threads = threads;
            cfg.g_timebase.num = 1;
            cfg.g_timebase.den = super::VIDEO_CLOCK_RATE as c_int;
            cfg.g_pass = vpx_enc_pass::VPX_RC_ONE_PASS;
            cfg.g_lag_in_frames = 0;
            cfg.g_error_resilient = VPX_ERROR_RESILIENT_DEFAULT;
            cfg.rc_end_usage = vpx_rc_mode::VPX_CBR;
            cfg.rc_target_bitrate = config.bitrate_kbps;
            cfg.rc_dropframe_thresh = 0;
            cfg.rc_resize_allowed = 0;
            cfg.rc_min_quantizer = 2;
            cfg.rc_max_quantizer = if config.codec == VideoCodec::Vp9 { 52 } else { 56 };
            cfg.rc_undershoot_pct = if config.codec == VideoCodec::Vp9 { 50 } else { 100 };
            cfg.rc_overshoot_pct = if config.codec == VideoCodec::Vp9 { 50 } else { 15 };
            cfg.rc_buf_initial_sz = BUF_INITIAL_MS;
            cfg.rc_buf_optimal_sz = BUF_OPTIMAL_MS;
            cfg.rc_buf_sz = BUF_SIZE_MS;
            if config.keyframe_interval == 0 {
                cfg.kf_mode = vpx_kf_mode::VPX_KF_DISABLED;
            } else {
                cfg.kf_mode = vpx_kf_mode::VPX_KF_AUTO;
                cfg.kf_min_dist = 0;
                cfg.kf_max_dist = config.keyframe_interval;
            }

            let mut ctx: Box<vpx_codec_ctx_t> = Box::new(MaybeUninit::zeroed().assume_init());
            let err = vpx_sys::vpx_codec_enc_init_ver(&mut *ctx, iface, &*cfg, 0, VPX_ENCODER_ABI_VERSION as c_int);
            if err != vpx_codec_err_t::VPX_CODEC_OK {
                return Err(fail("creation", err));
            }
            // From here on `Drop` destroys the context.
            let mut encoder = VpxEncoder {
                ctx,
                cfg,
                codec: config.codec,
                width: config.width,
                height: config.height,
            };
            let intra = max_intra_bitrate_pct(config.frame_rate);
            match config.codec {
                VideoCodec::Vp9 => {
                    let speed = if u64::from(config.width) * u64::from(config.height) <= 640 * 480 {
                        7
                    } else {
                        8
                    };
                    encoder.control("cpu-used", VP8E_SET_CPUUSED as c_int, speed)?;
                    encoder.control("row-mt", VP9E_SET_ROW_MT as c_int, 1)?;
                    encoder.control(
                        "tile columns",
                        VP9E_SET_TILE_COLUMNS as c_int,
                        threads.max(1).ilog2() as c_int,
                    )?;
                    // Cyclic refresh: intra-coded stripes spread over time, the real-time default.
                    encoder.control("aq-mode", VP9E_SET_AQ_MODE as c_int, 3)?;
                    encoder.control("noise sensitivity", VP9E_SET_NOISE_SENSITIVITY as c_int, 0)?;
                    encoder.control("static threshold", VP8E_SET_STATIC_THRESHOLD as c_int, 1)?;
                    encoder.control("max intra bitrate", VP8E_SET_MAX_INTRA_BITRATE_PCT as c_int, intra)?;
                }
                _ => {
                    encoder.control("cpu-used", VP8E_SET_CPUUSED as c_int, -6)?;
                    encoder.control("noise sensitivity", VP8E_SET_NOISE_SENSITIVITY as c_int, 0)?;
                    encoder.control("static threshold", VP8E_SET_STATIC_THRESHOLD as c_int, 1)?;
                    encoder.control("token partitions", VP8E_SET_TOKEN_PARTITIONS as c_int, 0)?;
                    encoder.control("max intra bitrate", VP8E_SET_MAX_INTRA_BITRATE_PCT as c_int, intra)?;
                }
            }
            Ok(encoder)
        }
    }

    fn control(&mut self, what: &str, id: c_int, value: c_int) -> Result<(), RtcError> {
        // SAFETY: an initialised context; every control used here takes one int.
        let err = unsafe { vpx_sys::vpx_codec_control_(&mut *self.ctx, id, value) };
        if err != vpx_codec_err_t::VPX_CODEC_OK {
            return Err(unexpected(format!(
                "{} encoder {what}: {}",
                self.codec.stats_name(),
                codec_error(&mut self.ctx, err)
            )));
        }
        Ok(())
    }

    /// Encodes one frame (already validated, of the configured size) presented at `pts` (90 kHz) for `duration`.
    /// Returns the frames produced: `(data, keyframe, pts)`.
    pub(super) fn encode(
        &mut self,
        frame: &VideoFrame,
        pts: i64,
        duration: u32,
        force_keyframe: bool,
    ) -> Result<Vec<(Vec<u8>, bool, i64)>, RtcError> {
        if frame.width != self.width || frame.height != self.height {
            return Err(unexpected("frame size differs from the encoder's"));
        }
        let expected = VideoFrame::i420_len(self.width, self.height).unwrap_or(usize::MAX);
        if frame.data.len() != expected {
            return Err(unexpected("frame data length differs from the encoder's"));
        }
        let flags = if force_keyframe {
            VPX_EFLAG_FORCE_KF as vpx_sys::vpx_enc_frame_flags_t
        } else {
            0
        };
        // SAFETY: `image` describes `frame.data` (checked above to hold exactly one I420 picture of the configured
        // size); libvpx only reads the input image, and the wrap does not outlive this call. Packets point into
        // encoder-owned memory valid until the next encode call; they are copied before returning.
        unsafe {
            let mut image: vpx_image_t = MaybeUninit::zeroed().assume_init();
            let wrapped = vpx_sys::vpx_img_wrap(
                &mut image,
                vpx_img_fmt::VPX_IMG_FMT_I420,
                self.width,
                self.height,
                1,
                frame.data.as_ptr().cast_mut(),
            );
            if wrapped.is_null() {
                return Err(unexpected("libvpx could not wrap the I420 frame"));
            }
            let err = vpx_sys::vpx_codec_encode(
                &mut *self.ctx,
                &image,
                pts,
                c_ulong::from(duration),
                flags,
                c_ulong::from(VPX_DL_REALTIME),
            );
            if err != vpx_codec_err_t::VPX_CODEC_OK {
                return Err(unexpected(format!(
                    "{} encoding failed: {}",
                    self.codec.stats_name(),
                    codec_error(&mut self.ctx, err)
                )));
            }
            let mut out = Vec::with_capacity(1);
            let mut iter: vpx_sys::vpx_codec_iter_t = ptr::null();
            loop {
                let pkt = vpx_sys::vpx_codec_get_cx_data(&mut *self.ctx, &mut iter);
                if pkt.is_null() {
                    break;
                }
                if (*pkt).kind != vpx_codec_cx_pkt_kind::VPX_CODEC_CX_FRAME_PKT {
                    continue;
                }
                let f = (*pkt).data.frame;
                if f.buf.is_null() || f.sz == 0 {
                    continue;
                }
                let data = std::slice::from_raw_parts(f.buf.cast::<u8>(), f.sz as usize).to_vec();
                out.push((data, f.flags & VPX_FRAME_IS_KEY != 0, f.pts));
            }
            Ok(out)
        }
    }

    pub(super) fn set_bitrate_kbps(&mut self, kbps: u32) -> Result<(), RtcError> {
        let previous = self.cfg.rc_target_bitrate;
        self.cfg.rc_target_bitrate = kbps;
        // SAFETY: an initialised context and a configuration that differs from the active one in the bitrate only.
        let err = unsafe { vpx_sys::vpx_codec_enc_config_set(&mut *self.ctx, &*self.cfg) };
        if err != vpx_codec_err_t::VPX_CODEC_OK {
            self.cfg.rc_target_bitrate = previous;
            return Err(unexpected(format!(
                "{} encoder bitrate: {}",
                self.codec.stats_name(),
                codec_error(&mut self.ctx, err)
            )));
        }
        Ok(())
    }
}

impl Drop for VpxEncoder {
    fn drop(&mut self) {
        // SAFETY: the context was initialised in `new` (a failed init never builds a `VpxEncoder`).
        unsafe {
            vpx_sys::vpx_codec_destroy(&mut *self.ctx);
        }
    }
}

/// A libvpx VP8 or VP9 decoder.
pub(super) struct VpxDecoder {
    ctx: Box<vpx_codec_ctx_t>,
    codec: VideoCodec,
}

// SAFETY: as for `VpxEncoder`.
unsafe impl Send for VpxDecoder {}

impl VpxDecoder {
    pub(super) fn new(codec: VideoCodec) -> Result<Self, RtcError> {
        // SAFETY: static interface descriptors; a zeroed context is what `vpx_codec_dec_init_ver` expects.
        unsafe {
            let iface = match codec {
                VideoCodec::Vp9 => vpx_sys::vpx_codec_vp9_dx(),
                _ => vpx_sys::vpx_codec_vp8_dx(),
            };
            let cfg = vpx_codec_dec_cfg_t { threads: 1, w: 0, h: 0 };
            let mut ctx: Box<vpx_codec_ctx_t> = Box::new(MaybeUninit::zeroed().assume_init());
            let err = vpx_sys::vpx_codec_dec_init_ver(&mut *ctx, iface, &cfg, 0, VPX_DECODER_ABI_VERSION as c_int);
            if err != vpx_codec_err_t::VPX_CODEC_OK {
                let text = CStr::from_ptr(vpx_sys::vpx_codec_err_to_string(err));
                return Err(unexpected(format!(
                    "{} decoder creation: {}",
                    codec.stats_name(),
                    text.to_string_lossy()
                )));
            }
            Ok(VpxDecoder { ctx, codec })
        }
    }

    /// Decodes one whole frame; `Ok(None)` when it shows no picture.
    pub(super) fn decode(&mut self, data: &[u8]) -> Result<Option<VideoFrame>, RtcError> {
        let len = c_uint::try_from(data.len()).map_err(|_| corrupt(self.codec, "frame larger than 4 GiB"))?;
        // SAFETY: `data` is valid for `len` bytes during the call; images returned by `vpx_codec_get_frame` are
        // decoder-owned and valid until the next decode call, and are copied out before returning.
        unsafe {
            let err = vpx_sys::vpx_codec_decode(&mut *self.ctx, data.as_ptr(), len, ptr::null_mut(), 0);
            if err != vpx_codec_err_t::VPX_CODEC_OK {
                return Err(corrupt(self.codec, codec_error(&mut self.ctx, err)));
            }
            let mut iter: vpx_sys::vpx_codec_iter_t = ptr::null();
            let mut last: Option<VideoFrame> = None;
            loop {
                let img = vpx_sys::vpx_codec_get_frame(&mut *self.ctx, &mut iter);
                if img.is_null() {
                    break;
                }
                last = Some(self.copy_image(&*img)?);
            }
            // Asked after `get_frame`: VP9 answers for the last frame handed out.
            let mut corrupted: c_int = 0;
            let err = vpx_sys::vpx_codec_control_(&mut *self.ctx, VP8D_GET_FRAME_CORRUPTED as c_int, &mut corrupted);
            if err == vpx_codec_err_t::VPX_CODEC_OK && corrupted != 0 {
                return Err(corrupt(self.codec, "the decoder marked the frame corrupted"));
            }
            Ok(last)
        }
    }

    /// # Safety
    /// `img` must be a decoder-owned image whose planes are valid for its strides and size.
    unsafe fn copy_image(&self, img: &vpx_image_t) -> Result<VideoFrame, RtcError> {
        if img.fmt != vpx_img_fmt::VPX_IMG_FMT_I420 && img.fmt != vpx_img_fmt::VPX_IMG_FMT_YV12 {
            return Err(RtcError::new(
                ErrorCode::NotSupported,
                format!(
                    "{} stream in {:?}: only 8-bit 4:2:0 (profile 0) is supported",
                    self.codec.stats_name(),
                    img.fmt
                ),
            ));
        }
        let (w, h) = (img.d_w as usize, img.d_h as usize);
        let (ys, us, vs) = (img.stride[0], img.stride[1], img.stride[2]);
        let (u_plane, v_plane, u_stride, v_stride) = if img.fmt == vpx_img_fmt::VPX_IMG_FMT_YV12 {
            (img.planes[2], img.planes[1], vs, us)
        } else {
            (img.planes[1], img.planes[2], us, vs)
        };
        let bad = || {
            unexpected(format!(
                "{} decoder returned an unusable image",
                self.codec.stats_name()
            ))
        };
        if w < 2 || h < 2 || ys <= 0 || u_stride <= 0 || v_stride <= 0 {
            return Err(bad());
        }
        if img.planes[0].is_null() || u_plane.is_null() || v_plane.is_null() {
            return Err(bad());
        }
        let (ew, eh) = (w & !1, h & !1);
        let plane_len = |stride: c_int, width: usize, rows: usize| (stride as usize) * (rows - 1) + width;
        // SAFETY (caller): each plane holds `rows` rows of `stride` bytes; the slices end at the last needed byte.
        let (y, u, v) = unsafe {
            (
                std::slice::from_raw_parts(img.planes[0], plane_len(ys, ew, eh)),
                std::slice::from_raw_parts(u_plane, plane_len(u_stride, ew / 2, eh / 2)),
                std::slice::from_raw_parts(v_plane, plane_len(v_stride, ew / 2, eh / 2)),
            )
        };
        VideoFrame::from_strided_planes(ew, eh, y, ys as usize, u, u_stride as usize, v, v_stride as usize)
            .ok_or_else(bad)
    }
}

impl Drop for VpxDecoder {
    fn drop(&mut self) {
        // SAFETY: initialised in `new`.
        unsafe {
            vpx_sys::vpx_codec_destroy(&mut *self.ctx);
        }
    }
}

/// Whether a VP8 frame is a keyframe (RFC 6386 9.1: frame tag bit 0 clear, then the start code 9d 01 2a).
pub(super) fn vp8_is_keyframe(data: &[u8]) -> bool {
    data.len() >= 10 && data[0] & 0x01 == 0 && data[3..6] == [0x9d, 0x01, 0x2a]
}

/// Whether a VP9 frame (or the first frame of a superframe) is a keyframe, from its uncompressed header:
/// `frame_marker`(2) = 2, `profile_low_bit`, `profile_high_bit`, [`reserved_zero` for profile 3],
/// `show_existing_frame`, `frame_type` (0 = key).
pub(super) fn vp9_is_keyframe(data: &[u8]) -> bool {
    let Some(&b) = data.first() else {
        return false;
    };
    if b >> 6 != 0b10 {
        return false;
    }
    let profile = ((b >> 5) & 1) | (((b >> 4) & 1) << 1);
    let mut bit = 4; // next bit index from the MSB
    if profile == 3 {
        bit += 1;
    }
    let read = |i: u32| -> Option<u8> { data.get((i / 8) as usize).map(|byte| (byte >> (7 - i % 8)) & 1) };
    if read(bit) != Some(0) {
        return false; // show_existing_frame
    }
    read(bit + 1) == Some(0)
}

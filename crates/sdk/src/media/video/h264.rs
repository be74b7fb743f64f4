//! H.264 over OpenH264 (the `openh264` crate, built from its bundled source), and Annex-B helpers.
//!
//! Encoder settings: Constrained Baseline (profile 66 with `constraint_set1`: CAVLC, no B-frames, one reference
//! frame), the camera real-time usage, bitrate rate control without frame skipping, low complexity, one slice per
//! thread, constant SPS/PPS ids. Every IDR access unit carries the SPS and PPS in front of it.

use openh264::encoder::{
    BitRate, Complexity, Encoder, EncoderConfig, FrameRate, FrameType, IntraFramePeriod, Profile, RateControlMode,
    SpsPpsStrategy, UsageType,
};
use openh264::formats::YUVSource;
use openh264::{OpenH264API, Timestamp};
use openh264_sys2::{
    ENCODER_OPTION_BITRATE, ENCODER_OPTION_MAX_BITRATE, ENCODER_OPTION_TRACE_LEVEL, SBitrateInfo, SPATIAL_LAYER_ALL,
    WELS_LOG_QUIET,
};
use stoa_proto::RtcError;

use super::{VideoCodec, VideoEncoderConfig, VideoFrame, codec_threads, corrupt};
use crate::media::unexpected;

/// NAL unit types (ITU-T H.264 table 7-1) the pipelines look at.
const NAL_SLICE: u8 = 1;
const NAL_IDR: u8 = 5;
const NAL_SPS: u8 = 7;
const NAL_PPS: u8 = 8;

const START_CODE: [u8; 4] = [0, 0, 0, 1];

/// The NAL units of an Annex-B byte stream (without their start codes). Bytes before the first start code are
/// ignored; trailing zero bytes of a unit (part of the next 4-byte start code) are dropped.
pub(super) fn nal_units(data: &[u8]) -> Vec<&[u8]> {
    let mut starts = Vec::new();
    let mut i = 0;
    while i + 3 <= data.len() {
        if data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 1 {
            starts.push(i + 3);
            i += 3;
        } else {
            i += 1;
        }
    }
    let mut units = Vec::with_capacity(starts.len());
    for (k, &start) in starts.iter().enumerate() {
        let mut end = starts.get(k + 1).map_or(data.len(), |next| next - 3);
        while end > start && data[end - 1] == 0 {
            end -= 1;
        }
        if end > start {
            units.push(&data[start..end]);
        }
    }
    units
}

fn nal_type(unit: &[u8]) -> u8 {
    unit.first().map_or(0, |b| b & 0x1f)
}

/// Whether an Annex-B access unit holds an IDR slice.
pub(super) fn is_keyframe(data: &[u8]) -> bool {
    nal_units(data).iter().any(|u| nal_type(u) == NAL_IDR)
}

/// Whether an Annex-B access unit holds any coded slice (IDR or not), as opposed to parameter sets or SEI only.
pub(super) fn has_slices(data: &[u8]) -> bool {
    nal_units(data)
        .iter()
        .any(|u| matches!(nal_type(u), NAL_SLICE | NAL_IDR))
}

/// A tightly packed I420 [`VideoFrame`] seen as OpenH264's input.
struct I420<'a>(&'a VideoFrame);

impl YUVSource for I420<'_> {
    fn dimensions(&self) -> (usize, usize) {
        (self.0.width as usize, self.0.height as usize)
    }

    fn strides(&self) -> (usize, usize, usize) {
        let w = self.0.width as usize;
        (w, w / 2, w / 2)
    }

    fn y(&self) -> &[u8] {
        self.0.y_plane()
    }

    fn u(&self) -> &[u8] {
        self.0.u_plane()
    }

    fn v(&self) -> &[u8] {
        self.0.v_plane()
    }
}

pub(super) struct H264Encoder {
    encoder: Encoder,
    config: VideoEncoderConfig,
    /// OpenH264 initialises itself on the first frame; options can only be changed after that.
    started: bool,
    /// The latest SPS and PPS, each with a start code, put in front of an IDR that comes without them.
    parameter_sets: Vec<u8>,
}

fn build_encoder(config: &VideoEncoderConfig) -> Result<Encoder, RtcError> {
    let threads = codec_threads(config.width, config.height);
    let encoder_config = EncoderConfig::new()
        .usage_type(UsageType::CameraVideoRealTime)
        .profile(Profile::Baseline)
        .rate_control_mode(RateControlMode::Bitrate)
        .bitrate(BitRate::from_bps(config.bitrate_kbps * 1000))
        .max_frame_rate(FrameRate::from_hz(config.frame_rate as f32))
        .skip_frames(false)
        .complexity(Complexity::Low)
        .intra_frame_period(IntraFramePeriod::from_num_frames(config.keyframe_interval))
        .sps_pps_strategy(SpsPpsStrategy::ConstantId)
        .num_threads(threads as u16);
    let mut encoder = Encoder::with_api_config(OpenH264API::from_source(), encoder_config)
        .map_err(|e| unexpected(format!("H264 encoder creation: {e}")))?;
    // OpenH264 logs warnings to stderr while it initialises (on the first frame), before the crate turns its log
    // off; the trace level is the one option it takes before initialisation.
    let mut quiet = WELS_LOG_QUIET as std::os::raw::c_int;
    // SAFETY: a created encoder; the option takes an int, which outlives the call.
    unsafe {
        encoder
            .raw_api()
            .set_option(ENCODER_OPTION_TRACE_LEVEL, (&raw mut quiet).cast());
    }
    Ok(encoder)
}

impl H264Encoder {
    pub(super) fn new(config: &VideoEncoderConfig) -> Result<Self, RtcError> {
        Ok(H264Encoder {
            encoder: build_encoder(config)?,
            config: *config,
            started: false,
            parameter_sets: Vec::new(),
        })
    }

    /// Encodes one frame (already validated, of the configured size) at `pts` (90 kHz). Returns the access unit
    /// and whether it is an IDR, or `None` when the encoder skipped the frame.
    pub(super) fn encode(
        &mut self,
        frame: &VideoFrame,
        pts: i64,
        force_keyframe: bool,
    ) -> Result<Option<(Vec<u8>, bool)>, RtcError> {
        if frame.width != self.config.width || frame.height != self.config.height {
            return Err(unexpected("frame size differs from the encoder's"));
        }
        if force_keyframe && self.started {
            self.encoder.force_intra_frame();
        }
        let millis = Timestamp::from_millis(pts.max(0) as u64 / 90);
        let bitstream = self
            .encoder
            .encode_at(&I420(frame), millis)
            .map_err(|e| unexpected(format!("H264 encoding failed: {e}")))?;
        self.started = true;
        let frame_type = bitstream.frame_type();
        let data = bitstream.to_vec();
        if data.is_empty() || matches!(frame_type, FrameType::Skip | FrameType::Invalid) {
            return Ok(None);
        }
        let keyframe = frame_type == FrameType::IDR;
        let units = nal_units(&data);
        let has = |t: u8| units.iter().any(|u| nal_type(u) == t);
        let (has_sps, has_pps) = (has(NAL_SPS), has(NAL_PPS));
        if has_sps && has_pps {
            self.parameter_sets.clear();
            for unit in units.iter().filter(|u| matches!(nal_type(u), NAL_SPS | NAL_PPS)) {
                self.parameter_sets.extend_from_slice(&START_CODE);
                self.parameter_sets.extend_from_slice(unit);
            }
        }
        if keyframe && !(has_sps && has_pps) && !self.parameter_sets.is_empty() {
            let mut with_sets = Vec::with_capacity(self.parameter_sets.len() + data.len());
            with_sets.extend_from_slice(&self.parameter_sets);
            with_sets.extend_from_slice(&data);
            return Ok(Some((with_sets, true)));
        }
        Ok(Some((data, keyframe)))
    }

    pub(super) fn set_bitrate_kbps(&mut self, kbps: u32) -> Result<(), RtcError> {
        if !self.started {
            // Nothing encoded yet: a fresh encoder with the new target loses nothing.
            let config = VideoEncoderConfig {
                bitrate_kbps: kbps,
                ..self.config
            };
            self.encoder = build_encoder(&config)?;
            self.config = config;
            return Ok(());
        }
        let bps = (kbps * 1000) as i32;
        let set = |encoder: &mut Encoder, option, bps: i32| {
            let mut info = SBitrateInfo {
                iLayer: SPATIAL_LAYER_ALL,
                iBitrate: bps,
            };
            // SAFETY: the encoder is initialised (a frame was encoded); both options take an `SBitrateInfo`, which
            // outlives the call.
            let rc = unsafe { encoder.raw_api().set_option(option, (&raw mut info).cast()) };
            if rc != 0 {
                return Err(unexpected(format!("H264 encoder bitrate: OpenH264 error {rc}")));
            }
            Ok(())
        };
        // The maximum first when going up, the target first when going down: the target never exceeds the maximum.
        if kbps >= self.config.bitrate_kbps {
            set(&mut self.encoder, ENCODER_OPTION_MAX_BITRATE, bps)?;
            set(&mut self.encoder, ENCODER_OPTION_BITRATE, bps)?;
        } else {
            set(&mut self.encoder, ENCODER_OPTION_BITRATE, bps)?;
            set(&mut self.encoder, ENCODER_OPTION_MAX_BITRATE, bps)?;
        }
        self.config.bitrate_kbps = kbps;
        Ok(())
    }
}

pub(super) struct H264Decoder {
    decoder: openh264::decoder::Decoder,
}

impl H264Decoder {
    pub(super) fn new() -> Result<Self, RtcError> {
        let decoder = openh264::decoder::Decoder::with_api_config(
            OpenH264API::from_source(),
            openh264::decoder::DecoderConfig::new(),
        )
        .map_err(|e| unexpected(format!("H264 decoder creation: {e}")))?;
        Ok(H264Decoder { decoder })
    }

    /// Decodes one Annex-B access unit; `Ok(None)` when it yields no picture (parameter sets only).
    pub(super) fn decode(&mut self, data: &[u8]) -> Result<Option<VideoFrame>, RtcError> {
        let units = nal_units(data);
        if units.is_empty() {
            return Err(corrupt(
                VideoCodec::H264,
                "no Annex-B NAL unit (start code 00 00 01) in the data",
            ));
        }
        if units.iter().any(|u| u[0] & 0x80 != 0) {
            return Err(corrupt(VideoCodec::H264, "a NAL unit has its forbidden_zero_bit set"));
        }
        if i32::try_from(data.len()).is_err() {
            return Err(corrupt(VideoCodec::H264, "access unit larger than 2 GiB"));
        }
        match self.decoder.decode(data) {
            Ok(Some(yuv)) => {
                let (w, h) = yuv.dimensions();
                let (ys, us, vs) = yuv.strides();
                VideoFrame::from_strided_planes(w, h, yuv.y(), ys, yuv.u(), us, yuv.v(), vs)
                    .map(Some)
                    .ok_or_else(|| unexpected("H264 decoder returned an unusable picture"))
            }
            Ok(None) => Ok(None),
            Err(e) => Err(corrupt(VideoCodec::H264, e)),
        }
    }
}

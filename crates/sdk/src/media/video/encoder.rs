//! The custom video track's encoder: I420 frames → VP8, VP9 or H.264 frames with RTP timestamps.

use std::fmt;

use stoa_proto::RtcError;

use super::h264::H264Encoder;
use super::preset::VideoEncoderConfig;
use super::vpx::VpxEncoder;
use super::{VIDEO_CLOCK_RATE, VideoCodec, VideoFrame, invalid_params};

/// One encoded video frame: what a packetizer splits into the RTP packets of one timestamp.
#[derive(Clone, PartialEq, Eq)]
pub struct EncodedVideo {
    /// VP8: one frame (RFC 6386); VP9: one frame or superframe; H.264: one Annex-B access unit (4-byte start codes),
    /// with the SPS and PPS in front of every IDR.
    pub data: Vec<u8>,
    /// A frame a decoder can start from (VP8/VP9 key frame, H.264 IDR).
    pub keyframe: bool,
    /// RTP timestamp (90 kHz), before the random initial offset a sender adds: the frame's position since the first
    /// frame, or the value given to [`VideoEncoderPipeline::encode_at`]. Wraps at 2³².
    pub rtp_timestamp: u32,
}

impl fmt::Debug for EncodedVideo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EncodedVideo")
            .field("len", &self.data.len())
            .field("keyframe", &self.keyframe)
            .field("rtp_timestamp", &self.rtp_timestamp)
            .finish()
    }
}

/// Counters of a [`VideoEncoderPipeline`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VideoEncoderStats {
    /// Frames accepted by `encode` / `encode_at`.
    pub frames_in: u64,
    /// Encoded frames produced.
    pub frames_out: u64,
    /// Of those, keyframes.
    pub keyframes: u64,
    /// Sum of encoded frame sizes.
    pub bytes: u64,
    /// Media time covered by the frames accepted, in 90 kHz units (each frame lasts until the next one's
    /// timestamp; the last one a nominal frame duration).
    pub duration_90k: u64,
}

impl VideoEncoderStats {
    /// Average encoded bitrate in bits per second over everything encoded so far (0 before the first frame).
    pub fn average_bitrate_bps(&self) -> f64 {
        if self.duration_90k == 0 {
            return 0.0;
        }
        self.bytes as f64 * 8.0 * f64::from(VIDEO_CLOCK_RATE) / self.duration_90k as f64
    }
}

enum Backend {
    Vpx(VpxEncoder),
    // Boxed: OpenH264's output descriptor makes it several KiB.
    H264(Box<H264Encoder>),
}

/// A custom video track's encoder: [`VideoFrame`]s of the configured size in → VP8, VP9 or H.264 frames out, at
/// a constant target bitrate with real-time settings (see the codec notes in [`super`]).
///
/// The first frame is a keyframe; after that keyframes come on request ([`VideoEncoderPipeline::request_keyframe`]
/// or `force_keyframe`, e.g. for a PLI) and every `keyframe_interval` frames. Frames are never dropped or delayed:
/// each `encode` returns the frame it was given, encoded (the result is a `Vec` so that an encoder that skips
/// frames to hold its bitrate fits the same API; none does today).
///
/// A frame of another size than configured is not scaled: it is `INVALID_PARAMS`, like a malformed frame. To change
/// resolution, create a new pipeline (its first frame is a keyframe, which receivers need anyway).
pub struct VideoEncoderPipeline {
    config: VideoEncoderConfig,
    backend: Backend,
    keyframe_requested: bool,
    /// Timestamp of the last frame: unwrapped 90 kHz position (the libvpx / OpenH264 clock) and RTP value.
    last: Option<(i64, u32)>,
    first_pts: Option<i64>,
    stats: VideoEncoderStats,
}

impl fmt::Debug for VideoEncoderPipeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VideoEncoderPipeline")
            .field("config", &self.config)
            .field("keyframe_requested", &self.keyframe_requested)
            .field("last", &self.last)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl VideoEncoderPipeline {
    /// An encoder for a full [`VideoEncoderConfig`] or a [`super::VideoEncoderPreset`] (VP8). A configuration out of
    /// range is `INVALID_PARAMS`.
    pub fn new(config: impl Into<VideoEncoderConfig>) -> Result<Self, RtcError> {
        let config = config.into();
        config.validate()?;
        let backend = match config.codec {
            VideoCodec::Vp8 | VideoCodec::Vp9 => Backend::Vpx(VpxEncoder::new(&config)?),
            VideoCodec::H264 => Backend::H264(Box::new(H264Encoder::new(&config)?)),
        };
        Ok(VideoEncoderPipeline {
            config,
            backend,
            keyframe_requested: false,
            last: None,
            first_pts: None,
            stats: VideoEncoderStats::default(),
        })
    }

    pub fn config(&self) -> &VideoEncoderConfig {
        &self.config
    }

    pub fn stats(&self) -> VideoEncoderStats {
        self.stats
    }

    /// Makes the next encoded frame a keyframe (a receiver's PLI or FIR).
    pub fn request_keyframe(&mut self) {
        self.keyframe_requested = true;
    }

    /// Encodes the next frame, one frame duration (`90000 / frame_rate`) after the previous one (the first is at RTP
    /// time 0). `force_keyframe` makes it a keyframe, as does a pending [`VideoEncoderPipeline::request_keyframe`].
    ///
    /// A malformed frame ([`VideoFrame::validate`]) or one of another size than configured is `INVALID_PARAMS` and
    /// changes nothing; a codec failure is `UNEXPECTED_ERROR`.
    pub fn encode(&mut self, frame: &VideoFrame, force_keyframe: bool) -> Result<Vec<EncodedVideo>, RtcError> {
        let rtp = match self.last {
            Some((_, rtp)) => rtp.wrapping_add(self.config.frame_duration_90k()),
            None => 0,
        };
        self.encode_at(frame, rtp, force_keyframe)
    }

    /// Like [`VideoEncoderPipeline::encode`], with the frame's RTP timestamp (90 kHz, e.g. from the capture clock)
    /// given by the caller. It must advance from the previous frame's (modulo 2³², by less than 2³¹); otherwise
    /// `INVALID_PARAMS`.
    pub fn encode_at(
        &mut self,
        frame: &VideoFrame,
        rtp_timestamp: u32,
        force_keyframe: bool,
    ) -> Result<Vec<EncodedVideo>, RtcError> {
        frame.validate()?;
        if (frame.width, frame.height) != (self.config.width, self.config.height) {
            return Err(invalid_params(format!(
                "the video encoder is configured for {}x{} and does not scale; got a {}x{} frame",
                self.config.width, self.config.height, frame.width, frame.height
            )));
        }
        let pts = match self.last {
            None => i64::from(rtp_timestamp),
            Some((last_pts, last_rtp)) => {
                let delta = rtp_timestamp.wrapping_sub(last_rtp) as i32;
                if delta <= 0 {
                    return Err(invalid_params(format!(
                        "video RTP timestamp {rtp_timestamp} does not advance from the previous frame's {last_rtp}"
                    )));
                }
                last_pts + i64::from(delta)
            }
        };
        let nominal = self.config.frame_duration_90k();
        let force = force_keyframe || self.keyframe_requested;
        let frames = match &mut self.backend {
            Backend::Vpx(encoder) => encoder.encode(frame, pts, nominal, force)?,
            Backend::H264(encoder) => encoder
                .encode(frame, pts, force)?
                .into_iter()
                .map(|(data, keyframe)| (data, keyframe, pts))
                .collect(),
        };
        if force && frames.iter().any(|f| f.1) {
            self.keyframe_requested = false;
        }
        // Every frame lasts until the next one's timestamp; the newest one a nominal frame duration.
        let first = *self.first_pts.get_or_insert(pts);
        self.stats.duration_90k = (pts - first) as u64 + u64::from(nominal);
        self.last = Some((pts, rtp_timestamp));
        self.stats.frames_in += 1;
        Ok(frames
            .into_iter()
            .map(|(data, keyframe, pts)| {
                self.stats.frames_out += 1;
                self.stats.keyframes += u64::from(keyframe);
                self.stats.bytes += data.len() as u64;
                EncodedVideo {
                    data,
                    keyframe,
                    // The low 32 bits of the unwrapped clock, which started at the first RTP timestamp.
                    rtp_timestamp: pts as u32,
                }
            })
            .collect())
    }

    /// Changes the target bitrate (10..=50000 Kbps), e.g. from bandwidth estimation; takes effect from the next
    /// frame without a keyframe.
    pub fn set_bitrate_kbps(&mut self, kbps: u32) -> Result<(), RtcError> {
        VideoEncoderConfig {
            bitrate_kbps: kbps,
            ..self.config
        }
        .validate()?;
        match &mut self.backend {
            Backend::Vpx(encoder) => encoder.set_bitrate_kbps(kbps)?,
            Backend::H264(encoder) => encoder.set_bitrate_kbps(kbps)?,
        }
        self.config.bitrate_kbps = kbps;
        Ok(())
    }
}

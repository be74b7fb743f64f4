//! Pure video building blocks of the SDK's media engine: no network, no async runtime, no threads of our own.
//!
//! A custom video track's frames go out through a [`VideoEncoderPipeline`] (I420 [`VideoFrame`]s → VP8, VP9 or
//! H.264 at a target bitrate, real-time settings, keyframes on request) and come back through a
//! [`VideoDecoderPipeline`] (whole encoded frames → I420 frames; after a loss or a corrupt frame it waits for the
//! next keyframe). [`pattern`] has test-pattern tools: frames whose content encodes a frame counter that survives
//! lossy compression, and the reader for it.
//!
//! ```
//! use stoa_sdk::media::video::{
//!     VideoCodec, VideoDecoderPipeline, VideoEncoderConfig, VideoEncoderPipeline, VideoEncoderPreset, pattern,
//! };
//! # fn main() -> Result<(), stoa_sdk::RtcError> {
//! let preset: VideoEncoderPreset = "360p_1".parse()?;
//! let mut encoder = VideoEncoderPipeline::new(VideoEncoderConfig::from_preset(preset, VideoCodec::Vp8))?;
//! let mut decoder = VideoDecoderPipeline::new(VideoCodec::Vp8)?;
//! let mut source = pattern::CounterPattern::new(640, 360)?;
//! for n in 0..5 {
//!     for encoded in encoder.encode(&source.next_frame(), false)? {
//!         let frame = decoder.decode(&encoded.data)?.expect("a picture per frame");
//!         assert_eq!((frame.width, frame.height), (640, 360));
//!         assert_eq!(pattern::read_counter(&frame), Some(n));
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! VP8 and VP9 come from the system libvpx (Debian: `libvpx-dev`, found through `pkg-config`; the raw bindings of
//! `env-libvpx-sys` ship pre-generated for libvpx 1.3 to 1.13, Debian 12 has 1.12); H.264 is OpenH264, compiled
//! from the source bundled in the `openh264` crate (needs only a C/C++ compiler).
//!
//! Errors: input the API rejects (a frame of the wrong size, a bad configuration, an empty packet) is
//! `INVALID_PARAMS` and changes nothing; a bitstream the codec rejects (corrupt or truncated data) is
//! `UNEXPECTED_ERROR` with the codec's message as the detail; a stream this build cannot decode (VP9 profiles 1-3:
//! 4:4:4 or high bit depth) is `NOT_SUPPORTED`. Nothing here panics on bad input.

mod decoder;
mod encoder;
mod h264;
pub mod pattern;
mod preset;
mod vpx;

#[cfg(test)]
mod tests;

use std::fmt;
use std::str::FromStr;

use stoa_proto::{ErrorCode, RtcError};

pub use decoder::{VideoDecoderPipeline, VideoDecoderStats, is_keyframe};
pub use encoder::{EncodedVideo, VideoEncoderPipeline, VideoEncoderStats};
pub use preset::{DEFAULT_KEYFRAME_INTERVAL, VideoEncoderConfig, VideoEncoderPreset};

use super::invalid_params;

/// The RTP clock rate of every video codec (RFC 7741, RFC 6184, the VP9 payload format): 90 kHz.
pub const VIDEO_CLOCK_RATE: u32 = 90_000;
/// Smallest width and height a [`VideoFrame`] may have.
pub const MIN_DIMENSION: u32 = 16;
/// Largest width and height a [`VideoFrame`] may have (H.264 encoding is further limited to 3840×2160).
pub const MAX_DIMENSION: u32 = 4096;

/// One uncompressed picture in I420 (YUV 4:2:0, 8 bits, BT.601 studio range as cameras and WebRTC use it).
///
/// `data` holds the three planes tightly packed, without row padding: the Y plane (`width * height` bytes), then
/// U (`width/2 * height/2`), then V (same), so `data.len() == width * height * 3 / 2`. Width and height are even
/// and at least [`MIN_DIMENSION`]; [`VideoFrame::validate`] checks all of this.
///
/// Frames coming out of a [`VideoDecoderPipeline`] have the same layout; a stream with an odd width or height is
/// cropped by one column or row to keep it even.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct VideoFrame {
    pub width: u32,
    pub height: u32,
    /// Y plane, then U, then V, tightly packed.
    pub data: Vec<u8>,
}

impl fmt::Debug for VideoFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The pixels would drown any log or assertion message.
        f.debug_struct("VideoFrame")
            .field("width", &self.width)
            .field("height", &self.height)
            .field("data_len", &self.data.len())
            .finish()
    }
}

impl VideoFrame {
    pub fn new(width: u32, height: u32, data: Vec<u8>) -> Self {
        VideoFrame { width, height, data }
    }

    /// A frame of one colour (`y`, `u`, `v` values); `INVALID_PARAMS` for dimensions [`VideoFrame::validate`]
    /// rejects.
    pub fn filled(width: u32, height: u32, y: u8, u: u8, v: u8) -> Result<Self, RtcError> {
        check_dimensions(width, height)?;
        let luma = width as usize * height as usize;
        let chroma = luma / 4;
        let mut data = vec![y; luma + 2 * chroma];
        data[luma..luma + chroma].fill(u);
        data[luma + chroma..].fill(v);
        Ok(VideoFrame::new(width, height, data))
    }

    /// A black frame (Y 16, U and V 128).
    pub fn black(width: u32, height: u32) -> Result<Self, RtcError> {
        VideoFrame::filled(width, height, 16, 128, 128)
    }

    /// `width * height * 3 / 2`: the `data` length of an I420 frame of this size (`None` on overflow).
    pub fn i420_len(width: u32, height: u32) -> Option<usize> {
        (width as usize)
            .checked_mul(height as usize)?
            .checked_mul(3)
            .map(|n| n / 2)
    }

    /// Checks the frame is something the encoder accepts: even width and height in
    /// [`MIN_DIMENSION`]`..=`[`MAX_DIMENSION`] and `data.len() == width * height * 3 / 2`. The error is
    /// `INVALID_PARAMS`.
    pub fn validate(&self) -> Result<(), RtcError> {
        check_dimensions(self.width, self.height)?;
        let expected = VideoFrame::i420_len(self.width, self.height).unwrap_or(usize::MAX);
        if self.data.len() != expected {
            return Err(invalid_params(format!(
                "an I420 frame of {}x{} has {expected} bytes (Y, U and V planes tightly packed), got {}",
                self.width,
                self.height,
                self.data.len()
            )));
        }
        Ok(())
    }

    /// The Y plane (`width * height` bytes; empty if `data` is too short).
    pub fn y_plane(&self) -> &[u8] {
        self.plane(0)
    }

    /// The U (Cb) plane (`width/2 * height/2` bytes; empty if `data` is too short).
    pub fn u_plane(&self) -> &[u8] {
        self.plane(1)
    }

    /// The V (Cr) plane (`width/2 * height/2` bytes; empty if `data` is too short).
    pub fn v_plane(&self) -> &[u8] {
        self.plane(2)
    }

    fn plane(&self, index: usize) -> &[u8] {
        let luma = (self.width as usize).saturating_mul(self.height as usize);
        let chroma = (self.width as usize / 2).saturating_mul(self.height as usize / 2);
        let (start, len) = match index {
            0 => (0, luma),
            1 => (luma, chroma),
            _ => (luma.saturating_add(chroma), chroma),
        };
        self.data.get(start..start.saturating_add(len)).unwrap_or(&[])
    }

    /// Builds a tightly packed frame from three strided planes (what decoders hand out), cropping odd dimensions to
    /// even. `None` if a plane is shorter than its stride and the size say.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn from_strided_planes(
        width: usize,
        height: usize,
        y: &[u8],
        y_stride: usize,
        u: &[u8],
        u_stride: usize,
        v: &[u8],
        v_stride: usize,
    ) -> Option<VideoFrame> {
        let (w, h) = (width & !1, height & !1);
        let (cw, ch) = (w / 2, h / 2);
        let mut data = Vec::with_capacity(w * h + 2 * cw * ch);
        copy_plane(&mut data, y, y_stride, w, h)?;
        copy_plane(&mut data, u, u_stride, cw, ch)?;
        copy_plane(&mut data, v, v_stride, cw, ch)?;
        Some(VideoFrame::new(u32::try_from(w).ok()?, u32::try_from(h).ok()?, data))
    }
}

fn copy_plane(out: &mut Vec<u8>, plane: &[u8], stride: usize, width: usize, rows: usize) -> Option<()> {
    if stride < width {
        return None;
    }
    for row in 0..rows {
        let start = row.checked_mul(stride)?;
        out.extend_from_slice(plane.get(start..start.checked_add(width)?)?);
    }
    Some(())
}

pub(crate) fn check_dimensions(width: u32, height: u32) -> Result<(), RtcError> {
    for (name, value) in [("width", width), ("height", height)] {
        if !(MIN_DIMENSION..=MAX_DIMENSION).contains(&value) || value % 2 != 0 {
            return Err(invalid_params(format!(
                "video {name} must be even and {MIN_DIMENSION}..={MAX_DIMENSION}, got {value}"
            )));
        }
    }
    Ok(())
}

/// The video codecs of the media plane: `ClientConfig.codec` values the SDK can encode and decode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum VideoCodec {
    #[default]
    Vp8,
    Vp9,
    H264,
}

impl VideoCodec {
    pub const ALL: [VideoCodec; 3] = [VideoCodec::Vp8, VideoCodec::Vp9, VideoCodec::H264];

    /// The Web SDK's name (`ClientConfig.codec`): `"vp8"`, `"vp9"` or `"h264"`.
    pub fn as_str(self) -> &'static str {
        match self {
            VideoCodec::Vp8 => "vp8",
            VideoCodec::Vp9 => "vp9",
            VideoCodec::H264 => "h264",
        }
    }

    /// The `codecType` of the stats interfaces: `"VP8"`, `"VP9"` or `"H264"`.
    pub fn stats_name(self) -> &'static str {
        match self {
            VideoCodec::Vp8 => "VP8",
            VideoCodec::Vp9 => "VP9",
            VideoCodec::H264 => "H264",
        }
    }

    /// The SDP / RTP payload format MIME type: `"video/VP8"`, `"video/VP9"` or `"video/H264"`.
    pub fn mime_type(self) -> &'static str {
        match self {
            VideoCodec::Vp8 => "video/VP8",
            VideoCodec::Vp9 => "video/VP9",
            VideoCodec::H264 => "video/H264",
        }
    }
}

impl fmt::Display for VideoCodec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for VideoCodec {
    type Err = RtcError;

    /// `"vp8"`, `"vp9"` or `"h264"`, in any case; anything else is `INVALID_PARAMS`.
    fn from_str(s: &str) -> Result<Self, RtcError> {
        VideoCodec::ALL
            .into_iter()
            .find(|codec| codec.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| invalid_params(format!("unknown video codec {s:?} (vp8, vp9 or h264)")))
    }
}

impl TryFrom<crate::Codec> for VideoCodec {
    type Error = RtcError;

    /// `av1` and `h265` are in the client configuration but have no encoder here: `NOT_SUPPORTED`.
    fn try_from(codec: crate::Codec) -> Result<Self, RtcError> {
        match codec {
            crate::Codec::Vp8 => Ok(VideoCodec::Vp8),
            crate::Codec::Vp9 => Ok(VideoCodec::Vp9),
            crate::Codec::H264 => Ok(VideoCodec::H264),
            other => Err(RtcError::new(
                ErrorCode::NotSupported,
                format!(
                    "the SDK's media engine has no {} codec (vp8, vp9 or h264)",
                    other.as_str()
                ),
            )),
        }
    }
}

impl From<VideoCodec> for crate::Codec {
    fn from(codec: VideoCodec) -> Self {
        match codec {
            VideoCodec::Vp8 => crate::Codec::Vp8,
            VideoCodec::Vp9 => crate::Codec::Vp9,
            VideoCodec::H264 => crate::Codec::H264,
        }
    }
}

/// A bitstream the codec rejected: `UNEXPECTED_ERROR` with the codec's message.
pub(crate) fn corrupt(codec: VideoCodec, detail: impl fmt::Display) -> RtcError {
    RtcError::new(
        ErrorCode::UnexpectedError,
        format!(
            "{} decoder rejected the frame (corrupt or truncated data): {detail}",
            codec.stats_name()
        ),
    )
}

/// Encoder and decoder threads for a picture size: one below 640×480, as libwebrtc does, more for bigger pictures,
/// never more than the machine's cores.
pub(crate) fn codec_threads(width: u32, height: u32) -> u32 {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let pixels = u64::from(width) * u64::from(height);
    let wanted = if pixels > 1280 * 960 {
        4
    } else if pixels > 640 * 480 {
        2
    } else {
        1
    };
    wanted.min(cores.min(u32::MAX as usize) as u32)
}

//! The remote video track's decoder: whole VP8, VP9 or H.264 frames → I420 frames.

use std::fmt;

use stoa_proto::RtcError;

use super::h264::{self, H264Decoder};
use super::vpx::{self, VpxDecoder};
use super::{VideoCodec, VideoFrame, invalid_params};

/// Whether an encoded frame is one a decoder can start from: a VP8 or VP9 key frame, or an H.264 access unit with
/// an IDR slice. Reads only the frame header; garbage is simply not a keyframe.
pub fn is_keyframe(codec: VideoCodec, data: &[u8]) -> bool {
    match codec {
        VideoCodec::Vp8 => vpx::vp8_is_keyframe(data),
        VideoCodec::Vp9 => vpx::vp9_is_keyframe(data),
        VideoCodec::H264 => h264::is_keyframe(data),
    }
}

/// Counters of a [`VideoDecoderPipeline`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VideoDecoderStats {
    /// Frames passed to `decode` (non-empty ones).
    pub frames_in: u64,
    /// Pictures returned.
    pub frames_decoded: u64,
    /// Of those, decoded from keyframes.
    pub keyframes_decoded: u64,
    /// Delta frames dropped unread while waiting for a keyframe (at the start, after an error or a reported loss).
    pub frames_skipped: u64,
    /// Frames the codec rejected (corrupt or truncated data, or an unsupported stream).
    pub errors: u64,
}

enum Backend {
    Vpx(VpxDecoder),
    H264(H264Decoder),
}

/// The receiving side of a video track: one whole encoded frame per [`VideoDecoderPipeline::decode`] call (as a
/// depacketizer reassembles it; for H.264 one Annex-B access unit) → an I420 [`VideoFrame`] of the stream's size.
///
/// The decoder only decodes what it can decode correctly: it starts at the first keyframe and, after a frame it
/// could not decode or a loss reported with [`VideoDecoderPipeline::frame_lost`], drops delta frames (returning
/// `Ok(None)`, counted in [`VideoDecoderStats::frames_skipped`]) until the next keyframe.
/// [`VideoDecoderPipeline::needs_keyframe`] says when the caller should ask the sender for one (PLI).
///
/// Errors: an empty frame is `INVALID_PARAMS` and changes nothing; data the codec rejects (corrupt, truncated, not
/// this codec) is `UNEXPECTED_ERROR` with the codec's message and makes the decoder wait for a keyframe; a VP9
/// stream in profile 1-3 (4:4:4, high bit depth) is `NOT_SUPPORTED`. Nothing panics on bad data.
pub struct VideoDecoderPipeline {
    codec: VideoCodec,
    backend: Backend,
    waiting_for_keyframe: bool,
    stats: VideoDecoderStats,
}

impl fmt::Debug for VideoDecoderPipeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VideoDecoderPipeline")
            .field("codec", &self.codec)
            .field("waiting_for_keyframe", &self.waiting_for_keyframe)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl VideoDecoderPipeline {
    pub fn new(codec: VideoCodec) -> Result<Self, RtcError> {
        let backend = match codec {
            VideoCodec::Vp8 | VideoCodec::Vp9 => Backend::Vpx(VpxDecoder::new(codec)?),
            VideoCodec::H264 => Backend::H264(H264Decoder::new()?),
        };
        Ok(VideoDecoderPipeline {
            codec,
            backend,
            waiting_for_keyframe: true,
            stats: VideoDecoderStats::default(),
        })
    }

    pub fn codec(&self) -> VideoCodec {
        self.codec
    }

    pub fn stats(&self) -> VideoDecoderStats {
        self.stats
    }

    /// True until a keyframe has been decoded, and again after an error or [`VideoDecoderPipeline::frame_lost`]:
    /// delta frames are being dropped and the sender should be asked for a keyframe.
    pub fn needs_keyframe(&self) -> bool {
        self.waiting_for_keyframe
    }

    /// Tells the decoder a frame of the stream is missing (a gap the depacketizer could not fill): the frames that
    /// follow are dropped until the next keyframe, instead of being decoded against a wrong reference.
    pub fn frame_lost(&mut self) {
        self.waiting_for_keyframe = true;
    }

    /// Decodes the next frame of the stream. `Ok(Some(frame))` for a picture; `Ok(None)` when there is none to show
    /// (a delta frame dropped while waiting for a keyframe, an H.264 unit with parameter sets only).
    pub fn decode(&mut self, data: &[u8]) -> Result<Option<VideoFrame>, RtcError> {
        if data.is_empty() {
            return Err(invalid_params(format!("an empty {} frame", self.codec.stats_name())));
        }
        self.stats.frames_in += 1;
        let keyframe = is_keyframe(self.codec, data);
        if self.waiting_for_keyframe && !keyframe {
            // H.264 parameter sets and SEI alone are not delta frames: let the decoder see them.
            let delta = match self.codec {
                VideoCodec::H264 => h264::has_slices(data),
                _ => true,
            };
            if delta {
                self.stats.frames_skipped += 1;
                return Ok(None);
            }
        }
        let result = match &mut self.backend {
            Backend::Vpx(decoder) => decoder.decode(data),
            Backend::H264(decoder) => decoder.decode(data),
        };
        match result {
            Ok(Some(frame)) => {
                if keyframe {
                    self.waiting_for_keyframe = false;
                    self.stats.keyframes_decoded += 1;
                }
                self.stats.frames_decoded += 1;
                Ok(Some(frame))
            }
            Ok(None) => Ok(None),
            Err(e) => {
                self.stats.errors += 1;
                self.waiting_for_keyframe = true;
                Err(e)
            }
        }
    }
}

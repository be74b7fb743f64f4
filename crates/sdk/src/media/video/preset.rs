//! `VideoEncoderConfigurationPreset` (camera) and `VideoEncoderConfiguration`, mapped onto encoder settings.

use std::fmt;
use std::str::FromStr;

use stoa_proto::RtcError;

use super::{VideoCodec, check_dimensions, invalid_params};

/// Frames between periodic keyframes when a configuration does not say: 3000, libwebrtc's default for VP8 and
/// H.264. In a call keyframes come from requests (PLI / FIR, [`super::VideoEncoderPipeline::request_keyframe`]);
/// the periodic one is only a safety net.
pub const DEFAULT_KEYFRAME_INTERVAL: u32 = 3000;

/// Lowest and highest target bitrates an encoder accepts (Kbps).
const BITRATE_RANGE_KBPS: std::ops::RangeInclusive<u32> = 10..=50_000;
/// Frame rates an encoder accepts (fps).
const FRAME_RATE_RANGE: std::ops::RangeInclusive<u32> = 1..=120;

/// One of Agora's camera `VideoEncoderConfigurationPreset`s, e.g. `"480p_1"` (the default): a size, a frame rate
/// and a bitrate range. Parse one with `"720p_2".parse::<VideoEncoderPreset>()`; the short keys (`"480p"`,
/// `"720p"`, `"4k"`, ...) are aliases of their `_1` entries, and an unknown key is `INVALID_PARAMS`.
///
/// The values are the Web SDK code's (all 51 keys). The encoder targets the preset's `bitrateMax`, which is what
/// the browser's encoder gets as its maximum bitrate. Three keys set only a size in the Web SDK (`90p_1` 160×90 and
/// `120p_4` 212×120, leaving frame rate and bitrate to the browser); Stoa fills in 15 fps and 30–65 Kbps, the
/// values of `120p_1`.
///
/// | key | size | fps | Kbps | key | size | fps | Kbps |
/// |---|---|---|---|---|---|---|---|
/// | `120p_1` | 160×120 | 15 | 30–65 | `480p_1` | 640×480 | 15 | 100–500 |
/// | `180p_1` | 320×180 | 15 | 30–140 | `480p_2` | 640×480 | 30 | 100–1000 |
/// | `240p_1` | 320×240 | 15 | 40–200 | `720p_1` | 1280×720 | 15 | 120–1130 |
/// | `360p_1` | 640×360 | 15 | 80–400 | `720p_2` | 1280×720 | 30 | 120–2000 |
/// | `360p_4` | 640×360 | 30 | 80–600 | `1080p_1` | 1920×1080 | 15 | 120–2080 |
/// | `360p_11` | 640×360 | 24 | 80–1000 | `1080p_2` | 1920×1080 | 30 | 120–3000 |
///
/// and the rest of the Web SDK's table ([`VideoEncoderPreset::ALL`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct VideoEncoderPreset {
    name: &'static str,
    width: u32,
    height: u32,
    frame_rate: u32,
    bitrate_min_kbps: u32,
    bitrate_max_kbps: u32,
}

const fn preset(name: &'static str, width: u32, height: u32, fps: u32, min: u32, max: u32) -> VideoEncoderPreset {
    VideoEncoderPreset {
        name,
        width,
        height,
        frame_rate: fps,
        bitrate_min_kbps: min,
        bitrate_max_kbps: max,
    }
}

impl VideoEncoderPreset {
    /// Every camera preset under its canonical key; the short aliases (`"480p"` for `"480p_1"`, ...) are accepted by
    /// `from_str` but not listed.
    pub const ALL: [VideoEncoderPreset; 41] = [
        preset("90p_1", 160, 90, 15, 30, 65),
        preset("120p_1", 160, 120, 15, 30, 65),
        preset("120p_3", 120, 120, 15, 30, 50),
        preset("120p_4", 212, 120, 15, 30, 65),
        preset("180p_1", 320, 180, 15, 30, 140),
        preset("180p_3", 180, 180, 15, 30, 100),
        preset("180p_4", 240, 180, 15, 30, 120),
        preset("240p_1", 320, 240, 15, 40, 200),
        preset("240p_3", 240, 240, 15, 40, 140),
        preset("240p_4", 424, 240, 15, 40, 220),
        preset("360p_1", 640, 360, 15, 80, 400),
        preset("360p_3", 360, 360, 15, 80, 260),
        preset("360p_4", 640, 360, 30, 80, 600),
        preset("360p_6", 360, 360, 30, 80, 400),
        preset("360p_7", 480, 360, 15, 80, 320),
        preset("360p_8", 480, 360, 30, 80, 490),
        preset("360p_9", 640, 360, 15, 80, 800),
        preset("360p_10", 640, 360, 24, 80, 800),
        preset("360p_11", 640, 360, 24, 80, 1000),
        preset("480p_1", 640, 480, 15, 100, 500),
        preset("480p_2", 640, 480, 30, 100, 1000),
        preset("480p_3", 480, 480, 15, 100, 400),
        preset("480p_4", 640, 480, 30, 100, 750),
        preset("480p_6", 480, 480, 30, 100, 600),
        preset("480p_8", 848, 480, 15, 100, 610),
        preset("480p_9", 848, 480, 30, 100, 930),
        preset("480p_10", 640, 480, 10, 100, 400),
        preset("720p_1", 1280, 720, 15, 120, 1130),
        preset("720p_2", 1280, 720, 30, 120, 2000),
        preset("720p_3", 1280, 720, 30, 120, 1710),
        preset("720p_auto", 1280, 720, 30, 900, 3000),
        preset("720p_5", 960, 720, 15, 120, 910),
        preset("720p_6", 960, 720, 30, 120, 1380),
        preset("1080p_1", 1920, 1080, 15, 120, 2080),
        preset("1080p_2", 1920, 1080, 30, 120, 3000),
        preset("1080p_3", 1920, 1080, 30, 120, 3150),
        preset("1080p_5", 1920, 1080, 60, 120, 4780),
        preset("1440p_1", 2560, 1440, 30, 120, 4850),
        preset("1440p_2", 2560, 1440, 60, 120, 7350),
        preset("4k_1", 3840, 2160, 30, 120, 8910),
        preset("4k_3", 3840, 2160, 60, 120, 13500),
    ];

    /// `480p_1`, the Web SDK's default camera preset: 640×480 at 15 fps, 500 Kbps.
    pub const DEFAULT: VideoEncoderPreset = preset("480p_1", 640, 480, 15, 100, 500);

    /// The canonical key, e.g. `"480p_1"` (also for a preset parsed from `"480p"`).
    pub fn as_str(&self) -> &'static str {
        self.name
    }

    pub fn width(&self) -> u32 {
        self.width
    }

    pub fn height(&self) -> u32 {
        self.height
    }

    pub fn frame_rate(&self) -> u32 {
        self.frame_rate
    }

    /// `bitrateMin` (Kbps): the floor bandwidth estimation may push the encoder down to.
    pub fn bitrate_min_kbps(&self) -> u32 {
        self.bitrate_min_kbps
    }

    /// `bitrateMax` (Kbps): the encoder's target.
    pub fn bitrate_max_kbps(&self) -> u32 {
        self.bitrate_max_kbps
    }

    /// The encoder configuration for this preset and a codec: the preset's size and frame rate, `bitrateMax` as
    /// target, a keyframe every [`DEFAULT_KEYFRAME_INTERVAL`] frames.
    pub fn config(&self, codec: VideoCodec) -> VideoEncoderConfig {
        VideoEncoderConfig {
            codec,
            width: self.width,
            height: self.height,
            frame_rate: self.frame_rate,
            bitrate_kbps: self.bitrate_max_kbps,
            keyframe_interval: DEFAULT_KEYFRAME_INTERVAL,
        }
    }
}

impl Default for VideoEncoderPreset {
    fn default() -> Self {
        VideoEncoderPreset::DEFAULT
    }
}

impl fmt::Display for VideoEncoderPreset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

impl FromStr for VideoEncoderPreset {
    type Err = RtcError;

    fn from_str(s: &str) -> Result<Self, RtcError> {
        let find = |key: &str| VideoEncoderPreset::ALL.into_iter().find(|p| p.name == key);
        find(s)
            .or_else(|| {
                // "480p" is "480p_1", "4k" is "4k_1".
                (!s.is_empty() && !s.contains('_'))
                    .then(|| format!("{s}_1"))
                    .and_then(|key| find(&key))
            })
            .ok_or_else(|| invalid_params(format!("unknown video encoder preset {s:?}")))
    }
}

impl From<VideoEncoderPreset> for VideoEncoderConfig {
    /// The preset with VP8, the Web SDK's default codec.
    fn from(preset: VideoEncoderPreset) -> Self {
        preset.config(VideoCodec::Vp8)
    }
}

/// Agora's `VideoEncoderConfiguration` reduced to what a software encoder takes, plus the codec (the client's
/// `codec`) and the keyframe interval.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct VideoEncoderConfig {
    pub codec: VideoCodec,
    /// Even, [`super::MIN_DIMENSION`]`..=`[`super::MAX_DIMENSION`]; every frame encoded must have exactly this size (H.264: up to
    /// 3840×2160 or 2160×3840).
    pub width: u32,
    pub height: u32,
    /// Frames per second, 1..=120: the rate control's frame duration and the RTP timestamp step of
    /// [`super::VideoEncoderPipeline::encode`].
    pub frame_rate: u32,
    /// Target bitrate in Kbps, 10..=50000 (constant-bitrate rate control).
    pub bitrate_kbps: u32,
    /// A keyframe at least every this many frames; 0 = only the first frame and requested ones.
    pub keyframe_interval: u32,
}

impl Default for VideoEncoderConfig {
    /// `480p_1` with VP8.
    fn default() -> Self {
        VideoEncoderPreset::DEFAULT.config(VideoCodec::Vp8)
    }
}

impl VideoEncoderConfig {
    /// The configuration of a preset for a codec (same as [`VideoEncoderPreset::config`]).
    pub fn from_preset(preset: VideoEncoderPreset, codec: VideoCodec) -> Self {
        preset.config(codec)
    }

    /// Duration of one frame in 90 kHz RTP units (rounded down).
    pub fn frame_duration_90k(&self) -> u32 {
        super::VIDEO_CLOCK_RATE / self.frame_rate.max(1)
    }

    /// Checks every field is in range; the error is `INVALID_PARAMS`.
    pub fn validate(&self) -> Result<(), RtcError> {
        check_dimensions(self.width, self.height)?;
        if self.codec == VideoCodec::H264 {
            let (long, short) = (self.width.max(self.height), self.width.min(self.height));
            if long > 3840 || short > 2160 {
                return Err(invalid_params(format!(
                    "the H.264 encoder (OpenH264) takes at most 3840x2160 or 2160x3840, got {}x{}",
                    self.width, self.height
                )));
            }
        }
        if !FRAME_RATE_RANGE.contains(&self.frame_rate) {
            return Err(invalid_params(format!(
                "video frame rate must be {}..={} fps, got {}",
                FRAME_RATE_RANGE.start(),
                FRAME_RATE_RANGE.end(),
                self.frame_rate
            )));
        }
        if !BITRATE_RANGE_KBPS.contains(&self.bitrate_kbps) {
            return Err(invalid_params(format!(
                "video bitrate must be {}..={} Kbps, got {}",
                BITRATE_RANGE_KBPS.start(),
                BITRATE_RANGE_KBPS.end(),
                self.bitrate_kbps
            )));
        }
        Ok(())
    }
}

//! Pure building blocks of the SDK's media engine: no network, no async runtime, no threads.
//!
//! Audio goes out through an [`OpusEncoderPipeline`] (PCM at any common rate, mono or stereo, any frame length →
//! resampled to 48 kHz → 20 ms frames → Opus) and comes back through an [`OpusDecoderPipeline`] (Opus packets →
//! 48 kHz PCM, lost packets concealed). [`signal`] has test-signal tools: a sine generator and analysers for the
//! dominant frequency and level steadiness of decoded audio.
//!
//! ```
//! use stoa_sdk::media::{AudioEncoderPreset, OpusDecoderPipeline, OpusEncoderPipeline, signal};
//! # fn main() -> Result<(), stoa_sdk::RtcError> {
//! let mut encoder = OpusEncoderPipeline::new(AudioEncoderPreset::MusicStandard)?;
//! let mut decoder = OpusDecoderPipeline::new(1)?;
//! let mut sine = signal::SineSource::new(440.0, 44_100, 2, 0.5);
//! let mut decoded = Vec::new();
//! for _ in 0..50 {
//!     for packet in encoder.push(&sine.next_frame(20))? {
//!         decoded.extend(decoder.decode(Some(&packet.payload))?.samples);
//!     }
//! }
//! let hz = signal::dominant_frequency(&decoded, 48_000);
//! assert!((hz - 440.0).abs() < 5.0, "{hz}");
//! # Ok(()) }
//! ```
//!
//! Opus comes from the system libopus (Debian: `libopus-dev`, found through `pkg-config`); resampling (rubato) and
//! the FFT (rustfft) are pure Rust.

pub mod buffer_source;
#[cfg(feature = "devices")]
pub mod devices;
mod opus;
mod preset;
mod resample;
pub mod signal;
pub mod video;

#[cfg(test)]
mod tests;

use std::time::Duration;

use stoa_proto::{ErrorCode, RtcError};

pub use buffer_source::{AudioSource, AudioSourceState, BufferSourceAudioTrack, StartOptions};
pub use opus::{DecoderStats, EncodedAudio, EncoderStats, OpusDecoderPipeline, OpusEncoderPipeline};
pub use preset::{AudioApplication, AudioEncoderConfig, AudioEncoderPreset};

/// The RTP clock rate of Opus, and the rate of every decoded frame.
pub const OPUS_SAMPLE_RATE: u32 = 48_000;
/// Samples per channel in one 20 ms Opus frame at 48 kHz: the RTP timestamp step of every packet.
pub const OPUS_FRAME_SAMPLES: u32 = 960;
/// Duration of one encoded Opus frame.
pub const OPUS_FRAME_DURATION: Duration = Duration::from_millis(20);
/// Input rates a PCM [`AudioFrame`] may have (Hz).
pub const SUPPORTED_SAMPLE_RATES: [u32; 11] = [
    8_000, 11_025, 12_000, 16_000, 22_050, 24_000, 32_000, 44_100, 48_000, 88_200, 96_000,
];

/// A block of PCM audio.
///
/// Samples are signed 16-bit, interleaved (`L R L R ...` for stereo), so `samples.len()` is a multiple of
/// `channels`. 16-bit integers are what native capture APIs, WAV files and Agora's native custom audio source
/// (`pushAudioFrame`, 2 bytes per sample) hand over, they are half the size of `f32`, and 16 bits are beyond
/// what Opus preserves; the pipelines convert to `f32` internally for resampling and encoding.
/// [`AudioFrame::from_f32`] builds a frame from float samples.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AudioFrame {
    /// Samples per second per channel: one of [`SUPPORTED_SAMPLE_RATES`].
    pub sample_rate: u32,
    /// 1 (mono) or 2 (stereo).
    pub channels: u16,
    /// Interleaved samples, `frames() * channels` of them.
    pub samples: Vec<i16>,
}

impl AudioFrame {
    pub fn new(sample_rate: u32, channels: u16, samples: Vec<i16>) -> Self {
        AudioFrame {
            sample_rate,
            channels,
            samples,
        }
    }

    /// A frame from float samples in `-1.0..=1.0` (values outside are clipped).
    pub fn from_f32(sample_rate: u32, channels: u16, samples: &[f32]) -> Self {
        AudioFrame::new(sample_rate, channels, samples.iter().map(|&s| f32_to_i16(s)).collect())
    }

    /// Samples per channel (0 when `channels` is 0).
    pub fn frames(&self) -> usize {
        self.samples.len().checked_div(usize::from(self.channels)).unwrap_or(0)
    }

    /// Playing time of the frame (zero when the rate is 0).
    pub fn duration(&self) -> Duration {
        if self.sample_rate == 0 {
            return Duration::ZERO;
        }
        Duration::from_nanos((self.frames() as u64).saturating_mul(1_000_000_000) / u64::from(self.sample_rate))
    }

    /// The samples of one channel (empty when `index` is out of range).
    pub fn channel(&self, index: u16) -> Vec<i16> {
        signal::channel_samples(&self.samples, self.channels, index)
    }

    /// Checks the frame is something the pipelines accept: a supported rate, 1 or 2 channels, whole frames.
    pub fn validate(&self) -> Result<(), RtcError> {
        if !SUPPORTED_SAMPLE_RATES.contains(&self.sample_rate) {
            return Err(invalid_params(format!(
                "unsupported sample rate {} Hz (supported: {SUPPORTED_SAMPLE_RATES:?})",
                self.sample_rate
            )));
        }
        if !(1..=2).contains(&self.channels) {
            return Err(invalid_params(format!(
                "audio frames must be mono or stereo, got {} channels",
                self.channels
            )));
        }
        if !self.samples.len().is_multiple_of(usize::from(self.channels)) {
            return Err(invalid_params(format!(
                "{} samples is not a whole number of {}-channel frames",
                self.samples.len(),
                self.channels
            )));
        }
        Ok(())
    }
}

pub(crate) fn invalid_params(detail: impl Into<String>) -> RtcError {
    RtcError::new(ErrorCode::InvalidParams, detail)
}

pub(crate) fn unexpected(detail: impl Into<String>) -> RtcError {
    RtcError::new(ErrorCode::UnexpectedError, detail)
}

pub(crate) fn i16_to_f32(sample: i16) -> f32 {
    f32::from(sample) / 32_768.0
}

pub(crate) fn f32_to_i16(sample: f32) -> i16 {
    // `as` saturates and maps NaN to 0.
    (sample * 32_768.0).round().clamp(-32_768.0, 32_767.0) as i16
}

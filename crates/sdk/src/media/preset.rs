//! `AudioEncoderConfigurationPreset` and `AudioEncoderConfiguration`, mapped onto Opus settings.

use std::fmt;
use std::str::FromStr;

use stoa_proto::RtcError;

use super::invalid_params;

/// Agora's `AudioEncoderConfigurationPreset`; the default is `music_standard`.
///
/// Bitrates are the Web SDK code's where it sets one and the documentation's where the code leaves the bitrate to
/// the browser (`speech_low_quality`, `music_standard`):
///
/// | preset | audio bandwidth | channels | kbps | Opus application |
/// |---|---|---|---|---|
/// | `speech_low_quality` | 16 kHz | mono | 24 | VoIP |
/// | `speech_standard` | 32 kHz | mono | 18 | VoIP |
/// | `music_standard` | 48 kHz | mono | 32 | audio |
/// | `standard_stereo` | 48 kHz | stereo | 56 | audio |
/// | `high_quality` | 48 kHz | mono | 128 | audio |
/// | `high_quality_stereo` | 48 kHz | stereo | 192 | audio |
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum AudioEncoderPreset {
    SpeechLowQuality,
    SpeechStandard,
    #[default]
    MusicStandard,
    StandardStereo,
    HighQuality,
    HighQualityStereo,
}

impl AudioEncoderPreset {
    pub const ALL: [AudioEncoderPreset; 6] = [
        AudioEncoderPreset::SpeechLowQuality,
        AudioEncoderPreset::SpeechStandard,
        AudioEncoderPreset::MusicStandard,
        AudioEncoderPreset::StandardStereo,
        AudioEncoderPreset::HighQuality,
        AudioEncoderPreset::HighQualityStereo,
    ];

    /// The preset's name in the Web SDK, e.g. `"music_standard"`.
    pub fn as_str(self) -> &'static str {
        match self {
            AudioEncoderPreset::SpeechLowQuality => "speech_low_quality",
            AudioEncoderPreset::SpeechStandard => "speech_standard",
            AudioEncoderPreset::MusicStandard => "music_standard",
            AudioEncoderPreset::StandardStereo => "standard_stereo",
            AudioEncoderPreset::HighQuality => "high_quality",
            AudioEncoderPreset::HighQualityStereo => "high_quality_stereo",
        }
    }

    /// The full configuration this preset stands for.
    pub fn config(self) -> AudioEncoderConfig {
        let (sample_rate, stereo, bitrate_kbps, application) = match self {
            AudioEncoderPreset::SpeechLowQuality => (16_000, false, 24, AudioApplication::Voip),
            AudioEncoderPreset::SpeechStandard => (32_000, false, 18, AudioApplication::Voip),
            AudioEncoderPreset::MusicStandard => (48_000, false, 32, AudioApplication::Audio),
            AudioEncoderPreset::StandardStereo => (48_000, true, 56, AudioApplication::Audio),
            AudioEncoderPreset::HighQuality => (48_000, false, 128, AudioApplication::Audio),
            AudioEncoderPreset::HighQualityStereo => (48_000, true, 192, AudioApplication::Audio),
        };
        AudioEncoderConfig {
            sample_rate,
            stereo,
            bitrate_kbps,
            application,
            ..AudioEncoderConfig::default()
        }
    }
}

impl fmt::Display for AudioEncoderPreset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AudioEncoderPreset {
    type Err = RtcError;

    fn from_str(s: &str) -> Result<Self, RtcError> {
        AudioEncoderPreset::ALL
            .into_iter()
            .find(|preset| preset.as_str() == s)
            .ok_or_else(|| invalid_params(format!("unknown audio encoder preset {s:?}")))
    }
}

impl From<AudioEncoderPreset> for AudioEncoderConfig {
    fn from(preset: AudioEncoderPreset) -> Self {
        preset.config()
    }
}

/// What the encoder optimises for (Opus `OPUS_APPLICATION_VOIP` or `OPUS_APPLICATION_AUDIO`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum AudioApplication {
    /// Speech intelligibility; the speech presets.
    Voip,
    /// Faithful music and general audio; the music and high-quality presets.
    #[default]
    Audio,
}

/// Agora's `AudioEncoderConfiguration` (`sampleRate`, `stereo`, `bitrate`) plus the Opus knobs the engine needs.
///
/// Opus always runs at 48 kHz on the wire; `sample_rate` caps the encoded audio bandwidth (8 kHz → narrowband,
/// 12 kHz → mediumband, 16 kHz → wideband, 24 or 32 kHz → super-wideband, 44.1 or 48 kHz → fullband). `stereo: false`
/// downmixes stereo input; `stereo: true` encodes two channels (mono input is duplicated).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AudioEncoderConfig {
    /// 8000, 12000, 16000, 24000, 32000, 44100 or 48000.
    pub sample_rate: u32,
    pub stereo: bool,
    /// Target bitrate in Kbps, 6..=510.
    pub bitrate_kbps: u32,
    pub application: AudioApplication,
    /// Variable bitrate (the WebRTC default); `false` gives constant-size packets.
    pub vbr: bool,
    /// Opus in-band FEC: with it on and [`AudioEncoderConfig::expected_packet_loss_percent`] above 0 the SILK
    /// layer repeats each frame at low quality in the next packet, which [`super::OpusDecoderPipeline::decode_fec`]
    /// recovers. Music (CELT) frames carry none.
    pub inband_fec: bool,
    /// Expected packet loss (0..=100) the encoder spends FEC bits for; updated at run time from receiver reports.
    pub expected_packet_loss_percent: u8,
    /// Encoder complexity 0..=10.
    pub complexity: u8,
}

impl Default for AudioEncoderConfig {
    /// `music_standard`.
    fn default() -> Self {
        AudioEncoderConfig {
            sample_rate: 48_000,
            stereo: false,
            bitrate_kbps: 32,
            application: AudioApplication::Audio,
            vbr: true,
            inband_fec: true,
            expected_packet_loss_percent: 0,
            complexity: 10,
        }
    }
}

impl AudioEncoderConfig {
    pub const ENCODER_SAMPLE_RATES: [u32; 7] = [8_000, 12_000, 16_000, 24_000, 32_000, 44_100, 48_000];

    pub fn channels(&self) -> u16 {
        if self.stereo { 2 } else { 1 }
    }

    /// Checks every field is in range; the error is `INVALID_PARAMS`.
    pub fn validate(&self) -> Result<(), RtcError> {
        if !Self::ENCODER_SAMPLE_RATES.contains(&self.sample_rate) {
            return Err(invalid_params(format!(
                "audio encoder sampleRate must be one of {:?}, got {}",
                Self::ENCODER_SAMPLE_RATES,
                self.sample_rate
            )));
        }
        if !(6..=510).contains(&self.bitrate_kbps) {
            return Err(invalid_params(format!(
                "audio encoder bitrate must be 6..=510 Kbps, got {}",
                self.bitrate_kbps
            )));
        }
        if self.expected_packet_loss_percent > 100 {
            return Err(invalid_params(format!(
                "expected packet loss must be 0..=100 %, got {}",
                self.expected_packet_loss_percent
            )));
        }
        if self.complexity > 10 {
            return Err(invalid_params(format!(
                "Opus complexity must be 0..=10, got {}",
                self.complexity
            )));
        }
        Ok(())
    }

    pub(crate) fn bandwidth(&self) -> audiopus::Bandwidth {
        match self.sample_rate {
            0..=8_000 => audiopus::Bandwidth::Narrowband,
            8_001..=12_000 => audiopus::Bandwidth::Mediumband,
            12_001..=16_000 => audiopus::Bandwidth::Wideband,
            16_001..=32_000 => audiopus::Bandwidth::Superwideband,
            _ => audiopus::Bandwidth::Fullband,
        }
    }
}

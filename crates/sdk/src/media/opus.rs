//! Opus encoding and decoding pipelines over libopus (audiopus).

use std::time::Duration;

use audiopus::coder::{Decoder, Encoder};
use audiopus::{Application, Bitrate, Channels, SampleRate};
use stoa_proto::RtcError;

use super::preset::{AudioApplication, AudioEncoderConfig};
use super::resample::StreamResampler;
use super::{
    AudioFrame, OPUS_FRAME_DURATION, OPUS_FRAME_SAMPLES, OPUS_SAMPLE_RATE, i16_to_f32, invalid_params, unexpected,
};

/// Largest Opus packet libopus produces for a 20 ms frame is 1275 bytes; this is the size libopus recommends.
const MAX_PACKET_BYTES: usize = 4000;
/// Longest Opus packet: 120 ms at 48 kHz.
const MAX_PACKET_SAMPLES: usize = 5760;

/// One encoded 20 ms Opus frame: the payload of one RTP packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncodedAudio {
    pub payload: Vec<u8>,
    /// Position of the frame's first sample in 48 kHz units since the first sample pushed (the RTP clock, before
    /// the random initial offset and the 32-bit wrap).
    pub timestamp: u64,
    /// RTP timestamp step to the next packet: always 960.
    pub rtp_timestamp_increment: u32,
    /// Always 20 ms.
    pub duration: Duration,
}

/// Counters of an [`OpusEncoderPipeline`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EncoderStats {
    /// PCM frames accepted by `push` (non-empty ones).
    pub frames_in: u64,
    /// Opus packets produced.
    pub packets: u64,
    /// Sum of payload sizes.
    pub payload_bytes: u64,
}

impl EncoderStats {
    /// Average payload bitrate in bits per second over everything encoded so far (0 before the first packet).
    pub fn average_bitrate_bps(&self) -> f64 {
        if self.packets == 0 {
            return 0.0;
        }
        self.payload_bytes as f64 * 8.0 / (self.packets as f64 * OPUS_FRAME_DURATION.as_secs_f64())
    }
}

/// A custom audio track's encoder: PCM [`AudioFrame`]s in at any supported rate (mono or stereo, any length) →
/// channel mapping to the configuration's channel count → resampling to 48 kHz → 20 ms frames → Opus.
///
/// Input that does not fill a 20 ms frame waits for the next `push` (or [`OpusEncoderPipeline::flush`]). If the
/// input rate changes between frames the old resampler is drained first, so no audio is lost.
pub struct OpusEncoderPipeline {
    config: AudioEncoderConfig,
    encoder: Encoder,
    channels: usize,
    resampler: Option<StreamResampler>,
    mapped: Vec<f32>,
    pcm48: Vec<f32>,
    packet_buf: Vec<u8>,
    timestamp: u64,
    stats: EncoderStats,
}

impl std::fmt::Debug for OpusEncoderPipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpusEncoderPipeline")
            .field("config", &self.config)
            .field("resampler", &self.resampler)
            .field("timestamp", &self.timestamp)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl OpusEncoderPipeline {
    /// An encoder for a preset ([`super::AudioEncoderPreset`]) or a full [`AudioEncoderConfig`]. A config out of
    /// range is `INVALID_PARAMS`.
    pub fn new(config: impl Into<AudioEncoderConfig>) -> Result<Self, RtcError> {
        let config = config.into();
        config.validate()?;
        let channels = if config.stereo {
            Channels::Stereo
        } else {
            Channels::Mono
        };
        let application = match config.application {
            AudioApplication::Voip => Application::Voip,
            AudioApplication::Audio => Application::Audio,
        };
        let opus_err = |what: &str, e: audiopus::Error| unexpected(format!("Opus encoder {what}: {e}"));
        let mut encoder =
            Encoder::new(SampleRate::Hz48000, channels, application).map_err(|e| opus_err("creation", e))?;
        encoder
            .set_bitrate(Bitrate::BitsPerSecond(config.bitrate_kbps as i32 * 1000))
            .map_err(|e| opus_err("bitrate", e))?;
        encoder
            .set_max_bandwidth(config.bandwidth())
            .map_err(|e| opus_err("bandwidth", e))?;
        encoder.set_vbr(config.vbr).map_err(|e| opus_err("vbr", e))?;
        encoder
            .set_inband_fec(config.inband_fec)
            .map_err(|e| opus_err("fec", e))?;
        encoder
            .set_packet_loss_perc(config.expected_packet_loss_percent)
            .map_err(|e| opus_err("packet loss", e))?;
        encoder
            .set_complexity(config.complexity)
            .map_err(|e| opus_err("complexity", e))?;
        Ok(OpusEncoderPipeline {
            channels: usize::from(config.channels()),
            config,
            encoder,
            resampler: None,
            mapped: Vec::new(),
            pcm48: Vec::new(),
            packet_buf: vec![0; MAX_PACKET_BYTES],
            timestamp: 0,
            stats: EncoderStats::default(),
        })
    }

    pub fn config(&self) -> &AudioEncoderConfig {
        &self.config
    }

    pub fn stats(&self) -> EncoderStats {
        self.stats
    }

    /// Encodes as many whole 20 ms frames as the input completes. A frame with an unsupported rate, 0 or more than 2
    /// channels, or a sample count that is not a multiple of the channel count is `INVALID_PARAMS` and changes
    /// nothing. An empty frame is accepted and yields nothing.
    pub fn push(&mut self, frame: &AudioFrame) -> Result<Vec<EncodedAudio>, RtcError> {
        frame.validate()?;
        if frame.samples.is_empty() {
            return Ok(Vec::new());
        }
        self.stats.frames_in += 1;
        if self
            .resampler
            .as_ref()
            .is_some_and(|r| r.rate_in() != frame.sample_rate)
        {
            self.drain_resampler()?;
        }
        if self.resampler.is_none() {
            self.resampler = Some(StreamResampler::new(frame.sample_rate, self.channels)?);
        }
        map_channels(
            &frame.samples,
            usize::from(frame.channels),
            self.channels,
            &mut self.mapped,
        );
        if let Some(resampler) = &mut self.resampler {
            resampler.process(&self.mapped, &mut self.pcm48)?;
        }
        self.encode_ready()
    }

    /// Encodes everything still buffered, padding the last frame with silence. The stream can continue afterwards
    /// (e.g. after a pause); timestamps keep counting.
    pub fn flush(&mut self) -> Result<Vec<EncodedAudio>, RtcError> {
        self.drain_resampler()?;
        let frame_len = OPUS_FRAME_SAMPLES as usize * self.channels;
        let rest = self.pcm48.len() % frame_len;
        if rest != 0 {
            self.pcm48.resize(self.pcm48.len() + frame_len - rest, 0.0);
        }
        self.encode_ready()
    }

    /// Changes the target bitrate (6..=510 Kbps), e.g. from bandwidth estimation.
    pub fn set_bitrate_kbps(&mut self, kbps: u32) -> Result<(), RtcError> {
        AudioEncoderConfig {
            bitrate_kbps: kbps,
            ..self.config
        }
        .validate()?;
        self.encoder
            .set_bitrate(Bitrate::BitsPerSecond(kbps as i32 * 1000))
            .map_err(|e| unexpected(format!("Opus encoder bitrate: {e}")))?;
        self.config.bitrate_kbps = kbps;
        Ok(())
    }

    /// Tells the encoder how much loss to protect against with in-band FEC (0..=100), e.g. from receiver reports.
    pub fn set_expected_packet_loss(&mut self, percent: u8) -> Result<(), RtcError> {
        if percent > 100 {
            return Err(invalid_params(format!(
                "expected packet loss must be 0..=100 %, got {percent}"
            )));
        }
        self.encoder
            .set_packet_loss_perc(percent)
            .map_err(|e| unexpected(format!("Opus encoder packet loss: {e}")))?;
        self.config.expected_packet_loss_percent = percent;
        Ok(())
    }

    fn drain_resampler(&mut self) -> Result<(), RtcError> {
        if let Some(mut resampler) = self.resampler.take() {
            resampler.finish(&mut self.pcm48)?;
        }
        Ok(())
    }

    fn encode_ready(&mut self) -> Result<Vec<EncodedAudio>, RtcError> {
        let frame_len = OPUS_FRAME_SAMPLES as usize * self.channels;
        let ready = self.pcm48.len() / frame_len;
        let mut packets = Vec::with_capacity(ready);
        for chunk in self.pcm48.chunks_exact(frame_len) {
            let len = self
                .encoder
                .encode_float(chunk, &mut self.packet_buf)
                .map_err(|e| unexpected(format!("Opus encoding failed: {e}")))?;
            self.stats.packets += 1;
            self.stats.payload_bytes += len as u64;
            packets.push(EncodedAudio {
                payload: self.packet_buf[..len].to_vec(),
                timestamp: self.timestamp,
                rtp_timestamp_increment: OPUS_FRAME_SAMPLES,
                duration: OPUS_FRAME_DURATION,
            });
            self.timestamp += u64::from(OPUS_FRAME_SAMPLES);
        }
        self.pcm48.drain(..ready * frame_len);
        Ok(packets)
    }
}

/// Converts interleaved i16 with `from` channels to interleaved f32 with `to` channels (1 or 2 each): stereo to mono
/// averages, mono to stereo duplicates.
fn map_channels(input: &[i16], from: usize, to: usize, out: &mut Vec<f32>) {
    out.clear();
    match (from, to) {
        (2, 1) => out.extend(
            input
                .chunks_exact(2)
                .map(|lr| (i16_to_f32(lr[0]) + i16_to_f32(lr[1])) * 0.5),
        ),
        (1, 2) => out.extend(input.iter().flat_map(|&s| {
            let s = i16_to_f32(s);
            [s, s]
        })),
        _ => out.extend(input.iter().map(|&s| i16_to_f32(s))),
    }
}

/// Counters of an [`OpusDecoderPipeline`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DecoderStats {
    /// Packets decoded normally.
    pub packets_decoded: u64,
    /// Lost packets concealed (by PLC or FEC), including corrupt ones.
    pub packets_concealed: u64,
    /// Of the concealed packets, those decoded with [`OpusDecoderPipeline::decode_fec`].
    pub fec_decodes: u64,
    /// Packets libopus rejected as malformed (concealed instead).
    pub packets_corrupt: u64,
    /// Samples per channel output, concealment included.
    pub samples_out: u64,
    /// Of those, samples produced by concealment.
    pub samples_concealed: u64,
}

/// The receiving side: Opus packets → 48 kHz PCM frames with the channel count chosen at creation (mono streams are
/// duplicated to stereo and stereo ones downmixed to mono by libopus).
///
/// A lost packet is passed as `None` and concealed by Opus PLC; when the packet after a loss is already at hand,
/// [`OpusDecoderPipeline::decode_fec`] rebuilds the lost one from its in-band FEC data (SILK and hybrid modes),
/// falling back to PLC. A malformed packet is concealed too and counted in [`DecoderStats::packets_corrupt`]:
/// garbage from the network never stops the stream.
pub struct OpusDecoderPipeline {
    decoder: Decoder,
    channels: u16,
    /// Duration of the last packet (samples per channel), the length a concealed packet gets.
    last_packet_samples: usize,
    buf: Vec<i16>,
    stats: DecoderStats,
}

impl std::fmt::Debug for OpusDecoderPipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpusDecoderPipeline")
            .field("channels", &self.channels)
            .field("last_packet_samples", &self.last_packet_samples)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl OpusDecoderPipeline {
    /// A decoder producing `channels` (1 or 2) channels at 48 kHz; other counts are `INVALID_PARAMS`.
    pub fn new(channels: u16) -> Result<Self, RtcError> {
        let opus_channels = match channels {
            1 => Channels::Mono,
            2 => Channels::Stereo,
            n => {
                return Err(invalid_params(format!(
                    "an Opus decoder outputs 1 or 2 channels, not {n}"
                )));
            }
        };
        let decoder = Decoder::new(SampleRate::Hz48000, opus_channels)
            .map_err(|e| unexpected(format!("Opus decoder creation: {e}")))?;
        Ok(OpusDecoderPipeline {
            decoder,
            channels,
            last_packet_samples: OPUS_FRAME_SAMPLES as usize,
            buf: vec![0; MAX_PACKET_SAMPLES * usize::from(channels)],
            stats: DecoderStats::default(),
        })
    }

    pub fn channels(&self) -> u16 {
        self.channels
    }

    pub fn stats(&self) -> DecoderStats {
        self.stats
    }

    /// Decodes the next packet of the stream, or conceals it when it is `None` (lost) or empty. The frame is 48 kHz
    /// with [`OpusDecoderPipeline::channels`] channels and as long as the packet (a concealed one as long as the
    /// previous packet).
    pub fn decode(&mut self, packet: Option<&[u8]>) -> Result<AudioFrame, RtcError> {
        let Some(packet) = packet.filter(|p| !p.is_empty()) else {
            return self.conceal(None);
        };
        let samples = match audiopus::packet::nb_samples(packet, SampleRate::Hz48000) {
            // libopus's negative error codes come back as huge numbers.
            Ok(n) if (1..=MAX_PACKET_SAMPLES).contains(&n) => n,
            _ => {
                self.stats.packets_corrupt += 1;
                return self.conceal(None);
            }
        };
        let len = samples * usize::from(self.channels);
        match self.decoder.decode(Some(packet), &mut self.buf[..len], false) {
            Ok(n) => {
                self.last_packet_samples = n;
                self.stats.packets_decoded += 1;
                Ok(self.output(n, false))
            }
            Err(_) => {
                self.stats.packets_corrupt += 1;
                self.conceal(None)
            }
        }
    }

    /// Rebuilds the packet lost just before `next_packet` from `next_packet`'s in-band FEC (plain PLC when it
    /// carries none). Call it in place of `decode(None)` for that lost packet, then `decode(Some(next_packet))`.
    pub fn decode_fec(&mut self, next_packet: &[u8]) -> Result<AudioFrame, RtcError> {
        if next_packet.is_empty() {
            return self.conceal(None);
        }
        self.conceal(Some(next_packet))
    }

    fn conceal(&mut self, fec_from: Option<&[u8]>) -> Result<AudioFrame, RtcError> {
        let len = self.last_packet_samples * usize::from(self.channels);
        let result = match fec_from {
            Some(next) => self.decoder.decode(Some(next), &mut self.buf[..len], true),
            None => self.decoder.decode(None::<&[u8]>, &mut self.buf[..len], false),
        };
        let n = match result {
            Ok(n) => n,
            // A malformed FEC source: fall back to plain PLC.
            Err(_) if fec_from.is_some() => self
                .decoder
                .decode(None::<&[u8]>, &mut self.buf[..len], false)
                .map_err(|e| unexpected(format!("Opus packet loss concealment failed: {e}")))?,
            Err(e) => return Err(unexpected(format!("Opus packet loss concealment failed: {e}"))),
        };
        self.stats.packets_concealed += 1;
        if fec_from.is_some() {
            self.stats.fec_decodes += 1;
        }
        Ok(self.output(n, true))
    }

    fn output(&mut self, samples: usize, concealed: bool) -> AudioFrame {
        self.stats.samples_out += samples as u64;
        if concealed {
            self.stats.samples_concealed += samples as u64;
        }
        AudioFrame {
            sample_rate: OPUS_SAMPLE_RATE,
            channels: self.channels,
            samples: self.buf[..samples * usize::from(self.channels)].to_vec(),
        }
    }
}

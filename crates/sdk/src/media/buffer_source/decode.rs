//! Whole-file decoding for buffer-source tracks: any container and codec symphonia knows (wav, flac, ogg/vorbis,
//! mp3, aac/m4a, ...) → 48 kHz interleaved 16-bit PCM, mono or stereo. Pure: bytes in, samples out.

use std::io::Cursor;
use std::time::Duration;

use stoa_proto::{ErrorCode, RtcError};
use symphonia::core::codecs::audio::AudioDecoderOptions;
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, TrackType};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;

use crate::media::resample::StreamResampler;
use crate::media::{OPUS_SAMPLE_RATE, f32_to_i16};

/// The longest audio a buffer source holds (decoded PCM stays in memory: 30 min of 48 kHz stereo is ~350 MB).
pub const MAX_DECODED_DURATION: Duration = Duration::from_secs(30 * 60);
/// Packets that fail to decode in a row before the file counts as undecodable.
const MAX_CONSECUTIVE_BAD_PACKETS: u32 = 50;

/// Decoded audio, ready to play: 48 kHz, interleaved, 1 or 2 channels (files with more are mixed down to stereo).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodedAudio {
    pub channels: u16,
    /// Interleaved samples at 48 kHz.
    pub samples: Vec<i16>,
}

impl DecodedAudio {
    /// Samples per channel.
    pub fn frames(&self) -> usize {
        self.samples.len() / usize::from(self.channels.max(1))
    }

    /// Playing time at normal speed.
    pub fn duration(&self) -> Duration {
        Duration::from_secs_f64(self.frames() as f64 / f64::from(OPUS_SAMPLE_RATE))
    }
}

fn decode_failed(detail: impl std::fmt::Display) -> RtcError {
    RtcError::new(
        ErrorCode::DecodeAudioFileFailed,
        format!("cannot decode the audio file: {detail}"),
    )
}

/// Decodes a whole audio file. `extension` (e.g. `"mp3"`) helps the format probe; the content decides.
/// Anything that is not decodable audio (unknown format, no audio track, unsupported codec, no samples, longer
/// than [`MAX_DECODED_DURATION`]) is `DECODE_AUDIO_FILE_FAILED`.
pub fn decode_audio(bytes: Vec<u8>, extension: Option<&str>) -> Result<DecodedAudio, RtcError> {
    let stream = MediaSourceStream::new(Box::new(Cursor::new(bytes)), Default::default());
    let mut hint = Hint::new();
    if let Some(ext) = extension {
        hint.with_extension(ext);
    }
    let mut format = symphonia::default::get_probe()
        .probe(&hint, stream, FormatOptions::default(), MetadataOptions::default())
        .map_err(|e| decode_failed(format!("not a known audio format ({e})")))?;
    let track = format
        .default_track(TrackType::Audio)
        .ok_or_else(|| decode_failed("the file has no audio track"))?;
    let track_id = track.id;
    let params = track
        .codec_params
        .as_ref()
        .and_then(|p| p.audio())
        .ok_or_else(|| decode_failed("the audio track has no codec parameters"))?;
    let mut decoder = symphonia::default::get_codecs()
        .make_audio_decoder(params, &AudioDecoderOptions::default())
        .map_err(|e| decode_failed(format!("unsupported codec ({e})")))?;

    let mut collector: Option<Collector> = None;
    let mut scratch: Vec<f32> = Vec::new();
    let mut bad_in_a_row = 0;
    loop {
        let packet = match format.next_packet() {
            Ok(Some(packet)) => packet,
            Ok(None) => break,
            // Truncated files end with an unexpected EOF: keep what decoded.
            Err(SymphoniaError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            // A chained stream (a new track list): play the first one only.
            Err(SymphoniaError::ResetRequired) => break,
            Err(SymphoniaError::DecodeError(e)) => {
                bad_in_a_row += 1;
                if bad_in_a_row > MAX_CONSECUTIVE_BAD_PACKETS {
                    return Err(decode_failed(e));
                }
                continue;
            }
            Err(e) => return Err(decode_failed(e)),
        };
        if packet.track_id != track_id {
            continue;
        }
        let buffer = match decoder.decode(&packet) {
            Ok(buffer) => buffer,
            Err(SymphoniaError::DecodeError(e)) => {
                bad_in_a_row += 1;
                if bad_in_a_row > MAX_CONSECUTIVE_BAD_PACKETS {
                    return Err(decode_failed(e));
                }
                continue;
            }
            Err(e) => return Err(decode_failed(e)),
        };
        bad_in_a_row = 0;
        let rate = buffer.spec().rate();
        let channels = buffer.spec().channels().count();
        if rate == 0 || channels == 0 || buffer.frames() == 0 {
            continue;
        }
        scratch.resize(buffer.samples_interleaved(), 0.0);
        buffer.copy_to_slice_interleaved(&mut scratch[..]);
        let collector = match &mut collector {
            Some(c) if c.rate_in == rate && c.channels_in == channels => c,
            Some(c) => {
                return Err(decode_failed(format!(
                    "the stream changes format mid-way ({} Hz x{} to {rate} Hz x{channels})",
                    c.rate_in, c.channels_in
                )));
            }
            None => collector.insert(Collector::new(rate, channels)?),
        };
        collector.push(&scratch)?;
    }
    match collector {
        Some(collector) => collector.finish(),
        None => Err(decode_failed("no audio samples decoded")),
    }
}

/// Mixes down to 1 or 2 channels and resamples to 48 kHz as packets decode.
struct Collector {
    rate_in: u32,
    channels_in: usize,
    channels_out: usize,
    resampler: StreamResampler,
    mixed: Vec<f32>,
    /// Resampler output of one push, converted to 16 bits at once so a long file never sits in memory as `f32`.
    resampled: Vec<f32>,
    out: Vec<i16>,
    max_samples: usize,
}

impl Collector {
    fn new(rate_in: u32, channels_in: usize) -> Result<Self, RtcError> {
        let channels_out = channels_in.min(2);
        let resampler = StreamResampler::new(rate_in, channels_out)
            .map_err(|e| decode_failed(format!("cannot resample {rate_in} Hz audio ({})", e.detail)))?;
        Ok(Collector {
            rate_in,
            channels_in,
            channels_out,
            resampler,
            mixed: Vec::new(),
            resampled: Vec::new(),
            out: Vec::new(),
            max_samples: MAX_DECODED_DURATION.as_secs() as usize * OPUS_SAMPLE_RATE as usize * channels_out,
        })
    }

    fn push(&mut self, interleaved: &[f32]) -> Result<(), RtcError> {
        let input = if self.channels_in == self.channels_out {
            interleaved
        } else {
            // More than two channels: the first two carry front left/right in every common layout; the rest
            // (centre, surround, LFE) are spread over both sides.
            self.mixed.clear();
            for frame in interleaved.chunks_exact(self.channels_in) {
                let rest: f32 = frame[2..].iter().sum::<f32>() / (self.channels_in - 2) as f32;
                self.mixed.push((frame[0] + rest) * 0.5);
                self.mixed.push((frame[1] + rest) * 0.5);
            }
            &self.mixed[..]
        };
        self.resampler.process(input, &mut self.resampled)?;
        self.out.extend(self.resampled.drain(..).map(f32_to_i16));
        if self.out.len() > self.max_samples {
            return Err(decode_failed(format!(
                "the audio is longer than {} minutes",
                MAX_DECODED_DURATION.as_secs() / 60
            )));
        }
        Ok(())
    }

    fn finish(mut self) -> Result<DecodedAudio, RtcError> {
        self.resampler.finish(&mut self.resampled)?;
        self.out.extend(self.resampled.drain(..).map(f32_to_i16));
        if self.out.is_empty() {
            return Err(decode_failed("no audio samples decoded"));
        }
        Ok(DecodedAudio {
            channels: self.channels_out as u16,
            samples: self.out,
        })
    }
}

//! Test signals and measurements for end-to-end audio checks: a phase-continuous sine generator, the dominant
//! frequency of a recording (windowed FFT with peak interpolation), RMS levels and level steadiness.
//!
//! The analysers take mono samples; [`channel_samples`] and [`downmix`] get them from interleaved audio.

use std::f64::consts::PI;

use rustfft::FftPlanner;
use rustfft::num_complex::Complex;

use super::AudioFrame;

/// A sine tone cut into [`AudioFrame`]s. The phase runs on across frames, and frame lengths that are not a whole
/// number of samples (e.g. 10 ms at 22.05 kHz) alternate so that the average is exact.
#[derive(Clone, Debug)]
pub struct SineSource {
    freq_hz: f64,
    sample_rate: u32,
    channels: u16,
    amplitude: f64,
    /// Samples per channel produced so far.
    position: u64,
    /// Milliseconds produced so far.
    elapsed_ms: u64,
}

impl SineSource {
    /// A tone of `freq_hz` at `sample_rate` with `channels` identical channels; `amplitude` is the peak as a
    /// fraction of full scale (clamped to 0..=1). A rate or channel count the pipelines do not accept gives frames
    /// they reject with `INVALID_PARAMS`.
    pub fn new(freq_hz: f32, sample_rate: u32, channels: u16, amplitude: f32) -> Self {
        SineSource {
            freq_hz: f64::from(freq_hz),
            sample_rate,
            channels,
            amplitude: f64::from(amplitude).clamp(0.0, 1.0),
            position: 0,
            elapsed_ms: 0,
        }
    }

    /// The next `ms` milliseconds.
    pub fn next_frame(&mut self, ms: u32) -> AudioFrame {
        self.elapsed_ms += u64::from(ms);
        let end = self.elapsed_ms * u64::from(self.sample_rate) / 1000;
        let count = end.saturating_sub(self.position);
        let mut samples = Vec::with_capacity(count as usize * usize::from(self.channels));
        let rate = f64::from(self.sample_rate.max(1));
        for n in self.position..end {
            // The phase in cycles, reduced before the multiplication by 2π to stay exact on long runs.
            let cycles = (self.freq_hz * n as f64 / rate).fract();
            let value = (self.amplitude * 32_767.0 * (2.0 * PI * cycles).sin()).round() as i16;
            samples.extend(std::iter::repeat_n(value, usize::from(self.channels)));
        }
        self.position = end;
        AudioFrame::new(self.sample_rate, self.channels, samples)
    }

    /// `total_ms` of tone in frames of `frame_ms` (the last one shorter if it does not divide).
    pub fn take_ms(&mut self, total_ms: u32, frame_ms: u32) -> Vec<AudioFrame> {
        let frame_ms = frame_ms.max(1);
        let mut frames = Vec::new();
        let mut done = 0;
        while done < total_ms {
            let ms = frame_ms.min(total_ms - done);
            frames.push(self.next_frame(ms));
            done += ms;
        }
        frames
    }
}

/// One channel of interleaved samples (empty when `index >= channels` or `channels == 0`).
pub fn channel_samples(interleaved: &[i16], channels: u16, index: u16) -> Vec<i16> {
    if index >= channels {
        return Vec::new();
    }
    interleaved
        .iter()
        .skip(usize::from(index))
        .step_by(usize::from(channels))
        .copied()
        .collect()
}

/// The average of the channels of interleaved samples (empty when `channels == 0`).
pub fn downmix(interleaved: &[i16], channels: u16) -> Vec<i16> {
    if channels == 0 {
        return Vec::new();
    }
    interleaved
        .chunks_exact(usize::from(channels))
        .map(|frame| (frame.iter().map(|&s| i32::from(s)).sum::<i32>() / i32::from(channels)) as i16)
        .collect()
}

/// The samples of consecutive frames, end to end (frames are assumed to share rate and channel count).
pub fn concat(frames: &[AudioFrame]) -> Vec<i16> {
    frames.iter().flat_map(|f| f.samples.iter().copied()).collect()
}

/// The frequency (Hz) of the strongest spectral peak of mono `samples`, DC excluded; 0 for silence, fewer than 4
/// samples or a zero rate.
///
/// Hann window, FFT zero-padded to the next power of two, then Gaussian (log-parabolic) interpolation of the peak
/// bin: on one second of a clean tone the error is far below 0.1 Hz; on decoded Opus it stays well
/// within 1 Hz.
pub fn dominant_frequency(samples: &[i16], sample_rate: u32) -> f32 {
    let n = samples.len();
    if n < 4 || sample_rate == 0 {
        return 0.0;
    }
    let mean = samples.iter().map(|&s| f64::from(s)).sum::<f64>() / n as f64;
    let size = n.next_power_of_two();
    let mut buf = vec![Complex::new(0.0f64, 0.0); size];
    for (i, (&s, slot)) in samples.iter().zip(buf.iter_mut()).enumerate() {
        let window = 0.5 - 0.5 * (2.0 * PI * i as f64 / (n - 1) as f64).cos();
        *slot = Complex::new((f64::from(s) - mean) * window, 0.0);
    }
    FftPlanner::new().plan_fft_forward(size).process(&mut buf);
    // Power rather than magnitude: the log-parabolic fit gives the same offset.
    let magnitude: Vec<f64> = buf[..size / 2].iter().map(|c| c.norm_sqr()).collect();
    // Skip the DC lobe (the Hann main lobe is 2 bins wide at the input length: 2 * size / n padded bins) and keep
    // a neighbour on each side of the peak for the interpolation.
    let first = 2 * size / n + 1;
    let last = size / 2 - 1;
    if first >= last {
        return 0.0;
    }
    let Some((peak, peak_mag)) = magnitude[first..last]
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map(|(i, &m)| (i + first, m))
    else {
        return 0.0;
    };
    if peak_mag <= f64::EPSILON {
        return 0.0;
    }
    let (a, b, c) = (magnitude[peak - 1], peak_mag, magnitude[peak + 1]);
    let offset = if a > 0.0 && c > 0.0 {
        let (la, lb, lc) = (a.ln(), b.ln(), c.ln());
        let denom = la - 2.0 * lb + lc;
        if denom.abs() > f64::EPSILON {
            0.5 * (la - lc) / denom
        } else {
            0.0
        }
    } else {
        0.0
    };
    ((peak as f64 + offset.clamp(-0.5, 0.5)) * f64::from(sample_rate) / size as f64) as f32
}

/// RMS of `samples` as a fraction of full scale (a full-scale sine gives about 0.707); 0 for no samples.
pub fn rms_level(samples: &[i16]) -> f32 {
    if samples.is_empty() {
        return 0.0;
    }
    let sum: f64 = samples.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
    ((sum / samples.len() as f64).sqrt() / 32_768.0) as f32
}

/// [`rms_level`] in dBFS (full-scale square wave = 0 dB); negative infinity for silence.
pub fn rms_dbfs(samples: &[i16]) -> f32 {
    20.0 * rms_level(samples).log10()
}

/// [`rms_level`] of each whole `window_ms` window of mono `samples` (a trailing partial window is left out).
pub fn windowed_rms(samples: &[i16], sample_rate: u32, window_ms: u32) -> Vec<f32> {
    let window = (u64::from(sample_rate) * u64::from(window_ms) / 1000) as usize;
    if window == 0 {
        return Vec::new();
    }
    samples.chunks_exact(window).map(rms_level).collect()
}

/// How steady the level of a recording is, from per-window RMS ([`level_steadiness`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LevelSteadiness {
    pub windows: usize,
    pub min_rms: f32,
    pub max_rms: f32,
    /// Mean of the window levels in dBFS.
    pub mean_dbfs: f32,
    /// `min_rms / max_rms`, in 0..=1 (1 = perfectly steady; 0 when some window is silent or there are none).
    pub min_max_ratio: f32,
    /// Largest distance of a window's level from `mean_dbfs`, in dB (infinite when some window is silent).
    pub max_deviation_db: f32,
}

/// Per-window RMS of mono `samples` over whole `window_ms` windows, summarised. With no whole window every field
/// is 0 except `max_deviation_db`, which is infinite (so a "within N dB" check fails).
pub fn level_steadiness(samples: &[i16], sample_rate: u32, window_ms: u32) -> LevelSteadiness {
    let levels = windowed_rms(samples, sample_rate, window_ms);
    if levels.is_empty() {
        return LevelSteadiness {
            windows: 0,
            min_rms: 0.0,
            max_rms: 0.0,
            mean_dbfs: 0.0,
            min_max_ratio: 0.0,
            max_deviation_db: f32::INFINITY,
        };
    }
    let min_rms = levels.iter().copied().fold(f32::INFINITY, f32::min);
    let max_rms = levels.iter().copied().fold(0.0, f32::max);
    let db: Vec<f32> = levels.iter().map(|&l| 20.0 * l.log10()).collect();
    let mean_dbfs = db.iter().sum::<f32>() / db.len() as f32;
    let max_deviation_db = db.iter().map(|d| (d - mean_dbfs).abs()).fold(0.0, f32::max);
    LevelSteadiness {
        windows: levels.len(),
        min_rms,
        max_rms,
        mean_dbfs,
        min_max_ratio: if max_rms > 0.0 { min_rms / max_rms } else { 0.0 },
        max_deviation_db: if max_deviation_db.is_nan() {
            f32::INFINITY
        } else {
            max_deviation_db
        },
    }
}

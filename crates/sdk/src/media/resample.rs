//! Streaming conversion of interleaved `f32` audio from one fixed rate to 48 kHz (rubato's synchronous FFT
//! resampler), with the resampler's start-up delay trimmed so output sample `n` lines up with input time `n / 48000`.

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Indexing, Resampler};
use stoa_proto::RtcError;

use super::{OPUS_SAMPLE_RATE, unexpected};

/// Converts one input rate to 48 kHz. At 48 kHz input it passes samples through.
pub(crate) struct StreamResampler {
    rate_in: u32,
    channels: usize,
    fft: Option<Fft<f32>>,
    /// Interleaved input not yet resampled (less than one chunk between calls).
    pending: Vec<f32>,
    out_buf: Vec<f32>,
    /// Output frames still to drop at the start (the resampler delay).
    skip: usize,
    frames_in: u64,
    frames_out: u64,
}

impl std::fmt::Debug for StreamResampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamResampler")
            .field("rate_in", &self.rate_in)
            .field("channels", &self.channels)
            .field("pending_frames", &(self.pending.len() / self.channels.max(1)))
            .finish_non_exhaustive()
    }
}

impl StreamResampler {
    /// `rate_in` must be non-zero and `channels` 1 or 2 (checked by the caller).
    pub(crate) fn new(rate_in: u32, channels: usize) -> Result<Self, RtcError> {
        let fft = if rate_in == OPUS_SAMPLE_RATE {
            None
        } else {
            // Both sides fixed: about 10 ms of input per call, rounded to the smallest block the ratio allows
            // (e.g. 441 in / 480 out for 44.1 kHz). The delay is half an output block (~5 ms).
            let chunk = (rate_in as usize / 100).max(1);
            let fft = Fft::<f32>::new(
                rate_in as usize,
                OPUS_SAMPLE_RATE as usize,
                chunk,
                channels,
                FixedSync::Both,
            )
            .map_err(|e| unexpected(format!("cannot build a {rate_in} Hz -> 48 kHz resampler: {e}")))?;
            Some(fft)
        };
        let (out_len, skip) = match &fft {
            Some(fft) => (fft.output_frames_max() * channels, fft.output_delay()),
            None => (0, 0),
        };
        Ok(StreamResampler {
            rate_in,
            channels,
            fft,
            pending: Vec::new(),
            out_buf: vec![0.0; out_len],
            skip,
            frames_in: 0,
            frames_out: 0,
        })
    }

    pub(crate) fn rate_in(&self) -> u32 {
        self.rate_in
    }

    /// Resamples `input` (interleaved, `channels` wide) and appends the 48 kHz result to `out`.
    pub(crate) fn process(&mut self, input: &[f32], out: &mut Vec<f32>) -> Result<(), RtcError> {
        self.frames_in += (input.len() / self.channels) as u64;
        if self.fft.is_none() {
            out.extend_from_slice(input);
            self.frames_out += (input.len() / self.channels) as u64;
            return Ok(());
        }
        self.pending.extend_from_slice(input);
        self.run(out, false)
    }

    /// Pushes out everything still inside: the pending partial chunk and the resampler's delay line, so the total
    /// output is `ceil(frames_in * 48000 / rate_in)` frames. The resampler starts over afterwards.
    pub(crate) fn finish(&mut self, out: &mut Vec<f32>) -> Result<(), RtcError> {
        if self.fft.is_some() {
            self.run(out, true)?;
        }
        if let Some(fft) = &mut self.fft {
            fft.reset();
            self.skip = fft.output_delay();
        }
        self.pending.clear();
        self.frames_in = 0;
        self.frames_out = 0;
        Ok(())
    }

    fn run(&mut self, out: &mut Vec<f32>, flush: bool) -> Result<(), RtcError> {
        let Some(fft) = &mut self.fft else {
            return Ok(());
        };
        let ch = self.channels;
        let chunk_in = fft.input_frames_next();
        let chunk_out = fft.output_frames_next();
        let target_out = (self.frames_in * u64::from(OPUS_SAMPLE_RATE)).div_ceil(u64::from(self.rate_in));
        // A flush needs the pending input plus the delay line: a bound that also guards against a resampler
        // that stops producing output.
        let max_rounds = self.pending.len() / ch / chunk_in
            + self.skip / chunk_out.max(1)
            + fft.output_delay() / chunk_out.max(1)
            + 3;
        let mut rounds = 0;
        let mut pos = 0;
        loop {
            let available = self.pending.len() / ch - pos;
            if flush {
                if self.frames_out >= target_out || rounds >= max_rounds {
                    break;
                }
            } else if available < chunk_in {
                break;
            }
            rounds += 1;
            let take = available.min(chunk_in);
            let input = InterleavedSlice::new(&self.pending[..], ch, self.pending.len() / ch)
                .map_err(|e| unexpected(format!("resampler input: {e}")))?;
            let mut output = InterleavedSlice::new_mut(&mut self.out_buf[..], ch, chunk_out)
                .map_err(|e| unexpected(format!("resampler output: {e}")))?;
            let mut indexing = Indexing::new().input_offset(pos);
            if take < chunk_in {
                // Only when flushing: the rest of the chunk is read as silence.
                indexing = indexing.partial_len(take);
            }
            let (_, written) = fft
                .process_into_buffer(&input, &mut output, Some(&indexing))
                .map_err(|e| unexpected(format!("resampling failed: {e}")))?;
            pos += take;
            let skip = self.skip.min(written);
            self.skip -= skip;
            let mut frames = written - skip;
            if flush {
                frames = frames.min((target_out - self.frames_out) as usize);
            }
            out.extend_from_slice(&self.out_buf[skip * ch..(skip + frames) * ch]);
            self.frames_out += frames as u64;
        }
        self.pending.drain(..pos * ch);
        Ok(())
    }
}

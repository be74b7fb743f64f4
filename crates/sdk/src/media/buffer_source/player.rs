//! The playback state of a buffer source, sans IO: where the play head is, how many cycles remain, and the next
//! 20 ms of audio when asked. The track's pacing task asks every 20 ms.

use std::sync::Arc;
use std::time::Duration;

use super::decode::DecodedAudio;
use crate::media::{AudioFrame, OPUS_FRAME_SAMPLES, OPUS_SAMPLE_RATE, invalid_params};
use stoa_proto::RtcError;

/// `AudioSourceState`: what `source-state-change` reports and `currentState` holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum AudioSourceState {
    #[default]
    Stopped,
    Playing,
    Paused,
}

impl AudioSourceState {
    /// The Web SDK's string: `"stopped"`, `"playing"` or `"paused"`.
    pub fn as_str(self) -> &'static str {
        match self {
            AudioSourceState::Stopped => "stopped",
            AudioSourceState::Playing => "playing",
            AudioSourceState::Paused => "paused",
        }
    }
}

/// `AudioSourceOptions` of `startProcessAudioBuffer`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StartOptions {
    /// Plays the file over and over until stopped (`loop`); overrides `cycle`.
    pub looping: bool,
    /// How many times the file plays (`cycle`, default 1; 0 counts as 1).
    pub cycle: u32,
    /// Where the first cycle starts (`startPlayTime`); later cycles start at 0.
    pub start_play_time: Duration,
}

impl Default for StartOptions {
    fn default() -> Self {
        StartOptions {
            looping: false,
            cycle: 1,
            start_play_time: Duration::ZERO,
        }
    }
}

/// The range of `playbackSpeed`, percent.
pub const PLAYBACK_SPEEDS: std::ops::RangeInclusive<u32> = 50..=400;

/// What one 20 ms step produced.
#[derive(Debug, PartialEq)]
pub(crate) enum Tick {
    /// Not playing: nothing to send.
    Idle,
    /// 20 ms of audio. `ended` when the last cycle finished inside it (the rest is silence; the state is now
    /// stopped).
    Frame { frame: AudioFrame, ended: bool },
}

#[derive(Debug)]
pub(crate) struct Player {
    audio: Arc<DecodedAudio>,
    state: AudioSourceState,
    /// Play head in 48 kHz frames; fractional when the speed is not 100 %.
    position: f64,
    /// Cycles still to play after the current one; `None` loops forever.
    cycles_after: Option<u32>,
    speed_percent: u32,
}

impl Player {
    pub(crate) fn new(audio: Arc<DecodedAudio>) -> Player {
        Player {
            audio,
            state: AudioSourceState::Stopped,
            position: 0.0,
            cycles_after: Some(0),
            speed_percent: 100,
        }
    }

    pub(crate) fn state(&self) -> AudioSourceState {
        self.state
    }

    pub(crate) fn speed(&self) -> u32 {
        self.speed_percent
    }

    fn len(&self) -> f64 {
        self.audio.frames() as f64
    }

    fn frames_at(&self, time: Duration) -> f64 {
        (time.as_secs_f64() * f64::from(OPUS_SAMPLE_RATE)).min(self.len())
    }

    /// Position in the current cycle.
    pub(crate) fn current_time(&self) -> Duration {
        Duration::from_secs_f64(self.position.max(0.0) / f64::from(OPUS_SAMPLE_RATE))
    }

    /// Starts from the beginning (or `start_play_time`), also when already playing or paused.
    pub(crate) fn start(&mut self, options: StartOptions) {
        self.position = self.frames_at(options.start_play_time);
        self.cycles_after = if options.looping {
            None
        } else {
            Some(options.cycle.max(1) - 1)
        };
        self.state = AudioSourceState::Playing;
    }

    /// Returns whether the state changed.
    pub(crate) fn pause(&mut self) -> bool {
        self.transition(AudioSourceState::Playing, AudioSourceState::Paused)
    }

    pub(crate) fn resume(&mut self) -> bool {
        self.transition(AudioSourceState::Paused, AudioSourceState::Playing)
    }

    fn transition(&mut self, from: AudioSourceState, to: AudioSourceState) -> bool {
        if self.state != from {
            return false;
        }
        self.state = to;
        true
    }

    /// Stops and rewinds. Returns whether the state changed.
    pub(crate) fn stop(&mut self) -> bool {
        self.position = 0.0;
        std::mem::replace(&mut self.state, AudioSourceState::Stopped) != AudioSourceState::Stopped
    }

    /// Moves the play head (clamped to the duration); works in every state.
    pub(crate) fn seek(&mut self, time: Duration) {
        self.position = self.frames_at(time);
    }

    pub(crate) fn set_speed(&mut self, percent: u32) -> Result<(), RtcError> {
        if !PLAYBACK_SPEEDS.contains(&percent) {
            return Err(invalid_params(format!(
                "playback speed {percent} is out of range ({}..={} percent)",
                PLAYBACK_SPEEDS.start(),
                PLAYBACK_SPEEDS.end()
            )));
        }
        self.speed_percent = percent;
        Ok(())
    }

    /// The next 20 ms at 48 kHz. At a speed other than 100 % the file is read faster or slower with linear
    /// interpolation, so pitch follows speed, as Web Audio's `playbackRate` (what the Web SDK uses) does.
    pub(crate) fn tick(&mut self) -> Tick {
        if self.state != AudioSourceState::Playing {
            return Tick::Idle;
        }
        let channels = usize::from(self.audio.channels);
        let len = self.len();
        let step = f64::from(self.speed_percent) / 100.0;
        let mut samples = Vec::with_capacity(OPUS_FRAME_SAMPLES as usize * channels);
        let mut ended = false;
        for _ in 0..OPUS_FRAME_SAMPLES {
            if self.position >= len {
                match &mut self.cycles_after {
                    None => self.position -= len,
                    Some(n) if *n > 0 => {
                        *n -= 1;
                        self.position -= len;
                    }
                    Some(_) => {
                        ended = true;
                        break;
                    }
                }
                // A very short file at high speed may overshoot more than one length.
                self.position = self.position.rem_euclid(len.max(1.0));
            }
            self.read_at(self.position, &mut samples);
            self.position += step;
        }
        samples.resize(OPUS_FRAME_SAMPLES as usize * channels, 0);
        if ended {
            self.position = 0.0;
            self.state = AudioSourceState::Stopped;
        }
        Tick::Frame {
            frame: AudioFrame::new(OPUS_SAMPLE_RATE, self.audio.channels, samples),
            ended,
        }
    }

    fn read_at(&self, position: f64, out: &mut Vec<i16>) {
        let channels = usize::from(self.audio.channels);
        let frames = self.audio.frames();
        let index = (position as usize).min(frames.saturating_sub(1));
        let next = (index + 1).min(frames.saturating_sub(1));
        let fraction = position - index as f64;
        for ch in 0..channels {
            let a = f64::from(self.audio.samples[index * channels + ch]);
            if fraction == 0.0 {
                out.push(a as i16);
            } else {
                let b = f64::from(self.audio.samples[next * channels + ch]);
                out.push((a + (b - a) * fraction).round() as i16);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A mono ramp: sample n has value n, so positions can be read off the output.
    fn ramp(frames: usize) -> Arc<DecodedAudio> {
        Arc::new(DecodedAudio {
            channels: 1,
            samples: (0..frames).map(|n| n as i16).collect(),
        })
    }

    fn frame(tick: Tick) -> (Vec<i16>, bool) {
        match tick {
            Tick::Frame { frame, ended } => (frame.samples, ended),
            Tick::Idle => panic!("idle"),
        }
    }

    #[test]
    fn plays_once_then_stops_with_a_silent_tail() {
        let mut player = Player::new(ramp(1500));
        assert_eq!(player.tick(), Tick::Idle);
        player.start(StartOptions::default());
        let (first, ended) = frame(player.tick());
        assert!(!ended);
        assert_eq!(first[..3], [0, 1, 2]);
        let (second, ended) = frame(player.tick());
        assert!(ended);
        assert_eq!(second.len(), 960);
        assert_eq!(second[0], 960);
        assert_eq!(second[1500 - 960 - 1], 1499);
        assert!(second[1500 - 960..].iter().all(|&s| s == 0));
        assert_eq!(player.state(), AudioSourceState::Stopped);
        assert_eq!(player.tick(), Tick::Idle);
    }

    #[test]
    fn cycles_loop_seek_and_start_time() {
        let mut player = Player::new(ramp(960));
        player.start(StartOptions {
            cycle: 3,
            ..StartOptions::default()
        });
        for _ in 0..2 {
            assert!(!frame(player.tick()).1);
        }
        assert!(!frame(player.tick()).1, "third cycle plays whole");
        assert!(frame(player.tick()).1, "then it ends");

        player.start(StartOptions {
            looping: true,
            start_play_time: Duration::from_millis(10),
            ..StartOptions::default()
        });
        let (samples, _) = frame(player.tick());
        assert_eq!((samples[0], samples[480]), (480, 0), "starts at 10 ms and wraps");
        for _ in 0..100 {
            assert!(!frame(player.tick()).1, "looping never ends");
        }
        player.seek(Duration::from_millis(5));
        assert_eq!(player.current_time(), Duration::from_millis(5));
        assert_eq!(frame(player.tick()).0[0], 240);
        assert!(player.pause());
        assert!(!player.pause());
        assert_eq!(player.tick(), Tick::Idle);
        assert!(player.resume());
        assert!(player.stop());
        assert_eq!(player.current_time(), Duration::ZERO);
    }

    #[test]
    fn speed_reads_faster_and_is_bounded() {
        let mut player = Player::new(ramp(10_000));
        assert!(player.set_speed(49).is_err());
        assert!(player.set_speed(401).is_err());
        player.set_speed(200).unwrap();
        player.start(StartOptions::default());
        let (samples, _) = frame(player.tick());
        assert_eq!(samples[..3], [0, 2, 4]);
        assert_eq!(player.current_time(), Duration::from_millis(40));
        player.set_speed(50).unwrap();
        let (samples, _) = frame(player.tick());
        assert_eq!(samples[..3], [1920, 1921, 1921], "interpolated half steps");
    }
}

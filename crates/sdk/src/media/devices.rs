//! Microphone and speaker through cpal (feature `devices`; ALSA on Linux): `getMicrophones`,
//! `getPlaybackDevices`, `createMicrophoneAudioTrack` and playing a remote audio track.
//!
//! A machine with no sound card is a normal case: the lists are empty and opening a device is `DEVICE_NOT_FOUND`.
//! A host that cannot list its devices at all is `ENUMERATE_DEVICES_FAILED`. cpal streams are not `Send` on every
//! platform, so each open device lives on a thread of its own, which ends when the handle is dropped or closed.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::Duration;

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use cpal::{SampleFormat, SupportedStreamConfig};
use stoa_proto::{ErrorCode, RtcError};

use crate::engine::{LocalAudioTrack, LocalTrack, RemoteAudioTrack};
use crate::media::{AudioEncoderConfig, AudioFrame, OPUS_SAMPLE_RATE, SUPPORTED_SAMPLE_RATES, f32_to_i16, i16_to_f32};

/// Audio queued for a speaker beyond this is dropped, so playback never drifts behind the call.
const MAX_PLAYBACK_QUEUE: Duration = Duration::from_millis(200);
/// How long opening a device may take.
const OPEN_TIMEOUT: Duration = Duration::from_secs(5);

/// `MediaDeviceInfo.kind`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DeviceKind {
    AudioInput,
    AudioOutput,
}

impl DeviceKind {
    /// `"audioinput"` or `"audiooutput"`.
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceKind::AudioInput => "audioinput",
            DeviceKind::AudioOutput => "audiooutput",
        }
    }
}

/// `MediaDeviceInfo`: `device_id` is what [`MicrophoneAudioTrack::new`] and [`play`] take.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceInfo {
    pub device_id: String,
    pub label: String,
    pub kind: DeviceKind,
}

fn enumerate_failed(detail: impl std::fmt::Display) -> RtcError {
    RtcError::new(
        ErrorCode::EnumerateDevicesFailed,
        format!("cannot list audio devices: {detail}"),
    )
}

fn not_found(detail: impl Into<String>) -> RtcError {
    RtcError::new(ErrorCode::DeviceNotFound, detail)
}

fn list(kind: DeviceKind) -> Result<Vec<(DeviceInfo, cpal::Device)>, RtcError> {
    let host = cpal::default_host();
    let devices = host.devices().map_err(enumerate_failed)?;
    Ok(devices
        .filter(|d| match kind {
            DeviceKind::AudioInput => d.supports_input(),
            DeviceKind::AudioOutput => d.supports_output(),
        })
        .filter_map(|device| {
            let device_id = device.id().ok()?.to_string();
            let label = device
                .description()
                .map(|d| d.name().to_string())
                .unwrap_or_else(|_| device_id.clone());
            Some((DeviceInfo { device_id, label, kind }, device))
        })
        .collect())
}

/// `getMicrophones()`.
pub fn get_microphones() -> Result<Vec<DeviceInfo>, RtcError> {
    Ok(list(DeviceKind::AudioInput)?
        .into_iter()
        .map(|(info, _)| info)
        .collect())
}

/// `getPlaybackDevices()`.
pub fn get_playback_devices() -> Result<Vec<DeviceInfo>, RtcError> {
    Ok(list(DeviceKind::AudioOutput)?
        .into_iter()
        .map(|(info, _)| info)
        .collect())
}

/// `getDevices()`: microphones, then playback devices.
pub fn get_devices() -> Result<Vec<DeviceInfo>, RtcError> {
    let mut all = get_microphones()?;
    all.extend(get_playback_devices()?);
    Ok(all)
}

/// The device with this id, or the default one.
fn find(kind: DeviceKind, device_id: Option<&str>) -> Result<cpal::Device, RtcError> {
    let what = match kind {
        DeviceKind::AudioInput => "microphone",
        DeviceKind::AudioOutput => "playback device",
    };
    match device_id {
        Some(id) => list(kind)?
            .into_iter()
            .find(|(info, _)| info.device_id == id)
            .map(|(_, device)| device)
            .ok_or_else(|| not_found(format!("no {what} with id {id:?}"))),
        None => {
            let host = cpal::default_host();
            let device = match kind {
                DeviceKind::AudioInput => host.default_input_device(),
                DeviceKind::AudioOutput => host.default_output_device(),
            };
            device.ok_or_else(|| not_found(format!("this machine has no {what}")))
        }
    }
}

/// A configuration the pipelines take: 48 kHz if the device offers it, else its default rate when supported; f32 or
/// i16 samples.
fn pick_config(device: &cpal::Device, kind: DeviceKind) -> Result<SupportedStreamConfig, RtcError> {
    let usable = |format: SampleFormat| matches!(format, SampleFormat::F32 | SampleFormat::I16);
    let ranges: Vec<_> = match kind {
        DeviceKind::AudioInput => device.supported_input_configs().map(|c| c.collect()),
        DeviceKind::AudioOutput => device.supported_output_configs().map(|c| c.collect()),
    }
    .map_err(|e| not_found(format!("the device cannot be opened: {e}")))?;
    if let Some(config) = ranges
        .into_iter()
        .filter(|r| usable(r.sample_format()) && r.channels() >= 1)
        .find_map(|r| r.try_with_sample_rate(OPUS_SAMPLE_RATE))
    {
        return Ok(config);
    }
    let default = match kind {
        DeviceKind::AudioInput => device.default_input_config(),
        DeviceKind::AudioOutput => device.default_output_config(),
    }
    .map_err(|e| not_found(format!("the device cannot be opened: {e}")))?;
    if usable(default.sample_format()) && SUPPORTED_SAMPLE_RATES.contains(&default.sample_rate()) {
        return Ok(default);
    }
    Err(RtcError::new(
        ErrorCode::NotSupported,
        format!(
            "the device offers {} Hz {:?} samples, which this SDK does not take",
            default.sample_rate(),
            default.sample_format()
        ),
    ))
}

/// A device stream kept alive on its own thread until stopped.
struct DeviceThread {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl DeviceThread {
    /// Runs `open` on a new thread; `open` builds and starts the stream, which then lives until the handle stops.
    fn start<S: 'static>(
        name: &str,
        open: impl FnOnce() -> Result<S, RtcError> + Send + 'static,
    ) -> Result<DeviceThread, RtcError> {
        let (ready_tx, ready_rx) = mpsc::channel();
        let (stop_tx, stop_rx) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(name.to_string())
            .spawn(move || match open() {
                Ok(stream) => {
                    let _ = ready_tx.send(Ok(()));
                    // Any message or a dropped sender ends the stream.
                    let _ = stop_rx.recv();
                    drop(stream);
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                }
            })
            .map_err(|e| RtcError::new(ErrorCode::UnexpectedError, format!("device thread: {e}")))?;
        match ready_rx.recv_timeout(OPEN_TIMEOUT) {
            Ok(Ok(())) => Ok(DeviceThread {
                stop: Some(stop_tx),
                thread: Some(thread),
            }),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(not_found("the device did not open in time")),
        }
    }

    fn stop(&mut self) {
        self.stop.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for DeviceThread {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `createMicrophoneAudioTrack`: a local audio track fed by a capture device. Publish [`Self::track`]. The device is
/// released by [`Self::close`] or when the handle is dropped.
pub struct MicrophoneAudioTrack {
    track: LocalAudioTrack,
    device: Mutex<DeviceThread>,
    label: String,
    captured: Arc<AtomicU64>,
}

impl std::fmt::Debug for MicrophoneAudioTrack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MicrophoneAudioTrack")
            .field("label", &self.label)
            .field("track", &self.track)
            .finish()
    }
}

impl MicrophoneAudioTrack {
    /// Opens `device_id` (from [`get_microphones`]) or the default microphone. No such device (or none at all) is
    /// `DEVICE_NOT_FOUND`; a host that cannot list devices is `ENUMERATE_DEVICES_FAILED`.
    pub fn new(
        device_id: Option<&str>,
        config: impl Into<AudioEncoderConfig>,
    ) -> Result<MicrophoneAudioTrack, RtcError> {
        let track = LocalAudioTrack::custom(config)?;
        let device = find(DeviceKind::AudioInput, device_id)?;
        let label = device.description().map(|d| d.name().to_string()).unwrap_or_default();
        let feed = track.clone();
        let captured = Arc::new(AtomicU64::new(0));
        let counter = captured.clone();
        let thread = DeviceThread::start("stoa-microphone", move || open_input(&device, feed, counter))?;
        Ok(MicrophoneAudioTrack {
            track,
            device: Mutex::new(thread),
            label,
            captured,
        })
    }

    /// Samples per channel captured so far.
    pub fn captured_frames(&self) -> u64 {
        self.captured.load(Ordering::Relaxed)
    }

    /// The device's name.
    pub fn label(&self) -> &str {
        &self.label
    }

    pub fn track(&self) -> &LocalAudioTrack {
        &self.track
    }

    /// Releases the device and closes the track.
    pub fn close(&self) {
        self.device.lock().unwrap_or_else(|e| e.into_inner()).stop();
        self.track.close();
    }
}

impl From<&MicrophoneAudioTrack> for LocalTrack {
    fn from(track: &MicrophoneAudioTrack) -> Self {
        LocalTrack::from(track.track())
    }
}

/// Keeps at most two channels (the first two: front left and right).
fn to_pipeline_channels(channels: u16) -> u16 {
    channels.clamp(1, 2)
}

fn open_input(
    device: &cpal::Device,
    track: LocalAudioTrack,
    captured: Arc<AtomicU64>,
) -> Result<cpal::Stream, RtcError> {
    let config = pick_config(device, DeviceKind::AudioInput)?;
    let rate = config.sample_rate();
    let device_channels = usize::from(config.channels());
    let channels = to_pipeline_channels(config.channels());
    let format = config.sample_format();
    let stream_config = config.config();
    let on_error = |e: cpal::Error| tracing::warn!(error = %e, "microphone stream error");
    let push = move |samples: Vec<i16>| {
        let frame = AudioFrame::new(rate, channels, samples);
        captured.fetch_add(frame.frames() as u64, Ordering::Relaxed);
        // Only a closed track refuses frames; the device thread stops with it.
        let _ = track.push(&frame);
    };
    let keep = usize::from(channels);
    let stream = match format {
        SampleFormat::F32 => device.build_input_stream(
            stream_config,
            move |data: &[f32], _: &cpal::InputCallbackInfo| {
                push(
                    data.chunks_exact(device_channels)
                        .flat_map(|frame| frame[..keep].iter().map(|&s| f32_to_i16(s)))
                        .collect(),
                )
            },
            on_error,
            Some(OPEN_TIMEOUT),
        ),
        _ => device.build_input_stream(
            stream_config,
            move |data: &[i16], _: &cpal::InputCallbackInfo| {
                push(
                    data.chunks_exact(device_channels)
                        .flat_map(|frame| frame[..keep].iter().copied())
                        .collect(),
                )
            },
            on_error,
            Some(OPEN_TIMEOUT),
        ),
    }
    .map_err(|e| not_found(format!("the microphone cannot be opened: {e}")))?;
    stream
        .play()
        .map_err(|e| not_found(format!("the microphone cannot start: {e}")))?;
    Ok(stream)
}

/// A playback device (`setPlaybackDevice` / `IRemoteAudioTrack.play()`): 48 kHz frames pushed here, or a remote
/// track's frames after [`Speaker::play`], come out of the device. Audio queued beyond 200 ms is dropped so
/// playback never drifts behind the call. Released when dropped or stopped.
pub struct Speaker {
    device: DeviceThread,
    queue: Arc<Mutex<VecDeque<f32>>>,
    feeders: Vec<JoinHandle<()>>,
    stopped: Arc<AtomicBool>,
}

impl std::fmt::Debug for Speaker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Speaker")
            .field("queued", &self.queued())
            .finish_non_exhaustive()
    }
}

/// Stereo f32 samples held for the device at most.
const MAX_QUEUED_SAMPLES: usize = (OPUS_SAMPLE_RATE as usize * 2 * MAX_PLAYBACK_QUEUE.as_millis() as usize) / 1000;

fn enqueue(queue: &Mutex<VecDeque<f32>>, frame: &AudioFrame) {
    let mut queue = queue.lock().unwrap_or_else(|e| e.into_inner());
    // The queue holds stereo; mono frames are doubled.
    for chunk in frame.samples.chunks_exact(usize::from(frame.channels.max(1))) {
        let left = i16_to_f32(chunk[0]);
        let right = chunk.get(1).map_or(left, |&s| i16_to_f32(s));
        queue.push_back(left);
        queue.push_back(right);
    }
    let excess = queue.len().saturating_sub(MAX_QUEUED_SAMPLES);
    queue.drain(..excess);
}

impl Speaker {
    /// Opens `device_id` (from [`get_playback_devices`]) or the default output. Errors as for
    /// [`MicrophoneAudioTrack::new`]; a device that cannot run at 48 kHz is `NOT_SUPPORTED`.
    pub fn open(device_id: Option<&str>) -> Result<Speaker, RtcError> {
        let device = find(DeviceKind::AudioOutput, device_id)?;
        let queue: Arc<Mutex<VecDeque<f32>>> = Arc::default();
        let output_queue = queue.clone();
        let thread = DeviceThread::start("stoa-speaker", move || open_output(&device, output_queue))?;
        Ok(Speaker {
            device: thread,
            queue,
            feeders: Vec::new(),
            stopped: Arc::new(AtomicBool::new(false)),
        })
    }

    /// Queues a 48 kHz frame (mono or stereo); other rates are `INVALID_PARAMS`.
    pub fn push(&self, frame: &AudioFrame) -> Result<(), RtcError> {
        frame.validate()?;
        if frame.sample_rate != OPUS_SAMPLE_RATE {
            return Err(crate::media::invalid_params("the speaker takes 48 kHz frames"));
        }
        enqueue(&self.queue, frame);
        Ok(())
    }

    /// Audio waiting for the device.
    pub fn queued(&self) -> Duration {
        let samples = self.queue.lock().unwrap_or_else(|e| e.into_inner()).len();
        Duration::from_secs_f64(samples as f64 / 2.0 / f64::from(OPUS_SAMPLE_RATE))
    }

    /// Plays a remote track's decoded audio until it ends or the speaker stops.
    pub fn play(&mut self, track: &RemoteAudioTrack) -> Result<(), RtcError> {
        let mut frames = track.frames();
        let (queue, stopped) = (self.queue.clone(), self.stopped.clone());
        let feeder = std::thread::Builder::new()
            .name("stoa-speaker-feed".into())
            .spawn(move || {
                while let Some(frame) = frames.blocking_recv() {
                    if stopped.load(Ordering::SeqCst) {
                        return;
                    }
                    enqueue(&queue, &frame);
                }
            })
            .map_err(|e| RtcError::new(ErrorCode::UnexpectedError, format!("speaker thread: {e}")))?;
        self.feeders.push(feeder);
        Ok(())
    }

    /// Releases the device.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stopped.store(true, Ordering::SeqCst);
        self.device.stop();
        // A feeder waits for its track's next frame (20 ms) or end; it sees `stopped` then.
        for feeder in self.feeders.drain(..) {
            if feeder.is_finished() {
                let _ = feeder.join();
            }
        }
    }
}

impl Drop for Speaker {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// `IRemoteAudioTrack.play()`: [`Speaker::open`] then [`Speaker::play`].
pub fn play(track: &RemoteAudioTrack, device_id: Option<&str>) -> Result<Speaker, RtcError> {
    let mut speaker = Speaker::open(device_id)?;
    speaker.play(track)?;
    Ok(speaker)
}

fn open_output(device: &cpal::Device, queue: Arc<Mutex<VecDeque<f32>>>) -> Result<cpal::Stream, RtcError> {
    let config = pick_config(device, DeviceKind::AudioOutput)?;
    if config.sample_rate() != OPUS_SAMPLE_RATE {
        return Err(RtcError::new(
            ErrorCode::NotSupported,
            format!(
                "the playback device runs at {} Hz; only 48 kHz is supported",
                config.sample_rate()
            ),
        ));
    }
    let channels = usize::from(config.channels());
    let format = config.sample_format();
    let stream_config = config.config();
    let on_error = |e: cpal::Error| tracing::warn!(error = %e, "speaker stream error");
    // Takes the next stereo frame, silent when the queue is empty, spread over the device's channels.
    let next = move |out: &mut dyn FnMut(usize, f32), frames: usize| {
        let mut queue = queue.lock().unwrap_or_else(|e| e.into_inner());
        for i in 0..frames {
            let left = queue.pop_front().unwrap_or(0.0);
            let right = queue.pop_front().unwrap_or(left);
            for ch in 0..channels {
                let value = match (channels, ch) {
                    (1, _) => (left + right) * 0.5,
                    (_, 0) => left,
                    (_, 1) => right,
                    _ => 0.0,
                };
                out(i * channels + ch, value);
            }
        }
    };
    let stream = match format {
        SampleFormat::F32 => device.build_output_stream(
            stream_config,
            move |data: &mut [f32], _: &cpal::OutputCallbackInfo| {
                let frames = data.len() / channels;
                next(&mut |i, v| data[i] = v, frames);
            },
            on_error,
            Some(OPEN_TIMEOUT),
        ),
        _ => device.build_output_stream(
            stream_config,
            move |data: &mut [i16], _: &cpal::OutputCallbackInfo| {
                let frames = data.len() / channels;
                next(&mut |i, v| data[i] = f32_to_i16(v), frames);
            },
            on_error,
            Some(OPEN_TIMEOUT),
        ),
    }
    .map_err(|e| not_found(format!("the playback device cannot be opened: {e}")))?;
    stream
        .play()
        .map_err(|e| not_found(format!("the playback device cannot start: {e}")))?;
    Ok(stream)
}

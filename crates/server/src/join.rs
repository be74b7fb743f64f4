//! `stoa join`: a bot on the Rust SDK (LiveKit's `lk room join` is the model). It joins a channel, publishes a
//! test tone or an audio file and a test-pattern video if asked, subscribes to every remote track (also those
//! published later), records each remote user's audio to `DIR/<uid>.wav` and a summary of its video to
//! `DIR/<uid>.video.json`, and prints one JSON summary on stdout when it leaves (after `--duration`, on Ctrl-C, or
//! when the session ends). Errors print the catalog code and exit non-zero.

use std::collections::HashMap;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use stoa_proto::{ErrorCode, RtcError};
use stoa_sdk::media::video::pattern::CounterPattern;
use stoa_sdk::media::video::{VideoCodec, VideoEncoderConfig};
use stoa_sdk::media::{
    AudioEncoderPreset, AudioFrame, BufferSourceAudioTrack, OPUS_FRAME_DURATION, OPUS_SAMPLE_RATE, StartOptions, signal,
};
use stoa_sdk::{
    Client, ClientConfig, Codec, ConnectionState, Event, LocalAudioTrack, LocalTrack, LocalVideoTrack, MediaType,
    RemoteUser, Uid,
};
use tokio::sync::broadcast;

use crate::JoinArgs;

/// Video bitrate of the test pattern, per 1000 pixels at 30 fps (640x360 → ~500 kbps).
const VIDEO_KBPS_PER_KILOPIXEL_30FPS: f64 = 500.0 / 230.4;

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

fn invalid(detail: impl Into<String>) -> RtcError {
    RtcError::new(ErrorCode::InvalidParams, detail)
}

/// What `--audio` asks for.
enum AudioSpec {
    Sine(f32),
    /// A path or an http(s) URL, played in a loop.
    File(String),
}

fn parse_audio(spec: &str) -> Result<AudioSpec, RtcError> {
    match spec.strip_prefix("sine:") {
        Some(hz) => {
            let hz: f32 = hz
                .parse()
                .map_err(|_| invalid(format!("--audio {spec:?}: sine:HZ needs a number of Hz")))?;
            if !(20.0..=20_000.0).contains(&hz) {
                return Err(invalid(format!(
                    "--audio {spec:?}: the frequency must be 20..=20000 Hz"
                )));
            }
            Ok(AudioSpec::Sine(hz))
        }
        None => Ok(AudioSpec::File(spec.to_string())),
    }
}

/// `testsrc:WxH@FPS`.
fn parse_video(spec: &str, codec: VideoCodec) -> Result<VideoEncoderConfig, RtcError> {
    let bad = || {
        invalid(format!(
            "--video {spec:?}: expected testsrc:WIDTHxHEIGHT@FPS, e.g. testsrc:640x360@30"
        ))
    };
    let rest = spec.strip_prefix("testsrc:").ok_or_else(bad)?;
    let (size, fps) = rest.split_once('@').ok_or_else(bad)?;
    let (w, h) = size.split_once('x').ok_or_else(bad)?;
    let (width, height, frame_rate): (u32, u32, u32) = (
        w.parse().map_err(|_| bad())?,
        h.parse().map_err(|_| bad())?,
        fps.parse().map_err(|_| bad())?,
    );
    let kilopixels = f64::from(width) * f64::from(height) / 1000.0;
    let bitrate_kbps =
        (kilopixels * VIDEO_KBPS_PER_KILOPIXEL_30FPS * f64::from(frame_rate) / 30.0).clamp(100.0, 8000.0);
    let config = VideoEncoderConfig {
        codec,
        width,
        height,
        frame_rate,
        bitrate_kbps: bitrate_kbps as u32,
        keyframe_interval: 0,
    };
    config.validate()?;
    Ok(config)
}

fn parse_uid(uid: &str) -> Uid {
    match uid.parse::<u32>() {
        Ok(n) => Uid::Number(n),
        Err(_) => Uid::Account(uid.to_string()),
    }
}

/// Runs the bot; the caller prints the error. Returns the summary printed on stdout.
pub fn run(args: JoinArgs) -> Result<(), RtcError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| RtcError::new(ErrorCode::UnexpectedError, format!("tokio runtime: {e}")))?;
    let summary = runtime.block_on(bot(args))?;
    println!("{summary}");
    Ok(())
}

async fn bot(args: JoinArgs) -> Result<Value, RtcError> {
    let codec = match args.codec.as_str() {
        "vp8" => VideoCodec::Vp8,
        "vp9" => VideoCodec::Vp9,
        "h264" => VideoCodec::H264,
        other => return Err(invalid(format!("--codec {other:?}: expected vp8, vp9 or h264"))),
    };
    let audio = args.audio.as_deref().map(parse_audio).transpose()?;
    let video = args.video.as_deref().map(|v| parse_video(v, codec)).transpose()?;
    if let Some(dir) = &args.record {
        std::fs::create_dir_all(dir)
            .map_err(|e| invalid(format!("--record {}: cannot create the folder: {e}", dir.display())))?;
    }
    if args.duration.is_some_and(|d| !d.is_finite() || d < 0.0) {
        return Err(invalid("--duration must be a number of seconds >= 0"));
    }

    // Load the file first: a bad source fails before joining.
    let buffer_source = match &audio {
        Some(AudioSpec::File(source)) => {
            Some(BufferSourceAudioTrack::new(source.as_str(), AudioEncoderPreset::MusicStandard).await?)
        }
        _ => None,
    };

    let client = Client::new(
        &args.server,
        ClientConfig {
            codec: Codec::from(codec),
            ..ClientConfig::default()
        },
    )?;
    let mut events = client.events();
    let uid = client
        .join(
            &args.app_id,
            &args.channel,
            args.token.as_deref(),
            args.uid.as_deref().map(parse_uid),
        )
        .await?;
    eprintln!("stoa join: joined {:?} as {uid}", args.channel);
    let started = Instant::now();

    let stop = Arc::new(AtomicBool::new(false));
    let mut published: Vec<LocalTrack> = Vec::new();
    let audio_track = match (&audio, &buffer_source) {
        (Some(AudioSpec::Sine(_)), _) => Some(LocalAudioTrack::custom(AudioEncoderPreset::MusicStandard)?),
        (_, Some(source)) => Some(source.track().clone()),
        _ => None,
    };
    if let Some(track) = &audio_track {
        published.push(track.into());
    }
    let video_track = video.map(LocalVideoTrack::custom).transpose()?;
    if let Some(track) = &video_track {
        published.push(track.into());
    }
    let mut feeders = Vec::new();
    let result = async {
        if !published.is_empty() {
            client.publish(published.iter()).await?;
        }
        match (&audio, &audio_track, &buffer_source) {
            (Some(AudioSpec::Sine(hz)), Some(track), _) => {
                feeders.push(tokio::spawn(feed_sine(track.clone(), *hz, stop.clone())));
            }
            (_, _, Some(source)) => source.start(StartOptions {
                looping: true,
                ..StartOptions::default()
            })?,
            _ => {}
        }
        let video_sent = Arc::new(AtomicU64::new(0));
        let video_thread = video_track.as_ref().map(|track| {
            let (track, stop, sent) = (track.clone(), stop.clone(), video_sent.clone());
            std::thread::spawn(move || feed_video(track, stop, sent))
        });
        let recorder = Recorder::new(args.record.clone());
        let left_because = follow(&client, &mut events, &recorder, args.duration).await;
        Ok::<_, RtcError>((left_because, recorder, video_sent, video_thread))
    }
    .await;
    stop.store(true, Ordering::SeqCst);
    if let Some(source) = &buffer_source {
        source.stop();
    }
    for feeder in feeders {
        let _ = feeder.await;
    }
    let _ = client.leave().await;
    let (left_because, recorder, video_sent, video_thread) = result?;
    if let Some(thread) = video_thread {
        let _ = thread.join();
    }
    let remote = recorder.finish()?;
    Ok(json!({
        "channel": args.channel,
        "uid": uid.to_string(),
        "seconds": round2(started.elapsed().as_secs_f64()),
        "left": left_because,
        "published": {
            "audio": args.audio,
            "audio_packets": audio_track.as_ref().map_or(0, |t| t.stats().send_packets),
            "video": args.video,
            "video_frames": video_sent.load(Ordering::Relaxed),
            "codec": args.codec,
        },
        "remote_users": remote,
    }))
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Pushes a sine in 20 ms frames, paced in real time.
async fn feed_sine(track: LocalAudioTrack, hz: f32, stop: Arc<AtomicBool>) {
    let mut sine = signal::SineSource::new(hz, OPUS_SAMPLE_RATE, 1, 0.5);
    let mut ticker = tokio::time::interval(OPUS_FRAME_DURATION);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while !stop.load(Ordering::SeqCst) {
        ticker.tick().await;
        if track.push(&sine.next_frame(20)).is_err() {
            return;
        }
    }
}

/// Pushes counter-pattern frames at the track's frame rate on a thread of its own (encoding blocks).
fn feed_video(track: LocalVideoTrack, stop: Arc<AtomicBool>, sent: Arc<AtomicU64>) {
    let config = track.config();
    let Ok(mut pattern) = CounterPattern::new(config.width, config.height) else {
        return;
    };
    let interval = Duration::from_secs_f64(1.0 / f64::from(config.frame_rate.max(1)));
    let mut next = Instant::now();
    while !stop.load(Ordering::SeqCst) {
        if track.push(&pattern.next_frame()).is_err() {
            return;
        }
        sent.fetch_add(1, Ordering::Relaxed);
        next += interval;
        let now = Instant::now();
        if next > now {
            std::thread::sleep(next - now);
        } else {
            next = now;
        }
    }
}

/// Subscribes to every track published in the channel until the duration is over, Ctrl-C, or the session ends.
/// Returns why it stopped.
async fn follow(
    client: &Client,
    events: &mut broadcast::Receiver<Event>,
    recorder: &Recorder,
    duration: Option<f64>,
) -> &'static str {
    let deadline = duration.map(|d| tokio::time::Instant::now() + Duration::from_secs_f64(d));
    let until_deadline = async {
        match deadline {
            Some(at) => tokio::time::sleep_until(at).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(until_deadline);
    // Tracks published before the join are announced as events too; these catch any the event stream missed.
    for user in client.remote_users() {
        for media_type in [MediaType::Audio, MediaType::Video] {
            if user.has(media_type) {
                recorder.subscribe(client, &user, media_type).await;
            }
        }
    }
    loop {
        tokio::select! {
            _ = &mut until_deadline => return "duration",
            _ = tokio::signal::ctrl_c() => return "interrupted",
            event = events.recv() => match event {
                Ok(Event::UserPublished(user, media_type)) => recorder.subscribe(client, &user, media_type).await,
                Ok(Event::ConnectionStateChange { current: ConnectionState::Disconnected, reason, .. }) => {
                    eprintln!("stoa join: disconnected ({reason:?})");
                    return "disconnected";
                }
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return "disconnected",
            },
        }
    }
}

/// Per remote user: audio written to a WAV file as it arrives, and video counted.
struct Recorder {
    dir: Option<PathBuf>,
    users: Mutex<HashMap<String, Arc<Mutex<UserRecord>>>>,
    /// The task reading each live subscription, by uid and media type: a track announced twice (the join's list
    /// and an event) is read once; a finished task means the track ended and may be subscribed again.
    tasks: Mutex<HashMap<(String, MediaType), tokio::task::JoinHandle<()>>>,
}

#[derive(Default)]
struct UserRecord {
    wav: Option<WavFile>,
    audio_frames: u64,
    /// Mono samples of the first seconds, for the dominant frequency in the summary.
    audio_probe: Vec<i16>,
    video: Option<VideoRecord>,
    errors: Vec<String>,
}

#[derive(Default)]
struct VideoRecord {
    frames: u64,
    width: u32,
    height: u32,
    first_frame_ms: Option<u64>,
}

/// Samples kept for the summary's frequency analysis: 2 s at 48 kHz.
const PROBE_SAMPLES: usize = 96_000;

impl Recorder {
    fn new(dir: Option<PathBuf>) -> Recorder {
        Recorder {
            dir,
            users: Mutex::new(HashMap::new()),
            tasks: Mutex::new(HashMap::new()),
        }
    }

    fn user(&self, uid: &str) -> Arc<Mutex<UserRecord>> {
        lock(&self.users).entry(uid.to_string()).or_default().clone()
    }

    async fn subscribe(&self, client: &Client, user: &RemoteUser, media_type: MediaType) {
        let uid = user.uid.to_string();
        let key = (uid.clone(), media_type);
        if lock(&self.tasks).get(&key).is_some_and(|task| !task.is_finished()) {
            return;
        }
        let record = self.user(&uid);
        let subscribed_at = Instant::now();
        match media_type {
            MediaType::Audio => match client.subscribe_audio(user).await {
                Ok(track) => {
                    let mut frames = track.frames();
                    let path = self
                        .dir
                        .as_ref()
                        .map(|dir| dir.join(format!("{}.wav", file_safe(&uid))));
                    let task = tokio::spawn(async move {
                        while let Some(frame) = frames.recv().await {
                            lock(&record).audio(&frame, path.as_deref());
                        }
                    });
                    lock(&self.tasks).insert(key, task);
                }
                Err(e) => lock(&record).errors.push(format!("subscribe audio: {e}")),
            },
            MediaType::Video => match client.subscribe_video(user).await {
                Ok(track) => {
                    let mut frames = track.frames();
                    lock(&record).video.get_or_insert_with(VideoRecord::default);
                    let task = tokio::spawn(async move {
                        while let Some(frame) = frames.recv().await {
                            let mut record = lock(&record);
                            let video = record.video.get_or_insert_with(VideoRecord::default);
                            video.frames += 1;
                            video.width = frame.width;
                            video.height = frame.height;
                            video
                                .first_frame_ms
                                .get_or_insert(subscribed_at.elapsed().as_millis() as u64);
                        }
                    });
                    lock(&self.tasks).insert(key, task);
                }
                Err(e) => lock(&record).errors.push(format!("subscribe video: {e}")),
            },
        }
    }

    /// Closes the files and returns the per-user summary.
    fn finish(self) -> Result<Value, RtcError> {
        for (_, task) in lock(&self.tasks).drain() {
            task.abort();
        }
        let users = std::mem::take(&mut *lock(&self.users));
        let mut out = serde_json::Map::new();
        for (uid, record) in users {
            let mut record = lock(&record);
            let mut user = serde_json::Map::new();
            if let Some(wav) = record.wav.take() {
                let path = wav.path.clone();
                wav.finish()
                    .map_err(|e| invalid(format!("cannot write {}: {e}", path.display())))?;
                user.insert("audio_file".into(), json!(path));
            }
            if record.audio_frames > 0 {
                user.insert(
                    "audio".into(),
                    json!({
                        "frames": record.audio_frames,
                        "seconds": round2(record.audio_frames as f64 * 0.02),
                        "dominant_hz": round2(f64::from(signal::dominant_frequency(&record.audio_probe, OPUS_SAMPLE_RATE))),
                    }),
                );
            }
            if let Some(video) = &record.video {
                let summary = json!({
                    "frames_decoded": video.frames,
                    "width": video.width,
                    "height": video.height,
                    "first_frame_ms": video.first_frame_ms,
                });
                if let Some(dir) = &self.dir {
                    let path = dir.join(format!("{}.video.json", file_safe(&uid)));
                    let text = serde_json::to_string_pretty(&summary).unwrap_or_default();
                    std::fs::write(&path, text + "\n")
                        .map_err(|e| invalid(format!("cannot write {}: {e}", path.display())))?;
                    user.insert("video_file".into(), json!(path));
                }
                user.insert("video".into(), summary);
            }
            if !record.errors.is_empty() {
                user.insert("errors".into(), json!(record.errors));
            }
            out.insert(uid, Value::Object(user));
        }
        Ok(Value::Object(out))
    }
}

impl UserRecord {
    fn audio(&mut self, frame: &AudioFrame, path: Option<&Path>) {
        self.audio_frames += 1;
        if self.audio_probe.len() < PROBE_SAMPLES {
            self.audio_probe.extend(signal::downmix(&frame.samples, frame.channels));
        }
        let Some(path) = path else { return };
        if self.wav.is_none() {
            match WavFile::create(path, frame.sample_rate, frame.channels) {
                Ok(wav) => self.wav = Some(wav),
                Err(e) => {
                    self.errors.push(format!("cannot create {}: {e}", path.display()));
                    return;
                }
            }
        }
        if let Some(wav) = &mut self.wav
            && let Err(e) = wav.write(frame)
        {
            self.errors.push(format!("cannot write {}: {e}", path.display()));
            self.wav = None;
        }
    }
}

/// A uid as a file name: string uids may hold characters that are not safe in paths.
fn file_safe(uid: &str) -> String {
    uid.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect::<String>()
        .trim_start_matches('.')
        .to_string()
}

/// A 16-bit PCM WAV file written as audio arrives; the sizes in the header are set when it is finished.
struct WavFile {
    path: PathBuf,
    file: std::io::BufWriter<std::fs::File>,
    channels: u16,
    data_bytes: u64,
}

impl WavFile {
    fn create(path: &Path, rate: u32, channels: u16) -> std::io::Result<WavFile> {
        let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
        let block = channels * 2;
        let mut header = Vec::with_capacity(44);
        header.extend_from_slice(b"RIFF");
        header.extend_from_slice(&36u32.to_le_bytes());
        header.extend_from_slice(b"WAVEfmt ");
        header.extend_from_slice(&16u32.to_le_bytes());
        header.extend_from_slice(&1u16.to_le_bytes());
        header.extend_from_slice(&channels.to_le_bytes());
        header.extend_from_slice(&rate.to_le_bytes());
        header.extend_from_slice(&(rate * u32::from(block)).to_le_bytes());
        header.extend_from_slice(&block.to_le_bytes());
        header.extend_from_slice(&16u16.to_le_bytes());
        header.extend_from_slice(b"data");
        header.extend_from_slice(&0u32.to_le_bytes());
        file.write_all(&header)?;
        Ok(WavFile {
            path: path.to_path_buf(),
            file,
            channels,
            data_bytes: 0,
        })
    }

    /// Appends a frame, converting its channel count to the file's.
    fn write(&mut self, frame: &AudioFrame) -> std::io::Result<()> {
        let samples = match (frame.channels, self.channels) {
            (a, b) if a == b => frame.samples.clone(),
            (_, 1) => signal::downmix(&frame.samples, frame.channels),
            _ => frame.samples.iter().flat_map(|&s| [s, s]).collect(),
        };
        let mut bytes = Vec::with_capacity(samples.len() * 2);
        for s in samples {
            bytes.extend_from_slice(&s.to_le_bytes());
        }
        self.file.write_all(&bytes)?;
        self.data_bytes += bytes.len() as u64;
        Ok(())
    }

    fn finish(mut self) -> std::io::Result<()> {
        // WAV sizes are 32-bit: a longer recording keeps the maximum (players then read to the end of the file).
        let data = u32::try_from(self.data_bytes).unwrap_or(u32::MAX - 36);
        self.file.flush()?;
        let file = self.file.get_mut();
        file.seek(SeekFrom::Start(4))?;
        file.write_all(&(data + 36).to_le_bytes())?;
        file.seek(SeekFrom::Start(40))?;
        file.write_all(&data.to_le_bytes())?;
        file.flush()
    }
}

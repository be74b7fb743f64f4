//! Buffer-source audio track (`createBufferSourceAudioTrack`): an audio file, from a path, an HTTP(S) URL or
//! bytes, decoded whole into memory and played into a [`LocalAudioTrack`] in real time, with start (loop, cycle,
//! start time), pause, resume, stop, seek, playback speed and `source-state-change` events.
//!
//! Unlike the rest of [`crate::media`] this module does IO (file reads, HTTP) and runs a pacing task on the tokio
//! runtime the track was created on; decoding ([`decode_audio`]) and the play head ([`player`]) are pure.
//!
//! ```no_run
//! # async fn run(client: &stoa_sdk::Client) -> Result<(), stoa_sdk::RtcError> {
//! use stoa_sdk::media::{AudioEncoderPreset, BufferSourceAudioTrack, StartOptions};
//! let music = BufferSourceAudioTrack::new("https://example.com/song.mp3", AudioEncoderPreset::MusicStandard).await?;
//! client.publish([&music]).await?;
//! music.start(StartOptions { looping: true, ..StartOptions::default() });
//! # Ok(()) }
//! ```

mod decode;
mod player;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use stoa_proto::{ErrorCode, RtcError};
use tokio::sync::broadcast;
use tokio::task::JoinHandle;
use tokio::time::Instant;

pub use decode::{DecodedAudio, MAX_DECODED_DURATION, decode_audio};
pub use player::{AudioSourceState, PLAYBACK_SPEEDS, StartOptions};

use crate::engine::{LocalAudioTrack, LocalTrack};
use crate::media::{AudioEncoderConfig, OPUS_FRAME_DURATION};
use player::{Player, Tick};

/// The largest file fetched from a URL.
pub const MAX_DOWNLOAD_BYTES: u64 = 256 * 1024 * 1024;
/// Connecting to a URL's server.
const FETCH_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// A whole download.
const FETCH_TIMEOUT: Duration = Duration::from_secs(120);
/// When the pacing task falls further behind than this (a stalled runtime), it starts a new schedule instead of
/// sending a burst.
const MAX_PACING_LAG: Duration = Duration::from_millis(200);

/// Where a buffer source's audio comes from (`BufferSourceAudioTrackInitConfig.source`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AudioSource {
    /// A local file.
    File(PathBuf),
    /// An `http://` or `https://` URL, fetched once.
    Url(String),
    /// The bytes of an audio file (not raw PCM). `extension` (e.g. `"mp3"`) is a hint for the format probe.
    Bytes { data: Vec<u8>, extension: Option<String> },
}

impl AudioSource {
    /// A short description for messages: the path or URL, or the byte count.
    pub fn describe(&self) -> String {
        match self {
            AudioSource::File(path) => path.display().to_string(),
            AudioSource::Url(url) => url.clone(),
            AudioSource::Bytes { data, .. } => format!("{} bytes", data.len()),
        }
    }
}

/// `http(s)://...` is a URL; anything else a file path.
impl From<&str> for AudioSource {
    fn from(source: &str) -> Self {
        let lower = source.get(..8).unwrap_or(source).to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") {
            AudioSource::Url(source.to_string())
        } else {
            AudioSource::File(PathBuf::from(source))
        }
    }
}

impl From<String> for AudioSource {
    fn from(source: String) -> Self {
        AudioSource::from(source.as_str())
    }
}

impl From<&Path> for AudioSource {
    fn from(path: &Path) -> Self {
        AudioSource::File(path.to_path_buf())
    }
}

impl From<PathBuf> for AudioSource {
    fn from(path: PathBuf) -> Self {
        AudioSource::File(path)
    }
}

impl From<Vec<u8>> for AudioSource {
    fn from(data: Vec<u8>) -> Self {
        AudioSource::Bytes { data, extension: None }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

fn extension_of(path: &str) -> Option<String> {
    let name = path.rsplit('/').next()?;
    let (_, ext) = name.rsplit_once('.')?;
    (!ext.is_empty() && ext.len() <= 5).then(|| ext.to_ascii_lowercase())
}

/// Reads or fetches the file's bytes: `READ_LOCAL_AUDIO_FILE_ERROR` / `FETCH_AUDIO_FILE_FAILED`.
async fn load(source: AudioSource) -> Result<(Vec<u8>, Option<String>), RtcError> {
    match source {
        AudioSource::Bytes { data, extension } => Ok((data, extension)),
        AudioSource::File(path) => {
            let extension = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
            let shown = path.display().to_string();
            let read = tokio::task::spawn_blocking(move || std::fs::read(&path))
                .await
                .map_err(|e| RtcError::new(ErrorCode::UnexpectedError, format!("file reader stopped: {e}")))?;
            let data = read.map_err(|e| {
                RtcError::new(
                    ErrorCode::ReadLocalAudioFileError,
                    format!("cannot read the audio file {shown}: {e}"),
                )
            })?;
            Ok((data, extension))
        }
        AudioSource::Url(url) => {
            let data = fetch(&url).await?;
            let path = url.split(['?', '#']).next().unwrap_or(&url);
            Ok((data, extension_of(path)))
        }
    }
}

async fn fetch(url: &str) -> Result<Vec<u8>, RtcError> {
    let failed =
        |detail: String| RtcError::new(ErrorCode::FetchAudioFileFailed, format!("cannot fetch {url}: {detail}"));
    // The same client setup as the signalling discovery requests, with room for a long download.
    let http = reqwest::Client::builder()
        .connect_timeout(FETCH_CONNECT_TIMEOUT)
        .timeout(FETCH_TIMEOUT)
        .build()
        .map_err(|e| RtcError::new(ErrorCode::UnexpectedError, format!("http client: {e}")))?;
    let mut response = http.get(url).send().await.map_err(|e| failed(error_chain(&e)))?;
    let status = response.status();
    if !status.is_success() {
        return Err(failed(format!("the server answered {status}")));
    }
    if response.content_length().is_some_and(|len| len > MAX_DOWNLOAD_BYTES) {
        return Err(failed(format!("the file is larger than {MAX_DOWNLOAD_BYTES} bytes")));
    }
    let mut data = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| failed(error_chain(&e)))? {
        if (data.len() + chunk.len()) as u64 > MAX_DOWNLOAD_BYTES {
            return Err(failed(format!("the file is larger than {MAX_DOWNLOAD_BYTES} bytes")));
        }
        data.extend_from_slice(&chunk);
    }
    Ok(data)
}

/// reqwest's top-level message hides the cause ("error sending request"): add the sources.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

struct BufferInner {
    track: LocalAudioTrack,
    source: String,
    duration: Duration,
    player: Mutex<Player>,
    events: broadcast::Sender<AudioSourceState>,
    runtime: tokio::runtime::Handle,
    pacer: Mutex<Option<JoinHandle<()>>>,
}

impl BufferInner {
    fn emit(&self, state: AudioSourceState) {
        // No receivers is fine.
        let _ = self.events.send(state);
    }

    fn stop_pacer(&self) {
        if let Some(pacer) = lock(&self.pacer).take() {
            pacer.abort();
        }
    }
}

impl Drop for BufferInner {
    fn drop(&mut self) {
        self.stop_pacer();
    }
}

/// `IBufferSourceAudioTrack`: a local audio track playing a decoded audio file. Publish it like any audio track
/// (`client.publish([&track])`); nothing plays until [`Self::start`]. Playing goes on whether or not the track is
/// published, as in the Web SDK: the audio of unpublished or muted moments is dropped.
///
/// Clones are handles to the same track; playback ends when the last handle is dropped or the track is closed.
#[derive(Clone)]
pub struct BufferSourceAudioTrack {
    inner: Arc<BufferInner>,
}

impl std::fmt::Debug for BufferSourceAudioTrack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BufferSourceAudioTrack")
            .field("source", &self.inner.source)
            .field("duration", &self.inner.duration)
            .field("state", &self.current_state())
            .field("track", &self.inner.track)
            .finish()
    }
}

impl BufferSourceAudioTrack {
    /// `createBufferSourceAudioTrack`: loads and decodes `source` (a path or `http(s)://` URL as text, a
    /// [`PathBuf`], bytes, or an [`AudioSource`]) and makes a track encoding with `config`. Must be called inside a
    /// tokio runtime, which then runs the playback.
    ///
    /// Errors: `READ_LOCAL_AUDIO_FILE_ERROR` for a file that is missing or unreadable; `FETCH_AUDIO_FILE_FAILED`
    /// for a URL that cannot be reached, answers other than 2xx, or is larger than [`MAX_DOWNLOAD_BYTES`];
    /// `DECODE_AUDIO_FILE_FAILED` for content that is not decodable audio; `INVALID_PARAMS` for a bad `config`.
    pub async fn new(
        source: impl Into<AudioSource>,
        config: impl Into<AudioEncoderConfig>,
    ) -> Result<BufferSourceAudioTrack, RtcError> {
        let source = source.into();
        let track = LocalAudioTrack::custom(config)?;
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| RtcError::new(ErrorCode::InvalidOperation, "buffer-source tracks need a tokio runtime"))?;
        let described = source.describe();
        let (data, extension) = load(source).await?;
        let decoded = tokio::task::spawn_blocking(move || decode_audio(data, extension.as_deref()))
            .await
            .map_err(|e| RtcError::new(ErrorCode::UnexpectedError, format!("decoder stopped: {e}")))??;
        let duration = decoded.duration();
        let (events, _) = broadcast::channel(64);
        Ok(BufferSourceAudioTrack {
            inner: Arc::new(BufferInner {
                track,
                source: described,
                duration,
                player: Mutex::new(Player::new(Arc::new(decoded))),
                events,
                runtime,
                pacer: Mutex::new(None),
            }),
        })
    }

    /// The local audio track the file plays into: publish it, mute it, read its stats.
    pub fn track(&self) -> &LocalAudioTrack {
        &self.inner.track
    }

    /// `source`, as given (path, URL, or byte count).
    pub fn source(&self) -> &str {
        &self.inner.source
    }

    /// `duration`: the length of the decoded audio.
    pub fn duration(&self) -> Duration {
        self.inner.duration
    }

    /// `currentState`.
    pub fn current_state(&self) -> AudioSourceState {
        lock(&self.inner.player).state()
    }

    /// `getCurrentTime()`: the play head within the current cycle.
    pub fn current_time(&self) -> Duration {
        lock(&self.inner.player).current_time()
    }

    /// `playbackSpeed`, percent.
    pub fn playback_speed(&self) -> u32 {
        lock(&self.inner.player).speed()
    }

    /// `source-state-change`: a receiver of the states the source enters from now on.
    pub fn events(&self) -> broadcast::Receiver<AudioSourceState> {
        self.inner.events.subscribe()
    }

    /// `startProcessAudioBuffer`: plays from the start (or `start_play_time`); when playing or paused already it
    /// starts over. A closed track is `INVALID_LOCAL_TRACK`.
    pub fn start(&self, options: StartOptions) -> Result<(), RtcError> {
        if self.inner.track.is_closed() {
            return Err(RtcError::new(ErrorCode::InvalidLocalTrack, "the track is closed"));
        }
        self.inner.stop_pacer();
        lock(&self.inner.player).start(options);
        let pacer = self.inner.runtime.spawn(pace(Arc::downgrade(&self.inner)));
        *lock(&self.inner.pacer) = Some(pacer);
        self.inner.emit(AudioSourceState::Playing);
        Ok(())
    }

    /// `pauseProcessAudioBuffer`: keeps the play head; does nothing unless playing.
    pub fn pause(&self) {
        if lock(&self.inner.player).pause() {
            self.inner.emit(AudioSourceState::Paused);
        }
    }

    /// `resumeProcessAudioBuffer`: does nothing unless paused.
    pub fn resume(&self) {
        if lock(&self.inner.player).resume() {
            self.inner.emit(AudioSourceState::Playing);
        }
    }

    /// `stopProcessAudioBuffer`: stops and rewinds.
    pub fn stop(&self) {
        self.inner.stop_pacer();
        if lock(&self.inner.player).stop() {
            self.inner.emit(AudioSourceState::Stopped);
        }
    }

    /// `seekAudioBuffer`: moves the play head (clamped to the duration), in any state.
    pub fn seek(&self, time: Duration) {
        lock(&self.inner.player).seek(time);
    }

    /// `setAudioBufferPlaybackSpeed`: 50 to 400 percent (pitch follows speed); other values are `INVALID_PARAMS`.
    pub fn set_playback_speed(&self, percent: u32) -> Result<(), RtcError> {
        lock(&self.inner.player).set_speed(percent)
    }

    /// `close()`: stops playing and closes the track (unpublishing it if needed).
    pub fn close(&self) {
        self.stop();
        self.inner.track.close();
    }
}

/// Pushes 20 ms of audio every 20 ms while playing. Ends when the source stops, the track closes, or every handle
/// is gone.
async fn pace(track: Weak<BufferInner>) {
    let mut deadline = Instant::now();
    loop {
        {
            let Some(inner) = track.upgrade() else { return };
            if inner.track.is_closed() {
                if lock(&inner.player).stop() {
                    inner.emit(AudioSourceState::Stopped);
                }
                return;
            }
            let tick = lock(&inner.player).tick();
            if let Tick::Frame { frame, ended } = tick {
                // Only a closed track refuses frames, and that is checked above.
                let _ = inner.track.push(&frame);
                if ended {
                    inner.emit(AudioSourceState::Stopped);
                    return;
                }
            }
        }
        deadline += OPUS_FRAME_DURATION;
        let now = Instant::now();
        if now > deadline + MAX_PACING_LAG {
            deadline = now;
        }
        tokio::time::sleep_until(deadline).await;
    }
}

impl From<&BufferSourceAudioTrack> for LocalTrack {
    fn from(track: &BufferSourceAudioTrack) -> Self {
        LocalTrack::from(track.track())
    }
}

impl From<BufferSourceAudioTrack> for LocalTrack {
    fn from(track: BufferSourceAudioTrack) -> Self {
        LocalTrack::from(track.track())
    }
}

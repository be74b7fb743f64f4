//! Local and remote tracks: what an application holds. They share small pieces of state with the engine task
//! (counters, frame sinks) behind short-lived locks; the engine never waits on an application.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use stoa_proto::signal::{MediaType, TrackState};
use stoa_proto::{ErrorCode, RtcError};
use str0m::media::Mid;
use tokio::sync::mpsc;

use super::EngineSender;
use super::video::{EncodedVideoFrame, LocalVideoTrack, RemoteVideoTrack, VideoRecvStats};
use crate::client::ClientLink;
use crate::media::video::{VideoCodec, VideoFrame};
use crate::media::{AudioEncoderConfig, AudioFrame, OpusEncoderPipeline};
use crate::state::Uid;

/// How many decoded frames (20 ms each) a [`RemoteAudioTrack::frames`] receiver holds before new ones are dropped:
/// 10 s of audio.
pub const FRAME_QUEUE: usize = 500;

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

pub(crate) fn new_track_id(prefix: &str) -> String {
    let n: u64 = rand::random();
    format!("{prefix}-{n:016x}")
}

// ------------------------------------------------------------------------------------------------------------------
// Local tracks

/// A track this client can publish: `ILocalTrack`. Build one from a concrete track with `From`, e.g.
/// `LocalTrack::from(&audio)`; [`crate::Client::publish`] takes anything that converts.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum LocalTrack {
    Audio(LocalAudioTrack),
    Video(LocalVideoTrack),
}

impl LocalTrack {
    pub fn media_type(&self) -> MediaType {
        match self {
            LocalTrack::Audio(_) => MediaType::Audio,
            LocalTrack::Video(_) => MediaType::Video,
        }
    }

    /// `getTrackId()`.
    pub fn track_id(&self) -> &str {
        match self {
            LocalTrack::Audio(track) => track.track_id(),
            LocalTrack::Video(track) => track.track_id(),
        }
    }

    pub fn is_closed(&self) -> bool {
        match self {
            LocalTrack::Audio(track) => track.is_closed(),
            LocalTrack::Video(track) => track.is_closed(),
        }
    }

    pub fn enabled(&self) -> bool {
        match self {
            LocalTrack::Audio(track) => track.enabled(),
            LocalTrack::Video(track) => track.enabled(),
        }
    }

    pub fn muted(&self) -> bool {
        match self {
            LocalTrack::Audio(track) => track.muted(),
            LocalTrack::Video(track) => track.muted(),
        }
    }

    /// The same underlying track (clones compare equal).
    pub fn same_track(&self, other: &LocalTrack) -> bool {
        self.track_id() == other.track_id()
    }

    pub(crate) fn state(&self) -> TrackState {
        TrackState {
            media_type: self.media_type(),
            muted: self.muted(),
            enabled: self.enabled(),
        }
    }

    /// The client this track is published on, if any.
    pub(crate) fn published_on(&self) -> Option<u64> {
        match self {
            LocalTrack::Audio(track) => lock(&track.inner.state)
                .publication
                .as_ref()
                .map(|p| p.link.client_id()),
            LocalTrack::Video(track) => track.published_on(),
        }
    }

    pub(crate) fn send_shared(&self) -> Arc<SendShared> {
        match self {
            LocalTrack::Audio(track) => track.inner.send.clone(),
            LocalTrack::Video(track) => track.send_shared(),
        }
    }

    /// Attaches the track to the engine: from now on pushed media is encoded and sent on `mid`.
    pub(crate) fn attach(&self, publication: Publication) {
        match self {
            LocalTrack::Audio(track) => lock(&track.inner.state).publication = Some(publication),
            LocalTrack::Video(track) => track.attach(publication),
        }
    }

    /// Detaches the track from the engine, returning the m-line it was sent on.
    pub(crate) fn detach(&self) -> Option<Mid> {
        match self {
            LocalTrack::Audio(track) => lock(&track.inner.state).publication.take().map(|p| p.mid),
            LocalTrack::Video(track) => track.detach(),
        }
    }
}

impl From<&LocalAudioTrack> for LocalTrack {
    fn from(track: &LocalAudioTrack) -> Self {
        LocalTrack::Audio(track.clone())
    }
}

impl From<LocalAudioTrack> for LocalTrack {
    fn from(track: LocalAudioTrack) -> Self {
        LocalTrack::Audio(track)
    }
}

impl From<&LocalVideoTrack> for LocalTrack {
    fn from(track: &LocalVideoTrack) -> Self {
        LocalTrack::Video(track.clone())
    }
}

impl From<LocalVideoTrack> for LocalTrack {
    fn from(track: LocalVideoTrack) -> Self {
        LocalTrack::Video(track)
    }
}

impl From<&LocalTrack> for LocalTrack {
    fn from(track: &LocalTrack) -> Self {
        track.clone()
    }
}

/// Where a published track's media goes.
pub(crate) struct Publication {
    pub(crate) link: ClientLink,
    pub(crate) mid: Mid,
    pub(crate) engine: EngineSender,
    /// The client's video codec (`ClientConfig.codec`), for video tracks.
    pub(crate) video_codec: Option<VideoCodec>,
}

/// Counters of a published track, written by the engine.
#[derive(Debug, Default)]
pub(crate) struct SendShared {
    pub(crate) stats: Mutex<SendStats>,
    /// The server asked for a keyframe (PLI or FIR): the next frame a video track encodes is one.
    pub(crate) keyframe_wanted: AtomicBool,
}

#[derive(Clone, Debug, Default)]
pub(crate) struct SendStats {
    pub(crate) bytes: u64,
    pub(crate) packets: u64,
    /// Encoded frames the engine could not send (transport not connected yet, queue full).
    pub(crate) dropped: u64,
    pub(crate) rtt: Option<Duration>,
    pub(crate) loss_fraction: Option<f32>,
    pub(crate) remote_lost: u64,
    pub(crate) remote_jitter_samples: u32,
    pub(crate) window_start: Option<Instant>,
    pub(crate) window_bytes: u64,
    pub(crate) bitrate_bps: u64,
    /// Frames written to the transport (one per `sent`), and their rate over the last second.
    pub(crate) frames: u64,
    pub(crate) window_frames: u64,
    pub(crate) frame_rate: f64,
    /// RTP packets and keyframe requests as str0m counts them (every second), retransmissions included.
    pub(crate) rtp_packets: Option<u64>,
    pub(crate) plis: u64,
    pub(crate) firs: u64,
    pub(crate) nacks: u64,
}

impl SendStats {
    pub(crate) fn sent(&mut self, bytes: usize, now: Instant) {
        self.bytes += bytes as u64;
        self.packets += 1;
        self.frames += 1;
        let start = *self.window_start.get_or_insert(now);
        self.window_bytes += bytes as u64;
        self.window_frames += 1;
        let elapsed = now.saturating_duration_since(start);
        if elapsed >= Duration::from_secs(1) {
            self.bitrate_bps = (self.window_bytes as f64 * 8.0 / elapsed.as_secs_f64()) as u64;
            self.frame_rate = self.window_frames as f64 / elapsed.as_secs_f64();
            self.window_start = Some(now);
            self.window_bytes = 0;
            self.window_frames = 0;
        }
    }
}

/// `LocalAudioTrackStats`, with the Web SDK's names in snake_case. Byte counts are Opus payload bytes.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct LocalAudioTrackStats {
    /// `"opus"`.
    pub codec_type: Option<String>,
    /// Level of the last pushed frame, 0..=32767 (RMS).
    pub send_volume_level: u32,
    /// Payload bitrate over the last second, bits per second.
    pub send_bitrate: u64,
    pub send_bytes: u64,
    pub send_packets: u64,
    /// Packets the server reported lost (RTCP receiver reports).
    pub send_packets_lost: u64,
    /// Interarrival jitter the server reported, milliseconds.
    pub send_jitter_ms: f64,
    /// Round-trip time to the server, milliseconds (0 until measured).
    pub send_rtt_ms: f64,
    /// Loss fraction of the last receiver report, in percent.
    pub current_packet_loss_rate: f64,
}

struct LocalAudioInner {
    id: String,
    state: Mutex<LocalAudioState>,
    send: Arc<SendShared>,
    closed: AtomicBool,
    level: AtomicU64,
}

struct LocalAudioState {
    enabled: bool,
    muted: bool,
    encoder: OpusEncoderPipeline,
    publication: Option<Publication>,
}

/// A custom audio track (`createCustomAudioTrack`): the application pushes PCM [`AudioFrame`]s (any supported rate,
/// mono or stereo, any length); while the track is published, enabled and unmuted they are resampled, encoded to
/// 20 ms Opus frames and sent. Frames pushed at other times are dropped, as a microphone's samples would be.
///
/// Clones are handles to the same track.
#[derive(Clone)]
pub struct LocalAudioTrack {
    inner: Arc<LocalAudioInner>,
}

impl std::fmt::Debug for LocalAudioTrack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = lock(&self.inner.state);
        f.debug_struct("LocalAudioTrack")
            .field("id", &self.inner.id)
            .field("enabled", &state.enabled)
            .field("muted", &state.muted)
            .field("closed", &self.is_closed())
            .field("published", &state.publication.is_some())
            .finish()
    }
}

impl LocalAudioTrack {
    /// A track encoding with `config`: an [`crate::media::AudioEncoderPreset`] (Agora's
    /// `AudioEncoderConfigurationPreset`) or a full [`AudioEncoderConfig`]. A configuration out of range is
    /// `INVALID_PARAMS`.
    pub fn custom(config: impl Into<AudioEncoderConfig>) -> Result<LocalAudioTrack, RtcError> {
        let encoder = OpusEncoderPipeline::new(config)?;
        Ok(LocalAudioTrack {
            inner: Arc::new(LocalAudioInner {
                id: new_track_id("audio"),
                state: Mutex::new(LocalAudioState {
                    enabled: true,
                    muted: false,
                    encoder,
                    publication: None,
                }),
                send: Arc::new(SendShared::default()),
                closed: AtomicBool::new(false),
                level: AtomicU64::new(0),
            }),
        })
    }

    /// `getTrackId()`: unique per track.
    pub fn track_id(&self) -> &str {
        &self.inner.id
    }

    pub fn media_type(&self) -> MediaType {
        MediaType::Audio
    }

    pub fn enabled(&self) -> bool {
        lock(&self.inner.state).enabled
    }

    pub fn muted(&self) -> bool {
        lock(&self.inner.state).muted
    }

    pub fn is_closed(&self) -> bool {
        self.inner.closed.load(Ordering::SeqCst)
    }

    /// Whether the track is published on a client now.
    pub fn is_published(&self) -> bool {
        lock(&self.inner.state).publication.is_some()
    }

    /// Pushes PCM audio. The frame is checked first (`INVALID_PARAMS` for an unsupported rate, channel count or a
    /// partial sample frame); a closed track is `INVALID_LOCAL_TRACK`. Never blocks: when the engine is behind,
    /// encoded frames are dropped and counted.
    pub fn push(&self, frame: &AudioFrame) -> Result<(), RtcError> {
        frame.validate()?;
        if self.is_closed() {
            return Err(RtcError::new(ErrorCode::InvalidLocalTrack, "the track is closed"));
        }
        let level = (crate::media::signal::rms_level(&frame.samples) * 32_767.0) as u64;
        self.inner.level.store(level, Ordering::Relaxed);
        let mut state = lock(&self.inner.state);
        if !state.enabled || state.muted || state.publication.is_none() {
            return Ok(());
        }
        let packets = state.encoder.push(frame)?;
        let Some(publication) = &state.publication else {
            return Ok(());
        };
        for packet in packets {
            if !publication.engine.audio(publication.mid, packet) {
                lock(&self.inner.send.stats).dropped += 1;
            }
        }
        Ok(())
    }

    /// `setEnabled`: a disabled track sends nothing. While published, others get `user-info-updated`
    /// (`enable-local-audio` / `disable-local-audio`) and `user-published` / `user-unpublished`.
    pub async fn set_enabled(&self, enabled: bool) -> Result<(), RtcError> {
        self.change(|state| std::mem::replace(&mut state.enabled, enabled) != enabled)
            .await
    }

    /// `setMuted`: a muted track sends nothing but stays published. While published, others get
    /// `user-info-updated` (`mute-audio` / `unmute-audio`) and `user-unpublished` / `user-published`.
    pub async fn set_muted(&self, muted: bool) -> Result<(), RtcError> {
        self.change(|state| std::mem::replace(&mut state.muted, muted) != muted)
            .await
    }

    async fn change(&self, apply: impl FnOnce(&mut LocalAudioState) -> bool) -> Result<(), RtcError> {
        if self.is_closed() {
            return Err(RtcError::new(ErrorCode::InvalidLocalTrack, "the track is closed"));
        }
        let announce = {
            let mut state = lock(&self.inner.state);
            let changed = apply(&mut state);
            let track_state = TrackState {
                media_type: MediaType::Audio,
                muted: state.muted,
                enabled: state.enabled,
            };
            changed
                .then(|| state.publication.as_ref().map(|p| (p.link.clone(), track_state)))
                .flatten()
        };
        match announce {
            Some((link, state)) => link.set_track_state(state).await,
            None => Ok(()),
        }
    }

    /// `close()`: releases the track. A published track is unpublished in the background. Closing twice does
    /// nothing.
    pub fn close(&self) {
        if self.inner.closed.swap(true, Ordering::SeqCst) {
            return;
        }
        let publication = lock(&self.inner.state).publication.take();
        if let Some(publication) = publication {
            publication.engine.unpublish(publication.mid);
            publication
                .link
                .unpublish_in_background(LocalTrack::Audio(self.clone()));
        }
    }

    /// `getStats()`.
    pub fn stats(&self) -> LocalAudioTrackStats {
        let stats = lock(&self.inner.send.stats).clone();
        LocalAudioTrackStats {
            codec_type: Some("opus".into()),
            send_volume_level: self.inner.level.load(Ordering::Relaxed).min(32_767) as u32,
            send_bitrate: stats.bitrate_bps,
            send_bytes: stats.bytes,
            send_packets: stats.packets,
            send_packets_lost: stats.remote_lost,
            send_jitter_ms: f64::from(stats.remote_jitter_samples) / 48.0,
            send_rtt_ms: stats.rtt.map_or(0.0, |rtt| rtt.as_secs_f64() * 1000.0),
            current_packet_loss_rate: f64::from(stats.loss_fraction.unwrap_or(0.0)) * 100.0,
        }
    }
}

// ------------------------------------------------------------------------------------------------------------------
// Remote tracks

/// A subscribed remote track: `IRemoteTrack`, as [`crate::Client::subscribe`] returns it.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum RemoteTrack {
    Audio(RemoteAudioTrack),
    Video(RemoteVideoTrack),
}

impl RemoteTrack {
    pub fn media_type(&self) -> MediaType {
        match self {
            RemoteTrack::Audio(_) => MediaType::Audio,
            RemoteTrack::Video(_) => MediaType::Video,
        }
    }

    /// `getUserId()`.
    pub fn uid(&self) -> &Uid {
        match self {
            RemoteTrack::Audio(track) => track.uid(),
            RemoteTrack::Video(track) => track.uid(),
        }
    }

    /// The audio track, if this is one.
    pub fn into_audio(self) -> Option<RemoteAudioTrack> {
        match self {
            RemoteTrack::Audio(track) => Some(track),
            RemoteTrack::Video(_) => None,
        }
    }

    /// The video track, if this is one.
    pub fn into_video(self) -> Option<RemoteVideoTrack> {
        match self {
            RemoteTrack::Video(track) => Some(track),
            RemoteTrack::Audio(_) => None,
        }
    }

    /// A track handle for a subscription of `shared.media_type`.
    pub(crate) fn new(shared: Arc<RemoteShared>) -> RemoteTrack {
        match shared.media_type {
            MediaType::Audio => RemoteTrack::Audio(RemoteAudioTrack { shared }),
            MediaType::Video => RemoteTrack::Video(RemoteVideoTrack { shared }),
        }
    }

    fn shared(&self) -> &Arc<RemoteShared> {
        match self {
            RemoteTrack::Audio(track) => &track.shared,
            RemoteTrack::Video(track) => &track.shared,
        }
    }

    pub(crate) fn end(&self) {
        self.shared().end();
    }

    pub(crate) fn is_ended(&self) -> bool {
        self.shared().ended.load(Ordering::SeqCst)
    }
}

/// One encoded audio frame as received (for programs that do not decode).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncodedAudioFrame {
    /// The Opus payload.
    pub payload: Arc<[u8]>,
    /// RTP timestamp (48 kHz), as sent by the server (rewritten per subscriber).
    pub rtp_timestamp: u64,
    /// Extended RTP sequence number of the packet.
    pub sequence: u64,
    /// When the packet arrived.
    pub received_at: Instant,
}

/// `RemoteAudioTrackStats`, with the Web SDK's names in snake_case. Rates are percentages, durations seconds,
/// delays milliseconds. Byte counts are Opus payload bytes. Fields the engine cannot measure yet
/// (`end2end_delay`, `transport_delay`, `receive_delay`) stay 0.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct RemoteAudioTrackStats {
    /// `"opus"`.
    pub codec_type: Option<String>,
    pub transport_delay: f64,
    pub end2end_delay: f64,
    pub receive_delay: f64,
    /// Payload bitrate over the last second, bits per second.
    pub receive_bitrate: u64,
    /// Level of the last decoded frame, 0..=32767 (RMS); 0 when nothing is decoded (no frame receiver).
    pub receive_level: u32,
    pub receive_bytes: u64,
    pub receive_packets: u64,
    /// Packets missing from the sequence (expected − received).
    pub receive_packets_lost: u64,
    /// Packets that arrived too late or twice and were not used.
    pub receive_packets_discarded: u64,
    /// Loss over the whole subscription, percent.
    pub packet_loss_rate: f64,
    /// Loss over the last second, percent.
    pub current_packet_loss_rate: f64,
    /// Seconds since the first packet.
    pub total_duration: f64,
    /// Seconds of audio concealed in gaps of 200 ms or more.
    pub total_freeze_time: f64,
    /// `total_freeze_time / total_duration`, percent.
    pub freeze_rate: f64,
    /// Seconds since the subscription started.
    pub publish_duration: f64,
}

#[derive(Default)]
pub(crate) struct Sinks {
    pcm: Vec<mpsc::Sender<AudioFrame>>,
    encoded: Vec<mpsc::Sender<EncodedAudioFrame>>,
    pub(crate) video: Vec<mpsc::Sender<VideoFrame>>,
    pub(crate) encoded_video: Vec<mpsc::Sender<EncodedVideoFrame>>,
}

/// What a remote track shares with the engine.
pub(crate) struct RemoteShared {
    pub(crate) uid: Uid,
    pub(crate) id: String,
    pub(crate) media_type: MediaType,
    pub(crate) created: Instant,
    pub(crate) sinks: Mutex<Sinks>,
    pub(crate) stats: Mutex<RecvStats>,
    pub(crate) ended: AtomicBool,
}

#[derive(Clone, Debug, Default)]
pub(crate) struct RecvStats {
    pub(crate) first_at: Option<Instant>,
    pub(crate) first_seq: Option<u64>,
    pub(crate) max_seq: Option<u64>,
    pub(crate) packets: u64,
    pub(crate) bytes: u64,
    pub(crate) discarded: u64,
    pub(crate) concealed_freeze: Duration,
    pub(crate) level: u32,
    pub(crate) window_start: Option<Instant>,
    pub(crate) window_bytes: u64,
    pub(crate) window_packets: u64,
    pub(crate) window_first_expected: u64,
    pub(crate) bitrate_bps: u64,
    pub(crate) current_loss: f64,
    pub(crate) frames_dropped: u64,
    pub(crate) video: VideoRecvStats,
}

impl RecvStats {
    /// Records a packet with extended sequence number `seq` of `bytes` payload bytes. Returns the number of
    /// packets missing just before it, or `None` when it is late or a duplicate.
    pub(crate) fn packet(&mut self, seq: u64, bytes: usize, now: Instant) -> Option<u64> {
        self.packets_in(seq, seq, bytes, now)
    }

    /// Records the packets `first..=last` that together carried `bytes` payload bytes (one video frame). Returns
    /// the number of packets missing just before `first`, or `None` when they are late or duplicates.
    pub(crate) fn packets_in(&mut self, first_seq: u64, seq: u64, bytes: usize, now: Instant) -> Option<u64> {
        self.first_at.get_or_insert(now);
        let first = *self.first_seq.get_or_insert(first_seq);
        let gap = match self.max_seq {
            Some(max) if seq <= max => {
                self.discarded += 1;
                return None;
            }
            Some(max) => first_seq.saturating_sub(max + 1),
            None => 0,
        };
        let count = seq.saturating_sub(first_seq) + 1;
        self.max_seq = Some(seq);
        self.packets += count;
        self.bytes += bytes as u64;
        let start = *self.window_start.get_or_insert(now);
        if self.window_packets == 0 && self.window_bytes == 0 && self.window_first_expected == 0 {
            self.window_first_expected = first_seq - first;
        }
        self.window_bytes += bytes as u64;
        self.window_packets += count;
        let elapsed = now.saturating_duration_since(start);
        if elapsed >= Duration::from_secs(1) {
            self.bitrate_bps = (self.window_bytes as f64 * 8.0 / elapsed.as_secs_f64()) as u64;
            let expected = (seq - first + 1).saturating_sub(self.window_first_expected);
            self.current_loss = if expected > 0 {
                expected.saturating_sub(self.window_packets) as f64 * 100.0 / expected as f64
            } else {
                0.0
            };
            self.window_start = Some(now);
            self.window_bytes = 0;
            self.window_packets = 0;
            self.window_first_expected = seq - first + 1;
        }
        Some(gap)
    }

    pub(crate) fn expected(&self) -> u64 {
        match (self.first_seq, self.max_seq) {
            (Some(first), Some(max)) => max - first + 1,
            _ => 0,
        }
    }

    pub(crate) fn lost(&self) -> u64 {
        self.expected().saturating_sub(self.packets)
    }
}

impl RemoteShared {
    pub(crate) fn new(uid: Uid, uint_uid: u32, media_type: MediaType) -> Arc<RemoteShared> {
        Arc::new(RemoteShared {
            uid,
            id: new_track_id(&format!("remote-{}-{}", uint_uid, media_type.as_str())),
            media_type,
            created: Instant::now(),
            sinks: Mutex::new(Sinks::default()),
            stats: Mutex::new(RecvStats::default()),
            ended: AtomicBool::new(false),
        })
    }

    /// Whether anyone wants decoded frames.
    pub(crate) fn wants_pcm(&self) -> bool {
        let mut sinks = lock(&self.sinks);
        sinks.pcm.retain(|s| !s.is_closed());
        !sinks.pcm.is_empty()
    }

    pub(crate) fn deliver_pcm(&self, frame: AudioFrame) {
        let mut sinks = lock(&self.sinks);
        let mut dropped = 0;
        sinks.pcm.retain(|sink| match sink.try_send(frame.clone()) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                dropped += 1;
                true
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        });
        drop(sinks);
        if dropped > 0 {
            lock(&self.stats).frames_dropped += dropped;
        }
    }

    pub(crate) fn deliver_encoded(&self, frame: EncodedAudioFrame) {
        let mut sinks = lock(&self.sinks);
        if sinks.encoded.is_empty() {
            return;
        }
        sinks
            .encoded
            .retain(|sink| !matches!(sink.try_send(frame.clone()), Err(mpsc::error::TrySendError::Closed(_))));
    }

    /// The subscription ended: receivers see the end of their stream.
    pub(crate) fn end(&self) {
        self.ended.store(true, Ordering::SeqCst);
        let mut sinks = lock(&self.sinks);
        sinks.pcm.clear();
        sinks.encoded.clear();
        sinks.video.clear();
        sinks.encoded_video.clear();
    }
}

/// A subscribed remote audio track (`IRemoteAudioTrack`): the remote user's Opus stream, decoded to 48 kHz PCM
/// (mono, or stereo when the sender encodes stereo). Lost packets are concealed (Opus PLC, or FEC when the next
/// packet carries it), so the frames form a continuous stream while packets arrive.
///
/// The track ends when it is unsubscribed, the user unpublishes it (or mutes or disables it: Agora's
/// `user-unpublished`), the user leaves, or this client leaves: receivers then return `None`. Clones are handles to
/// the same track.
#[derive(Clone)]
pub struct RemoteAudioTrack {
    pub(crate) shared: Arc<RemoteShared>,
}

impl std::fmt::Debug for RemoteAudioTrack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteAudioTrack")
            .field("uid", &self.shared.uid)
            .field("id", &self.shared.id)
            .field("ended", &self.is_ended())
            .finish()
    }
}

impl RemoteAudioTrack {
    /// `getUserId()`.
    pub fn uid(&self) -> &Uid {
        &self.shared.uid
    }

    pub fn media_type(&self) -> MediaType {
        MediaType::Audio
    }

    /// `getTrackId()`.
    pub fn track_id(&self) -> &str {
        &self.shared.id
    }

    /// Whether the subscription has ended.
    pub fn is_ended(&self) -> bool {
        self.shared.ended.load(Ordering::SeqCst)
    }

    /// A new receiver of decoded frames (20 ms, 48 kHz), from now on. Each receiver gets every frame; one that
    /// falls [`FRAME_QUEUE`] frames behind loses the newest (counted). Decoding runs only while some receiver
    /// exists. After the track ended the receiver is closed at once.
    pub fn frames(&self) -> mpsc::Receiver<AudioFrame> {
        let (tx, rx) = mpsc::channel(FRAME_QUEUE);
        if !self.is_ended() {
            lock(&self.shared.sinks).pcm.push(tx);
        }
        rx
    }

    /// A new receiver of the encoded (Opus) frames as they arrive, for programs that do not decode.
    pub fn encoded_frames(&self) -> mpsc::Receiver<EncodedAudioFrame> {
        let (tx, rx) = mpsc::channel(FRAME_QUEUE);
        if !self.is_ended() {
            lock(&self.shared.sinks).encoded.push(tx);
        }
        rx
    }

    /// `stop()`: stops delivering frames (every receiver ends); the subscription stays, and [`Self::frames`] starts
    /// again.
    pub fn stop(&self) {
        let mut sinks = lock(&self.shared.sinks);
        sinks.pcm.clear();
        sinks.encoded.clear();
    }

    /// Decoded frames that receivers had no room for.
    pub fn frames_dropped(&self) -> u64 {
        lock(&self.shared.stats).frames_dropped
    }

    /// `getStats()`.
    pub fn stats(&self) -> RemoteAudioTrackStats {
        let stats = lock(&self.shared.stats).clone();
        let now = Instant::now();
        let total = stats
            .first_at
            .map_or(0.0, |first| now.saturating_duration_since(first).as_secs_f64());
        let expected = stats.expected();
        let freeze = stats.concealed_freeze.as_secs_f64();
        RemoteAudioTrackStats {
            codec_type: Some("opus".into()),
            receive_bitrate: stats.bitrate_bps,
            receive_level: stats.level,
            receive_bytes: stats.bytes,
            receive_packets: stats.packets,
            receive_packets_lost: stats.lost(),
            receive_packets_discarded: stats.discarded,
            packet_loss_rate: if expected > 0 {
                stats.lost() as f64 * 100.0 / expected as f64
            } else {
                0.0
            },
            current_packet_loss_rate: stats.current_loss,
            total_duration: total,
            total_freeze_time: freeze,
            freeze_rate: if total > 0.0 { freeze * 100.0 / total } else { 0.0 },
            publish_duration: now.saturating_duration_since(self.shared.created).as_secs_f64(),
            ..RemoteAudioTrackStats::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receive_counters_count_gaps_and_late_packets() {
        let mut stats = RecvStats::default();
        let t0 = Instant::now();
        assert_eq!(stats.packet(100, 50, t0), Some(0));
        assert_eq!(stats.packet(101, 50, t0), Some(0));
        assert_eq!(stats.packet(104, 50, t0), Some(2));
        assert_eq!(stats.packet(103, 50, t0), None, "late");
        assert_eq!(stats.packet(104, 50, t0), None, "duplicate");
        assert_eq!((stats.packets, stats.lost(), stats.discarded), (3, 2, 2));
        assert_eq!(stats.packet(105, 50, t0 + Duration::from_secs(1)), Some(0));
        assert_eq!(stats.bitrate_bps, 200 * 8);
        assert!(
            (stats.current_loss - 2.0 * 100.0 / 6.0).abs() < 1e-9,
            "{}",
            stats.current_loss
        );
    }

    #[test]
    fn a_closed_track_refuses_frames_and_an_unpublished_one_drops_them() {
        let track = LocalAudioTrack::custom(crate::media::AudioEncoderPreset::SpeechStandard).unwrap();
        let frame = AudioFrame::new(48_000, 1, vec![0; 960]);
        track.push(&frame).unwrap();
        assert_eq!(track.stats().send_packets, 0, "nothing is sent while unpublished");
        let bad = AudioFrame::new(47_000, 1, vec![0; 960]);
        assert_eq!(track.push(&bad).unwrap_err().code, ErrorCode::InvalidParams);
        track.close();
        assert!(track.is_closed());
        assert_eq!(track.push(&frame).unwrap_err().code, ErrorCode::InvalidLocalTrack);
    }
}

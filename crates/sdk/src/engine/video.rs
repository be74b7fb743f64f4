//! Video tracks: the custom local video track (I420 frames in, VP8 / VP9 / H.264 out) and the remote video track
//! (decoded I420 frames, the encoded frames, stats). Like the audio tracks they share counters and frame sinks with
//! the engine task behind short-lived locks; encoding runs on the pushing thread, decoding on the engine task.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use stoa_proto::signal::{MediaType, TrackState};
use stoa_proto::{ErrorCode, RtcError};
use str0m::media::Mid;
use tokio::sync::mpsc;

use super::track::{LocalTrack, Publication, RemoteShared, SendShared, lock, new_track_id};
use crate::media::video::{VIDEO_CLOCK_RATE, VideoCodec, VideoEncoderConfig, VideoEncoderPipeline, VideoFrame};
use crate::state::Uid;

/// How many decoded frames a [`RemoteVideoTrack::frames`] receiver holds before new ones are dropped (about one
/// second at 30 fps; pictures are big).
pub const VIDEO_FRAME_QUEUE: usize = 32;
/// How many encoded frames a [`RemoteVideoTrack::encoded_frames`] receiver holds.
pub const ENCODED_VIDEO_QUEUE: usize = 256;

// ------------------------------------------------------------------------------------------------------------------
// Local video

/// `LocalVideoTrackStats`, with the Web SDK's names in snake_case. Byte counts are encoded frame bytes; rates are
/// over the last second.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct LocalVideoTrackStats {
    /// `"VP8"`, `"VP9"` or `"H264"` once published.
    pub codec_type: Option<String>,
    pub send_bytes: u64,
    /// Encoded frames sent per second.
    pub send_frame_rate: f64,
    /// Frames pushed per second (whether sent or not).
    pub capture_frame_rate: f64,
    /// RTP packets sent, retransmissions included (str0m's count, refreshed every second).
    pub send_packets: u64,
    /// Packets the server reported lost (RTCP receiver reports).
    pub send_packets_lost: u64,
    /// Interarrival jitter the server reported, milliseconds.
    pub send_jitter_ms: f64,
    /// Round-trip time to the server, milliseconds (0 until measured).
    pub send_rtt_ms: f64,
    pub send_resolution_width: u32,
    pub send_resolution_height: u32,
    pub capture_resolution_width: u32,
    pub capture_resolution_height: u32,
    /// Time the last frame took to encode, milliseconds.
    pub encode_delay: f64,
    /// Encoded bitrate over the last second, bits per second.
    pub send_bitrate: u64,
    /// The encoder's target, bits per second.
    pub target_send_bitrate: u64,
    /// Seconds since the track was first published.
    pub total_duration: f64,
    /// Always 0: a custom track's frames come from the application, which decides its own pauses.
    pub total_freeze_time: f64,
    /// Loss fraction of the last receiver report, in percent.
    pub current_packet_loss_rate: f64,
    /// Stoa addition: keyframes encoded.
    pub key_frames_encoded: u64,
    /// Stoa addition: keyframe requests (PLI + FIR) received from the server.
    pub keyframe_requests_received: u64,
    /// Stoa addition: NACKs received from the server.
    pub nacks_received: u64,
}

struct LocalVideoInner {
    id: String,
    state: Mutex<LocalVideoState>,
    send: Arc<SendShared>,
    closed: AtomicBool,
}

struct LocalVideoState {
    enabled: bool,
    muted: bool,
    config: VideoEncoderConfig,
    /// Built on the first frame sent, for the codec of the client the track is published on.
    encoder: Option<VideoEncoderPipeline>,
    publication: Option<Publication>,
    /// Origin of the RTP clock: RTP timestamps follow the wall clock of the pushes.
    clock_origin: Option<Instant>,
    last_rtp: Option<u32>,
    published_at: Option<Instant>,
    capture: RateWindow,
    capture_size: (u32, u32),
    sent_size: (u32, u32),
    encode_delay: Duration,
    key_frames: u64,
}

/// Counts events over one-second windows.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct RateWindow {
    start: Option<Instant>,
    count: u64,
    rate: f64,
}

impl RateWindow {
    pub(crate) fn tick(&mut self, now: Instant) {
        let start = *self.start.get_or_insert(now);
        self.count += 1;
        let elapsed = now.saturating_duration_since(start);
        if elapsed >= Duration::from_secs(1) {
            self.rate = self.count as f64 / elapsed.as_secs_f64();
            self.start = Some(now);
            self.count = 0;
        }
    }

    pub(crate) fn rate(&self) -> f64 {
        self.rate
    }
}

/// A custom video track (`createCustomVideoTrack`): the application pushes I420 [`VideoFrame`]s of the configured
/// size; while the track is published, enabled and unmuted they are encoded with the codec of the client it is
/// published on (`ClientConfig.codec`: VP8, VP9 or H.264) at the configured target bitrate and sent. Frames pushed at
/// other times are dropped, as a camera's would be. RTP timestamps follow the wall clock of the pushes, so push at
/// the frame rate you want the receiver to see.
///
/// [`LocalVideoTrack::push`] encodes on the calling thread (a few milliseconds per frame at 640×360): from async
/// code, push from `spawn_blocking` or a thread of your own at higher resolutions. Keyframe requests from the server
/// (a subscriber's PLI) make the next pushed frame a keyframe.
///
/// Clones are handles to the same track.
#[derive(Clone)]
pub struct LocalVideoTrack {
    inner: Arc<LocalVideoInner>,
}

impl std::fmt::Debug for LocalVideoTrack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = lock(&self.inner.state);
        f.debug_struct("LocalVideoTrack")
            .field("id", &self.inner.id)
            .field("config", &state.config)
            .field("enabled", &state.enabled)
            .field("muted", &state.muted)
            .field("closed", &self.is_closed())
            .field("published", &state.publication.is_some())
            .finish()
    }
}

impl LocalVideoTrack {
    /// A track encoding with `config`: a [`crate::media::video::VideoEncoderPreset`] (Agora's
    /// `VideoEncoderConfigurationPreset`, e.g. `"360p_1".parse()?`) or a full [`VideoEncoderConfig`] (size, frame
    /// rate, target bitrate, keyframe interval). The config's `codec` is ignored: the client's codec is used at
    /// publish. A configuration out of range is `INVALID_PARAMS`.
    pub fn custom(config: impl Into<VideoEncoderConfig>) -> Result<LocalVideoTrack, RtcError> {
        let config = config.into();
        config.validate()?;
        Ok(LocalVideoTrack {
            inner: Arc::new(LocalVideoInner {
                id: new_track_id("video"),
                state: Mutex::new(LocalVideoState {
                    enabled: true,
                    muted: false,
                    config,
                    encoder: None,
                    publication: None,
                    clock_origin: None,
                    last_rtp: None,
                    published_at: None,
                    capture: RateWindow::default(),
                    capture_size: (0, 0),
                    sent_size: (0, 0),
                    encode_delay: Duration::ZERO,
                    key_frames: 0,
                }),
                send: Arc::new(SendShared::default()),
                closed: AtomicBool::new(false),
            }),
        })
    }

    /// `getTrackId()`: unique per track.
    pub fn track_id(&self) -> &str {
        &self.inner.id
    }

    pub fn media_type(&self) -> MediaType {
        MediaType::Video
    }

    /// The encoder configuration (size, frame rate, target bitrate).
    pub fn config(&self) -> VideoEncoderConfig {
        lock(&self.inner.state).config
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

    /// Pushes one picture. A malformed frame, or one of another size than configured, is `INVALID_PARAMS`; a closed
    /// track is `INVALID_LOCAL_TRACK`; a codec failure `UNEXPECTED_ERROR`. Never waits for the network: when the
    /// engine is behind, encoded frames are dropped (counted) and the next frame is a keyframe.
    pub fn push(&self, frame: &VideoFrame) -> Result<(), RtcError> {
        frame.validate()?;
        if self.is_closed() {
            return Err(RtcError::new(ErrorCode::InvalidLocalTrack, "the track is closed"));
        }
        let now = Instant::now();
        let mut guard = lock(&self.inner.state);
        let state = &mut *guard;
        state.capture.tick(now);
        state.capture_size = (frame.width, frame.height);
        if (frame.width, frame.height) != (state.config.width, state.config.height) {
            return Err(RtcError::new(
                ErrorCode::InvalidParams,
                format!(
                    "the track is configured for {}x{} frames, got {}x{} (it does not scale)",
                    state.config.width, state.config.height, frame.width, frame.height
                ),
            ));
        }
        if !state.enabled || state.muted {
            return Ok(());
        }
        let Some(publication) = &state.publication else {
            return Ok(());
        };
        let codec = publication.video_codec.unwrap_or(state.config.codec);
        let encoder = match &mut state.encoder {
            Some(encoder) if encoder.config().codec == codec => encoder,
            slot => slot.insert(VideoEncoderPipeline::new(VideoEncoderConfig { codec, ..state.config })?),
        };
        // 90 kHz since the first frame sent, strictly increasing.
        let origin = *state.clock_origin.get_or_insert(now);
        let elapsed = now.saturating_duration_since(origin);
        let mut rtp = (elapsed.as_micros() * u128::from(VIDEO_CLOCK_RATE) / 1_000_000) as u32;
        if let Some(last) = state.last_rtp
            && (rtp.wrapping_sub(last) as i32) <= 0
        {
            rtp = last.wrapping_add(1);
        }
        let force = self.inner.send.keyframe_wanted.swap(false, Ordering::Relaxed);
        let started = Instant::now();
        let encoded = encoder.encode_at(frame, rtp, force)?;
        state.encode_delay = started.elapsed();
        state.last_rtp = Some(rtp);
        state.sent_size = (frame.width, frame.height);
        for frame in encoded {
            state.key_frames += u64::from(frame.keyframe);
            if !publication.engine.video(publication.mid, codec, frame) {
                lock(&self.inner.send.stats).dropped += 1;
                // The receiver misses a frame: start again from a keyframe.
                self.inner.send.keyframe_wanted.store(true, Ordering::Relaxed);
            }
        }
        Ok(())
    }

    /// `setEnabled`: a disabled track sends nothing. While published, others get `user-info-updated`
    /// (`enable-local-video` / `disable-local-video`) and `user-published` / `user-unpublished`.
    pub async fn set_enabled(&self, enabled: bool) -> Result<(), RtcError> {
        self.change(|state| std::mem::replace(&mut state.enabled, enabled) != enabled)
            .await
    }

    /// `setMuted`: a muted track sends nothing but stays published. While published, others get
    /// `user-info-updated` (`mute-video` / `unmute-video`) and `user-unpublished` / `user-published`.
    pub async fn set_muted(&self, muted: bool) -> Result<(), RtcError> {
        self.change(|state| std::mem::replace(&mut state.muted, muted) != muted)
            .await
    }

    async fn change(&self, apply: impl FnOnce(&mut LocalVideoState) -> bool) -> Result<(), RtcError> {
        if self.is_closed() {
            return Err(RtcError::new(ErrorCode::InvalidLocalTrack, "the track is closed"));
        }
        let announce = {
            let mut state = lock(&self.inner.state);
            let changed = apply(&mut state);
            if changed && state.enabled && !state.muted {
                // Receivers start again from scratch.
                self.inner.send.keyframe_wanted.store(true, Ordering::Relaxed);
            }
            let track_state = TrackState {
                media_type: MediaType::Video,
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
        let publication = {
            let mut state = lock(&self.inner.state);
            state.encoder = None;
            state.publication.take()
        };
        if let Some(publication) = publication {
            publication.engine.unpublish(publication.mid);
            publication
                .link
                .unpublish_in_background(LocalTrack::Video(self.clone()));
        }
    }

    /// `getStats()`.
    pub fn stats(&self) -> LocalVideoTrackStats {
        let send = lock(&self.inner.send.stats).clone();
        let state = lock(&self.inner.state);
        let codec = state
            .encoder
            .as_ref()
            .map(|e| e.config().codec)
            .or_else(|| state.publication.as_ref().and_then(|p| p.video_codec));
        LocalVideoTrackStats {
            codec_type: codec.map(|c| c.stats_name().to_string()),
            send_bytes: send.bytes,
            send_frame_rate: send.frame_rate,
            capture_frame_rate: state.capture.rate(),
            send_packets: send.rtp_packets.unwrap_or(0),
            send_packets_lost: send.remote_lost,
            send_jitter_ms: f64::from(send.remote_jitter_samples) * 1000.0 / f64::from(VIDEO_CLOCK_RATE),
            send_rtt_ms: send.rtt.map_or(0.0, |rtt| rtt.as_secs_f64() * 1000.0),
            send_resolution_width: state.sent_size.0,
            send_resolution_height: state.sent_size.1,
            capture_resolution_width: state.capture_size.0,
            capture_resolution_height: state.capture_size.1,
            encode_delay: state.encode_delay.as_secs_f64() * 1000.0,
            send_bitrate: send.bitrate_bps,
            target_send_bitrate: u64::from(state.config.bitrate_kbps) * 1000,
            total_duration: state.published_at.map_or(0.0, |at| at.elapsed().as_secs_f64()),
            total_freeze_time: 0.0,
            current_packet_loss_rate: f64::from(send.loss_fraction.unwrap_or(0.0)) * 100.0,
            key_frames_encoded: state.key_frames,
            keyframe_requests_received: send.plis + send.firs,
            nacks_received: send.nacks,
        }
    }

    pub(crate) fn published_on(&self) -> Option<u64> {
        lock(&self.inner.state).publication.as_ref().map(|p| p.link.client_id())
    }

    pub(crate) fn send_shared(&self) -> Arc<SendShared> {
        self.inner.send.clone()
    }

    pub(crate) fn attach(&self, publication: Publication) {
        let mut state = lock(&self.inner.state);
        state.published_at.get_or_insert_with(Instant::now);
        state.publication = Some(publication);
        // A new publication starts with a keyframe.
        self.inner.send.keyframe_wanted.store(true, Ordering::Relaxed);
    }

    pub(crate) fn detach(&self) -> Option<Mid> {
        lock(&self.inner.state).publication.take().map(|p| p.mid)
    }
}

// ------------------------------------------------------------------------------------------------------------------
// Remote video

/// One encoded video frame as received (for programs that do not decode): a whole VP8 or VP9 frame, or an H.264
/// access unit in Annex B.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncodedVideoFrame {
    pub codec: VideoCodec,
    pub data: Arc<[u8]>,
    /// A frame a decoder can start from.
    pub keyframe: bool,
    /// False when frames before this one were lost (a decoder needs the next keyframe).
    pub contiguous: bool,
    /// RTP timestamp (90 kHz), as sent by the server (rewritten per subscriber).
    pub rtp_timestamp: u64,
    /// Extended RTP sequence number of the frame's last packet.
    pub sequence: u64,
    /// When the frame's first packet arrived.
    pub received_at: Instant,
}

/// `RemoteVideoTrackStats`, with the Web SDK's names in snake_case. Rates are percentages, durations seconds,
/// delays milliseconds, frame rates per second over the last second. `transport_delay`, `end2end_delay` and
/// `receive_delay` need the sender's clock and stay 0.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct RemoteVideoTrackStats {
    /// `"VP8"`, `"VP9"` or `"H264"` once a frame arrived.
    pub codec_type: Option<String>,
    pub transport_delay: f64,
    pub end2end_delay: f64,
    pub receive_delay: f64,
    /// Payload bitrate over the last second, bits per second.
    pub receive_bitrate: u64,
    pub receive_bytes: u64,
    /// Frames decoded per second.
    pub decode_frame_rate: f64,
    /// Whole frames received per second.
    pub receive_frame_rate: f64,
    /// Frames handed to [`RemoteVideoTrack::frames`] receivers per second.
    pub render_frame_rate: f64,
    pub receive_packets: u64,
    /// Packets missing from the sequence (expected − received) after retransmissions.
    pub receive_packets_lost: u64,
    /// Loss over the whole subscription, percent.
    pub packet_loss_rate: f64,
    /// Loss over the last second, percent.
    pub current_packet_loss_rate: f64,
    pub receive_resolution_width: u32,
    pub receive_resolution_height: u32,
    /// Seconds since the first packet.
    pub total_duration: f64,
    /// Seconds spent in freezes: gaps between decoded frames longer than three times the average frame interval
    /// (and at least 150 ms more than it), WebRTC's definition.
    pub total_freeze_time: f64,
    /// `total_freeze_time / total_duration`, percent.
    pub freeze_rate: f64,
    /// Seconds since the subscription started.
    pub publish_duration: f64,
    /// Stoa addition: frames received, decoded, and skipped while waiting for a keyframe.
    pub frames_received: u64,
    pub frames_decoded: u64,
    pub frames_skipped: u64,
    /// Stoa addition: keyframe requests (PLI) this client sent.
    pub keyframe_requests_sent: u64,
}

/// The video side of a subscription's counters, written by the engine.
#[derive(Clone, Debug, Default)]
pub(crate) struct VideoRecvStats {
    pub(crate) codec: Option<VideoCodec>,
    pub(crate) received: RateWindow,
    pub(crate) decoded: RateWindow,
    pub(crate) rendered: RateWindow,
    pub(crate) frames_received: u64,
    pub(crate) frames_decoded: u64,
    pub(crate) frames_skipped: u64,
    pub(crate) keyframe_requests: u64,
    pub(crate) size: (u32, u32),
    pub(crate) last_decoded_at: Option<Instant>,
    /// Running average of the interval between decoded frames.
    pub(crate) average_interval: Option<Duration>,
    pub(crate) freeze: Duration,
}

impl VideoRecvStats {
    /// A frame was decoded at `now`: updates the rates, the size and the freeze time.
    pub(crate) fn decoded_at(&mut self, now: Instant, width: u32, height: u32) {
        self.frames_decoded += 1;
        self.decoded.tick(now);
        self.size = (width, height);
        if let Some(last) = self.last_decoded_at {
            let interval = now.saturating_duration_since(last);
            let average = *self.average_interval.get_or_insert(interval);
            if interval > (average * 3).max(average + Duration::from_millis(150)) {
                self.freeze += interval;
            }
            // An exponential average over about 30 frames.
            self.average_interval = Some((average * 29 + interval) / 30);
        }
        self.last_decoded_at = Some(now);
    }
}

/// A subscribed remote video track (`IRemoteVideoTrack`): the remote user's VP8, VP9 or H.264 stream, decoded to
/// I420 [`VideoFrame`]s. Frames are decoded only when they can be decoded correctly: after a loss the decoder
/// waits for the next keyframe and asks the sender for one (PLI, at most every 300 ms).
///
/// The track ends when it is unsubscribed, the user unpublishes it (or mutes or disables it), the user leaves, or
/// this client leaves: receivers then return `None`. Clones are handles to the same track.
#[derive(Clone)]
pub struct RemoteVideoTrack {
    pub(crate) shared: Arc<RemoteShared>,
}

impl std::fmt::Debug for RemoteVideoTrack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteVideoTrack")
            .field("uid", &self.shared.uid)
            .field("id", &self.shared.id)
            .field("ended", &self.is_ended())
            .finish()
    }
}

impl RemoteVideoTrack {
    /// `getUserId()`.
    pub fn uid(&self) -> &Uid {
        &self.shared.uid
    }

    pub fn media_type(&self) -> MediaType {
        MediaType::Video
    }

    /// `getTrackId()`.
    pub fn track_id(&self) -> &str {
        &self.shared.id
    }

    /// Whether the subscription has ended.
    pub fn is_ended(&self) -> bool {
        self.shared.ended.load(Ordering::SeqCst)
    }

    /// A new receiver of decoded frames, from now on. Each receiver gets every frame; one that falls
    /// [`VIDEO_FRAME_QUEUE`] frames behind loses the newest (counted in [`Self::frames_dropped`]). Decoding runs
    /// only while some receiver exists. After the track ended the receiver is closed at once.
    pub fn frames(&self) -> mpsc::Receiver<VideoFrame> {
        let (tx, rx) = mpsc::channel(VIDEO_FRAME_QUEUE);
        if !self.is_ended() {
            lock(&self.shared.sinks).video.push(tx);
        }
        rx
    }

    /// A new receiver of the encoded frames as they arrive, for programs that do not decode.
    pub fn encoded_frames(&self) -> mpsc::Receiver<EncodedVideoFrame> {
        let (tx, rx) = mpsc::channel(ENCODED_VIDEO_QUEUE);
        if !self.is_ended() {
            lock(&self.shared.sinks).encoded_video.push(tx);
        }
        rx
    }

    /// `stop()`: stops delivering frames (every receiver ends); the subscription stays, and [`Self::frames`] starts
    /// again.
    pub fn stop(&self) {
        let mut sinks = lock(&self.shared.sinks);
        sinks.video.clear();
        sinks.encoded_video.clear();
    }

    /// Decoded frames that receivers had no room for.
    pub fn frames_dropped(&self) -> u64 {
        lock(&self.shared.stats).frames_dropped
    }

    /// `getStats()`.
    pub fn stats(&self) -> RemoteVideoTrackStats {
        let stats = lock(&self.shared.stats).clone();
        let now = Instant::now();
        let total = stats
            .first_at
            .map_or(0.0, |first| now.saturating_duration_since(first).as_secs_f64());
        let expected = stats.expected();
        let video = &stats.video;
        let freeze = video.freeze.as_secs_f64();
        RemoteVideoTrackStats {
            codec_type: video.codec.map(|c| c.stats_name().to_string()),
            receive_bitrate: stats.bitrate_bps,
            receive_bytes: stats.bytes,
            decode_frame_rate: video.decoded.rate(),
            receive_frame_rate: video.received.rate(),
            render_frame_rate: video.rendered.rate(),
            receive_packets: stats.packets,
            receive_packets_lost: stats.lost(),
            packet_loss_rate: if expected > 0 {
                stats.lost() as f64 * 100.0 / expected as f64
            } else {
                0.0
            },
            current_packet_loss_rate: stats.current_loss,
            receive_resolution_width: video.size.0,
            receive_resolution_height: video.size.1,
            total_duration: total,
            total_freeze_time: freeze,
            freeze_rate: if total > 0.0 { freeze * 100.0 / total } else { 0.0 },
            publish_duration: now.saturating_duration_since(self.shared.created).as_secs_f64(),
            frames_received: video.frames_received,
            frames_decoded: video.frames_decoded,
            frames_skipped: video.frames_skipped,
            keyframe_requests_sent: video.keyframe_requests,
            ..RemoteVideoTrackStats::default()
        }
    }
}

impl RemoteShared {
    /// Whether anyone wants decoded pictures.
    pub(crate) fn wants_video(&self) -> bool {
        let mut sinks = lock(&self.sinks);
        sinks.video.retain(|s| !s.is_closed());
        !sinks.video.is_empty()
    }

    pub(crate) fn deliver_video(&self, frame: VideoFrame, now: Instant) {
        let mut sinks = lock(&self.sinks);
        let mut dropped = 0;
        let mut delivered = false;
        let count = sinks.video.len();
        let mut frame = Some(frame);
        let mut index = 0;
        sinks.video.retain(|sink| {
            index += 1;
            // The last receiver takes the picture itself; the others get copies.
            let item = if index == count {
                frame.take().unwrap_or_default()
            } else {
                frame.clone().unwrap_or_default()
            };
            match sink.try_send(item) {
                Ok(()) => {
                    delivered = true;
                    true
                }
                Err(mpsc::error::TrySendError::Full(_)) => {
                    dropped += 1;
                    true
                }
                Err(mpsc::error::TrySendError::Closed(_)) => false,
            }
        });
        drop(sinks);
        let mut stats = lock(&self.stats);
        stats.frames_dropped += dropped;
        if delivered {
            stats.video.rendered.tick(now);
        }
    }

    pub(crate) fn deliver_encoded_video(&self, frame: &EncodedVideoFrame) {
        let mut sinks = lock(&self.sinks);
        if sinks.encoded_video.is_empty() {
            return;
        }
        sinks
            .encoded_video
            .retain(|sink| !matches!(sink.try_send(frame.clone()), Err(mpsc::error::TrySendError::Closed(_))));
    }
}

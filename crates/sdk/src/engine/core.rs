//! The engine core, sans IO: two str0m [`Rtc`]s in frame mode with full ICE, datagrams and time in, datagrams out.
//!
//! - The **publisher** transport carries what this client sends. The client offers one sendonly m-line per
//!   published track; the server answers. The m-line of a track unpublished later is kept: the next publish offer
//!   makes it inactive, or sends on it again for a new track of the same kind (so the SDP does not grow with
//!   publish / unpublish cycles).
//! - The **subscriber** transport carries what this client receives. The server offers one sendonly m-line per
//!   subscription (each `subscribe` brings a new offer with one new m-line); the client answers.
//!
//! The server gives both of its sessions the same UDP address, so the two transports cannot share one local socket
//! (DTLS and SRTP from one 5-tuple cannot be told apart): each has its own, and [`Side`] says which.

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use stoa_proto::{ErrorCode, RtcError};
use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::format::Codec;
use str0m::media::{Direction, Frequency, KeyframeRequestKind, MediaData, MediaKind, MediaTime, Mid};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, IceConnectionState, Input, Output, Rtc, RtcConfig};

use super::track::{EncodedAudioFrame, RemoteShared, SendShared, lock};
use super::video::EncodedVideoFrame;
use crate::media::video::{EncodedVideo, VideoCodec, VideoDecoderPipeline, is_keyframe};
use crate::media::{EncodedAudio, OPUS_FRAME_DURATION, OPUS_FRAME_SAMPLES, OpusDecoderPipeline, signal};
use stoa_proto::signal::MediaType;

/// Which transport (and socket) a datagram belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Side {
    Publisher,
    Subscriber,
}

/// A datagram to send from `side`'s socket.
#[derive(Debug)]
pub(crate) struct Transmit {
    pub(crate) side: Side,
    pub(crate) destination: SocketAddr,
    pub(crate) contents: Vec<u8>,
}

/// A track to add to the publisher transport.
pub(crate) struct NewTrack {
    pub(crate) kind: MediaKind,
    pub(crate) stream_id: String,
    pub(crate) track_id: String,
    pub(crate) send: Arc<SendShared>,
}

/// A pause longer than this in what a track sends (mute, disable, the application stopping) moves the RTP clock on
/// by the time that passed, so the receiver sees a gap rather than a time warp.
const PAUSE: Duration = Duration::from_millis(200);
/// At most this many lost frames are concealed at once; a longer gap is a pause, not loss to hide.
const MAX_CONCEAL_FRAMES: u64 = 10;
/// How many packets after a gap str0m holds audio for the missing one to arrive out of order (str0m's default is 15,
/// 300 ms of added delay after every loss).
const AUDIO_REORDER_PACKETS: usize = 3;
/// The longest an audio frame waits for a missing earlier one.
const AUDIO_REORDER_WAIT: Duration = Duration::from_millis(60);
/// Concealed runs at least this long count as freezes in the stats.
const FREEZE_FRAMES: u64 = 10;
/// Longest wait between STUN retransmissions, and how often a working path is checked.
const STUN_MAX_RTO: Duration = Duration::from_secs(1);
/// A connected transport that received nothing (not even a STUN response) for this long has lost its path:
/// `media-reconnect-start`. The next datagram ends it.
const MEDIA_SILENCE: Duration = Duration::from_secs(3);
/// A video receiver that cannot decode asks for a keyframe at most this often (the server throttles too).
const KEYFRAME_REQUEST_INTERVAL: Duration = Duration::from_millis(300);

struct Peer {
    side: Side,
    rtc: Rtc,
    local: SocketAddr,
    connected: bool,
    /// The path was lost (silence or ICE disconnected) and has not come back yet.
    reconnecting: bool,
    /// When the last datagram for this transport arrived.
    last_received: Instant,
    /// The Rtc failed (it returned an error from `poll_output`); it is left alone from then on.
    dead: bool,
    timeout: Instant,
}

impl Peer {
    fn new(side: Side, local: SocketAddr, now: Instant) -> Result<Peer, RtcError> {
        let mut config = RtcConfig::new();
        // Consent checks every second (str0m's default is 3 s), so that a working path is never silent for long:
        // see MEDIA_SILENCE. Nine unanswered checks in a row (str0m's default) fail the path for good.
        config.set_max_stun_rto(STUN_MAX_RTO);
        let mut rtc = config
            .clear_codecs()
            .enable_opus(true, false)
            .enable_vp8(true)
            .enable_vp9(true)
            .enable_h264(true)
            // Audio is not retransmitted: wait for a late packet a little, then let the decoder conceal it.
            .set_reordering_size_audio(AUDIO_REORDER_PACKETS)
            .set_reordering_timeout_audio(Some(AUDIO_REORDER_WAIT))
            .set_stats_interval(Some(Duration::from_secs(1)))
            .build(now);
        let candidate = Candidate::host(local, "udp")
            .map_err(|e| RtcError::new(ErrorCode::UnexpectedError, format!("ICE candidate {local}: {e}")))?;
        if rtc.add_local_candidate(candidate).is_none() {
            return Err(RtcError::new(
                ErrorCode::UnexpectedError,
                format!("ICE candidate {local} refused"),
            ));
        }
        Ok(Peer {
            side,
            rtc,
            local,
            connected: false,
            reconnecting: false,
            last_received: now,
            dead: false,
            timeout: now,
        })
    }

    /// Collects what the Rtc wants to send and its events.
    fn drain(&mut self, transmits: &mut VecDeque<Transmit>, events: &mut Vec<Event>) {
        while !self.dead {
            match self.rtc.poll_output() {
                Ok(Output::Timeout(at)) => {
                    self.timeout = at;
                    return;
                }
                Ok(Output::Transmit(t)) => transmits.push_back(Transmit {
                    side: self.side,
                    destination: t.destination,
                    contents: t.contents.to_vec(),
                }),
                Ok(Output::Event(event)) => events.push(event),
                Err(e) => {
                    tracing::warn!(side = ?self.side, "media transport failed: {e}");
                    self.dead = true;
                    self.connected = false;
                }
            }
        }
    }
}

/// A published track's m-line.
struct Outgoing {
    kind: MediaKind,
    send: Arc<SendShared>,
    /// Next RTP timestamp for audio (48 kHz); for video (90 kHz), the last frame's, unwrapped.
    rtp_time: u64,
    last_write: Option<Instant>,
    /// Video: the encoder's timestamp of the last frame written.
    last_encoder_rtp: Option<u32>,
}

/// A subscription's m-line.
struct Incoming {
    track: Arc<RemoteShared>,
    decoder: Decoder,
    last_keyframe_request: Option<Instant>,
}

/// A subscription's decoder, made on the first frame.
enum Decoder {
    None,
    Opus(OpusDecoderPipeline),
    Video(VideoDecoderPipeline),
}

impl Incoming {
    fn new(track: Arc<RemoteShared>) -> Incoming {
        Incoming {
            track,
            decoder: Decoder::None,
            last_keyframe_request: None,
        }
    }
}

struct PendingPublish {
    pending: SdpPendingOffer,
    added: Vec<(Mid, MediaKind, Arc<SendShared>)>,
}

/// The media engine of one joined client.
pub(crate) struct EngineCore {
    publisher: Peer,
    subscriber: Peer,
    pending_publish: Option<PendingPublish>,
    outgoing: HashMap<Mid, Outgoing>,
    /// Publisher m-lines of unpublished tracks: made inactive by the next publish offer, reused for new tracks.
    stale: Vec<(Mid, MediaKind)>,
    incoming: HashMap<Mid, Incoming>,
    /// The mids of the active (non-stopped) m-lines of the last subscriber offer.
    active_sub_mids: HashSet<String>,
    transmits: VecDeque<Transmit>,
    events: Vec<Event>,
    /// Media reconnection changes for the client: (transport, true at the start / false at the end).
    reconnects: VecDeque<(Side, bool)>,
    /// Replaces the server's ICE candidates (a relay or port forward in front of it).
    media_address: Option<SocketAddr>,
}

fn unexpected(detail: impl Into<String>) -> RtcError {
    RtcError::new(ErrorCode::UnexpectedError, detail)
}

impl EngineCore {
    /// An engine whose publisher transport uses the socket at `publisher_addr` and subscriber transport the one at
    /// `subscriber_addr` (concrete addresses: they are the ICE host candidates).
    pub(crate) fn new(publisher_addr: SocketAddr, subscriber_addr: SocketAddr, now: Instant) -> Result<Self, RtcError> {
        Ok(EngineCore {
            publisher: Peer::new(Side::Publisher, publisher_addr, now)?,
            subscriber: Peer::new(Side::Subscriber, subscriber_addr, now)?,
            pending_publish: None,
            outgoing: HashMap::new(),
            stale: Vec::new(),
            incoming: HashMap::new(),
            active_sub_mids: HashSet::new(),
            transmits: VecDeque::new(),
            events: Vec::new(),
            reconnects: VecDeque::new(),
            media_address: None,
        })
    }

    /// Sends media to `address` instead of the server's announced candidates (applies to SDP received from now on).
    pub(crate) fn set_media_address(&mut self, address: Option<SocketAddr>) {
        self.media_address = address;
    }

    /// The server's SDP with its candidates pointed at the media address override, if any.
    fn redirect<'a>(&self, sdp: &'a str) -> std::borrow::Cow<'a, str> {
        match self.media_address {
            Some(address) => std::borrow::Cow::Owned(with_candidate_address(sdp, address)),
            None => std::borrow::Cow::Borrowed(sdp),
        }
    }

    pub(crate) fn local_addr(&self, side: Side) -> SocketAddr {
        match side {
            Side::Publisher => self.publisher.local,
            Side::Subscriber => self.subscriber.local,
        }
    }

    // --------------------------------------------------------------------------------------------------------------
    // Publishing

    /// An offer for the publisher transport adding one sendonly m-line per track (and stopping the m-lines of
    /// tracks unpublished since the last offer). Returns the offer and the new mids, in the order of `tracks`.
    /// The offer waits for [`Self::publish_answer`] (or [`Self::publish_cancel`]); a new offer replaces it.
    pub(crate) fn publish_offer(
        &mut self,
        tracks: Vec<NewTrack>,
        now: Instant,
    ) -> Result<(String, Vec<Mid>), RtcError> {
        if self.publisher.dead {
            return Err(unexpected("the publisher transport failed"));
        }
        self.publish_cancel();
        let mut api = self.publisher.rtc.sdp_api();
        let mut added = Vec::new();
        for track in tracks {
            let mid = match self.stale.iter().position(|(_, kind)| *kind == track.kind) {
                Some(index) => {
                    // Send on an unpublished track's m-line again. Toggling the direction makes it a change that
                    // is offered even when the m-line is still sendonly locally.
                    let (mid, _) = self.stale.remove(index);
                    api.set_direction(mid, Direction::Inactive);
                    api.set_direction(mid, Direction::SendOnly);
                    mid
                }
                None => api.add_media(
                    track.kind,
                    Direction::SendOnly,
                    Some(track.stream_id),
                    Some(track.track_id),
                    None,
                ),
            };
            added.push((mid, track.kind, track.send));
        }
        // The server would take a still-sending m-line for a publication again.
        for (mid, _) in &self.stale {
            api.set_direction(*mid, Direction::Inactive);
        }
        let Some((offer, pending)) = api.apply() else {
            return Err(unexpected("nothing to negotiate on the publisher transport"));
        };
        let mids = added.iter().map(|(mid, _, _)| *mid).collect();
        self.pending_publish = Some(PendingPublish { pending, added });
        self.drain(now);
        Ok((offer.to_sdp_string(), mids))
    }

    /// An offer for the publisher transport with new ICE credentials and nothing else changed (an ICE restart, for
    /// a path that is gone for good). Its answer goes through [`Self::publish_answer`].
    pub(crate) fn publish_restart_offer(&mut self, now: Instant) -> Result<String, RtcError> {
        if self.publisher.dead {
            return Err(unexpected("the publisher transport failed"));
        }
        self.publish_cancel();
        let mut api = self.publisher.rtc.sdp_api();
        api.ice_restart(true);
        let Some((offer, pending)) = api.apply() else {
            return Err(unexpected("the ICE restart made no offer"));
        };
        self.pending_publish = Some(PendingPublish {
            pending,
            added: Vec::new(),
        });
        self.drain(now);
        Ok(offer.to_sdp_string())
    }

    /// Applies the server's answer to the pending publish offer: the new m-lines start sending once the transport
    /// is connected.
    pub(crate) fn publish_answer(&mut self, answer: &str, now: Instant) -> Result<(), RtcError> {
        let Some(PendingPublish { pending, added }) = self.pending_publish.take() else {
            return Err(unexpected("no publish offer is waiting for an answer"));
        };
        let answer = SdpAnswer::from_sdp_string(&self.redirect(answer))
            .map_err(|e| RtcError::new(ErrorCode::UnexpectedResponse, format!("unreadable SDP answer: {e}")))?;
        let result = self.publisher.rtc.sdp_api().accept_answer(pending, answer);
        self.drain(now);
        result.map_err(|e| RtcError::new(ErrorCode::UnexpectedResponse, format!("SDP answer refused: {e}")))?;
        for (mid, kind, send) in added {
            self.outgoing.insert(
                mid,
                Outgoing {
                    kind,
                    send,
                    rtp_time: u64::from(rand::random::<u32>()),
                    last_write: None,
                    last_encoder_rtp: None,
                },
            );
        }
        Ok(())
    }

    /// Forgets the pending publish offer (the server refused it); reused m-lines are free again.
    pub(crate) fn publish_cancel(&mut self) {
        if let Some(pending) = self.pending_publish.take() {
            for (mid, kind, _) in pending.added {
                if self.publisher.rtc.media(mid).is_some() {
                    self.stale.push((mid, kind));
                }
            }
        }
    }

    /// Stops sending on `mid`; the next publish offer makes its m-line inactive or reuses it.
    pub(crate) fn unpublish(&mut self, mid: Mid) {
        if let Some(out) = self.outgoing.remove(&mid) {
            self.stale.push((mid, out.kind));
        }
    }

    /// Sends one encoded audio frame on `mid`. Frames for an unknown m-line, or before the transport is connected,
    /// are dropped (and counted).
    pub(crate) fn write_audio(&mut self, mid: Mid, packet: EncodedAudio, now: Instant) {
        let Some(out) = self.outgoing.get_mut(&mid) else { return };
        if !self.publisher.connected {
            out.send.stats.lock().unwrap_or_else(|e| e.into_inner()).dropped += 1;
            return;
        }
        if let Some(last) = out.last_write {
            let idle = now.saturating_duration_since(last);
            if idle > PAUSE {
                // Frames that were not sent during the pause, less the one sent last.
                let skipped = (idle.as_millis() / OPUS_FRAME_DURATION.as_millis()).saturating_sub(1) as u64;
                out.rtp_time += skipped * u64::from(OPUS_FRAME_SAMPLES);
            }
        }
        out.last_write = Some(now);
        let rtp_time = MediaTime::new(out.rtp_time, Frequency::FORTY_EIGHT_KHZ);
        out.rtp_time += u64::from(packet.rtp_timestamp_increment);
        let Some(writer) = self.publisher.rtc.writer(mid) else {
            return;
        };
        let Some(pt) = writer
            .payload_params()
            .find(|p| p.spec().codec == Codec::Opus)
            .map(|p| p.pt())
        else {
            return;
        };
        let bytes = packet.payload.len();
        match writer.write(pt, now, rtp_time, packet.payload) {
            Ok(()) => out
                .send
                .stats
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .sent(bytes, now),
            Err(e) => tracing::debug!(%mid, "audio frame not sent: {e}"),
        }
        self.drain(now);
    }

    /// Sends one encoded video frame on `mid` (str0m packetizes it). Frames for an unknown m-line, or before the
    /// transport is connected, are dropped (and counted).
    pub(crate) fn write_video(&mut self, mid: Mid, codec: VideoCodec, frame: EncodedVideo, now: Instant) {
        let Some(out) = self.outgoing.get_mut(&mid) else { return };
        if !self.publisher.connected {
            lock(&out.send.stats).dropped += 1;
            // What reaches the receiver first must be a keyframe.
            out.send
                .keyframe_wanted
                .store(true, std::sync::atomic::Ordering::Relaxed);
            return;
        }
        // The encoder's 32-bit clock, unwrapped onto the stream's random start.
        if let Some(last) = out.last_encoder_rtp {
            out.rtp_time += u64::from(frame.rtp_timestamp.wrapping_sub(last));
        }
        out.last_encoder_rtp = Some(frame.rtp_timestamp);
        let rtp_time = MediaTime::new(out.rtp_time, Frequency::NINETY_KHZ);
        let Some(writer) = self.publisher.rtc.writer(mid) else {
            return;
        };
        let Some(pt) = video_payload_type(writer.payload_params(), codec) else {
            tracing::warn!(%mid, %codec, "the server did not accept this video codec");
            lock(&out.send.stats).dropped += 1;
            return;
        };
        let bytes = frame.data.len();
        match writer.write(pt, now, rtp_time, frame.data) {
            Ok(()) => lock(&out.send.stats).sent(bytes, now),
            Err(e) => tracing::debug!(%mid, "video frame not sent: {e}"),
        }
        self.drain(now);
    }

    // --------------------------------------------------------------------------------------------------------------
    // Subscribing

    /// Answers the server's subscriber offer, which adds one m-line for the subscription `track`. Returns the
    /// answer and that m-line's mid.
    pub(crate) fn subscribe_offer(
        &mut self,
        offer: &str,
        track: Arc<RemoteShared>,
        now: Instant,
    ) -> Result<(String, Mid), RtcError> {
        if self.subscriber.dead {
            return Err(unexpected("the subscriber transport failed"));
        }
        let sections = media_sections(offer);
        let kind = track.media_type.as_str();
        // The m-line that became active with this offer (str0m may recycle a stopped slot, so "new" is not enough).
        let new_mid = sections
            .iter()
            .rev()
            .find(|s| s.active && s.kind == kind && !self.active_sub_mids.contains(&s.mid))
            .map(|s| s.mid.clone())
            .ok_or_else(|| {
                RtcError::new(
                    ErrorCode::UnexpectedResponse,
                    format!("the subscriber offer adds no {kind} m-line"),
                )
            })?;
        let answer = self.accept_subscriber_offer(offer, now)?;
        let mid = Mid::from(new_mid.as_str());
        self.incoming.insert(mid, Incoming::new(track));
        Ok((answer, mid))
    }

    /// Applies a server offer to the subscriber transport and returns the answer; remembers its active m-lines.
    fn accept_subscriber_offer(&mut self, offer: &str, now: Instant) -> Result<String, RtcError> {
        let parsed = SdpOffer::from_sdp_string(&self.redirect(offer))
            .map_err(|e| RtcError::new(ErrorCode::UnexpectedResponse, format!("unreadable SDP offer: {e}")))?;
        let answer = self.subscriber.rtc.sdp_api().accept_offer(parsed);
        self.drain(now);
        let answer =
            answer.map_err(|e| RtcError::new(ErrorCode::UnexpectedResponse, format!("SDP offer refused: {e}")))?;
        self.active_sub_mids = media_sections(offer)
            .into_iter()
            .filter(|s| s.active)
            .map(|s| s.mid)
            .collect();
        Ok(answer.to_sdp_string())
    }

    /// Answers the server's subscriber offer that restarts ICE: new credentials, the same m-lines.
    pub(crate) fn subscribe_restart_offer(&mut self, offer: &str, now: Instant) -> Result<String, RtcError> {
        if self.subscriber.dead {
            return Err(unexpected("the subscriber transport failed"));
        }
        self.accept_subscriber_offer(offer, now)
    }

    /// Stops delivering what arrives on `mid` and ends its track.
    pub(crate) fn forget(&mut self, mid: Mid) {
        if let Some(incoming) = self.incoming.remove(&mid) {
            incoming.track.end();
        }
    }

    /// Delivers what arrives on `mid` to `track` from now on, with a fresh decoder (the previous track ended).
    pub(crate) fn rebind(&mut self, mid: Mid, track: Arc<RemoteShared>) {
        if let Some(old) = self.incoming.insert(mid, Incoming::new(track)) {
            old.track.end();
        }
    }

    /// Ends every remote track (the engine is shutting down).
    pub(crate) fn close(&mut self) {
        for (_, incoming) in self.incoming.drain() {
            incoming.track.end();
        }
        self.outgoing.clear();
    }

    // --------------------------------------------------------------------------------------------------------------
    // Network and time

    /// A datagram that arrived on `side`'s socket from `source`.
    pub(crate) fn handle_datagram(&mut self, side: Side, source: SocketAddr, contents: &[u8], now: Instant) {
        let peer = match side {
            Side::Publisher => &mut self.publisher,
            Side::Subscriber => &mut self.subscriber,
        };
        if peer.dead {
            return;
        }
        let Ok(contents) = contents.try_into() else { return };
        let input = Input::Receive(
            now,
            Receive {
                proto: Protocol::Udp,
                source,
                destination: peer.local,
                contents,
            },
        );
        if !peer.rtc.accepts(&input) {
            return;
        }
        peer.last_received = now;
        if let Err(e) = peer.rtc.handle_input(input) {
            tracing::debug!(?side, "datagram refused: {e}");
        }
        if peer.reconnecting && peer.connected {
            self.path_restored(side);
        }
        self.drain(now);
    }

    /// The transport on `side` lost its path: `media-reconnect-start`.
    fn path_lost(&mut self, side: Side) {
        let peer = match side {
            Side::Publisher => &mut self.publisher,
            Side::Subscriber => &mut self.subscriber,
        };
        if !peer.reconnecting {
            tracing::debug!(?side, "media path lost");
            peer.reconnecting = true;
            self.reconnects.push_back((side, true));
        }
    }

    /// The transport on `side` has its path back: `media-reconnect-end`, and receivers get a keyframe.
    fn path_restored(&mut self, side: Side) {
        let peer = match side {
            Side::Publisher => &mut self.publisher,
            Side::Subscriber => &mut self.subscriber,
        };
        if !peer.reconnecting {
            return;
        }
        tracing::debug!(?side, "media path restored");
        peer.reconnecting = false;
        self.reconnects.push_back((side, false));
        if side == Side::Publisher {
            // Receivers missed frames while the path was down.
            for out in self.outgoing.values() {
                out.send
                    .keyframe_wanted
                    .store(true, std::sync::atomic::Ordering::Relaxed);
            }
        }
    }

    /// Drives time: ICE checks, DTLS retransmissions, RTCP reports, NACKs, and the silence watch.
    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        for side in [Side::Publisher, Side::Subscriber] {
            let peer = match side {
                Side::Publisher => &self.publisher,
                Side::Subscriber => &self.subscriber,
            };
            if peer.connected && !peer.dead && now.saturating_duration_since(peer.last_received) > MEDIA_SILENCE {
                self.path_lost(side);
            }
        }
        for peer in [&mut self.publisher, &mut self.subscriber] {
            if !peer.dead
                && now >= peer.timeout
                && let Err(e) = peer.rtc.handle_input(Input::Timeout(now))
            {
                tracing::debug!(side = ?peer.side, "timeout refused: {e}");
            }
        }
        self.drain(now);
    }

    /// When [`Self::handle_timeout`] wants calling next.
    pub(crate) fn next_timeout(&self) -> Instant {
        let far = |peer: &Peer| {
            if peer.dead {
                peer.timeout + Duration::from_secs(3600)
            } else {
                peer.timeout
            }
        };
        far(&self.publisher).min(far(&self.subscriber))
    }

    /// The next datagram to send.
    pub(crate) fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next media reconnection change: a transport lost its path (`true`) or has it back (`false`).
    pub(crate) fn poll_reconnect(&mut self) -> Option<(Side, bool)> {
        self.reconnects.pop_front()
    }

    fn drain(&mut self, now: Instant) {
        let mut events = std::mem::take(&mut self.events);
        self.publisher.drain(&mut self.transmits, &mut events);
        for event in events.drain(..) {
            self.on_event(Side::Publisher, event, now);
        }
        self.subscriber.drain(&mut self.transmits, &mut events);
        for event in events.drain(..) {
            self.on_event(Side::Subscriber, event, now);
        }
        self.events = events;
    }

    fn on_event(&mut self, side: Side, event: Event, now: Instant) {
        let peer = match side {
            Side::Publisher => &mut self.publisher,
            Side::Subscriber => &mut self.subscriber,
        };
        match event {
            Event::Connected => {
                tracing::debug!(?side, "media transport connected");
                peer.connected = true;
            }
            Event::IceConnectionStateChange(state) => {
                tracing::debug!(?side, ?state, "ICE state");
                match state {
                    IceConnectionState::Disconnected => {
                        // Failed for good: the path stays lost until the client restarts ICE over signalling.
                        let was_connected = peer.connected;
                        peer.connected = false;
                        if was_connected {
                            self.path_lost(side);
                        }
                    }
                    IceConnectionState::Connected | IceConnectionState::Completed => {
                        peer.connected = peer.rtc.is_connected();
                        if peer.connected {
                            self.path_restored(side);
                        }
                    }
                    _ => {}
                }
            }
            Event::MediaData(data) if side == Side::Subscriber => self.on_media(data, now),
            Event::KeyframeRequest(request) if side == Side::Publisher => {
                if let Some(out) = self.outgoing.get(&request.mid) {
                    tracing::debug!(mid = %request.mid, kind = ?request.kind, "keyframe requested");
                    out.send
                        .keyframe_wanted
                        .store(true, std::sync::atomic::Ordering::Relaxed);
                }
            }
            Event::MediaEgressStats(stats) => {
                if let Some(out) = self.outgoing.get(&stats.mid) {
                    let mut s = out.send.stats.lock().unwrap_or_else(|e| e.into_inner());
                    s.rtp_packets = Some(stats.packets);
                    s.plis = stats.plis;
                    s.firs = stats.firs;
                    s.nacks = stats.nacks;
                    s.rtt = stats.rtt.or(s.rtt);
                    s.loss_fraction = stats.loss.or(s.loss_fraction);
                    if let Some(remote) = &stats.remote {
                        s.remote_lost = remote.packets_lost;
                        s.remote_jitter_samples = remote.jitter;
                    }
                }
            }
            _ => {}
        }
    }

    fn on_media(&mut self, data: MediaData, now: Instant) {
        let Some(incoming) = self.incoming.get_mut(&data.mid) else {
            return;
        };
        if incoming.track.media_type == MediaType::Video {
            let wants_keyframe = on_video(incoming, &data, now);
            let due = incoming
                .last_keyframe_request
                .is_none_or(|at| now.saturating_duration_since(at) >= KEYFRAME_REQUEST_INTERVAL);
            if wants_keyframe && due {
                incoming.last_keyframe_request = Some(now);
                lock(&incoming.track.stats).video.keyframe_requests += 1;
                if let Some(mut writer) = self.subscriber.rtc.writer(data.mid)
                    && let Err(e) = writer.request_keyframe(data.rid, KeyframeRequestKind::Pli)
                {
                    tracing::debug!(mid = %data.mid, "keyframe request not sent: {e}");
                }
                self.drain(now);
            }
            return;
        }
        let track = incoming.track.clone();
        let seq = **data.seq_range.end();
        let gap = {
            let mut stats = track.stats.lock().unwrap_or_else(|e| e.into_inner());
            stats.packet(seq, data.data.len(), now)
        };
        let Some(gap) = gap else { return };
        track.deliver_encoded(EncodedAudioFrame {
            payload: data.data.clone(),
            rtp_timestamp: data.time.numer(),
            sequence: seq,
            received_at: data.network_time,
        });
        if !track.wants_pcm() {
            return;
        }
        let payload: &[u8] = &data.data;
        let decoder = match &mut incoming.decoder {
            Decoder::Opus(decoder) => decoder,
            slot => {
                // The TOC byte's stereo flag picks the output layout for the whole stream.
                let channels = if payload.first().is_some_and(|toc| toc & 0x04 != 0) {
                    2
                } else {
                    1
                };
                match OpusDecoderPipeline::new(channels) {
                    Ok(decoder) => {
                        *slot = Decoder::Opus(decoder);
                        let Decoder::Opus(decoder) = slot else { return };
                        decoder
                    }
                    Err(e) => return tracing::warn!("no Opus decoder: {e}"),
                }
            }
        };
        let mut frames = Vec::new();
        let concealed = gap.min(MAX_CONCEAL_FRAMES);
        for i in 0..concealed {
            let frame = if i + 1 == concealed {
                decoder.decode_fec(payload)
            } else {
                decoder.decode(None)
            };
            frames.extend(frame.ok());
        }
        match decoder.decode(Some(payload)) {
            Ok(frame) => frames.push(frame),
            Err(e) => tracing::debug!("Opus decode failed: {e}"),
        }
        if let Some(last) = frames.last() {
            let level = (signal::rms_level(&last.samples) * 32_767.0) as u32;
            let mut stats = track.stats.lock().unwrap_or_else(|e| e.into_inner());
            stats.level = level.min(32_767);
            if gap >= FREEZE_FRAMES {
                stats.concealed_freeze += OPUS_FRAME_DURATION * gap as u32;
            }
        }
        for frame in frames {
            track.deliver_pcm(frame);
        }
    }
}

/// Handles one whole video frame of a subscription: counts it, hands it to encoded-frame receivers, decodes it when
/// someone wants pictures. Returns whether the sender should be asked for a keyframe (frames were lost, or the
/// decoder cannot go on without one).
fn on_video(incoming: &mut Incoming, data: &MediaData, now: Instant) -> bool {
    let track = incoming.track.clone();
    let codec = match data.params.spec().codec {
        Codec::Vp8 => VideoCodec::Vp8,
        Codec::Vp9 => VideoCodec::Vp9,
        Codec::H264 => VideoCodec::H264,
        other => {
            tracing::debug!(?other, "video in a codec this SDK does not decode");
            return false;
        }
    };
    let first_seq = **data.seq_range.start();
    let last_seq = **data.seq_range.end();
    {
        let mut stats = lock(&track.stats);
        if stats.packets_in(first_seq, last_seq, data.data.len(), now).is_none() {
            return false;
        }
        stats.video.codec = Some(codec);
        stats.video.frames_received += 1;
        stats.video.received.tick(now);
    }
    let keyframe = is_keyframe(codec, &data.data);
    track.deliver_encoded_video(&EncodedVideoFrame {
        codec,
        data: data.data.clone(),
        keyframe,
        contiguous: data.contiguous,
        rtp_timestamp: data.time.numer(),
        sequence: last_seq,
        received_at: data.network_time,
    });
    let lost = !data.contiguous;
    if !track.wants_video() {
        // Nobody decodes: a gap is still worth a keyframe for encoded-frame receivers.
        incoming.decoder = Decoder::None;
        return lost && !keyframe;
    }
    let decoder = match &mut incoming.decoder {
        Decoder::Video(decoder) if decoder.codec() == codec => decoder,
        slot => match VideoDecoderPipeline::new(codec) {
            Ok(decoder) => {
                *slot = Decoder::Video(decoder);
                let Decoder::Video(decoder) = slot else { return false };
                decoder
            }
            Err(e) => {
                tracing::warn!("no {codec} decoder: {e}");
                return false;
            }
        },
    };
    if lost {
        decoder.frame_lost();
    }
    let skipped_before = decoder.stats().frames_skipped;
    match decoder.decode(&data.data) {
        Ok(Some(frame)) => {
            lock(&track.stats).video.decoded_at(now, frame.width, frame.height);
            track.deliver_video(frame, now);
        }
        Ok(None) => {}
        Err(e) => tracing::debug!("video frame not decoded: {e}"),
    }
    let skipped = decoder.stats().frames_skipped - skipped_before;
    if skipped > 0 {
        lock(&track.stats).video.frames_skipped += skipped;
    }
    decoder.needs_keyframe()
}

/// The payload type the server accepted for `codec` on a publisher m-line (H.264: packetization mode 1, what
/// str0m's packetizer produces).
fn video_payload_type<'a>(
    mut params: impl Iterator<Item = &'a str0m::format::PayloadParams>,
    codec: VideoCodec,
) -> Option<str0m::media::Pt> {
    let wanted = match codec {
        VideoCodec::Vp8 => Codec::Vp8,
        VideoCodec::Vp9 => Codec::Vp9,
        VideoCodec::H264 => Codec::H264,
    };
    params
        .find(|p| {
            let spec = p.spec();
            spec.codec == wanted
                && (wanted != Codec::H264 || spec.format.packetization_mode == Some(1))
                && (wanted != Codec::Vp9 || spec.format.profile_id.is_none_or(|id| id == 0))
        })
        .map(|p| p.pt())
}

/// `sdp` with the address and port of every `a=candidate` line replaced by `address`.
fn with_candidate_address(sdp: &str, address: SocketAddr) -> String {
    let mut out = String::with_capacity(sdp.len());
    for line in sdp.split_inclusive('\n') {
        let body = line.trim_end_matches(['\r', '\n']);
        let ending = &line[body.len()..];
        if body.starts_with("a=candidate:") {
            // a=candidate:<foundation> <component> <transport> <priority> <address> <port> typ ...
            let mut fields: Vec<&str> = body.split(' ').collect();
            let (ip, port) = (address.ip().to_string(), address.port().to_string());
            if fields.len() > 5 {
                fields[4] = &ip;
                fields[5] = &port;
            }
            out.push_str(&fields.join(" "));
        } else {
            out.push_str(body);
        }
        out.push_str(ending);
    }
    out
}

/// One m-section of an SDP: kind (`audio`, `video`, ...), mid, and whether it is active (port non-zero, not
/// `a=inactive`).
#[derive(Debug, PartialEq)]
struct Section {
    kind: String,
    mid: String,
    active: bool,
}

/// The m-sections of `sdp` that have a mid.
fn media_sections(sdp: &str) -> Vec<Section> {
    let mut sections = Vec::new();
    let mut current: Option<(String, bool, Option<String>)> = None;
    let mut finish = |current: Option<(String, bool, Option<String>)>| {
        if let Some((kind, active, Some(mid))) = current {
            sections.push(Section { kind, mid, active });
        }
    };
    for line in sdp.lines() {
        let line = line.trim_end_matches('\r');
        if let Some(rest) = line.strip_prefix("m=") {
            finish(current.take());
            let mut fields = rest.split(' ');
            let kind = fields.next().unwrap_or_default().to_string();
            let active = fields.next().is_some_and(|port| port != "0");
            current = Some((kind, active, None));
        } else if let Some(mid) = line.strip_prefix("a=mid:")
            && let Some((_, _, slot)) = &mut current
        {
            *slot = Some(mid.trim().to_string());
        } else if line == "a=inactive"
            && let Some((_, active, _)) = &mut current
        {
            // The SFU parks ended subscriptions as inactive m-lines and reuses them for the next one.
            *active = false;
        }
    }
    finish(current);
    sections
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_point_at_the_media_address_override() {
        let sdp = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n\
                   a=candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host\r\na=mid:0\r\n";
        let out = with_candidate_address(sdp, "127.0.0.2:6000".parse().unwrap());
        assert_eq!(
            out,
            "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n\
             a=candidate:1 1 udp 2130706431 127.0.0.2 6000 typ host\r\na=mid:0\r\n"
        );
    }

    #[test]
    fn media_sections_name_kind_mid_and_port() {
        let sdp = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n\
                   m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\n\
                   m=audio 0 UDP/TLS/RTP/SAVPF 111\r\na=mid:1\r\n\
                   m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:x2\r\n\
                   m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n";
        assert_eq!(
            media_sections(sdp),
            vec![
                Section {
                    kind: "audio".into(),
                    mid: "0".into(),
                    active: true
                },
                Section {
                    kind: "audio".into(),
                    mid: "1".into(),
                    active: false
                },
                Section {
                    kind: "video".into(),
                    mid: "x2".into(),
                    active: true
                },
            ]
        );
    }
}

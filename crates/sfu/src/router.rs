//! The router: every participant's two WebRTC sessions on one worker, the publications, the subscriptions and the
//! packet path between them.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::hash::{BuildHasher, RandomState};
use std::net::SocketAddr;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::{Duration, Instant};

use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::format::PayloadParams;
use str0m::media::{Direction, KeyframeRequestKind, Mid};
use str0m::net::{DatagramRecv, Protocol, Receive};
use str0m::rtp::{ExtensionValues, RtpPacket, RtpWrite, Ssrc};
use str0m::{Candidate, IceConnectionState, Input, Rtc, RtcConfig};
use tracing::{debug, warn};

use crate::demux;
use crate::error::SfuError;
use crate::forward::{Munger, Subscription};
use crate::keyframe;
use crate::sdp_scan;
use crate::types::TransportKind;
use crate::types::{DisconnectReason, Event, MediaKind, Output, ParticipantId, RouterConfig, RouterStats};

type SessionId = u64;

/// With nothing scheduled, the router still asks to be woken this often.
const IDLE_TICK: Duration = Duration::from_secs(1);
/// Remote addresses remembered per session for the O(1) demultiplexing path.
const MAX_ADDRS_PER_SESSION: usize = 8;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct TrackKey {
    publisher: ParticipantId,
    kind: MediaKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct SubKey {
    subscriber: ParticipantId,
    publisher: ParticipantId,
    kind: MediaKind,
}

impl SubKey {
    fn track(&self) -> TrackKey {
        TrackKey {
            publisher: self.publisher,
            kind: self.kind,
        }
    }
}

/// One str0m `Rtc`: a participant's publisher or subscriber transport.
struct Session {
    participant: ParticipantId,
    transport: TransportKind,
    rtc: Rtc,
    /// Our local ICE ufrag, the key of `Router::by_ufrag`.
    ufrag: String,
    /// The `Rtc`'s own next timeout.
    rtc_timeout: Instant,
    /// When this session is due: `rtc_timeout` or the connect deadline. `None` while being handled.
    deadline: Option<Instant>,
    /// When the first SDP exchange completed (starts the connect timeout).
    negotiated_at: Option<Instant>,
    ever_connected: bool,
    /// Last state reported to the signalling layer.
    reported_up: bool,
    reported_down: bool,
    /// Remote addresses that map to this session in `Router::by_addr`.
    addrs: Vec<SocketAddr>,
    /// The ufrag of an ICE restart we offered, until the answer makes it current.
    pending_ufrag: Option<String>,
}

/// A published track.
struct Track {
    /// The m-line on the publisher transport.
    mid: Mid,
    /// The publisher's SSRC, learned from the first packet (keyframe requests go there).
    ssrc: Option<Ssrc>,
    started: bool,
    last_keyframe_request: Option<Instant>,
    subscribers: Vec<ParticipantId>,
    /// Publisher payload type -> its codec description.
    params: Vec<(u8, PayloadParams)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SlotState {
    /// Carries a subscription in an offer waiting for the answer.
    Offered,
    /// Carries a subscription (or did until it ended: then it is made inactive in the next offer).
    Active,
    /// Made inactive in an offer waiting for the answer.
    Deactivating,
    /// Inactive and free: the next subscription of the same kind reuses this m-line.
    Idle,
    /// The client rejected it (port 0 in its answer): stopped for good, never reused.
    Rejected,
}

/// An m-line the router added to a subscriber transport.
///
/// Ended subscriptions leave their m-line inactive (`a=inactive`, port kept) rather than stopped (port 0), and the
/// next subscription of the same kind turns it back to sendonly: str0m cannot recycle a stopped slot in its own
/// offers, so stopping would grow the subscriber SDP by one m-line per unsubscribe, forever. This way the SDP has
/// at most as many m-lines per kind as the participant ever had subscriptions at once.
struct DownSlot {
    mid: Mid,
    kind: MediaKind,
    /// `None` after the subscription ended.
    sub: Option<SubKey>,
    state: SlotState,
    /// The slot was inactive before this offer (reused rather than added).
    reused: bool,
    /// The last subscription's rewriting state: the next one on this m-line (same SSRC) continues its sequence
    /// numbers and timestamps, so the receiver sees one stream and not a jump.
    carry: Option<Munger>,
}

struct Participant {
    publisher: SessionId,
    subscriber: SessionId,
    /// Publisher SSRC -> kind, to route incoming RTP without a lookup in str0m.
    ssrc_kinds: Vec<(Ssrc, MediaKind)>,
    /// Subscriptions this participant receives.
    subs: Vec<SubKey>,
    slots: Vec<DownSlot>,
    pending_offer: Option<SdpPendingOffer>,
    /// Subscription changes not yet in an offer.
    dirty: bool,
    /// `NegotiationNeeded` was emitted for the current changes.
    notified: bool,
    /// The next subscriber offer restarts ICE.
    ice_restart: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct KeyframeAsk {
    track: TrackKey,
    kind: KeyframeRequestKind,
}

/// The sans-IO media router of one worker. See the [crate documentation](crate) for the model and an example.
pub struct Router {
    config: RouterConfig,
    rtc_config: RtcConfig,
    participants: HashMap<ParticipantId, Participant>,
    sessions: HashMap<SessionId, Session>,
    next_session: SessionId,
    by_addr: HashMap<SocketAddr, SessionId>,
    by_ufrag: HashMap<String, SessionId>,
    tracks: HashMap<TrackKey, Track>,
    subs: HashMap<SubKey, Subscription>,
    timers: BinaryHeap<Reverse<(Instant, SessionId)>>,
    outputs: VecDeque<Output>,
    deferred: Vec<KeyframeAsk>,
    timeout_reported: bool,
    last_now: Option<Instant>,
    stats: RouterStats,
    rng: u64,
    /// Numbers the subscriber m-lines' msid track ids.
    msid_counter: u64,
    /// Reused buffers (no allocation on the packet path).
    scratch_sessions: Vec<SessionId>,
    scratch_due: Vec<SessionId>,
}

impl Router {
    /// A router whose sessions are ICE-lite, RTP mode, with Opus, VP8, VP9 (profiles 0 and 2) and H.264 (the seven
    /// str0m profiles), NACK/RTX, TWCC feedback and RTCP SR/RR. One DTLS certificate is generated here and shared
    /// by all sessions of the router.
    pub fn new(config: RouterConfig) -> Self {
        let provider = Arc::new(str0m::crypto::from_feature_flags());
        let mut rtc_config = RtcConfig::new()
            .set_ice_lite(true)
            .set_rtp_mode(true)
            .clear_codecs()
            .enable_opus(true, false)
            .enable_vp8(true)
            .enable_vp9(true)
            .enable_h264(true)
            .set_stats_interval(None)
            .set_crypto_provider(provider.clone());
        if let Some(cert) = provider.dtls_provider.generate_certificate() {
            rtc_config = rtc_config.set_dtls_cert(cert);
        }
        Router {
            config,
            rtc_config,
            participants: HashMap::new(),
            sessions: HashMap::new(),
            next_session: 1,
            by_addr: HashMap::new(),
            by_ufrag: HashMap::new(),
            tracks: HashMap::new(),
            subs: HashMap::new(),
            timers: BinaryHeap::new(),
            outputs: VecDeque::new(),
            deferred: Vec::new(),
            timeout_reported: false,
            last_now: None,
            stats: RouterStats::default(),
            rng: RandomState::new().hash_one(0x5354_4f41u64),
            msid_counter: 0,
            scratch_sessions: Vec::new(),
            scratch_due: Vec::new(),
        }
    }

    pub fn config(&self) -> &RouterConfig {
        &self.config
    }

    // ----------------------------------------------------------------------------------------------------------
    // Participants

    /// Creates the participant's publisher and subscriber sessions, with `local_addr` (the worker's UDP socket) as
    /// their only ICE candidate.
    pub fn add_participant(&mut self, id: ParticipantId, local_addr: SocketAddr, now: Instant) -> Result<(), SfuError> {
        self.begin(now);
        if self.participants.contains_key(&id) {
            return Err(SfuError::ParticipantExists(id));
        }
        let candidate =
            Candidate::host(local_addr, "udp").map_err(|e| SfuError::InvalidAddress(format!("{local_addr}: {e}")))?;
        let publisher = self.new_session(id, TransportKind::Publisher, candidate.clone(), now)?;
        let subscriber = match self.new_session(id, TransportKind::Subscriber, candidate, now) {
            Ok(sid) => sid,
            Err(e) => {
                self.discard_session(publisher);
                return Err(e);
            }
        };
        self.participants.insert(
            id,
            Participant {
                publisher,
                subscriber,
                ssrc_kinds: Vec::new(),
                subs: Vec::new(),
                slots: Vec::new(),
                pending_offer: None,
                dirty: false,
                notified: false,
                ice_restart: false,
            },
        );
        self.finish(now);
        Ok(())
    }

    fn new_session(
        &mut self,
        participant: ParticipantId,
        transport: TransportKind,
        candidate: Candidate,
        now: Instant,
    ) -> Result<SessionId, SfuError> {
        let config = self.rtc_config.clone();
        let mut rtc = guard(|| config.build(now)).map_err(|_| SfuError::Internal)?;
        if rtc.add_local_candidate(candidate).is_none() {
            return Err(SfuError::InvalidAddress("candidate refused".into()));
        }
        let ufrag = rtc.direct_api().local_ice_credentials().ufrag;
        let sid = self.next_session;
        self.next_session += 1;
        self.by_ufrag.insert(ufrag.clone(), sid);
        self.sessions.insert(
            sid,
            Session {
                participant,
                transport,
                rtc,
                ufrag,
                rtc_timeout: now,
                deadline: None,
                negotiated_at: None,
                ever_connected: false,
                reported_up: false,
                reported_down: false,
                addrs: Vec::new(),
                pending_ufrag: None,
            },
        );
        self.drain(sid, now);
        Ok(sid)
    }

    /// Releases everything of the participant: its sessions (closed with RTCP BYE and DTLS close_notify when
    /// connected), its publications with every subscription to them (those subscribers get
    /// [`Event::NegotiationNeeded`]) and its own subscriptions.
    pub fn remove_participant(&mut self, id: ParticipantId, now: Instant) -> Result<(), SfuError> {
        self.begin(now);
        if !self.participants.contains_key(&id) {
            return Err(SfuError::UnknownParticipant(id));
        }
        for kind in MediaKind::ALL {
            self.remove_track(TrackKey { publisher: id, kind });
        }
        let own = self
            .participants
            .get_mut(&id)
            .map(|p| std::mem::take(&mut p.subs))
            .unwrap_or_default();
        for key in own {
            self.drop_subscription(key);
        }
        if let Some(p) = self.participants.remove(&id) {
            self.close_session(p.publisher, now);
            self.close_session(p.subscriber, now);
        }
        self.deferred.retain(|ask| ask.track.publisher != id);
        self.finish(now);
        Ok(())
    }

    fn close_session(&mut self, sid: SessionId, now: Instant) {
        if let Some(s) = self.sessions.get_mut(&sid)
            && s.rtc.is_connected()
        {
            if guard(|| s.rtc.close()).is_err() {
                s.rtc.disconnect();
            }
            // The goodbye (BYE, close_notify) goes out; events are ignored, the participant is gone.
            self.drain(sid, now);
        }
        self.discard_session(sid);
    }

    fn discard_session(&mut self, sid: SessionId) {
        if let Some(s) = self.sessions.remove(&sid) {
            for addr in s.addrs {
                if self.by_addr.get(&addr) == Some(&sid) {
                    self.by_addr.remove(&addr);
                }
            }
            for ufrag in std::iter::once(&s.ufrag).chain(&s.pending_ufrag) {
                if self.by_ufrag.get(ufrag) == Some(&sid) {
                    self.by_ufrag.remove(ufrag);
                }
            }
        }
    }

    // ----------------------------------------------------------------------------------------------------------
    // Publishing

    /// Applies the client's offer on its publisher transport and returns the answer. The offer's sending audio and
    /// video m-lines (at most one of each) become the participant's publications: new ones are announced with
    /// [`Event::TrackPublished`], ones that stopped sending with [`Event::TrackUnpublished`]. Re-offers (ICE
    /// restart, added or removed tracks) go through here too.
    pub fn publisher_offer(&mut self, id: ParticipantId, sdp: &str, now: Instant) -> Result<String, SfuError> {
        self.begin(now);
        self.check_sdp_len(sdp)?;
        let sid = self
            .participants
            .get(&id)
            .ok_or(SfuError::UnknownParticipant(id))?
            .publisher;
        let scanned = sdp_scan::scan(sdp, self.config.max_publisher_mlines)?;
        for kind in MediaKind::ALL {
            if scanned.iter().filter(|m| m.kind == Some(kind) && m.sending).count() > 1 {
                return Err(SfuError::TooManyTracks(kind));
            }
        }
        let offer = SdpOffer::from_sdp_string(sdp).map_err(|e| SfuError::InvalidSdp(e.to_string()))?;
        let Some(session) = self.sessions.get_mut(&sid) else {
            return Err(SfuError::UnknownParticipant(id));
        };
        let answer = match guard(|| session.rtc.sdp_api().accept_offer(offer)) {
            Ok(Ok(answer)) => answer,
            Ok(Err(e)) => {
                self.drain(sid, now);
                self.finish(now);
                return Err(SfuError::SdpRejected(e.to_string()));
            }
            Err(()) => {
                self.fail_session(sid, DisconnectReason::Failed);
                self.finish(now);
                return Err(SfuError::Internal);
            }
        };
        session.negotiated_at.get_or_insert(now);
        let answer = sdp_scan::follow_offer_order(&answer.to_sdp_string(), &scanned);

        // The publications, as str0m now sees them.
        let mut published = [None, None];
        for (slot, kind) in published.iter_mut().zip(MediaKind::ALL) {
            let mid = scanned
                .iter()
                .find(|m| m.kind == Some(kind) && m.sending)
                .and_then(|m| m.mid.as_deref())
                .map(Mid::from);
            *slot = mid.filter(|mid| {
                session.rtc.media(*mid).is_some_and(|m| {
                    MediaKind::from_str0m(m.kind()) == kind && m.direction().is_receiving() && !m.disabled()
                })
            });
        }
        self.refresh_ufrag(sid);
        for (mid, kind) in published.into_iter().zip(MediaKind::ALL) {
            let key = TrackKey { publisher: id, kind };
            let current = self.tracks.get(&key).map(|t| t.mid);
            if current == mid {
                continue;
            }
            if current.is_some() {
                self.remove_track(key);
                self.outputs
                    .push_back(Output::Event(Event::TrackUnpublished { participant: id, kind }));
            }
            if let Some(mid) = mid {
                if let Some(p) = self.participants.get_mut(&id) {
                    p.ssrc_kinds.retain(|(_, k)| *k != kind);
                }
                self.tracks.insert(
                    key,
                    Track {
                        mid,
                        ssrc: None,
                        started: false,
                        last_keyframe_request: None,
                        subscribers: Vec::new(),
                        params: Vec::new(),
                    },
                );
                self.outputs.push_back(Output::Event(Event::TrackPublished {
                    participant: id,
                    kind,
                    mid: mid.to_string(),
                }));
            }
        }
        self.drain(sid, now);
        self.finish(now);
        Ok(answer)
    }

    /// Ends a publication now (e.g. Agora's `unpublish`, before the client renegotiates). Its subscriptions end and
    /// their subscribers get [`Event::NegotiationNeeded`]. Packets still arriving on its m-line are dropped; a later
    /// publisher offer that still sends on the kind publishes it again.
    pub fn unpublish(&mut self, id: ParticipantId, kind: MediaKind, now: Instant) -> Result<(), SfuError> {
        self.begin(now);
        if !self.participants.contains_key(&id) {
            return Err(SfuError::UnknownParticipant(id));
        }
        let removed = self.remove_track(TrackKey { publisher: id, kind });
        self.finish(now);
        if removed {
            Ok(())
        } else {
            Err(SfuError::NotPublished { publisher: id, kind })
        }
    }

    fn remove_track(&mut self, key: TrackKey) -> bool {
        let Some(track) = self.tracks.remove(&key) else {
            return false;
        };
        for subscriber in track.subscribers {
            self.drop_subscription(SubKey {
                subscriber,
                publisher: key.publisher,
                kind: key.kind,
            });
        }
        if let Some(p) = self.participants.get_mut(&key.publisher) {
            p.ssrc_kinds.retain(|(_, k)| *k != key.kind);
        }
        self.deferred.retain(|ask| ask.track != key);
        true
    }

    // ----------------------------------------------------------------------------------------------------------
    // Subscribing

    /// Subscribes `subscriber` to `publisher`'s track of `kind`. The m-line is added by the next
    /// [`Router::create_subscriber_offer`] ([`Event::NegotiationNeeded`] says when). Subscribing twice is a no-op.
    pub fn subscribe(
        &mut self,
        subscriber: ParticipantId,
        publisher: ParticipantId,
        kind: MediaKind,
        now: Instant,
    ) -> Result<(), SfuError> {
        self.begin(now);
        if subscriber == publisher {
            return Err(SfuError::SelfSubscription);
        }
        if !self.participants.contains_key(&subscriber) {
            return Err(SfuError::UnknownParticipant(subscriber));
        }
        let key = SubKey {
            subscriber,
            publisher,
            kind,
        };
        let Some(track) = self.tracks.get_mut(&key.track()) else {
            return Err(SfuError::NotPublished { publisher, kind });
        };
        if self.subs.contains_key(&key) {
            return Ok(());
        }
        track.subscribers.push(subscriber);
        let random = self.random();
        self.subs.insert(key, Subscription::new(random));
        if let Some(p) = self.participants.get_mut(&subscriber) {
            p.subs.push(key);
            mark_dirty(subscriber, p, &mut self.outputs);
        }
        self.finish(now);
        Ok(())
    }

    /// Ends a subscription. Its m-line is stopped in the next subscriber offer.
    pub fn unsubscribe(
        &mut self,
        subscriber: ParticipantId,
        publisher: ParticipantId,
        kind: MediaKind,
        now: Instant,
    ) -> Result<(), SfuError> {
        self.begin(now);
        let key = SubKey {
            subscriber,
            publisher,
            kind,
        };
        if !self.subs.contains_key(&key) {
            return Err(SfuError::NotSubscribed {
                subscriber,
                publisher,
                kind,
            });
        }
        self.drop_subscription(key);
        self.finish(now);
        Ok(())
    }

    fn drop_subscription(&mut self, key: SubKey) {
        let Some(sub) = self.subs.remove(&key) else {
            return;
        };
        if let Some(track) = self.tracks.get_mut(&key.track()) {
            track.subscribers.retain(|s| *s != key.subscriber);
        }
        if let Some(p) = self.participants.get_mut(&key.subscriber) {
            p.subs.retain(|k| *k != key);
            if let Some(mid) = sub.mid {
                if let Some(slot) = p.slots.iter_mut().find(|s| s.mid == mid) {
                    slot.sub = None;
                    slot.carry = Some(sub.munger);
                }
                mark_dirty(key.subscriber, p, &mut self.outputs);
            }
        }
    }

    /// The subscriber transport's offer with the pending changes: a sendonly m-line for each new subscription and
    /// inactive m-lines for ended ones. A new subscription reuses an inactive m-line of its kind when there is one
    /// (same mid and SSRC, sequence numbers continued), else adds one (msid `stoa-<publisher>
    /// stoa-<publisher>-<kind>-<n>`, unique per m-line; a reused m-line keeps its first msid, so clients map tracks
    /// by mid). `Ok(None)`
    /// when there is nothing to negotiate, or an offer is still waiting for its answer
    /// ([`Event::NegotiationNeeded`] comes again after the answer if changes accumulated meanwhile).
    pub fn create_subscriber_offer(&mut self, id: ParticipantId, now: Instant) -> Result<Option<String>, SfuError> {
        self.begin(now);
        let Some(p) = self.participants.get_mut(&id) else {
            return Err(SfuError::UnknownParticipant(id));
        };
        if p.pending_offer.is_some() {
            return Ok(None);
        }
        let sid = p.subscriber;
        let Some(session) = self.sessions.get_mut(&sid) else {
            return Err(SfuError::UnknownParticipant(id));
        };
        let restart = p.ice_restart;
        let built = guard(|| {
            let mut api = session.rtc.sdp_api();
            let new_ufrag = restart.then(|| api.ice_restart(true).ufrag);
            // Ended subscriptions first: their m-lines go inactive in this offer.
            let mut deactivated = Vec::new();
            for (i, slot) in p.slots.iter().enumerate() {
                if slot.sub.is_none() && slot.state == SlotState::Active {
                    api.set_direction(slot.mid, Direction::Inactive);
                    deactivated.push(i);
                }
            }
            // Idle m-lines stay inactive (a no-op unless a failed offer had turned one back to sendonly).
            for slot in p.slots.iter().filter(|s| s.state == SlotState::Idle) {
                api.set_direction(slot.mid, Direction::Inactive);
            }
            // New subscriptions: an idle m-line of the kind if any (`Some(slot index)`), else a new one.
            let mut added = Vec::new();
            let mut taken: Vec<usize> = Vec::new();
            for key in &p.subs {
                if self.subs.get(key).is_some_and(|s| s.mid.is_none()) {
                    let idle = p.slots.iter().enumerate().position(|(i, slot)| {
                        slot.state == SlotState::Idle && slot.kind == key.kind && !taken.contains(&i)
                    });
                    if let Some(i) = idle {
                        taken.push(i);
                        api.set_direction(p.slots[i].mid, Direction::SendOnly);
                        added.push((*key, p.slots[i].mid, Some(i)));
                        continue;
                    }
                    // The track id is unique per m-line: a new m-line for a publisher can sit next to a parked one
                    // that carried the same publisher's track, and Chromium refuses duplicate a=msid lines.
                    self.msid_counter += 1;
                    let stream = format!("stoa-{}", key.publisher);
                    let track = format!("stoa-{}-{}-{}", key.publisher, key.kind, self.msid_counter);
                    let mid = api.add_media(
                        key.kind.to_str0m(),
                        Direction::SendOnly,
                        Some(stream),
                        Some(track),
                        None,
                    );
                    added.push((*key, mid, None));
                }
            }
            (api.apply(), added, deactivated, new_ufrag)
        });
        let Ok((applied, added, deactivated, new_ufrag)) = built else {
            self.fail_session(sid, DisconnectReason::Failed);
            self.finish(now);
            return Err(SfuError::Internal);
        };
        p.dirty = false;
        p.notified = false;
        for i in deactivated {
            p.slots[i].state = SlotState::Deactivating;
        }
        let offer = applied.map(|(offer, pending)| {
            for (key, mid, reused) in added {
                let carry = match reused {
                    Some(i) => {
                        let slot = &mut p.slots[i];
                        slot.sub = Some(key);
                        slot.state = SlotState::Offered;
                        slot.reused = true;
                        slot.carry.take()
                    }
                    None => {
                        p.slots.push(DownSlot {
                            mid,
                            kind: key.kind,
                            sub: Some(key),
                            state: SlotState::Offered,
                            reused: false,
                            carry: None,
                        });
                        None
                    }
                };
                if let Some(sub) = self.subs.get_mut(&key) {
                    sub.mid = Some(mid);
                    if let Some(munger) = carry {
                        sub.munger = munger.resume_later();
                    }
                }
            }
            p.pending_offer = Some(pending);
            if let Some(ufrag) = new_ufrag {
                // The client checks with the new ufrag as soon as it has the offer: route it from now on.
                p.ice_restart = false;
                self.by_ufrag.insert(ufrag.clone(), sid);
                session.pending_ufrag = Some(ufrag);
            }
            offer.to_sdp_string()
        });
        self.drain(sid, now);
        self.finish(now);
        Ok(offer)
    }

    /// Applies the client's answer to the last subscriber offer. New subscriptions start forwarding (video from
    /// the next keyframe, which is requested from the publisher).
    pub fn subscriber_answer(&mut self, id: ParticipantId, sdp: &str, now: Instant) -> Result<(), SfuError> {
        self.begin(now);
        self.check_sdp_len(sdp)?;
        let answer = SdpAnswer::from_sdp_string(sdp).map_err(|e| SfuError::InvalidSdp(e.to_string()))?;
        let Some(p) = self.participants.get_mut(&id) else {
            return Err(SfuError::UnknownParticipant(id));
        };
        let sid = p.subscriber;
        let Some(pending) = p.pending_offer.take() else {
            return Err(SfuError::NoPendingOffer);
        };
        let Some(session) = self.sessions.get_mut(&sid) else {
            return Err(SfuError::UnknownParticipant(id));
        };
        let result = guard(|| session.rtc.sdp_api().accept_answer(pending, answer));
        let mut rejected = Vec::new();
        let outcome = match result {
            Ok(Ok(())) => {
                session.negotiated_at.get_or_insert(now);
                let connected = session.rtc.is_connected();
                for slot in &mut p.slots {
                    match slot.state {
                        SlotState::Deactivating => slot.state = SlotState::Idle,
                        SlotState::Offered if session.rtc.media(slot.mid).is_none_or(|m| m.disabled()) => {
                            // Rejected by the client (e.g. no codec in common): its subscription ends here.
                            slot.state = SlotState::Rejected;
                            if let Some(key) = slot.sub.take() {
                                rejected.push(key);
                            }
                        }
                        SlotState::Offered => {
                            slot.state = SlotState::Active;
                            slot.reused = false;
                            let Some(key) = slot.sub else {
                                // Unsubscribed while offered: made inactive in the next offer.
                                p.dirty = true;
                                continue;
                            };
                            let Some(sub) = self.subs.get_mut(&key) else { continue };
                            sub.open = true;
                            sub.tx_ssrc = session
                                .rtc
                                .direct_api()
                                .stream_tx_by_mid(slot.mid, None)
                                .map(|s| s.ssrc());
                            if key.kind == MediaKind::Video {
                                sub.waiting_keyframe = true;
                                if connected {
                                    push_ask(&mut self.deferred, key.track(), KeyframeRequestKind::Pli);
                                }
                            }
                        }
                        SlotState::Active | SlotState::Idle | SlotState::Rejected => {}
                    }
                }
                session.pending_ufrag = None;
                Ok(())
            }
            Ok(Err(e)) => {
                // The offer is void: its subscriptions are offered again next time. str0m stopped the m-lines
                // the failed offer added locally already, so they are forgotten; reused and deactivated ones are
                // idle (their direction is set again by the next offer that uses them).
                for slot in &mut p.slots {
                    if slot.state == SlotState::Offered
                        && let Some(sub) = slot.sub.and_then(|key| self.subs.get_mut(&key))
                    {
                        sub.mid = None;
                    }
                    if slot.state == SlotState::Deactivating || (slot.state == SlotState::Offered && slot.reused) {
                        slot.state = SlotState::Idle;
                        slot.sub = None;
                        slot.reused = false;
                    }
                }
                p.slots.retain(|s| s.state != SlotState::Offered);
                p.dirty = true;
                if let Some(ufrag) = session.pending_ufrag.take() {
                    if self.by_ufrag.get(&ufrag) == Some(&sid) {
                        self.by_ufrag.remove(&ufrag);
                    }
                    p.ice_restart = true;
                }
                Err(SfuError::SdpRejected(e.to_string()))
            }
            Err(()) => Err(SfuError::Internal),
        };
        for key in rejected {
            self.subs.remove(&key);
            if let Some(track) = self.tracks.get_mut(&key.track()) {
                track.subscribers.retain(|s| *s != key.subscriber);
            }
            if let Some(p) = self.participants.get_mut(&id) {
                p.subs.retain(|k| *k != key);
            }
            self.outputs.push_back(Output::Event(Event::SubscriptionRejected {
                subscriber: key.subscriber,
                publisher: key.publisher,
                kind: key.kind,
            }));
        }
        if outcome.is_ok() {
            self.refresh_ufrag(sid);
        }
        if outcome == Err(SfuError::Internal) {
            self.fail_session(sid, DisconnectReason::Failed);
        } else if let Some(p) = self.participants.get_mut(&id)
            && p.dirty
            && !p.notified
        {
            p.notified = true;
            self.outputs
                .push_back(Output::Event(Event::NegotiationNeeded { participant: id }));
        }
        self.drain(sid, now);
        self.finish(now);
        outcome
    }

    /// Makes the next subscriber offer restart ICE (new credentials), to bring a subscriber transport back after
    /// [`Event::Disconnected`] without a new join. [`Event::NegotiationNeeded`] follows; the publisher transport
    /// restarts the usual way, with a client offer carrying new credentials.
    pub fn restart_subscriber_ice(&mut self, id: ParticipantId, now: Instant) -> Result<(), SfuError> {
        self.begin(now);
        let Some(p) = self.participants.get_mut(&id) else {
            return Err(SfuError::UnknownParticipant(id));
        };
        p.ice_restart = true;
        mark_dirty(id, p, &mut self.outputs);
        self.finish(now);
        Ok(())
    }

    /// The m-line (mid) of a subscription on the subscriber transport, once offered: what the signalling layer
    /// tells the client so it can map the remote track to the user.
    pub fn subscription_mid(
        &self,
        subscriber: ParticipantId,
        publisher: ParticipantId,
        kind: MediaKind,
    ) -> Option<String> {
        let key = SubKey {
            subscriber,
            publisher,
            kind,
        };
        self.subs.get(&key).and_then(|s| s.mid).map(|m| m.to_string())
    }

    /// Whether `id`'s subscriber transport was ever negotiated (it has m-lines, active or parked): only then can
    /// its ICE be restarted.
    pub fn has_subscriber_transport(&self, id: ParticipantId) -> bool {
        self.participants.get(&id).is_some_and(|p| !p.slots.is_empty())
    }

    /// Whether `publisher` currently publishes a track of `kind`.
    pub fn is_published(&self, publisher: ParticipantId, kind: MediaKind) -> bool {
        self.tracks.contains_key(&TrackKey { publisher, kind })
    }

    // ----------------------------------------------------------------------------------------------------------
    // Network and time

    /// A datagram received on the worker's socket. It goes to the session that expects its source address, or for
    /// STUN to the session whose ICE ufrag it names; str0m's `Rtc::accepts` confirms either way. An error means
    /// the datagram was dropped; it never affects other sessions.
    pub fn handle_datagram(
        &mut self,
        now: Instant,
        source: SocketAddr,
        destination: SocketAddr,
        contents: &[u8],
    ) -> Result<(), SfuError> {
        self.begin(now);
        self.stats.datagrams_in += 1;
        let Ok(recv) = DatagramRecv::try_from(contents) else {
            self.stats.datagrams_unrouted += 1;
            return Err(SfuError::MalformedDatagram);
        };
        let input = Input::Receive(
            now,
            Receive {
                proto: Protocol::Udp,
                source,
                destination,
                contents: recv,
            },
        );
        let Some(sid) = self.route(&input, source, contents) else {
            self.stats.datagrams_unrouted += 1;
            return Err(SfuError::UnroutableDatagram);
        };
        let Some(session) = self.sessions.get_mut(&sid) else {
            return Err(SfuError::UnroutableDatagram);
        };
        let result = match guard(|| session.rtc.handle_input(input)) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => {
                self.stats.engine_errors += 1;
                debug!(session = sid, error = %e, "datagram refused");
                Err(SfuError::DatagramRefused(e.to_string()))
            }
            Err(()) => {
                self.fail_session(sid, DisconnectReason::Failed);
                Err(SfuError::Internal)
            }
        };
        self.drain(sid, now);
        self.finish(now);
        result
    }

    fn route(&mut self, input: &Input, source: SocketAddr, contents: &[u8]) -> Option<SessionId> {
        if let Some(&sid) = self.by_addr.get(&source)
            && self.sessions.get(&sid).is_some_and(|s| s.rtc.accepts(input))
        {
            return Some(sid);
        }
        // A new address must introduce itself with STUN naming our ufrag (ICE-lite: the client checks first).
        let sid = *self.by_ufrag.get(demux::stun_local_ufrag(contents)?)?;
        let session = self.sessions.get_mut(&sid)?;
        if !session.rtc.accepts(input) {
            return None;
        }
        if !session.addrs.contains(&source) {
            if session.addrs.len() == MAX_ADDRS_PER_SESSION {
                let old = session.addrs.remove(0);
                if self.by_addr.get(&old) == Some(&sid) {
                    self.by_addr.remove(&old);
                }
            }
            session.addrs.push(source);
        }
        self.by_addr.insert(source, sid);
        Some(sid)
    }

    /// Drives time: every session due at `now` handles its timeout (RTCP reports, NACKs, TWCC feedback, ICE
    /// liveness, DTLS retransmissions, the connect timeout).
    pub fn handle_timeout(&mut self, now: Instant) {
        self.begin(now);
        let mut due = std::mem::take(&mut self.scratch_due);
        while let Some(&Reverse((at, sid))) = self.timers.peek() {
            if at > now {
                break;
            }
            self.timers.pop();
            if let Some(s) = self.sessions.get_mut(&sid).filter(|s| s.deadline == Some(at)) {
                // Cleared so that a duplicate heap entry does not pick the session twice.
                s.deadline = None;
                due.push(sid);
            }
        }
        for &sid in &due {
            let Some(s) = self.sessions.get_mut(&sid) else { continue };
            if let Some(at) = s.negotiated_at
                && !s.ever_connected
                && !s.reported_down
                && now >= at + self.config.connect_timeout
            {
                s.reported_down = true;
                self.outputs.push_back(Output::Event(Event::Disconnected {
                    participant: s.participant,
                    transport: s.transport,
                    reason: DisconnectReason::ConnectTimeout,
                }));
            }
            match guard(|| s.rtc.handle_input(Input::Timeout(now))) {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    self.stats.engine_errors += 1;
                    debug!(session = sid, error = %e, "timeout handling failed");
                }
                Err(()) => self.fail_session(sid, DisconnectReason::Failed),
            }
            self.drain(sid, now);
        }
        due.clear();
        self.scratch_due = due;
        if self.timers.len() > 2 * self.sessions.len() + 1024 {
            self.timers = self
                .sessions
                .iter()
                .filter_map(|(&sid, s)| s.deadline.map(|d| Reverse((d, sid))))
                .collect();
        }
        self.finish(now);
    }

    /// The next output: datagrams and events in order, then one `Timeout` (the earliest deadline across all
    /// sessions), then `None` until the next input.
    pub fn poll_output(&mut self) -> Option<Output> {
        if let Some(output) = self.outputs.pop_front() {
            return Some(output);
        }
        if self.timeout_reported {
            return None;
        }
        self.timeout_reported = true;
        Some(Output::Timeout(self.next_timeout()))
    }

    fn next_timeout(&mut self) -> Instant {
        let idle = self.last_now.map(|t| t + IDLE_TICK);
        while let Some(&Reverse((at, sid))) = self.timers.peek() {
            if self.sessions.get(&sid).is_some_and(|s| s.deadline == Some(at)) {
                return idle.map_or(at, |idle| at.min(idle));
            }
            self.timers.pop();
        }
        // No input ever: nothing can be due.
        idle.unwrap_or_else(Instant::now)
    }

    // ----------------------------------------------------------------------------------------------------------
    // Counters

    pub fn participant_count(&self) -> usize {
        self.participants.len()
    }

    /// Publications (at most one audio and one video per participant).
    pub fn track_count(&self) -> usize {
        self.tracks.len()
    }

    pub fn subscription_count(&self) -> usize {
        self.subs.len()
    }

    /// WebRTC sessions (two per participant).
    pub fn session_count(&self) -> usize {
        self.sessions.len()
    }

    /// Entries of the demultiplexing maps (remote addresses and ICE ufrags), for leak checks.
    pub fn demux_entry_count(&self) -> usize {
        self.by_addr.len() + self.by_ufrag.len()
    }

    pub fn stats(&self) -> RouterStats {
        self.stats
    }

    // ----------------------------------------------------------------------------------------------------------
    // Internals

    fn begin(&mut self, now: Instant) {
        self.timeout_reported = false;
        self.last_now = Some(self.last_now.map_or(now, |t| t.max(now)));
    }

    /// Work queued while sessions were being drained.
    fn finish(&mut self, now: Instant) {
        while let Some(ask) = self.deferred.pop() {
            self.send_keyframe_request(ask, now);
        }
    }

    fn check_sdp_len(&self, sdp: &str) -> Result<(), SfuError> {
        if sdp.len() > self.config.max_sdp_len {
            return Err(SfuError::SdpTooLarge {
                len: sdp.len(),
                limit: self.config.max_sdp_len,
            });
        }
        Ok(())
    }

    fn random(&mut self) -> u64 {
        // splitmix64
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// An ICE restart changes our ufrag.
    fn refresh_ufrag(&mut self, sid: SessionId) {
        let Some(s) = self.sessions.get_mut(&sid) else { return };
        let ufrag = s.rtc.direct_api().local_ice_credentials().ufrag;
        if ufrag != s.ufrag {
            if self.by_ufrag.get(&s.ufrag) == Some(&sid) {
                self.by_ufrag.remove(&s.ufrag);
            }
            self.by_ufrag.insert(ufrag.clone(), sid);
            s.ufrag = ufrag;
        }
        if s.pending_ufrag.as_ref() == Some(&s.ufrag) {
            s.pending_ufrag = None;
        }
    }

    fn schedule(&mut self, sid: SessionId) {
        let Some(s) = self.sessions.get_mut(&sid) else { return };
        let mut deadline = s.rtc_timeout;
        if let Some(at) = s.negotiated_at
            && !s.ever_connected
            && !s.reported_down
        {
            deadline = deadline.min(at + self.config.connect_timeout);
        }
        if s.deadline != Some(deadline) {
            s.deadline = Some(deadline);
            self.timers.push(Reverse((deadline, sid)));
        }
    }

    fn fail_session(&mut self, sid: SessionId, reason: DisconnectReason) {
        let Some(s) = self.sessions.get_mut(&sid) else { return };
        warn!(participant = %s.participant, transport = ?s.transport, ?reason, "transport failed");
        s.rtc.disconnect();
        if !s.reported_down && self.participants.contains_key(&s.participant) {
            s.reported_down = true;
            s.reported_up = false;
            self.outputs.push_back(Output::Event(Event::Disconnected {
                participant: s.participant,
                transport: s.transport,
                reason,
            }));
        }
    }

    /// Polls a session until it returns its timeout (str0m's "drain after every mutation" rule), routing its
    /// datagrams to the outputs and handling its events.
    fn drain(&mut self, sid: SessionId, now: Instant) {
        loop {
            let Some(session) = self.sessions.get_mut(&sid) else {
                return;
            };
            let output = match guard(|| session.rtc.poll_output()) {
                Ok(Ok(output)) => output,
                Ok(Err(e)) => {
                    debug!(session = sid, error = %e, "poll failed");
                    self.fail_session(sid, DisconnectReason::Failed);
                    return;
                }
                Err(()) => {
                    self.fail_session(sid, DisconnectReason::Failed);
                    return;
                }
            };
            match output {
                str0m::Output::Timeout(at) => {
                    session.rtc_timeout = at;
                    self.schedule(sid);
                    return;
                }
                str0m::Output::Transmit(t) => {
                    self.stats.datagrams_out += 1;
                    self.outputs.push_back(Output::Transmit {
                        source: t.source,
                        destination: t.destination,
                        contents: t.contents.into(),
                    });
                }
                str0m::Output::Event(event) => self.on_rtc_event(sid, event, now),
            }
        }
    }

    fn on_rtc_event(&mut self, sid: SessionId, event: str0m::Event, now: Instant) {
        let Some(s) = self.sessions.get_mut(&sid) else { return };
        let (participant, transport) = (s.participant, s.transport);
        if !self.participants.contains_key(&participant) {
            return;
        }
        let mut came_up = false;
        match event {
            str0m::Event::Connected => {
                s.ever_connected = true;
                came_up = true;
            }
            str0m::Event::IceConnectionStateChange(IceConnectionState::Disconnected) if !s.reported_down => {
                s.reported_down = true;
                s.reported_up = false;
                // Candidates that never sent a binding request expire too: that is a failure to connect.
                let reason = if s.ever_connected {
                    DisconnectReason::IceTimeout
                } else {
                    DisconnectReason::ConnectTimeout
                };
                self.outputs.push_back(Output::Event(Event::Disconnected {
                    participant,
                    transport,
                    reason,
                }));
            }
            str0m::Event::IceConnectionStateChange(IceConnectionState::Connected | IceConnectionState::Completed) => {
                came_up = s.ever_connected && s.rtc.is_connected();
            }
            str0m::Event::Closed if !s.reported_down => {
                s.reported_down = true;
                s.reported_up = false;
                self.outputs.push_back(Output::Event(Event::Disconnected {
                    participant,
                    transport,
                    reason: DisconnectReason::RemoteClosed,
                }));
            }
            str0m::Event::RtpPacket(packet) if transport == TransportKind::Publisher => {
                self.forward(participant, packet, now);
            }
            str0m::Event::KeyframeRequest(req) if transport == TransportKind::Subscriber => {
                self.stats.keyframe_requests_in += 1;
                let key = self
                    .participants
                    .get(&participant)
                    .and_then(|p| p.slots.iter().find(|slot| slot.mid == req.mid))
                    .and_then(|slot| slot.sub);
                if let Some(key) = key {
                    push_ask(&mut self.deferred, key.track(), req.kind);
                }
            }
            _ => {}
        }
        if came_up {
            let Some(s) = self.sessions.get_mut(&sid) else { return };
            if !s.reported_up {
                s.reported_up = true;
                s.reported_down = false;
                self.outputs
                    .push_back(Output::Event(Event::Connected { participant, transport }));
                if transport == TransportKind::Subscriber {
                    // Video subscriptions negotiated before the transport was up start on a fresh keyframe.
                    if let Some(p) = self.participants.get(&participant) {
                        for key in &p.subs {
                            if self.subs.get(key).is_some_and(|s| s.open && s.waiting_keyframe) {
                                push_ask(&mut self.deferred, key.track(), KeyframeRequestKind::Pli);
                            }
                        }
                    }
                }
            }
        }
    }

    /// Which publication an incoming SSRC belongs to.
    fn kind_for_ssrc(&mut self, publisher: ParticipantId, ssrc: Ssrc) -> Option<MediaKind> {
        let p = self.participants.get_mut(&publisher)?;
        if let Some(&(_, kind)) = p.ssrc_kinds.iter().find(|(s, _)| *s == ssrc) {
            return Some(kind);
        }
        let session = self.sessions.get_mut(&p.publisher)?;
        let mid = session.rtc.direct_api().stream_rx(&ssrc).map(|s| s.mid())?;
        let kind = MediaKind::ALL.into_iter().find(|&kind| {
            self.tracks
                .get(&TrackKey { publisher, kind })
                .is_some_and(|t| t.mid == mid)
        })?;
        if p.ssrc_kinds.len() >= 8 {
            p.ssrc_kinds.clear();
        }
        p.ssrc_kinds.push((ssrc, kind));
        Some(kind)
    }

    /// The packet path: one publisher RTP packet to every open subscription of its track. The payload is shared
    /// (`Arc`), the header rewritten per subscriber (SSRC by the send stream, sequence number and timestamp by the
    /// munger, payload type by the subscriber's negotiated codec).
    fn forward(&mut self, publisher: ParticipantId, packet: RtpPacket, now: Instant) {
        self.stats.rtp_in += 1;
        let ssrc = packet.header.ssrc;
        let Some(kind) = self.kind_for_ssrc(publisher, ssrc) else {
            self.stats.rtp_dropped += 1;
            return;
        };
        let key = TrackKey { publisher, kind };
        let Some(track) = self.tracks.get_mut(&key) else {
            self.stats.rtp_dropped += 1;
            return;
        };
        if !track.started {
            track.started = true;
            self.outputs.push_back(Output::Event(Event::MediaStarted {
                participant: publisher,
                kind,
            }));
        }
        track.ssrc = Some(ssrc);
        let in_pt = *packet.header.payload_type;
        let params = match track.params.iter().find(|(pt, _)| *pt == in_pt) {
            Some((_, params)) => *params,
            None => {
                let params = self
                    .participants
                    .get(&publisher)
                    .and_then(|p| self.sessions.get(&p.publisher))
                    .and_then(|s| s.rtc.codec_config().find(|p| *p.pt() == in_pt).copied());
                let Some(params) = params else {
                    self.stats.rtp_dropped += 1;
                    return;
                };
                if track.params.len() >= 8 {
                    track.params.clear();
                }
                track.params.push((in_pt, params));
                params
            }
        };
        let spec = params.spec();
        let clock_rate = spec.clock_rate.get();
        let video = kind == MediaKind::Video;
        let keyframe = video && keyframe::starts_keyframe(spec.codec, &packet.payload);

        // Carried over: what the subscriber's player uses. str0m sets mid, TWCC and abs-send-time itself.
        let exts = ExtensionValues {
            audio_level: packet.header.ext_vals.audio_level,
            voice_activity: packet.header.ext_vals.voice_activity,
            video_orientation: packet.header.ext_vals.video_orientation,
            ..Default::default()
        };

        let mut touched = std::mem::take(&mut self.scratch_sessions);
        let mut want_keyframe = false;
        for &subscriber in &track.subscribers {
            let sub_key = SubKey {
                subscriber,
                publisher,
                kind,
            };
            let Some(sub) = self.subs.get_mut(&sub_key) else {
                continue;
            };
            let (true, Some(mid), Some(tx_ssrc)) = (sub.open, sub.mid, sub.tx_ssrc) else {
                continue;
            };
            let Some(sid) = self.participants.get(&subscriber).map(|p| p.subscriber) else {
                continue;
            };
            let Some(session) = self.sessions.get_mut(&sid) else {
                continue;
            };
            if !session.rtc.is_connected() {
                continue;
            }
            if sub.waiting_keyframe {
                if !keyframe {
                    want_keyframe = true;
                    self.stats.rtp_dropped += 1;
                    continue;
                }
                sub.waiting_keyframe = false;
            }
            let Some(out_pt) = sub.out_pt(in_pt, &params, &session.rtc, mid) else {
                self.stats.rtp_dropped += 1;
                continue;
            };
            let Some((seq, ts)) = sub.munger.map(
                ssrc,
                *packet.seq_no,
                packet.header.timestamp,
                packet.timestamp,
                clock_rate,
            ) else {
                self.stats.rtp_dropped += 1;
                continue;
            };
            let mut api = session.rtc.direct_api();
            let Some(stream) = api.stream_tx(&tx_ssrc) else {
                continue;
            };
            stream.write_rtp(
                RtpWrite::new(out_pt, seq.into(), ts, packet.timestamp, packet.payload.clone())
                    .marker(packet.header.marker)
                    .ext_vals(exts.clone())
                    .nackable(video),
            );
            self.stats.rtp_forwarded += 1;
            touched.push(sid);
        }
        if want_keyframe {
            push_ask(&mut self.deferred, key, KeyframeRequestKind::Pli);
        }
        // Each subscriber session got exactly one write: drain each before anything else touches it.
        for &sid in &touched {
            self.drain(sid, now);
        }
        touched.clear();
        self.scratch_sessions = touched;
    }

    /// A keyframe request to a publisher's track, at most one per `keyframe_request_interval`.
    fn send_keyframe_request(&mut self, ask: KeyframeAsk, now: Instant) {
        let Some(track) = self.tracks.get_mut(&ask.track) else {
            return;
        };
        if track
            .last_keyframe_request
            .is_some_and(|at| now.saturating_duration_since(at) < self.config.keyframe_request_interval)
        {
            self.stats.keyframe_requests_throttled += 1;
            return;
        }
        let Some(ssrc) = track.ssrc else { return };
        let Some(sid) = self.participants.get(&ask.track.publisher).map(|p| p.publisher) else {
            return;
        };
        let Some(session) = self.sessions.get_mut(&sid) else {
            return;
        };
        let mut api = session.rtc.direct_api();
        let Some(stream) = api.stream_rx(&ssrc) else { return };
        stream.request_keyframe(ask.kind);
        track.last_keyframe_request = Some(now);
        self.stats.keyframe_requests_sent += 1;
        self.drain(sid, now);
    }
}

impl std::fmt::Debug for Router {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Router")
            .field("participants", &self.participants.len())
            .field("sessions", &self.sessions.len())
            .field("tracks", &self.tracks.len())
            .field("subscriptions", &self.subs.len())
            .field("stats", &self.stats)
            .finish()
    }
}

fn mark_dirty(id: ParticipantId, p: &mut Participant, outputs: &mut VecDeque<Output>) {
    p.dirty = true;
    if p.pending_offer.is_none() && !p.notified {
        p.notified = true;
        outputs.push_back(Output::Event(Event::NegotiationNeeded { participant: id }));
    }
}

fn push_ask(deferred: &mut Vec<KeyframeAsk>, track: TrackKey, kind: KeyframeRequestKind) {
    if !deferred.iter().any(|a| a.track == track) {
        deferred.push(KeyframeAsk { track, kind });
    }
}

/// Runs a call into str0m, turning a panic (a str0m bug) into an error so that one broken session cannot take the
/// worker down; the caller then closes that session.
fn guard<T>(f: impl FnOnce() -> T) -> Result<T, ()> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|_| ())
}

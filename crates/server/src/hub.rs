//! The signalling core: channels, their users and sessions, presence, roles, token expiry and session timeouts.
//! Sans-IO: connections are numbers, time is passed in (Unix milliseconds), and every effect is an [`Output`] the
//! shell sends. One task owns the hub, so nothing here locks.

use std::collections::{BTreeMap, HashMap, VecDeque};

use rand::Rng;
use stoa_proto::signal::{
    ClientRole, DisconnectReason, Joined, MediaType, Mode, ServerFrame, TrackState, UserInfo, UserInfoMessage,
    UserLeftReason,
};
use stoa_proto::{ErrorCode, RtcError};

/// A WebSocket connection, numbered by the shell.
pub type ConnId = u64;

/// The top of Agora's network quality scale: 6 is "down".
const MAX_QUALITY_LEVEL: u8 = 6;

#[derive(Clone, Debug)]
pub struct HubConfig {
    /// A session with no frame for this long ends with user-left `ServerTimeOut`.
    pub session_timeout_ms: u64,
    /// How often clients should ping (told to them in the join reply).
    pub keepalive_ms: u64,
    /// `token-privilege-will-expire` is sent this long before the token expires.
    pub token_will_expire_lead_ms: u64,
    /// Most users a channel admits.
    pub max_users_per_channel: usize,
}

impl Default for HubConfig {
    fn default() -> Self {
        HubConfig {
            session_timeout_ms: 20_000,
            keepalive_ms: 3_000,
            token_will_expire_lead_ms: 30_000,
            max_users_per_channel: 10_000,
        }
    }
}

/// A join that passed admission (app, token, uid mapping) in the shell.
#[derive(Clone, Debug, PartialEq)]
pub struct Admitted {
    pub app_id: String,
    pub channel: String,
    /// `None`: assign a free number.
    pub uid: Option<u32>,
    pub account: Option<String>,
    pub mode: Mode,
    pub role: ClientRole,
    /// When the token's join privilege ends (Unix ms); `None` for apps without a certificate.
    pub token_expires_at_ms: Option<u64>,
    /// Until when the token lets this user publish audio and video (Unix ms): `None` = not granted,
    /// `Some(u64::MAX)` = no limit (apps without a certificate).
    pub publish_audio_until_ms: Option<u64>,
    pub publish_video_until_ms: Option<u64>,
}

/// What a renewed token grants, as verified by the shell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RenewedGrant {
    /// When the new token's join privilege ends (Unix ms); `None` for apps without a certificate.
    pub token_expires_at_ms: Option<u64>,
    /// Until when the new token lets the user publish (Unix ms), as in [`Admitted`].
    pub publish_audio_until_ms: Option<u64>,
    pub publish_video_until_ms: Option<u64>,
}

impl RenewedGrant {
    /// Apps without a certificate: no expiry, publishing allowed.
    pub const UNLIMITED: RenewedGrant = RenewedGrant {
        token_expires_at_ms: None,
        publish_audio_until_ms: Some(u64::MAX),
        publish_video_until_ms: Some(u64::MAX),
    };
}

/// Who a connection's session is, for checks the shell makes (e.g. verifying a renewed token).
#[derive(Clone, Debug, PartialEq)]
pub struct Identity {
    pub app_id: String,
    pub channel: String,
    pub uid: u32,
    pub account: Option<String>,
}

/// What the shell must do.
#[derive(Clone, Debug, PartialEq)]
pub enum Output {
    Send(ConnId, ServerFrame),
    /// Close the socket after the frames already queued for it.
    Close(ConnId),
    /// Work for the media plane. Operations that wait for an answer name the connection and request id to pass
    /// back to [`Hub::media_done`].
    Media(MediaOp),
}

/// A request to the media plane (the SFU), keyed by session id.
#[derive(Clone, Debug, PartialEq)]
pub enum MediaOp {
    /// Negotiate the publisher transport: answer `offer`.
    Publish {
        session: String,
        /// The session's channel (`app id/channel name`): a channel's sessions share one media worker.
        channel: String,
        conn: ConnId,
        id: Option<u32>,
        offer: String,
    },
    /// Start forwarding `publisher`'s track to `subscriber` and make a new subscriber offer.
    Subscribe {
        subscriber: String,
        /// Both sessions' channel, as in `Publish`.
        channel: String,
        publisher: String,
        media_type: MediaType,
        conn: ConnId,
        id: Option<u32>,
    },
    /// Apply the subscriber's SDP answer.
    SubscriberAnswer {
        session: String,
        answer: String,
        conn: ConnId,
        id: Option<u32>,
    },
    /// Restart ICE on the subscriber transport and make a new subscriber offer.
    RestartSubscriberIce {
        session: String,
        conn: ConnId,
        id: Option<u32>,
    },
    Unpublish {
        session: String,
        media_type: MediaType,
    },
    Unsubscribe {
        subscriber: String,
        publisher: String,
        media_type: MediaType,
    },
    /// The session ended: release its transports, publications and subscriptions.
    Remove {
        session: String,
    },
}

/// What the media plane answered to a [`MediaOp`] that waits.
#[derive(Clone, Debug, PartialEq)]
pub enum MediaAnswer {
    /// The SDP answer to a publish.
    Answer(String),
    /// The SDP offer after a subscribe.
    Offer(String),
    /// A subscriber answer was applied.
    Applied,
}

/// Why a session ended, for metrics and logs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ended {
    Left,
    TimedOut,
    TokenExpired,
}

struct Session {
    resume_token: String,
    identity: Identity,
    mode: Mode,
    role: ClientRole,
    conn: Option<ConnId>,
    last_seen_ms: u64,
    token_expires_at_ms: Option<u64>,
    will_expire_sent: bool,
    publish_audio_until_ms: Option<u64>,
    publish_video_until_ms: Option<u64>,
    /// Published tracks, at most one per media type.
    tracks: Vec<TrackState>,
    /// Publishes waiting for the media plane's answer, by request.
    pending_publish: Vec<(ConnId, Option<u32>, Vec<TrackState>)>,
}

impl Session {
    /// In live mode only hosts are announced.
    fn announced(&self) -> bool {
        self.mode == Mode::Rtc || self.role == ClientRole::Host
    }

    /// The user as announced in a push: tracks are announced one by one afterwards.
    fn user_info(&self) -> UserInfo {
        UserInfo::new(self.identity.uid, self.identity.account.clone())
    }

    fn track(&self, media_type: MediaType) -> Option<&TrackState> {
        self.tracks.iter().find(|t| t.media_type == media_type)
    }

    fn may_publish(&self, media_type: MediaType, now_ms: u64) -> bool {
        let until = match media_type {
            MediaType::Audio => self.publish_audio_until_ms,
            MediaType::Video => self.publish_video_until_ms,
        };
        until.is_some_and(|until| now_ms < until)
    }
}

type ChannelKey = (String, String);

/// The signalling state of every channel on this node.
pub struct Hub {
    config: HubConfig,
    /// Channel -> uid -> session id.
    channels: HashMap<ChannelKey, BTreeMap<u32, String>>,
    sessions: HashMap<String, Session>,
    conns: HashMap<ConnId, String>,
    outputs: VecDeque<Output>,
    ended: Vec<Ended>,
}

fn random_hex(bytes: usize) -> String {
    let mut rng = rand::rng();
    (0..bytes).map(|_| format!("{:02x}", rng.random::<u8>())).collect()
}

impl Hub {
    pub fn new(config: HubConfig) -> Self {
        Hub {
            config,
            channels: HashMap::new(),
            sessions: HashMap::new(),
            conns: HashMap::new(),
            outputs: VecDeque::new(),
            ended: Vec::new(),
        }
    }

    pub fn config(&self) -> &HubConfig {
        &self.config
    }

    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// Sessions that ended since the last call.
    pub fn take_ended(&mut self) -> Vec<Ended> {
        std::mem::take(&mut self.ended)
    }

    pub fn channel_count(&self) -> usize {
        self.channels.len()
    }

    pub fn session_count(&self) -> usize {
        self.sessions.len()
    }

    /// The identity behind a connection, if it joined.
    pub fn identity(&self, conn: ConnId) -> Option<&Identity> {
        self.conns
            .get(&conn)
            .and_then(|sid| self.sessions.get(sid))
            .map(|s| &s.identity)
    }

    /// Queues an error reply (or an unsolicited error when `id` is `None`).
    pub fn reply_error(&mut self, conn: ConnId, id: Option<u32>, error: RtcError) {
        self.outputs
            .push_back(Output::Send(conn, ServerFrame::error(id, error)));
    }

    fn reply_ok(&mut self, conn: ConnId, id: Option<u32>) {
        if let Some(id) = id {
            self.outputs.push_back(Output::Send(conn, ServerFrame::Ok { id }));
        }
    }

    /// Sends `frame` to every attached session of the channel except `except`.
    fn broadcast(&mut self, key: &ChannelKey, except: &str, frame: &ServerFrame) {
        let Some(members) = self.channels.get(key) else { return };
        for sid in members.values() {
            if sid == except {
                continue;
            }
            if let Some(conn) = self.sessions.get(sid).and_then(|s| s.conn) {
                self.outputs.push_back(Output::Send(conn, frame.clone()));
            }
        }
    }

    fn joined_reply(&self, sid: &str) -> Joined {
        let session = &self.sessions[sid];
        let key = (session.identity.app_id.clone(), session.identity.channel.clone());
        let users = self.channels[&key]
            .values()
            .filter(|other| other.as_str() != sid)
            .filter_map(|other| self.sessions.get(other))
            .filter(|s| s.announced())
            .map(|s| UserInfo {
                tracks: s.tracks.clone(),
                ..s.user_info()
            })
            .collect();
        Joined {
            uid: session.identity.uid,
            account: session.identity.account.clone(),
            role: session.role,
            session_id: sid.to_string(),
            resume_token: session.resume_token.clone(),
            keepalive_ms: self.config.keepalive_ms,
            session_timeout_ms: self.config.session_timeout_ms,
            users,
        }
    }

    /// A connection asks to join. Replies `joined` or an error.
    pub fn join(&mut self, conn: ConnId, id: Option<u32>, admitted: Admitted, now_ms: u64) {
        if self.conns.contains_key(&conn) {
            return self.reply_error(
                conn,
                id,
                RtcError::new(
                    ErrorCode::InvalidOperation,
                    "Client already in connecting/connected state",
                ),
            );
        }
        let key = (admitted.app_id.clone(), admitted.channel.clone());
        let members = self.channels.get(&key);
        if members.is_some_and(|m| m.len() >= self.config.max_users_per_channel) {
            return self.reply_error(
                conn,
                id,
                RtcError::new(ErrorCode::CanNotGetGatewayServer, "users overload")
                    .with_data(serde_json::json!({"code": 2010016, "desc": "users overload", "retry": false})),
            );
        }
        let uid = match admitted.uid {
            Some(uid) if members.is_some_and(|m| m.contains_key(&uid)) => {
                return self.reply_error(
                    conn,
                    id,
                    RtcError::new(
                        ErrorCode::UidConflict,
                        format!("uid {uid} is already in channel {:?}", admitted.channel),
                    ),
                );
            }
            Some(uid) => uid,
            None => {
                let mut rng = rand::rng();
                loop {
                    let candidate = rng.random_range(1..=u32::MAX);
                    if !members.is_some_and(|m| m.contains_key(&candidate)) {
                        break candidate;
                    }
                }
            }
        };
        let sid = random_hex(16);
        let role = if admitted.mode == Mode::Rtc {
            ClientRole::Host
        } else {
            admitted.role
        };
        let session = Session {
            resume_token: random_hex(16),
            identity: Identity {
                app_id: admitted.app_id,
                channel: admitted.channel,
                uid,
                account: admitted.account,
            },
            mode: admitted.mode,
            role,
            conn: Some(conn),
            last_seen_ms: now_ms,
            token_expires_at_ms: admitted.token_expires_at_ms,
            will_expire_sent: false,
            publish_audio_until_ms: admitted.publish_audio_until_ms,
            publish_video_until_ms: admitted.publish_video_until_ms,
            tracks: Vec::new(),
            pending_publish: Vec::new(),
        };
        let announce = session
            .announced()
            .then(|| ServerFrame::UserJoined(session.user_info()));
        self.channels.entry(key.clone()).or_default().insert(uid, sid.clone());
        self.sessions.insert(sid.clone(), session);
        self.conns.insert(conn, sid.clone());
        let joined = self.joined_reply(&sid);
        self.outputs
            .push_back(Output::Send(conn, ServerFrame::Joined { id, joined }));
        if let Some(frame) = announce {
            self.broadcast(&key, &sid, &frame);
        }
        // A token that is already inside the warning window hears about it at once.
        self.check_token(&sid, now_ms);
    }

    /// A new connection resumes a session whose link dropped. Other users see nothing.
    pub fn rejoin(&mut self, conn: ConnId, id: Option<u32>, session_id: &str, resume_token: &str, now_ms: u64) {
        if self.conns.contains_key(&conn) {
            return self.reply_error(conn, id, RtcError::new(ErrorCode::InvalidOperation, "already joined"));
        }
        let valid = self
            .sessions
            .get(session_id)
            .is_some_and(|s| constant_time_eq(&s.resume_token, resume_token));
        if !valid {
            return self.reply_error(
                conn,
                id,
                RtcError::new(ErrorCode::InvalidOperation, "session expired or unknown: join again"),
            );
        }
        let session = self.sessions.get_mut(session_id).expect("checked above");
        if let Some(old) = session.conn.replace(conn) {
            self.conns.remove(&old);
            self.outputs.push_back(Output::Close(old));
        }
        session.last_seen_ms = now_ms;
        self.conns.insert(conn, session_id.to_string());
        let joined = self.joined_reply(session_id);
        self.outputs
            .push_back(Output::Send(conn, ServerFrame::Joined { id, joined }));
    }

    /// Any frame from a joined connection is a sign of life.
    pub fn heard_from(&mut self, conn: ConnId, now_ms: u64) {
        if let Some(session) = self.conns.get(&conn).and_then(|sid| self.sessions.get_mut(sid)) {
            session.last_seen_ms = now_ms;
        }
    }

    fn session_of(&mut self, conn: ConnId, id: Option<u32>) -> Option<String> {
        let sid = self.conns.get(&conn).cloned();
        if sid.is_none() {
            self.reply_error(conn, id, RtcError::new(ErrorCode::InvalidOperation, "not joined"));
        }
        sid
    }

    pub fn ping(&mut self, conn: ConnId, id: Option<u32>, now_ms: u64) {
        if self.session_of(conn, id).is_some() {
            self.heard_from(conn, now_ms);
            self.reply_ok(conn, id);
        }
    }

    pub fn leave(&mut self, conn: ConnId, id: Option<u32>) {
        if let Some(sid) = self.session_of(conn, id) {
            self.reply_ok(conn, id);
            self.end_session(&sid, UserLeftReason::Quit, Ended::Left);
        }
    }

    pub fn set_client_role(&mut self, conn: ConnId, id: Option<u32>, role: ClientRole) {
        let Some(sid) = self.session_of(conn, id) else { return };
        let session = self.sessions.get_mut(&sid).expect("conn maps to a live session");
        // "has no effect in rtc": everyone there is a host.
        if session.mode == Mode::Rtc || session.role == role {
            return self.reply_ok(conn, id);
        }
        if role == ClientRole::Audience && !session.tracks.is_empty() {
            let error = RtcError::new(
                ErrorCode::InvalidOperation,
                "can not set client role to audience while publishing",
            );
            return self.reply_error(conn, id, error);
        }
        session.role = role;
        let key = (session.identity.app_id.clone(), session.identity.channel.clone());
        let frame = match role {
            ClientRole::Host => ServerFrame::UserJoined(session.user_info()),
            ClientRole::Audience => ServerFrame::UserLeft {
                uid: session.identity.uid,
                reason: UserLeftReason::BecomeAudience,
            },
        };
        self.reply_ok(conn, id);
        self.broadcast(&key, &sid, &frame);
    }

    /// `publish`: checks the request, then asks the media plane to answer the offer. The tracks are announced when
    /// [`Hub::media_done`] brings the answer.
    pub fn publish(&mut self, conn: ConnId, id: Option<u32>, tracks: Vec<TrackState>, offer: String, now_ms: u64) {
        let Some(sid) = self.conns.get(&conn).cloned() else {
            let error = RtcError::new(ErrorCode::InvalidOperation, "Can't publish stream, haven't joined yet!");
            return self.reply_error(conn, id, error);
        };
        if let Some(error) = publish_refusal(&self.sessions[&sid], &tracks, now_ms) {
            return self.reply_error(conn, id, error);
        }
        let session = self.sessions.get_mut(&sid).expect("checked above");
        session.pending_publish.push((conn, id, tracks));
        self.negotiate_publisher(sid, conn, id, offer);
    }

    /// Asks the media plane to answer `offer` on the session's publisher transport.
    fn negotiate_publisher(&mut self, sid: String, conn: ConnId, id: Option<u32>, offer: String) {
        let channel = media_channel(&self.sessions[&sid].identity);
        self.outputs.push_back(Output::Media(MediaOp::Publish {
            session: sid,
            channel,
            conn,
            id,
            offer,
        }));
    }

    /// `restart_publisher_ice`: the client's re-offer with new ICE credentials, answered like a publish but with no
    /// change to what is published. Needs something published (the publisher transport exists then).
    pub fn restart_publisher_ice(&mut self, conn: ConnId, id: Option<u32>, offer: String) {
        let Some(sid) = self.session_of(conn, id) else { return };
        let session = &self.sessions[&sid];
        if session.tracks.is_empty() {
            let error = RtcError::new(
                ErrorCode::InvalidOperation,
                "nothing is published: there is no publisher transport to restart",
            );
            return self.reply_error(conn, id, error);
        }
        self.negotiate_publisher(sid, conn, id, offer);
    }

    /// `restart_subscriber_ice`: answered with a subscriber offer carrying new ICE credentials.
    pub fn restart_subscriber_ice(&mut self, conn: ConnId, id: Option<u32>) {
        let Some(sid) = self.session_of(conn, id) else { return };
        self.outputs
            .push_back(Output::Media(MediaOp::RestartSubscriberIce { session: sid, conn, id }));
    }

    /// The media plane finished an operation asked by `conn`'s request `id`.
    pub fn media_done(&mut self, conn: ConnId, id: Option<u32>, result: Result<MediaAnswer, RtcError>) {
        let Some(sid) = self.conns.get(&conn).cloned() else {
            return;
        };
        let session = self.sessions.get_mut(&sid).expect("conn maps to a live session");
        let pending = session
            .pending_publish
            .iter()
            .position(|(c, i, _)| *c == conn && *i == id);
        let published = pending.map(|index| session.pending_publish.remove(index).2);
        match (result, published) {
            (Err(error), _) => self.reply_error(conn, id, error),
            (Ok(MediaAnswer::Answer(answer)), Some(tracks)) => {
                let key = (session.identity.app_id.clone(), session.identity.channel.clone());
                let uid = session.identity.uid;
                let announced = session.announced();
                let mut newly_available = Vec::new();
                for track in tracks {
                    let was_available = session.track(track.media_type).is_some_and(TrackState::available);
                    session.tracks.retain(|t| t.media_type != track.media_type);
                    session.tracks.push(track);
                    if track.available() && !was_available {
                        newly_available.push(track.media_type);
                    }
                }
                self.outputs
                    .push_back(Output::Send(conn, ServerFrame::Published { id, answer }));
                if announced {
                    for media_type in newly_available {
                        self.broadcast(&key, &sid, &ServerFrame::UserPublished { uid, media_type });
                    }
                }
            }
            // A publisher ICE restart: the answer, with nothing published anew.
            (Ok(MediaAnswer::Answer(answer)), None) => self
                .outputs
                .push_back(Output::Send(conn, ServerFrame::Published { id, answer })),
            (Ok(MediaAnswer::Offer(offer)), _) => self
                .outputs
                .push_back(Output::Send(conn, ServerFrame::Subscribed { id, offer })),
            (Ok(_), _) => self.reply_ok(conn, id),
        }
    }

    pub fn unpublish(&mut self, conn: ConnId, id: Option<u32>, media_types: &[MediaType]) {
        let Some(sid) = self.session_of(conn, id) else { return };
        let session = self.sessions.get_mut(&sid).expect("conn maps to a live session");
        let key = (session.identity.app_id.clone(), session.identity.channel.clone());
        let uid = session.identity.uid;
        let announced = session.announced();
        let mut gone = Vec::new();
        for &media_type in media_types {
            if let Some(index) = session.tracks.iter().position(|t| t.media_type == media_type) {
                let track = session.tracks.remove(index);
                gone.push(track);
            }
        }
        self.reply_ok(conn, id);
        for track in gone {
            self.outputs.push_back(Output::Media(MediaOp::Unpublish {
                session: sid.clone(),
                media_type: track.media_type,
            }));
            if announced && track.available() {
                self.broadcast(
                    &key,
                    &sid,
                    &ServerFrame::UserUnpublished {
                        uid,
                        media_type: track.media_type,
                    },
                );
            }
        }
    }

    /// Mute, unmute, enable or disable a published track.
    pub fn set_track_state(&mut self, conn: ConnId, id: Option<u32>, state: TrackState) {
        let Some(sid) = self.session_of(conn, id) else { return };
        let session = self.sessions.get_mut(&sid).expect("conn maps to a live session");
        let Some(track) = session.tracks.iter_mut().find(|t| t.media_type == state.media_type) else {
            let error = RtcError::new(
                ErrorCode::InvalidOperation,
                format!("no published {} track to change", state.media_type.as_str()),
            );
            return self.reply_error(conn, id, error);
        };
        let before = *track;
        *track = state;
        let key = (session.identity.app_id.clone(), session.identity.channel.clone());
        let uid = session.identity.uid;
        let announced = session.announced();
        self.reply_ok(conn, id);
        if !announced {
            return;
        }
        let mut frames = Vec::new();
        if before.muted != state.muted {
            frames.push(ServerFrame::UserInfoUpdated {
                uid,
                msg: UserInfoMessage::muted(state.media_type, state.muted),
            });
        }
        if before.enabled != state.enabled {
            frames.push(ServerFrame::UserInfoUpdated {
                uid,
                msg: UserInfoMessage::enabled(state.media_type, state.enabled),
            });
        }
        match (before.available(), state.available()) {
            (true, false) => frames.push(ServerFrame::UserUnpublished {
                uid,
                media_type: state.media_type,
            }),
            (false, true) => frames.push(ServerFrame::UserPublished {
                uid,
                media_type: state.media_type,
            }),
            _ => {}
        }
        for frame in frames {
            self.broadcast(&key, &sid, &frame);
        }
    }

    /// `network_quality`: the user's own rating of its link, relayed to everyone who sees the user.
    pub fn network_quality(&mut self, conn: ConnId, id: Option<u32>, uplink: u8, downlink: u8) {
        let Some(sid) = self.session_of(conn, id) else { return };
        if uplink > MAX_QUALITY_LEVEL || downlink > MAX_QUALITY_LEVEL {
            let error = RtcError::new(
                ErrorCode::InvalidParams,
                format!(
                    "network quality levels are 0 to {MAX_QUALITY_LEVEL}, got uplink {uplink}, downlink {downlink}"
                ),
            );
            return self.reply_error(conn, id, error);
        }
        let session = &self.sessions[&sid];
        let key = (session.identity.app_id.clone(), session.identity.channel.clone());
        let frame = ServerFrame::UserNetworkQuality {
            uid: session.identity.uid,
            uplink,
            downlink,
        };
        let announced = session.announced();
        self.reply_ok(conn, id);
        if announced {
            self.broadcast(&key, &sid, &frame);
        }
    }

    /// `subscribe`: the publisher must be in the channel (and announced) with the track available.
    pub fn subscribe(&mut self, conn: ConnId, id: Option<u32>, uid: u32, media_type: MediaType) {
        let Some(sid) = self.session_of(conn, id) else { return };
        let publisher = match self.announced_peer(&sid, uid) {
            Ok(publisher) => publisher,
            Err(error) => return self.reply_error(conn, id, error),
        };
        if !self.sessions[&publisher]
            .track(media_type)
            .is_some_and(TrackState::available)
        {
            let error = RtcError::new(
                ErrorCode::RemoteUserIsNotPublished,
                format!("user is not published: uid {uid} has no {} track", media_type.as_str()),
            );
            return self.reply_error(conn, id, error);
        }
        let channel = media_channel(&self.sessions[&sid].identity);
        self.outputs.push_back(Output::Media(MediaOp::Subscribe {
            subscriber: sid,
            channel,
            publisher,
            media_type,
            conn,
            id,
        }));
    }

    pub fn unsubscribe(&mut self, conn: ConnId, id: Option<u32>, uid: u32, media_type: MediaType) {
        let Some(sid) = self.session_of(conn, id) else { return };
        match self.announced_peer(&sid, uid) {
            Ok(publisher) => {
                self.outputs.push_back(Output::Media(MediaOp::Unsubscribe {
                    subscriber: sid,
                    publisher,
                    media_type,
                }));
                self.reply_ok(conn, id);
            }
            Err(error) => self.reply_error(conn, id, error),
        }
    }

    /// The client's answer to the last subscriber offer, for the media plane.
    pub fn subscriber_answer(&mut self, conn: ConnId, id: Option<u32>, answer: String) {
        let Some(sid) = self.session_of(conn, id) else { return };
        self.outputs.push_back(Output::Media(MediaOp::SubscriberAnswer {
            session: sid,
            answer,
            conn,
            id,
        }));
    }

    /// The session of `uid` in `sid`'s channel, if others can see it.
    fn announced_peer(&self, sid: &str, uid: u32) -> Result<String, RtcError> {
        let session = &self.sessions[sid];
        let key = (session.identity.app_id.clone(), session.identity.channel.clone());
        self.channels
            .get(&key)
            .and_then(|members| members.get(&uid))
            .filter(|peer| peer.as_str() != sid && self.sessions[*peer].announced())
            .cloned()
            .ok_or_else(|| {
                RtcError::new(
                    ErrorCode::InvalidRemoteUser,
                    format!("user is not in the channel: uid {uid}"),
                )
            })
    }

    /// The shell verified a new token for this connection's identity: its expiry and its publish privileges
    /// replace the old token's (later publishes are checked against them; tracks already published stay).
    pub fn renew_token(&mut self, conn: ConnId, id: Option<u32>, grant: RenewedGrant, now_ms: u64) {
        let Some(sid) = self.session_of(conn, id) else { return };
        let session = self.sessions.get_mut(&sid).expect("conn maps to a live session");
        session.token_expires_at_ms = grant.token_expires_at_ms;
        session.publish_audio_until_ms = grant.publish_audio_until_ms;
        session.publish_video_until_ms = grant.publish_video_until_ms;
        session.will_expire_sent = false;
        self.reply_ok(conn, id);
        self.check_token(&sid, now_ms);
    }

    /// The socket closed. A joined session stays, detached, until it rejoins or times out.
    pub fn connection_closed(&mut self, conn: ConnId) {
        if let Some(sid) = self.conns.remove(&conn)
            && let Some(session) = self.sessions.get_mut(&sid)
            && session.conn == Some(conn)
        {
            session.conn = None;
        }
    }

    /// Runs the clocks: session timeouts and token expiry. Call it often (the shell ticks every 50 ms).
    pub fn handle_timeout(&mut self, now_ms: u64) {
        let timeout = self.config.session_timeout_ms;
        let timed_out: Vec<String> = self
            .sessions
            .iter()
            .filter(|(_, s)| now_ms.saturating_sub(s.last_seen_ms) >= timeout)
            .map(|(sid, _)| sid.clone())
            .collect();
        for sid in timed_out {
            self.end_session(&sid, UserLeftReason::ServerTimeOut, Ended::TimedOut);
        }
        let with_tokens: Vec<String> = self
            .sessions
            .iter()
            .filter(|(_, s)| s.token_expires_at_ms.is_some())
            .map(|(sid, _)| sid.clone())
            .collect();
        for sid in with_tokens {
            self.check_token(&sid, now_ms);
        }
    }

    fn check_token(&mut self, sid: &str, now_ms: u64) {
        let lead = self.config.token_will_expire_lead_ms;
        let Some(session) = self.sessions.get_mut(sid) else {
            return;
        };
        let Some(expires_at) = session.token_expires_at_ms else {
            return;
        };
        if now_ms >= expires_at {
            if let Some(conn) = session.conn {
                self.outputs
                    .push_back(Output::Send(conn, ServerFrame::TokenPrivilegeDidExpire));
                self.outputs.push_back(Output::Send(
                    conn,
                    ServerFrame::Disconnected {
                        reason: DisconnectReason::TokenExpire,
                    },
                ));
            }
            self.end_session(sid, UserLeftReason::Quit, Ended::TokenExpired);
        } else if !session.will_expire_sent && now_ms + lead >= expires_at {
            session.will_expire_sent = true;
            if let Some(conn) = session.conn {
                let frame = ServerFrame::TokenPrivilegeWillExpire {
                    expires_at: expires_at / 1000,
                };
                self.outputs.push_back(Output::Send(conn, frame));
            }
        }
    }

    fn end_session(&mut self, sid: &str, reason: UserLeftReason, ended: Ended) {
        let Some(session) = self.sessions.remove(sid) else {
            return;
        };
        let key = (session.identity.app_id.clone(), session.identity.channel.clone());
        if let Some(conn) = session.conn {
            self.conns.remove(&conn);
            self.outputs.push_back(Output::Close(conn));
        }
        self.outputs.push_back(Output::Media(MediaOp::Remove {
            session: sid.to_string(),
        }));
        if let Some(members) = self.channels.get_mut(&key) {
            members.remove(&session.identity.uid);
            if members.is_empty() {
                self.channels.remove(&key);
            }
        }
        if session.announced() {
            self.broadcast(
                &key,
                sid,
                &ServerFrame::UserLeft {
                    uid: session.identity.uid,
                    reason,
                },
            );
        }
        self.ended.push(ended);
    }
}

/// Why `session` may not publish `tracks` now, if it may not.
/// The media plane's name for a session's channel.
fn media_channel(identity: &Identity) -> String {
    format!("{}/{}", identity.app_id, identity.channel)
}

fn publish_refusal(session: &Session, tracks: &[TrackState], now_ms: u64) -> Option<RtcError> {
    let count = |media_type| tracks.iter().filter(|t| t.media_type == media_type).count();
    if tracks.is_empty() {
        return Some(RtcError::new(ErrorCode::InvalidParams, "param list is empty"));
    }
    if session.mode == Mode::Live && session.role == ClientRole::Audience {
        return Some(RtcError::new(
            ErrorCode::InvalidOperation,
            "audience can not publish stream",
        ));
    }
    let second_video = count(MediaType::Video) > 0 && session.track(MediaType::Video).is_some();
    if count(MediaType::Video) > 1 || second_video {
        return Some(RtcError::new(
            ErrorCode::CanNotPublishMultipleVideoTracks,
            "a client publishes one video track at a time: use another client for more",
        ));
    }
    let second_audio = count(MediaType::Audio) > 0 && session.track(MediaType::Audio).is_some();
    if count(MediaType::Audio) > 1 || second_audio {
        return Some(RtcError::new(
            ErrorCode::InvalidOperation,
            "a client publishes one audio track at a time: mix the audio into it",
        ));
    }
    if let Some(track) = tracks.iter().find(|t| !t.enabled) {
        let detail = format!("the {} track is disabled", track.media_type.as_str());
        return Some(RtcError::new(ErrorCode::TrackIsDisabled, detail));
    }
    tracks
        .iter()
        .find(|t| !session.may_publish(t.media_type, now_ms))
        .map(|track| {
            let detail = format!("the token does not grant publishing {}", track.media_type.as_str());
            RtcError::new(ErrorCode::InvalidOperation, detail)
        })
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admitted(channel: &str, uid: Option<u32>, mode: Mode, role: ClientRole) -> Admitted {
        Admitted {
            app_id: "app".into(),
            channel: channel.into(),
            uid,
            account: None,
            mode,
            role,
            token_expires_at_ms: None,
            publish_audio_until_ms: Some(u64::MAX),
            publish_video_until_ms: Some(u64::MAX),
        }
    }

    fn drain(hub: &mut Hub) -> Vec<Output> {
        std::iter::from_fn(|| hub.poll_output()).collect()
    }

    fn frames_to(outputs: &[Output], conn: ConnId) -> Vec<ServerFrame> {
        outputs
            .iter()
            .filter_map(|o| match o {
                Output::Send(c, f) if *c == conn => Some(f.clone()),
                _ => None,
            })
            .collect()
    }

    fn joined_of(outputs: &[Output], conn: ConnId) -> Joined {
        frames_to(outputs, conn)
            .into_iter()
            .find_map(|f| match f {
                ServerFrame::Joined { joined, .. } => Some(joined),
                _ => None,
            })
            .expect("joined reply")
    }

    #[test]
    fn users_see_each_other_join_and_quit() {
        let mut hub = Hub::new(HubConfig::default());
        hub.join(1, Some(1), admitted("c", Some(10), Mode::Rtc, ClientRole::Host), 0);
        let out = drain(&mut hub);
        assert!(joined_of(&out, 1).users.is_empty());
        hub.join(2, Some(1), admitted("c", Some(20), Mode::Rtc, ClientRole::Host), 0);
        let out = drain(&mut hub);
        assert_eq!(joined_of(&out, 2).users, vec![UserInfo::new(10, None)]);
        assert_eq!(
            frames_to(&out, 1),
            vec![ServerFrame::UserJoined(UserInfo::new(20, None))]
        );
        hub.leave(2, Some(2));
        let out = drain(&mut hub);
        assert_eq!(
            frames_to(&out, 1),
            vec![ServerFrame::UserLeft {
                uid: 20,
                reason: UserLeftReason::Quit
            }]
        );
        assert!(out.contains(&Output::Close(2)));
        assert_eq!((hub.session_count(), hub.channel_count()), (1, 1));
        hub.leave(1, None);
        assert_eq!((hub.session_count(), hub.channel_count()), (0, 0));
    }

    #[test]
    fn same_uid_twice_is_a_conflict_and_assigned_uids_are_free() {
        let mut hub = Hub::new(HubConfig::default());
        hub.join(1, Some(1), admitted("c", Some(7), Mode::Rtc, ClientRole::Host), 0);
        hub.join(2, Some(1), admitted("c", Some(7), Mode::Rtc, ClientRole::Host), 0);
        let out = drain(&mut hub);
        let ServerFrame::Error { id: Some(1), error } = &frames_to(&out, 2)[0] else {
            panic!("{out:?}")
        };
        assert_eq!(error.code, ErrorCode::UidConflict);
        hub.join(3, Some(1), admitted("other", Some(7), Mode::Rtc, ClientRole::Host), 0);
        hub.join(4, Some(1), admitted("c", None, Mode::Rtc, ClientRole::Host), 0);
        let out = drain(&mut hub);
        assert_eq!(joined_of(&out, 3).uid, 7);
        let assigned = joined_of(&out, 4).uid;
        assert!(assigned != 0 && assigned != 7);
    }

    #[test]
    fn a_dropped_link_times_out_unless_it_rejoins() {
        let config = HubConfig {
            session_timeout_ms: 1_000,
            ..HubConfig::default()
        };
        let mut hub = Hub::new(config);
        hub.join(1, Some(1), admitted("c", Some(1), Mode::Rtc, ClientRole::Host), 0);
        hub.join(2, Some(1), admitted("c", Some(2), Mode::Rtc, ClientRole::Host), 0);
        let joined = joined_of(&drain(&mut hub), 2);
        hub.connection_closed(2);
        hub.heard_from(1, 900);
        hub.handle_timeout(900);
        assert!(drain(&mut hub).is_empty(), "nobody sees a leave inside the timeout");
        hub.rejoin(3, Some(5), &joined.session_id, &joined.resume_token, 950);
        let out = drain(&mut hub);
        assert_eq!(joined_of(&out, 3).uid, 2);
        assert!(frames_to(&out, 1).is_empty());
        // Now connection 3 goes quiet: after the timeout everyone sees ServerTimeOut.
        hub.heard_from(1, 1_900);
        hub.handle_timeout(1_949);
        assert!(drain(&mut hub).is_empty());
        hub.handle_timeout(1_950);
        let out = drain(&mut hub);
        assert_eq!(
            frames_to(&out, 1),
            vec![ServerFrame::UserLeft {
                uid: 2,
                reason: UserLeftReason::ServerTimeOut
            }]
        );
        assert!(out.contains(&Output::Close(3)));
        hub.rejoin(4, Some(1), &joined.session_id, &joined.resume_token, 2_000);
        let ServerFrame::Error { error, .. } = &frames_to(&drain(&mut hub), 4)[0] else {
            panic!()
        };
        assert_eq!(error.code, ErrorCode::InvalidOperation);
    }

    #[test]
    fn rejoin_needs_the_resume_token() {
        let mut hub = Hub::new(HubConfig::default());
        hub.join(1, Some(1), admitted("c", Some(1), Mode::Rtc, ClientRole::Host), 0);
        let joined = joined_of(&drain(&mut hub), 1);
        hub.rejoin(2, Some(1), &joined.session_id, "forged", 10);
        let ServerFrame::Error { error, .. } = &frames_to(&drain(&mut hub), 2)[0] else {
            panic!()
        };
        assert_eq!(error.code, ErrorCode::InvalidOperation);
        // A rejoin while the old link is still up takes the session over and closes the old socket.
        hub.rejoin(3, Some(1), &joined.session_id, &joined.resume_token, 10);
        let out = drain(&mut hub);
        assert!(out.contains(&Output::Close(1)));
        assert_eq!(hub.identity(3).unwrap().uid, 1);
        assert!(hub.identity(1).is_none());
    }

    #[test]
    fn live_mode_announces_hosts_only() {
        let mut hub = Hub::new(HubConfig::default());
        hub.join(1, Some(1), admitted("c", Some(1), Mode::Live, ClientRole::Host), 0);
        drain(&mut hub);
        hub.join(2, Some(1), admitted("c", Some(2), Mode::Live, ClientRole::Audience), 0);
        let out = drain(&mut hub);
        assert_eq!(joined_of(&out, 2).users, vec![UserInfo::new(1, None)]);
        assert!(frames_to(&out, 1).is_empty(), "audience is not announced");
        hub.join(3, Some(1), admitted("c", Some(3), Mode::Live, ClientRole::Audience), 0);
        assert!(joined_of(&drain(&mut hub), 3).users == vec![UserInfo::new(1, None)]);
        hub.set_client_role(2, Some(2), ClientRole::Host);
        let out = drain(&mut hub);
        assert_eq!(frames_to(&out, 2), vec![ServerFrame::Ok { id: 2 }]);
        assert_eq!(
            frames_to(&out, 1),
            vec![ServerFrame::UserJoined(UserInfo::new(2, None))]
        );
        assert_eq!(
            frames_to(&out, 3),
            vec![ServerFrame::UserJoined(UserInfo::new(2, None))]
        );
        hub.set_client_role(2, Some(3), ClientRole::Audience);
        let out = drain(&mut hub);
        let left = ServerFrame::UserLeft {
            uid: 2,
            reason: UserLeftReason::BecomeAudience,
        };
        assert_eq!(frames_to(&out, 1), vec![left.clone()]);
        assert_eq!(frames_to(&out, 3), vec![left]);
        // An audience member leaving is not announced either.
        hub.leave(3, None);
        assert!(frames_to(&drain(&mut hub), 1).is_empty());
    }

    #[test]
    fn network_quality_reaches_those_who_see_the_user() {
        let mut hub = Hub::new(HubConfig::default());
        hub.join(1, Some(1), admitted("c", Some(1), Mode::Live, ClientRole::Host), 0);
        hub.join(2, Some(1), admitted("c", Some(2), Mode::Live, ClientRole::Audience), 0);
        hub.join(3, Some(1), admitted("c", Some(3), Mode::Live, ClientRole::Host), 0);
        drain(&mut hub);
        hub.network_quality(1, None, 1, 2);
        let out = drain(&mut hub);
        let rating = ServerFrame::UserNetworkQuality {
            uid: 1,
            uplink: 1,
            downlink: 2,
        };
        assert!(
            frames_to(&out, 1).is_empty(),
            "no reply without an id, nothing back to the sender"
        );
        assert_eq!(frames_to(&out, 2), vec![rating.clone()]);
        assert_eq!(frames_to(&out, 3), vec![rating]);
        // An audience member is seen by nobody: its rating goes nowhere.
        hub.network_quality(2, Some(5), 3, 3);
        let out = drain(&mut hub);
        assert_eq!(frames_to(&out, 2), vec![ServerFrame::Ok { id: 5 }]);
        assert!(frames_to(&out, 1).is_empty() && frames_to(&out, 3).is_empty());
        // Levels beyond 6 are refused and not relayed.
        hub.network_quality(3, Some(6), 7, 1);
        let out = drain(&mut hub);
        assert_eq!(error_code(&out, 3), Some(ErrorCode::InvalidParams));
        assert!(frames_to(&out, 1).is_empty() && frames_to(&out, 2).is_empty());
        // Before joining: INVALID_OPERATION, as every request.
        hub.network_quality(9, Some(1), 1, 1);
        assert_eq!(error_code(&drain(&mut hub), 9), Some(ErrorCode::InvalidOperation));
    }

    #[test]
    fn rtc_mode_forces_host() {
        let mut hub = Hub::new(HubConfig::default());
        hub.join(1, Some(1), admitted("c", Some(1), Mode::Rtc, ClientRole::Audience), 0);
        assert_eq!(joined_of(&drain(&mut hub), 1).role, ClientRole::Host);
        hub.set_client_role(1, Some(2), ClientRole::Audience);
        assert_eq!(frames_to(&drain(&mut hub), 1), vec![ServerFrame::Ok { id: 2 }]);
    }

    #[test]
    fn tokens_warn_then_expire_unless_renewed() {
        let config = HubConfig {
            token_will_expire_lead_ms: 30_000,
            ..HubConfig::default()
        };
        let mut hub = Hub::new(config);
        let mut a = admitted("c", Some(1), Mode::Rtc, ClientRole::Host);
        a.token_expires_at_ms = Some(100_000);
        hub.join(1, Some(1), a.clone(), 0);
        a.uid = Some(2);
        hub.join(2, Some(1), a, 0);
        drain(&mut hub);
        for now in [10_000, 69_999] {
            hub.heard_from(1, now);
            hub.heard_from(2, now);
            hub.handle_timeout(now);
        }
        assert!(drain(&mut hub).is_empty());
        hub.handle_timeout(70_000);
        let out = drain(&mut hub);
        let warn = ServerFrame::TokenPrivilegeWillExpire { expires_at: 100 };
        assert_eq!(frames_to(&out, 1), vec![warn.clone()]);
        assert_eq!(frames_to(&out, 2), vec![warn]);
        let renewed = RenewedGrant {
            token_expires_at_ms: Some(500_000),
            ..RenewedGrant::UNLIMITED
        };
        hub.renew_token(2, Some(9), renewed, 80_000);
        assert_eq!(frames_to(&drain(&mut hub), 2), vec![ServerFrame::Ok { id: 9 }]);
        for now in [85_000, 99_999] {
            hub.heard_from(1, now);
            hub.heard_from(2, now);
            hub.handle_timeout(now);
        }
        assert!(drain(&mut hub).is_empty(), "warned once only");
        hub.handle_timeout(100_000);
        let out = drain(&mut hub);
        assert_eq!(
            frames_to(&out, 1),
            vec![
                ServerFrame::TokenPrivilegeDidExpire,
                ServerFrame::Disconnected {
                    reason: DisconnectReason::TokenExpire
                }
            ]
        );
        assert!(out.contains(&Output::Close(1)));
        assert_eq!(
            frames_to(&out, 2),
            vec![ServerFrame::UserLeft {
                uid: 1,
                reason: UserLeftReason::Quit
            }]
        );
        assert_eq!(hub.take_ended(), vec![Ended::TokenExpired]);
    }

    #[test]
    fn requests_before_join_are_invalid_operations() {
        let mut hub = Hub::new(HubConfig::default());
        hub.ping(1, Some(1), 0);
        hub.leave(1, Some(2));
        hub.set_client_role(1, Some(3), ClientRole::Host);
        let out = drain(&mut hub);
        assert_eq!(out.len(), 3);
        for frame in frames_to(&out, 1) {
            let ServerFrame::Error { error, .. } = frame else {
                panic!()
            };
            assert_eq!(error.code, ErrorCode::InvalidOperation);
        }
        hub.join(1, Some(4), admitted("c", Some(1), Mode::Rtc, ClientRole::Host), 0);
        hub.join(1, Some(5), admitted("c", Some(2), Mode::Rtc, ClientRole::Host), 0);
        let out = drain(&mut hub);
        let ServerFrame::Error { id: Some(5), error } = &frames_to(&out, 1)[1] else {
            panic!("{out:?}")
        };
        assert_eq!(error.code, ErrorCode::InvalidOperation);
    }

    #[test]
    fn fifty_join_leave_cycles_leave_nothing_behind() {
        let mut hub = Hub::new(HubConfig {
            session_timeout_ms: 100,
            ..HubConfig::default()
        });
        for i in 0..50u64 {
            hub.join(i * 2, None, admitted("c", None, Mode::Rtc, ClientRole::Host), i * 1000);
            hub.join(
                i * 2 + 1,
                None,
                admitted("c", None, Mode::Live, ClientRole::Audience),
                i * 1000,
            );
            hub.leave(i * 2, None);
            hub.connection_closed(i * 2 + 1);
            hub.handle_timeout(i * 1000 + 100);
            drain(&mut hub);
        }
        assert_eq!((hub.session_count(), hub.channel_count(), hub.conns.len()), (0, 0, 0));
    }

    fn track(media_type: MediaType) -> TrackState {
        TrackState {
            media_type,
            muted: false,
            enabled: true,
        }
    }

    fn error_code(outputs: &[Output], conn: ConnId) -> Option<ErrorCode> {
        frames_to(outputs, conn).into_iter().find_map(|f| match f {
            ServerFrame::Error { error, .. } => Some(error.code),
            _ => None,
        })
    }

    fn media_ops(outputs: &[Output]) -> Vec<MediaOp> {
        outputs
            .iter()
            .filter_map(|o| match o {
                Output::Media(op) => Some(op.clone()),
                _ => None,
            })
            .collect()
    }

    /// Two users in "c" (uids 1 and 2, conns 1 and 2); user 1 publishes audio and video.
    fn publishing_pair() -> Hub {
        let mut hub = Hub::new(HubConfig::default());
        hub.join(1, Some(1), admitted("c", Some(1), Mode::Rtc, ClientRole::Host), 0);
        hub.join(2, Some(1), admitted("c", Some(2), Mode::Rtc, ClientRole::Host), 0);
        drain(&mut hub);
        hub.publish(
            1,
            Some(2),
            vec![track(MediaType::Audio), track(MediaType::Video)],
            "offer".into(),
            0,
        );
        let out = drain(&mut hub);
        let [
            MediaOp::Publish {
                offer,
                conn: 1,
                id: Some(2),
                ..
            },
        ] = &media_ops(&out)[..]
        else {
            panic!("{out:?}")
        };
        assert_eq!(offer, "offer");
        assert!(
            frames_to(&out, 2).is_empty(),
            "nothing is announced before the media plane answers"
        );
        hub.media_done(1, Some(2), Ok(MediaAnswer::Answer("answer".into())));
        let out = drain(&mut hub);
        assert_eq!(
            frames_to(&out, 1),
            vec![ServerFrame::Published {
                id: Some(2),
                answer: "answer".into()
            }]
        );
        assert_eq!(
            frames_to(&out, 2),
            vec![
                ServerFrame::UserPublished {
                    uid: 1,
                    media_type: MediaType::Audio
                },
                ServerFrame::UserPublished {
                    uid: 1,
                    media_type: MediaType::Video
                }
            ]
        );
        hub
    }

    #[test]
    fn ice_restarts_renegotiate_without_announcing_anything() {
        let mut hub = publishing_pair();
        // The publisher re-offers with new ICE credentials: a publish round on the media plane, nothing announced.
        hub.restart_publisher_ice(1, Some(7), "restart offer".into());
        let out = drain(&mut hub);
        let [MediaOp::Publish { offer, id: Some(7), .. }] = &media_ops(&out)[..] else {
            panic!("{out:?}")
        };
        assert_eq!(offer, "restart offer");
        hub.media_done(1, Some(7), Ok(MediaAnswer::Answer("restart answer".into())));
        let out = drain(&mut hub);
        let published = ServerFrame::Published {
            id: Some(7),
            answer: "restart answer".into(),
        };
        assert_eq!(frames_to(&out, 1), vec![published]);
        assert!(frames_to(&out, 2).is_empty(), "others see no change");
        // The subscriber transport restarts with an offer from the media plane.
        hub.restart_subscriber_ice(2, Some(8));
        let out = drain(&mut hub);
        assert!(matches!(
            &media_ops(&out)[..],
            [MediaOp::RestartSubscriberIce {
                conn: 2,
                id: Some(8),
                ..
            }]
        ));
        hub.media_done(2, Some(8), Ok(MediaAnswer::Offer("restart".into())));
        let offer = ServerFrame::Subscribed {
            id: Some(8),
            offer: "restart".into(),
        };
        assert_eq!(frames_to(&drain(&mut hub), 2), vec![offer]);
        // Nothing published: no publisher transport to restart.
        hub.restart_publisher_ice(2, Some(9), "offer".into());
        let out = drain(&mut hub);
        assert_eq!(error_code(&out, 2), Some(ErrorCode::InvalidOperation));
        assert!(media_ops(&out).is_empty());
    }

    #[test]
    fn publications_are_announced_and_shown_to_late_joiners() {
        let mut hub = publishing_pair();
        hub.join(3, Some(1), admitted("c", Some(3), Mode::Rtc, ClientRole::Host), 0);
        let users = joined_of(&drain(&mut hub), 3).users;
        let publisher = users.iter().find(|u| u.uid == 1).unwrap();
        assert_eq!(publisher.tracks, vec![track(MediaType::Audio), track(MediaType::Video)]);
        hub.unpublish(1, Some(3), &[MediaType::Video]);
        let out = drain(&mut hub);
        assert_eq!(
            frames_to(&out, 2),
            vec![ServerFrame::UserUnpublished {
                uid: 1,
                media_type: MediaType::Video
            }]
        );
        assert_eq!(
            media_ops(&out),
            vec![MediaOp::Unpublish {
                session: hub.conns[&1].clone(),
                media_type: MediaType::Video
            }]
        );
    }

    #[test]
    fn mute_and_enable_changes_are_user_info_updates() {
        let mut hub = publishing_pair();
        hub.set_track_state(
            1,
            Some(5),
            TrackState {
                muted: true,
                ..track(MediaType::Audio)
            },
        );
        let out = drain(&mut hub);
        assert_eq!(
            frames_to(&out, 2),
            vec![
                ServerFrame::UserInfoUpdated {
                    uid: 1,
                    msg: UserInfoMessage::MuteAudio
                },
                ServerFrame::UserUnpublished {
                    uid: 1,
                    media_type: MediaType::Audio
                }
            ]
        );
        hub.set_track_state(
            1,
            Some(6),
            TrackState {
                enabled: false,
                ..track(MediaType::Video)
            },
        );
        let out = drain(&mut hub);
        assert_eq!(
            frames_to(&out, 2),
            vec![
                ServerFrame::UserInfoUpdated {
                    uid: 1,
                    msg: UserInfoMessage::DisableLocalVideo
                },
                ServerFrame::UserUnpublished {
                    uid: 1,
                    media_type: MediaType::Video
                }
            ]
        );
        hub.set_track_state(1, Some(7), track(MediaType::Audio));
        let out = drain(&mut hub);
        assert_eq!(
            frames_to(&out, 2),
            vec![
                ServerFrame::UserInfoUpdated {
                    uid: 1,
                    msg: UserInfoMessage::UnmuteAudio
                },
                ServerFrame::UserPublished {
                    uid: 1,
                    media_type: MediaType::Audio
                }
            ]
        );
        // A muted track cannot be subscribed; an unmuted one can.
        hub.subscribe(2, Some(8), 1, MediaType::Video);
        assert_eq!(
            error_code(&drain(&mut hub), 2),
            Some(ErrorCode::RemoteUserIsNotPublished)
        );
        hub.subscribe(2, Some(9), 1, MediaType::Audio);
        let out = drain(&mut hub);
        let [
            MediaOp::Subscribe {
                media_type: MediaType::Audio,
                conn: 2,
                id: Some(9),
                ..
            },
        ] = &media_ops(&out)[..]
        else {
            panic!("{out:?}")
        };
        hub.media_done(2, Some(9), Ok(MediaAnswer::Offer("sub-offer".into())));
        assert_eq!(
            frames_to(&drain(&mut hub), 2),
            vec![ServerFrame::Subscribed {
                id: Some(9),
                offer: "sub-offer".into()
            }]
        );
    }

    #[test]
    fn publish_and_subscribe_refusals_have_their_codes() {
        let mut hub = publishing_pair();
        // A second video track.
        hub.publish(1, Some(10), vec![track(MediaType::Video)], "o".into(), 0);
        assert_eq!(
            error_code(&drain(&mut hub), 1),
            Some(ErrorCode::CanNotPublishMultipleVideoTracks)
        );
        hub.publish(
            2,
            Some(10),
            vec![track(MediaType::Video), track(MediaType::Video)],
            "o".into(),
            0,
        );
        assert_eq!(
            error_code(&drain(&mut hub), 2),
            Some(ErrorCode::CanNotPublishMultipleVideoTracks)
        );
        // A second audio track: mixing is the client's job.
        hub.publish(1, Some(10), vec![track(MediaType::Audio)], "o".into(), 0);
        assert_eq!(error_code(&drain(&mut hub), 1), Some(ErrorCode::InvalidOperation));
        hub.publish(
            2,
            Some(11),
            vec![TrackState {
                enabled: false,
                ..track(MediaType::Audio)
            }],
            "o".into(),
            0,
        );
        assert_eq!(error_code(&drain(&mut hub), 2), Some(ErrorCode::TrackIsDisabled));
        hub.publish(2, Some(12), vec![], "o".into(), 0);
        assert_eq!(error_code(&drain(&mut hub), 2), Some(ErrorCode::InvalidParams));
        hub.publish(9, Some(1), vec![track(MediaType::Audio)], "o".into(), 0);
        assert_eq!(error_code(&drain(&mut hub), 9), Some(ErrorCode::InvalidOperation));
        // Subscribing to nobody, to oneself, or to what user 2 does not publish.
        hub.subscribe(1, Some(13), 77, MediaType::Audio);
        assert_eq!(error_code(&drain(&mut hub), 1), Some(ErrorCode::InvalidRemoteUser));
        hub.subscribe(1, Some(14), 1, MediaType::Audio);
        assert_eq!(error_code(&drain(&mut hub), 1), Some(ErrorCode::InvalidRemoteUser));
        hub.subscribe(1, Some(15), 2, MediaType::Audio);
        assert_eq!(
            error_code(&drain(&mut hub), 1),
            Some(ErrorCode::RemoteUserIsNotPublished)
        );
        // The media plane's refusal reaches the client.
        hub.publish(2, Some(16), vec![track(MediaType::Audio)], "bad sdp".into(), 0);
        drain(&mut hub);
        hub.media_done(2, Some(16), Err(RtcError::new(ErrorCode::ExchangeSdpFailed, "bad sdp")));
        assert_eq!(error_code(&drain(&mut hub), 2), Some(ErrorCode::ExchangeSdpFailed));
        // Leaving releases the media side too.
        hub.leave(1, None);
        let out = drain(&mut hub);
        assert!(media_ops(&out).iter().any(|op| matches!(op, MediaOp::Remove { .. })));
    }

    #[test]
    fn audience_and_token_limits_on_publishing() {
        let mut hub = Hub::new(HubConfig::default());
        hub.join(1, Some(1), admitted("c", Some(1), Mode::Live, ClientRole::Audience), 0);
        let mut no_video = admitted("c", Some(2), Mode::Rtc, ClientRole::Host);
        no_video.publish_video_until_ms = None;
        no_video.publish_audio_until_ms = Some(1_000);
        hub.join(2, Some(1), no_video, 0);
        drain(&mut hub);
        hub.publish(1, Some(2), vec![track(MediaType::Audio)], "o".into(), 0);
        assert_eq!(error_code(&drain(&mut hub), 1), Some(ErrorCode::InvalidOperation));
        hub.publish(2, Some(2), vec![track(MediaType::Video)], "o".into(), 0);
        let out = drain(&mut hub);
        let ServerFrame::Error { error, .. } = &frames_to(&out, 2)[0] else {
            panic!()
        };
        assert_eq!(error.code, ErrorCode::InvalidOperation);
        assert!(
            error.detail.contains("does not grant publishing video"),
            "{}",
            error.detail
        );
        hub.publish(2, Some(3), vec![track(MediaType::Audio)], "o".into(), 999);
        assert!(matches!(&media_ops(&drain(&mut hub))[..], [MediaOp::Publish { .. }]));
        hub.publish(2, Some(4), vec![track(MediaType::Audio)], "o".into(), 1_000);
        assert_eq!(
            error_code(&drain(&mut hub), 2),
            Some(ErrorCode::InvalidOperation),
            "the audio privilege expired"
        );
        // A renewed token brings new publish privileges: audio until 5 s, video now granted.
        let renewed = RenewedGrant {
            token_expires_at_ms: Some(60_000),
            publish_audio_until_ms: Some(5_000),
            publish_video_until_ms: Some(5_000),
        };
        hub.renew_token(2, Some(40), renewed, 1_500);
        assert_eq!(frames_to(&drain(&mut hub), 2), vec![ServerFrame::Ok { id: 40 }]);
        hub.publish(
            2,
            Some(41),
            vec![track(MediaType::Audio), track(MediaType::Video)],
            "o".into(),
            2_000,
        );
        assert!(matches!(&media_ops(&drain(&mut hub))[..], [MediaOp::Publish { .. }]));
        hub.media_done(2, Some(41), Err(RtcError::new(ErrorCode::InvalidParams, "bad sdp")));
        drain(&mut hub);
        // And a renewal can take them away again.
        let renewed = RenewedGrant {
            token_expires_at_ms: Some(60_000),
            publish_audio_until_ms: None,
            publish_video_until_ms: None,
        };
        hub.renew_token(2, Some(42), renewed, 2_000);
        drain(&mut hub);
        hub.publish(2, Some(43), vec![track(MediaType::Audio)], "o".into(), 2_500);
        assert_eq!(error_code(&drain(&mut hub), 2), Some(ErrorCode::InvalidOperation));
        // A live host that publishes cannot become audience.
        hub.set_client_role(1, Some(5), ClientRole::Host);
        hub.publish(1, Some(6), vec![track(MediaType::Audio)], "o".into(), 0);
        hub.media_done(1, Some(6), Ok(MediaAnswer::Answer("a".into())));
        drain(&mut hub);
        hub.set_client_role(1, Some(7), ClientRole::Audience);
        assert_eq!(error_code(&drain(&mut hub), 1), Some(ErrorCode::InvalidOperation));
    }
}

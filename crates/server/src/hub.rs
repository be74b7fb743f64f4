//! The signalling core: channels, their users and sessions, presence, roles, token expiry and session timeouts.
//! Sans-IO: connections are numbers, time is passed in (Unix milliseconds), and every effect is an [`Output`] the
//! shell sends. One task owns the hub, so nothing here locks.

use std::collections::{BTreeMap, HashMap, VecDeque};

use rand::Rng;
use stoa_proto::signal::{ClientRole, DisconnectReason, Joined, Mode, ServerFrame, UserInfo, UserLeftReason};
use stoa_proto::{ErrorCode, RtcError};

/// A WebSocket connection, numbered by the shell.
pub type ConnId = u64;

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
}

impl Session {
    /// In live mode only hosts are announced.
    fn announced(&self) -> bool {
        self.mode == Mode::Rtc || self.role == ClientRole::Host
    }

    fn user_info(&self) -> UserInfo {
        UserInfo {
            uid: self.identity.uid,
            account: self.identity.account.clone(),
        }
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
            .map(Session::user_info)
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

    /// The shell verified a new token for this connection's identity; it expires at `expires_at_ms`.
    pub fn renew_token(&mut self, conn: ConnId, id: Option<u32>, expires_at_ms: Option<u64>, now_ms: u64) {
        let Some(sid) = self.session_of(conn, id) else { return };
        let session = self.sessions.get_mut(&sid).expect("conn maps to a live session");
        session.token_expires_at_ms = expires_at_ms;
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
        assert_eq!(joined_of(&out, 2).users, vec![UserInfo { uid: 10, account: None }]);
        assert_eq!(
            frames_to(&out, 1),
            vec![ServerFrame::UserJoined(UserInfo { uid: 20, account: None })]
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
        assert_eq!(joined_of(&out, 2).users, vec![UserInfo { uid: 1, account: None }]);
        assert!(frames_to(&out, 1).is_empty(), "audience is not announced");
        hub.join(3, Some(1), admitted("c", Some(3), Mode::Live, ClientRole::Audience), 0);
        assert!(joined_of(&drain(&mut hub), 3).users == vec![UserInfo { uid: 1, account: None }]);
        hub.set_client_role(2, Some(2), ClientRole::Host);
        let out = drain(&mut hub);
        assert_eq!(frames_to(&out, 2), vec![ServerFrame::Ok { id: 2 }]);
        assert_eq!(
            frames_to(&out, 1),
            vec![ServerFrame::UserJoined(UserInfo { uid: 2, account: None })]
        );
        assert_eq!(
            frames_to(&out, 3),
            vec![ServerFrame::UserJoined(UserInfo { uid: 2, account: None })]
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
        hub.renew_token(2, Some(9), Some(500_000), 80_000);
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
}

//! The client's state machine, sans IO: connection state, the remote users, and the events they produce. The
//! client's driver ([`crate::Client`]) feeds it server frames and link changes and forwards the events it queues.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;

use stoa_proto::signal::{DisconnectReason, Joined, MediaType, ServerFrame, UserInfo, UserInfoMessage, UserLeftReason};

/// A user id as the application sees it: a number, or the string it joined with.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Uid {
    Number(u32),
    Account(String),
}

impl From<u32> for Uid {
    fn from(uid: u32) -> Self {
        Uid::Number(uid)
    }
}

impl From<&str> for Uid {
    fn from(account: &str) -> Self {
        Uid::Account(account.to_string())
    }
}

impl From<String> for Uid {
    fn from(account: String) -> Self {
        Uid::Account(account)
    }
}

impl fmt::Display for Uid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Uid::Number(n) => write!(f, "{n}"),
            Uid::Account(a) => f.write_str(a),
        }
    }
}

/// `ConnectionState` of the Web SDK.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConnectionState {
    Disconnected,
    Connecting,
    Reconnecting,
    Connected,
    Disconnecting,
}

impl ConnectionState {
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionState::Disconnected => "DISCONNECTED",
            ConnectionState::Connecting => "CONNECTING",
            ConnectionState::Reconnecting => "RECONNECTING",
            ConnectionState::Connected => "CONNECTED",
            ConnectionState::Disconnecting => "DISCONNECTING",
        }
    }
}

/// `IAgoraRTCRemoteUser`: a user in the channel, other than this client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteUser {
    pub uid: Uid,
    /// The number behind a string uid (the same as `uid` for number uids).
    pub uint_uid: u32,
    /// Publishes an audio track that is enabled and not muted.
    pub has_audio: bool,
    /// Publishes a video track that is enabled and not muted.
    pub has_video: bool,
}

impl From<&RemoteUser> for Uid {
    fn from(user: &RemoteUser) -> Self {
        user.uid.clone()
    }
}

impl RemoteUser {
    /// `has_audio` or `has_video`: whether the user's track of `media_type` can be subscribed now.
    pub fn has(&self, media_type: MediaType) -> bool {
        match media_type {
            MediaType::Audio => self.has_audio,
            MediaType::Video => self.has_video,
        }
    }

    fn set(&mut self, media_type: MediaType, available: bool) {
        match media_type {
            MediaType::Audio => self.has_audio = available,
            MediaType::Video => self.has_video = available,
        }
    }
}

impl From<&UserInfo> for RemoteUser {
    fn from(info: &UserInfo) -> Self {
        let uid = match &info.account {
            Some(account) => Uid::Account(account.clone()),
            None => Uid::Number(info.uid),
        };
        let has = |media_type| info.tracks.iter().any(|t| t.media_type == media_type && t.available());
        RemoteUser {
            uid,
            uint_uid: info.uid,
            has_audio: has(MediaType::Audio),
            has_video: has(MediaType::Video),
        }
    }
}

/// The client events of the Web SDK, by the same names.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// `connection-state-change`; `reason` is set when the new state is DISCONNECTED.
    ConnectionStateChange {
        current: ConnectionState,
        previous: ConnectionState,
        reason: Option<DisconnectReason>,
    },
    /// `user-joined`: also fired once for each user already in the channel (in live mode, hosts only).
    UserJoined(RemoteUser),
    /// `user-left` with `Quit`, `ServerTimeOut` or `BecomeAudience`.
    UserLeft(RemoteUser, UserLeftReason),
    /// `user-published`: the user's track of this type can be subscribed (also fired for tracks already published
    /// when this client joins).
    UserPublished(RemoteUser, MediaType),
    /// `user-unpublished`: the track was unpublished, muted or disabled.
    UserUnpublished(RemoteUser, MediaType),
    /// `user-info-updated`.
    UserInfoUpdated(Uid, UserInfoMessage),
    /// `network-quality`, every 2 s while connected: this client's own rating of its link (see
    /// [`NetworkQuality::level`]). Hosts also send it to the server, which relays it to the others.
    NetworkQuality(NetworkQuality),
    /// `token-privilege-will-expire`: renew the token now.
    TokenPrivilegeWillExpire,
    /// `token-privilege-did-expire`: the client is being disconnected with `TOKEN_EXPIRE`.
    TokenPrivilegeDidExpire,
    /// `media-reconnect-start`: a media transport lost its UDP path (nothing received for 3 s, or ICE failed). The
    /// local uid means the publishing transport, a remote uid a subscription to that user.
    MediaReconnectStart(Uid),
    /// `media-reconnect-end`: that transport carries media again.
    MediaReconnectEnd(Uid),
}

/// A user's own rating of its link, on Agora's scale: 0 unknown, 1 excellent ... 5 very bad, 6 down
/// (`NetworkQuality`'s `uplinkNetworkQuality` / `downlinkNetworkQuality`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NetworkQuality {
    pub uplink: u8,
    pub downlink: u8,
}

/// One direction of a link over the last interval: loss as a fraction (0 to 1), round trip and jitter in ms.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LinkSample {
    pub loss_rate: f64,
    pub rtt_ms: f64,
    pub jitter_ms: f64,
}

impl NetworkQuality {
    /// The level of one direction: the worst that loss, round trip or jitter reaches, 0 when nothing measured it.
    /// The steps are the Web SDK's (`web/src/stats.ts`), so both SDKs rate a link alike: under 1 % loss and 100 ms
    /// nothing shows; from 3 % and 200 ms video stutters now and then; from 8 % and 400 ms conversation suffers;
    /// past 50 % loss the link is down.
    pub fn level(sample: Option<LinkSample>) -> u8 {
        const STEPS: [(f64, f64, f64); 5] = [
            (0.01, 100.0, 30.0),
            (0.03, 200.0, 50.0),
            (0.08, 400.0, 100.0),
            (0.15, 800.0, 200.0),
            (0.3, 1600.0, 400.0),
        ];
        let Some(sample) = sample else { return 0 };
        if sample.loss_rate >= 0.5 {
            return 6;
        }
        STEPS
            .iter()
            .position(|&(loss, rtt, jitter)| {
                sample.loss_rate < loss && sample.rtt_ms < rtt && sample.jitter_ms < jitter
            })
            .map_or(5, |step| step as u8 + 1)
    }
}

/// The state behind a [`crate::Client`].
#[derive(Debug)]
pub struct ClientState {
    connection: ConnectionState,
    remote: BTreeMap<u32, RemoteUser>,
    /// The last rating each remote user reported (only users who reported one).
    remote_quality: BTreeMap<u32, NetworkQuality>,
    events: VecDeque<Event>,
}

impl Default for ClientState {
    fn default() -> Self {
        ClientState {
            connection: ConnectionState::Disconnected,
            remote: BTreeMap::new(),
            remote_quality: BTreeMap::new(),
            events: VecDeque::new(),
        }
    }
}

impl ClientState {
    pub fn connection(&self) -> ConnectionState {
        self.connection
    }

    pub fn remote_users(&self) -> Vec<RemoteUser> {
        self.remote.values().cloned().collect()
    }

    /// Each remote user's last reported link quality (`getRemoteNetworkQuality`): unknown (0, 0) until it reports.
    pub fn remote_network_quality(&self) -> Vec<(Uid, NetworkQuality)> {
        self.remote
            .iter()
            .map(|(uid, user)| {
                (
                    user.uid.clone(),
                    self.remote_quality.get(uid).copied().unwrap_or_default(),
                )
            })
            .collect()
    }

    /// Queues an event that does not change the state (media events from the engine).
    pub fn queue_event(&mut self, event: Event) {
        self.events.push_back(event);
    }

    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Moves to `next`, queuing `connection-state-change` when it differs. Leaving the channel forgets the remote
    /// users without `user-left` events, as the Web SDK does.
    pub fn set_connection(&mut self, next: ConnectionState, reason: Option<DisconnectReason>) {
        if next == self.connection {
            return;
        }
        let previous = std::mem::replace(&mut self.connection, next);
        if next == ConnectionState::Disconnected {
            self.remote.clear();
        }
        let reason = if next == ConnectionState::Disconnected {
            reason
        } else {
            None
        };
        self.events.push_back(Event::ConnectionStateChange {
            current: next,
            previous,
            reason,
        });
    }

    /// A join or rejoin succeeded: CONNECTED, and the remote users become the server's list. After a reconnection
    /// only the differences are reported: users who left meanwhile get `user-left`, new ones `user-joined`.
    pub fn joined(&mut self, joined: &Joined) {
        let now: BTreeMap<u32, RemoteUser> = joined.users.iter().map(|u| (u.uid, RemoteUser::from(u))).collect();
        let gone: Vec<RemoteUser> = self
            .remote
            .iter()
            .filter(|(k, _)| !now.contains_key(k))
            .map(|(_, u)| u.clone())
            .collect();
        for user in gone {
            self.remote.remove(&user.uint_uid);
            self.events.push_back(Event::UserLeft(user, UserLeftReason::Quit));
        }
        self.set_connection(ConnectionState::Connected, None);
        for (uid, user) in now {
            match self.remote.get(&uid).cloned() {
                None => {
                    self.remote.insert(uid, user.clone());
                    self.events.push_back(Event::UserJoined(user.clone()));
                    for media_type in [MediaType::Audio, MediaType::Video] {
                        if user.has(media_type) {
                            self.events.push_back(Event::UserPublished(user.clone(), media_type));
                        }
                    }
                }
                Some(known) => {
                    for media_type in [MediaType::Audio, MediaType::Video] {
                        if known.has(media_type) != user.has(media_type) {
                            self.set_available(uid, media_type, user.has(media_type));
                        }
                    }
                }
            }
        }
    }

    /// Records a change of `has_audio` / `has_video` and queues `user-published` or `user-unpublished`.
    fn set_available(&mut self, uid: u32, media_type: MediaType, available: bool) {
        let Some(user) = self.remote.get_mut(&uid) else { return };
        if user.has(media_type) == available {
            return;
        }
        user.set(media_type, available);
        let user = user.clone();
        self.events.push_back(if available {
            Event::UserPublished(user, media_type)
        } else {
            Event::UserUnpublished(user, media_type)
        });
    }

    /// Applies a server push. Replies are handled by the driver.
    pub fn push(&mut self, frame: &ServerFrame) {
        match frame {
            ServerFrame::UserJoined(info) => {
                let user = RemoteUser::from(info);
                if self.remote.insert(info.uid, user.clone()).is_none() {
                    self.events.push_back(Event::UserJoined(user));
                }
            }
            ServerFrame::UserLeft { uid, reason } => {
                self.remote_quality.remove(uid);
                if let Some(user) = self.remote.remove(uid) {
                    self.events.push_back(Event::UserLeft(user, *reason));
                }
            }
            ServerFrame::TokenPrivilegeWillExpire { .. } => self.events.push_back(Event::TokenPrivilegeWillExpire),
            ServerFrame::TokenPrivilegeDidExpire => self.events.push_back(Event::TokenPrivilegeDidExpire),
            ServerFrame::Disconnected { reason } => self.set_connection(ConnectionState::Disconnected, Some(*reason)),
            ServerFrame::UserPublished { uid, media_type } => self.set_available(*uid, *media_type, true),
            ServerFrame::UserUnpublished { uid, media_type } => self.set_available(*uid, *media_type, false),
            ServerFrame::UserInfoUpdated { uid, msg } => {
                if let Some(user) = self.remote.get(uid) {
                    self.events.push_back(Event::UserInfoUpdated(user.uid.clone(), *msg));
                }
            }
            ServerFrame::UserNetworkQuality { uid, uplink, downlink } => {
                if self.remote.contains_key(uid) {
                    let quality = NetworkQuality {
                        uplink: *uplink,
                        downlink: *downlink,
                    };
                    self.remote_quality.insert(*uid, quality);
                }
            }
            ServerFrame::Joined { .. }
            | ServerFrame::Ok { .. }
            | ServerFrame::Error { .. }
            | ServerFrame::Published { .. }
            | ServerFrame::Subscribed { .. } => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stoa_proto::signal::ClientRole;

    fn joined(users: &[u32]) -> Joined {
        Joined {
            uid: 1,
            account: None,
            role: ClientRole::Host,
            session_id: "s".into(),
            resume_token: "r".into(),
            keepalive_ms: 3000,
            session_timeout_ms: 20000,
            users: users.iter().map(|&uid| UserInfo::new(uid, None)).collect(),
        }
    }

    fn events(state: &mut ClientState) -> Vec<Event> {
        std::iter::from_fn(|| state.poll_event()).collect()
    }

    fn user(uid: u32) -> RemoteUser {
        RemoteUser {
            uid: Uid::Number(uid),
            uint_uid: uid,
            has_audio: false,
            has_video: false,
        }
    }

    #[test]
    fn join_reports_present_users_and_state_changes() {
        let mut state = ClientState::default();
        state.set_connection(ConnectionState::Connecting, None);
        state.joined(&joined(&[2, 3]));
        assert_eq!(
            events(&mut state),
            vec![
                Event::ConnectionStateChange {
                    current: ConnectionState::Connecting,
                    previous: ConnectionState::Disconnected,
                    reason: None
                },
                Event::ConnectionStateChange {
                    current: ConnectionState::Connected,
                    previous: ConnectionState::Connecting,
                    reason: None
                },
                Event::UserJoined(user(2)),
                Event::UserJoined(user(3)),
            ]
        );
        state.push(&ServerFrame::UserLeft {
            uid: 2,
            reason: UserLeftReason::ServerTimeOut,
        });
        state.push(&ServerFrame::UserLeft {
            uid: 9,
            reason: UserLeftReason::Quit,
        });
        assert_eq!(
            events(&mut state),
            vec![Event::UserLeft(user(2), UserLeftReason::ServerTimeOut)]
        );
    }

    #[test]
    fn a_rejoin_reports_only_what_changed_while_away() {
        let mut state = ClientState::default();
        state.joined(&joined(&[2, 3]));
        events(&mut state);
        state.set_connection(ConnectionState::Reconnecting, Some(DisconnectReason::NetworkError));
        state.joined(&joined(&[3, 4]));
        assert_eq!(
            events(&mut state),
            vec![
                Event::ConnectionStateChange {
                    current: ConnectionState::Reconnecting,
                    previous: ConnectionState::Connected,
                    reason: None
                },
                Event::UserLeft(user(2), UserLeftReason::Quit),
                Event::ConnectionStateChange {
                    current: ConnectionState::Connected,
                    previous: ConnectionState::Reconnecting,
                    reason: None
                },
                Event::UserJoined(user(4)),
            ]
        );
    }

    #[test]
    fn string_uids_show_as_accounts_and_disconnect_forgets_users() {
        let mut state = ClientState::default();
        state.joined(&joined(&[]));
        state.push(&ServerFrame::UserJoined(UserInfo::new(77, Some("amy".into()))));
        assert_eq!(
            state.remote_users(),
            vec![RemoteUser {
                uid: Uid::Account("amy".into()),
                uint_uid: 77,
                has_audio: false,
                has_video: false
            }]
        );
        state.push(&ServerFrame::Disconnected {
            reason: DisconnectReason::TokenExpire,
        });
        assert!(state.remote_users().is_empty());
        let last = events(&mut state).pop().unwrap();
        assert_eq!(
            last,
            Event::ConnectionStateChange {
                current: ConnectionState::Disconnected,
                previous: ConnectionState::Connected,
                reason: Some(DisconnectReason::TokenExpire)
            }
        );
    }

    #[test]
    fn remote_network_quality_is_kept_per_user_until_they_leave() {
        let mut state = ClientState::default();
        state.push(&ServerFrame::UserJoined(UserInfo::new(7, None)));
        state.push(&ServerFrame::UserJoined(UserInfo::new(8, None)));
        state.push(&ServerFrame::UserNetworkQuality {
            uid: 7,
            uplink: 2,
            downlink: 1,
        });
        // A rating from a user this client does not know is dropped.
        state.push(&ServerFrame::UserNetworkQuality {
            uid: 99,
            uplink: 6,
            downlink: 6,
        });
        let good = NetworkQuality { uplink: 2, downlink: 1 };
        assert_eq!(
            state.remote_network_quality(),
            vec![(Uid::Number(7), good), (Uid::Number(8), NetworkQuality::default())]
        );
        state.push(&ServerFrame::UserLeft {
            uid: 7,
            reason: UserLeftReason::Quit,
        });
        state.push(&ServerFrame::UserJoined(UserInfo::new(7, None)));
        assert_eq!(
            state.remote_network_quality()[0],
            (Uid::Number(7), NetworkQuality::default()),
            "a user who came back has not rated its link yet"
        );
    }

    #[test]
    fn a_link_is_rated_by_its_worst_measure_on_the_web_sdks_scale() {
        let link = |loss_rate, rtt_ms, jitter_ms| {
            Some(LinkSample {
                loss_rate,
                rtt_ms,
                jitter_ms,
            })
        };
        assert_eq!(NetworkQuality::level(None), 0);
        assert_eq!(NetworkQuality::level(link(0.0, 2.0, 0.0)), 1);
        assert_eq!(NetworkQuality::level(link(0.02, 20.0, 0.0)), 2);
        assert_eq!(NetworkQuality::level(link(0.0, 150.0, 0.0)), 2);
        assert_eq!(NetworkQuality::level(link(0.0, 20.0, 60.0)), 3);
        assert_eq!(NetworkQuality::level(link(0.1, 20.0, 0.0)), 4);
        assert_eq!(NetworkQuality::level(link(0.0, 1000.0, 0.0)), 5);
        assert_eq!(NetworkQuality::level(link(0.4, 20.0, 0.0)), 5);
        assert_eq!(NetworkQuality::level(link(0.6, 20.0, 0.0)), 6);
    }
}

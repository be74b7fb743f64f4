//! The signalling protocol: JSON text frames over one WebSocket per joined client, plus the HTTP discovery exchange
//! that precedes it. docs/protocol.md explains the flows; these types are the only definition.
//!
//! Client frames carry a numeric `id` that the server echoes in its reply (`joined`, `ok` or `error`). Server pushes
//! (`user_joined`, `user_left`, ...) carry no id.

use serde::{Deserialize, Serialize};

use crate::error::RtcError;

/// Largest text frame the server reads; longer frames are answered with `INVALID_PARAMS` and counted.
pub const MAX_FRAME_BYTES: usize = 16 * 1024;

/// Largest `publish`, `restart_publisher_ice` or `subscriber_answer` frame, whose SDP grows with codecs and remote users: a Chromium
/// audio+video offer is 6-10 KiB, and the answer to a subscriber offer for 16 remote users publishing audio and
/// video is about 70 KiB (JSON-escaped). Other frames keep [`MAX_FRAME_BYTES`].
pub const MAX_SDP_FRAME_BYTES: usize = 256 * 1024;

/// How a client asks for its uid.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum UidArg {
    /// No uid (null or 0): the server assigns a free number.
    Assign,
    /// A number uid, 1..=4294967295.
    Number(u32),
    /// A string uid (user account), mapped by the server to a stable number per app.
    Account(String),
}

/// Channel profile, Agora's `mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Communication: everyone is a host.
    #[default]
    Rtc,
    /// Live broadcast: hosts publish, audience members only receive and are not announced.
    Live,
}

/// A user's role; in [`Mode::Rtc`] it is always `Host`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ClientRole {
    #[default]
    Host,
    Audience,
}

/// Why a remote user left, as the Web SDK's `user-left` reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum UserLeftReason {
    /// The user called leave (or was removed by the server, e.g. on token expiry).
    Quit,
    /// Nothing was heard from the user for the session timeout.
    ServerTimeOut,
    /// A host switched to audience in live mode.
    BecomeAudience,
}

impl UserLeftReason {
    pub fn as_str(self) -> &'static str {
        match self {
            UserLeftReason::Quit => "Quit",
            UserLeftReason::ServerTimeOut => "ServerTimeOut",
            UserLeftReason::BecomeAudience => "BecomeAudience",
        }
    }
}

/// Why a connection went to DISCONNECTED: `ConnectionDisconnectedReason`, values equal to the names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DisconnectReason {
    Leave,
    NetworkError,
    ServerError,
    UidBanned,
    IpBanned,
    ChannelBanned,
    TokenExpire,
    UidConflict,
}

impl DisconnectReason {
    pub fn as_str(self) -> &'static str {
        match self {
            DisconnectReason::Leave => "LEAVE",
            DisconnectReason::NetworkError => "NETWORK_ERROR",
            DisconnectReason::ServerError => "SERVER_ERROR",
            DisconnectReason::UidBanned => "UID_BANNED",
            DisconnectReason::IpBanned => "IP_BANNED",
            DisconnectReason::ChannelBanned => "CHANNEL_BANNED",
            DisconnectReason::TokenExpire => "TOKEN_EXPIRE",
            DisconnectReason::UidConflict => "UID_CONFLICT",
        }
    }
}

/// A user as others see it: the number, and the account when it joined with a string uid.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserInfo {
    pub uid: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// What the user publishes now (in the join reply; pushes carry it empty and announce tracks one by one).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tracks: Vec<TrackState>,
}

impl UserInfo {
    /// A user with no published track.
    pub fn new(uid: u32, account: Option<String>) -> Self {
        UserInfo {
            uid,
            account,
            tracks: Vec::new(),
        }
    }
}

/// `"audio"` or `"video"`, as in the Web SDK's `mediaType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaType {
    Audio,
    Video,
}

impl MediaType {
    pub fn as_str(self) -> &'static str {
        match self {
            MediaType::Audio => "audio",
            MediaType::Video => "video",
        }
    }
}

/// A published track and its switches. Others can subscribe while it is enabled and not muted (the Web SDK's
/// `hasAudio` / `hasVideo`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackState {
    pub media_type: MediaType,
    #[serde(default)]
    pub muted: bool,
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,
}

fn enabled_by_default() -> bool {
    true
}

impl TrackState {
    /// Whether others see it as published (`hasAudio` / `hasVideo`).
    pub fn available(&self) -> bool {
        self.enabled && !self.muted
    }
}

/// The `msg` of the Web SDK's `user-info-updated` event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UserInfoMessage {
    MuteAudio,
    UnmuteAudio,
    MuteVideo,
    UnmuteVideo,
    EnableLocalAudio,
    DisableLocalAudio,
    EnableLocalVideo,
    DisableLocalVideo,
}

impl UserInfoMessage {
    /// The message for a track of `media_type` becoming `muted` (or unmuted).
    pub fn muted(media_type: MediaType, muted: bool) -> Self {
        use UserInfoMessage::*;
        match (media_type, muted) {
            (MediaType::Audio, true) => MuteAudio,
            (MediaType::Audio, false) => UnmuteAudio,
            (MediaType::Video, true) => MuteVideo,
            (MediaType::Video, false) => UnmuteVideo,
        }
    }

    /// The message for a track of `media_type` becoming `enabled` (or disabled).
    pub fn enabled(media_type: MediaType, enabled: bool) -> Self {
        use UserInfoMessage::*;
        match (media_type, enabled) {
            (MediaType::Audio, true) => EnableLocalAudio,
            (MediaType::Audio, false) => DisableLocalAudio,
            (MediaType::Video, true) => EnableLocalVideo,
            (MediaType::Video, false) => DisableLocalVideo,
        }
    }
}

/// `POST /api/v1/gateway`: which signalling URL to use. The server checks the app, token, channel and uid here,
/// and the join checks them again. `uid` is a number, a string (account) or null.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GatewayRequest {
    pub app_id: String,
    pub channel: String,
    #[serde(default)]
    pub token: Option<String>,
    #[serde(default)]
    pub uid: serde_json::Value,
    #[serde(default)]
    pub role: ClientRole,
}

/// The answer to a good [`GatewayRequest`]. A refused one is answered with an [`RtcError`] body whose code is
/// `CAN_NOT_GET_GATEWAY_SERVER` (or `INVALID_UINT_UID_FROM_STRING_UID`) and whose `data` is
/// `{"code": <Agora access-point code>, "desc": <reason>, "retry": <bool>}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GatewayResponse {
    /// `ws://` or `wss://` URL of the signalling endpoint.
    pub signalling_url: String,
    /// The number behind a string uid, when one was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
}

/// `POST /api/v1/string-uid`: the number for a user account, allocating one on first use.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StringUidRequest {
    pub app_id: String,
    pub account: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StringUidResponse {
    pub uid: u32,
}

/// One frame from client to server.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClientFrame {
    /// Echoed in the reply. Requests other than join and rejoin that carry no id get no `ok` reply; errors still
    /// come, without id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<u32>,
    #[serde(flatten)]
    pub request: Request,
}

/// What a client asks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Request {
    /// Enter a channel. Answered by [`ServerFrame::Joined`].
    Join(JoinRequest),
    /// Resume a session after the link dropped, within the session timeout. Answered by [`ServerFrame::Joined`]
    /// with the current users; other users saw nothing.
    Rejoin {
        session_id: String,
        resume_token: String,
    },
    /// Leave the channel; the server answers `ok` and closes the socket.
    Leave,
    /// Switch between host and audience (live mode).
    SetClientRole {
        role: ClientRole,
    },
    /// Replace the token before it expires. It must be for the same app, channel and uid.
    RenewToken {
        token: String,
    },
    /// Keepalive; answered `ok`. Any frame counts as a sign of life.
    Ping,
    /// Publish tracks (at most one audio and one video): `offer` is the SDP offer of the client's publisher
    /// transport, covering every track it sends. Answered by [`ServerFrame::Published`]; others get
    /// `user_published` for each available track.
    Publish {
        tracks: Vec<TrackState>,
        offer: String,
    },
    /// Stop publishing these media types; others get `user_unpublished`.
    Unpublish {
        media_types: Vec<MediaType>,
    },
    /// A published track was muted, unmuted, enabled or disabled; others get `user_info_updated` and, when its
    /// availability changed, `user_published` / `user_unpublished`.
    SetTrackState(TrackState),
    /// Receive a remote user's track. Answered by [`ServerFrame::Subscribed`] with a new SDP offer of the
    /// subscriber transport, to be answered with [`Request::SubscriberAnswer`].
    Subscribe {
        uid: u32,
        media_type: MediaType,
    },
    Unsubscribe {
        uid: u32,
        media_type: MediaType,
    },
    /// The client's SDP answer to the last subscriber offer.
    SubscriberAnswer {
        answer: String,
    },
    /// The publisher transport lost its path: `offer` is a re-offer of the same tracks with new ICE credentials
    /// (an ICE restart). Answered by [`ServerFrame::Published`]; others see nothing.
    RestartPublisherIce {
        offer: String,
    },
    /// The subscriber transport lost its path. Answered by [`ServerFrame::Subscribed`] with an offer that restarts
    /// ICE (new credentials), to be answered with [`Request::SubscriberAnswer`].
    RestartSubscriberIce,
    /// The client's own rating of its link on Agora's network quality scale (0 unknown, 1 excellent ... 5 very bad,
    /// 6 down), sent every 2 s without id. Everyone who sees the user gets [`ServerFrame::UserNetworkQuality`]: in
    /// live mode an audience member's rating goes nowhere. A level above 6 is `INVALID_PARAMS`.
    NetworkQuality {
        uplink: u8,
        downlink: u8,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JoinRequest {
    pub app_id: String,
    pub channel: String,
    #[serde(default)]
    pub token: Option<String>,
    /// A number, a string (account) or null: see [`crate::validate::uid_value`].
    #[serde(default)]
    pub uid: serde_json::Value,
    #[serde(default)]
    pub mode: Mode,
    #[serde(default)]
    pub role: ClientRole,
    /// The video codec the client publishes and prefers (`vp8`, `vp9`, `h264`, ...); used by the media plane.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub codec: Option<String>,
}

/// The reply to a join or rejoin.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Joined {
    pub uid: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    pub role: ClientRole,
    /// Identifies the session for [`Request::Rejoin`].
    pub session_id: String,
    /// Secret that proves ownership of the session on rejoin.
    pub resume_token: String,
    /// How often the client should ping.
    pub keepalive_ms: u64,
    /// After this long without a frame the server ends the session (user-left `ServerTimeOut`).
    pub session_timeout_ms: u64,
    /// Users this client sees now (in live mode, hosts only), excluding itself.
    pub users: Vec<UserInfo>,
}

/// One frame from server to client.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// Success reply to `join` or `rejoin`.
    Joined {
        id: Option<u32>,
        #[serde(flatten)]
        joined: Joined,
    },
    /// Success reply to any other request.
    Ok {
        id: u32,
    },
    /// Failure reply (with the request's id), or a complaint about a frame that could not be read (no id).
    Error {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<u32>,
        error: RtcError,
    },
    UserJoined(UserInfo),
    /// Success reply to `publish`, with the SDP answer for the publisher transport.
    Published {
        id: Option<u32>,
        answer: String,
    },
    /// Success reply to `subscribe`, with the SDP offer for the subscriber transport.
    Subscribed {
        id: Option<u32>,
        offer: String,
    },
    UserPublished {
        uid: u32,
        media_type: MediaType,
    },
    UserUnpublished {
        uid: u32,
        media_type: MediaType,
    },
    UserInfoUpdated {
        uid: u32,
        msg: UserInfoMessage,
    },
    UserLeft {
        uid: u32,
        reason: UserLeftReason,
    },
    /// A remote user's own rating of its link (see [`Request::NetworkQuality`]); the Web SDK's
    /// `getRemoteNetworkQuality()`.
    UserNetworkQuality {
        uid: u32,
        uplink: u8,
        downlink: u8,
    },
    /// The token expires at `expires_at` (Unix seconds); renew it.
    TokenPrivilegeWillExpire {
        expires_at: u64,
    },
    /// The token expired; a `disconnected` frame with `TOKEN_EXPIRE` follows and the socket closes.
    TokenPrivilegeDidExpire,
    /// The server ends the session; the socket closes after this frame.
    Disconnected {
        reason: DisconnectReason,
    },
}

impl ServerFrame {
    pub fn error(id: Option<u32>, error: RtcError) -> Self {
        ServerFrame::Error { id, error }
    }
}

/// Parses one client text frame, refusing frames over `max_bytes`, into a request or a catalog error to send back.
/// The id of a frame that is valid JSON with a numeric `id` but a bad body is recovered, so the client's pending
/// request fails instead of hanging.
pub fn parse_client_frame(text: &str, max_bytes: usize) -> Result<ClientFrame, (Option<u32>, RtcError)> {
    use crate::error::ErrorCode;
    if text.len() > max_bytes && !(text.len() <= MAX_SDP_FRAME_BYTES && carries_sdp(text)) {
        return Err((
            leading_id(text),
            RtcError::new(
                ErrorCode::InvalidParams,
                format!(
                    "frame of {} bytes exceeds {max_bytes} ({MAX_SDP_FRAME_BYTES} for publish, restart_publisher_ice and subscriber_answer)",
                    text.len()
                ),
            ),
        ));
    }
    serde_json::from_str::<ClientFrame>(text).map_err(|e| {
        let id = serde_json::from_str::<serde_json::Value>(text)
            .ok()
            .and_then(|v| v.get("id").and_then(|id| id.as_u64()))
            .and_then(|id| u32::try_from(id).ok());
        (
            id,
            RtcError::new(ErrorCode::InvalidParams, format!("malformed frame: {e}")),
        )
    })
}

/// Whether a frame is a `publish`, `restart_publisher_ice` or `subscriber_answer` (the frames allowed up to [`MAX_SDP_FRAME_BYTES`]).
/// Reads only the `type` field: nothing else is allocated.
fn carries_sdp(text: &str) -> bool {
    #[derive(Deserialize)]
    struct TypeOnly<'a> {
        #[serde(rename = "type", borrow)]
        kind: std::borrow::Cow<'a, str>,
    }
    serde_json::from_str::<TypeOnly>(text)
        .is_ok_and(|frame| matches!(&*frame.kind, "publish" | "subscriber_answer" | "restart_publisher_ice"))
}

/// The id of a frame too large to parse, when it comes first (as clients write it): `{"id":N,...`. Only the first
/// few bytes are looked at.
fn leading_id(text: &str) -> Option<u32> {
    let head = text.get(..text.len().min(32))?;
    let rest = head
        .trim_start()
        .strip_prefix('{')?
        .trim_start()
        .strip_prefix("\"id\"")?;
    let rest = rest.trim_start().strip_prefix(':')?.trim_start();
    let digits = &rest[..rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len())];
    // The number must be complete within the head.
    if digits.is_empty() || !rest[digits.len()..].trim_start().starts_with([',', '}']) {
        return None;
    }
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use serde_json::json;

    #[test]
    fn client_frames_are_flat_json_with_a_type() {
        let frame = parse_client_frame(
            r#"{"id":1,"type":"join","app_id":"a","channel":"c","token":null,"uid":"bob","mode":"live","role":"audience"}"#,
            MAX_FRAME_BYTES,
        )
        .unwrap();
        assert_eq!(frame.id, Some(1));
        let Request::Join(join) = frame.request else {
            panic!("not a join")
        };
        assert_eq!(join.uid, json!("bob"));
        assert_eq!((join.mode, join.role), (Mode::Live, ClientRole::Audience));
        assert_eq!(
            parse_client_frame(r#"{"type":"ping"}"#, MAX_FRAME_BYTES)
                .unwrap()
                .request,
            Request::Ping
        );
        let role = serde_json::to_value(ClientFrame {
            id: Some(7),
            request: Request::SetClientRole { role: ClientRole::Host },
        })
        .unwrap();
        assert_eq!(role, json!({"id":7,"type":"set_client_role","role":"host"}));
    }

    #[test]
    fn bad_frames_are_catalog_errors_keeping_the_id_when_possible() {
        let (id, err) = parse_client_frame(r#"{"id":9,"type":"fly"}"#, MAX_FRAME_BYTES).unwrap_err();
        assert_eq!((id, err.code), (Some(9), ErrorCode::InvalidParams));
        let (id, err) = parse_client_frame("not json", MAX_FRAME_BYTES).unwrap_err();
        assert_eq!((id, err.code), (None, ErrorCode::InvalidParams));
        let big = format!(
            r#"{{"id":1,"type":"renew_token","token":"{}"}}"#,
            "a".repeat(MAX_FRAME_BYTES)
        );
        let (id, err) = parse_client_frame(&big, MAX_FRAME_BYTES).unwrap_err();
        assert!(err.detail.contains("exceeds"));
        assert_eq!(
            id,
            Some(1),
            "the id of an oversized frame is recovered when it comes first"
        );
        assert_eq!(leading_id(r#" { "id" : 42 , "type":"x"}"#), Some(42));

        // SDP frames have their own, larger bound.
        let sdp = "a=x\\r\\n".repeat(MAX_FRAME_BYTES / 4);
        let answer = format!(r#"{{"id":2,"type":"subscriber_answer","answer":"{sdp}"}}"#);
        assert!(answer.len() > MAX_FRAME_BYTES);
        assert!(matches!(
            parse_client_frame(&answer, MAX_FRAME_BYTES).unwrap().request,
            Request::SubscriberAnswer { .. }
        ));
        let offer = format!(r#"{{"type":"publish","id":3,"tracks":[],"offer":"{sdp}"}}"#);
        assert!(
            parse_client_frame(&offer, MAX_FRAME_BYTES).is_ok(),
            "key order does not matter"
        );
        let huge = "a=x\\r\\n".repeat(MAX_SDP_FRAME_BYTES / 4);
        let huge = format!(r#"{{"id":4,"type":"subscriber_answer","answer":"{huge}"}}"#);
        let (id, err) = parse_client_frame(&huge, MAX_FRAME_BYTES).unwrap_err();
        assert_eq!((id, err.code), (Some(4), ErrorCode::InvalidParams));
        assert!(err.detail.contains("exceeds"));
        for no_id in [
            r#"{"type":"x","id":1}"#,
            r#"{"id":99999999999}"#,
            r#"{"id":1"#,
            "[",
            "",
            r#"{"id":"1"}"#,
        ] {
            assert_eq!(leading_id(no_id), None, "{no_id}");
        }
    }

    #[test]
    fn server_frames_round_trip() {
        let frames = [
            ServerFrame::UserLeft {
                uid: 3,
                reason: UserLeftReason::ServerTimeOut,
            },
            ServerFrame::UserJoined(UserInfo::new(4, Some("amy".into()))),
            ServerFrame::Disconnected {
                reason: DisconnectReason::TokenExpire,
            },
            ServerFrame::error(Some(2), RtcError::new(ErrorCode::UidConflict, "taken")),
            ServerFrame::Joined {
                id: Some(1),
                joined: Joined {
                    uid: 5,
                    account: None,
                    role: ClientRole::Host,
                    session_id: "s".into(),
                    resume_token: "r".into(),
                    keepalive_ms: 3000,
                    session_timeout_ms: 20000,
                    users: vec![UserInfo::new(4, None)],
                },
            },
        ];
        for frame in frames {
            let text = serde_json::to_string(&frame).unwrap();
            assert_eq!(serde_json::from_str::<ServerFrame>(&text).unwrap(), frame, "{text}");
        }
        assert_eq!(
            serde_json::to_value(ServerFrame::UserLeft {
                uid: 3,
                reason: UserLeftReason::Quit
            })
            .unwrap(),
            json!({"type":"user_left","uid":3,"reason":"Quit"})
        );
    }
}

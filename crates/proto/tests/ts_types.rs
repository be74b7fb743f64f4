//! Generates the Web SDK's TypeScript view of the protocol and the error catalog (`web/src/generated/*.ts`) and
//! fails when the committed files are stale. Regenerate with `STOA_BLESS=1 cargo test -p stoa-proto --test ts_types`.
//!
//! Why a small emitter and not ts-rs: it keeps `stoa-proto` free of extra dependencies and features, and the shapes
//! come from serde itself. Every variant of every wire type is serialized here (exhaustive matches make a new
//! variant a compile error), and the JSON gives the tags, field names and which fields are optional; only the
//! TypeScript type of each field name comes from the table in [`field_type`], and an unknown field fails the test.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;
use serde_json::{Value, json};
use stoa_proto::error::catalog::{self, Raised};
use stoa_proto::signal::*;
use stoa_proto::{ErrorCode, RtcError};

const HEADER: &str = "// Generated from crates/proto by crates/proto/tests/ts_types.rs: do not edit by hand.\n\
                      // Regenerate with `STOA_BLESS=1 cargo test -p stoa-proto --test ts_types`.\n";

fn to_json<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value).expect("wire types serialize")
}

/// The string values of a unit-only enum, from serde.
fn string_values<T: Serialize>(values: &[T]) -> Vec<String> {
    values
        .iter()
        .map(|v| match to_json(v) {
            Value::String(s) => s,
            other => panic!("not a string enum: {other}"),
        })
        .collect()
}

fn exhaustive_mode(m: Mode) -> Mode {
    match m {
        Mode::Rtc | Mode::Live => m,
    }
}
fn exhaustive_role(r: ClientRole) -> ClientRole {
    match r {
        ClientRole::Host | ClientRole::Audience => r,
    }
}
fn exhaustive_media(m: MediaType) -> MediaType {
    match m {
        MediaType::Audio | MediaType::Video => m,
    }
}
fn exhaustive_left(r: UserLeftReason) -> UserLeftReason {
    match r {
        UserLeftReason::Quit | UserLeftReason::ServerTimeOut | UserLeftReason::BecomeAudience => r,
    }
}
fn exhaustive_disconnect(r: DisconnectReason) -> DisconnectReason {
    use DisconnectReason::*;
    match r {
        Leave | NetworkError | ServerError | UidBanned | IpBanned | ChannelBanned | TokenExpire | UidConflict => r,
    }
}
fn exhaustive_msg(m: UserInfoMessage) -> UserInfoMessage {
    use UserInfoMessage::*;
    match m {
        MuteAudio | UnmuteAudio | MuteVideo | UnmuteVideo | EnableLocalAudio | DisableLocalAudio | EnableLocalVideo
        | DisableLocalVideo => m,
    }
}

fn string_enums() -> Vec<(&'static str, &'static str, Vec<String>)> {
    use DisconnectReason as D;
    use UserInfoMessage as M;
    vec![
        (
            "Mode",
            "Channel profile, Agora's `mode`.",
            string_values(&[Mode::Rtc, Mode::Live].map(exhaustive_mode)),
        ),
        (
            "ClientRole",
            "A user's role; always `host` in `rtc` mode.",
            string_values(&[ClientRole::Host, ClientRole::Audience].map(exhaustive_role)),
        ),
        (
            "MediaType",
            "`audio` or `video`, the Web SDK's `mediaType`.",
            string_values(&[MediaType::Audio, MediaType::Video].map(exhaustive_media)),
        ),
        (
            "UserLeftReason",
            "Why a remote user left (the `user-left` reason).",
            string_values(
                &[
                    UserLeftReason::Quit,
                    UserLeftReason::ServerTimeOut,
                    UserLeftReason::BecomeAudience,
                ]
                .map(exhaustive_left),
            ),
        ),
        (
            "DisconnectReason",
            "Why a connection went to DISCONNECTED (`ConnectionDisconnectedReason`).",
            string_values(
                &[
                    D::Leave,
                    D::NetworkError,
                    D::ServerError,
                    D::UidBanned,
                    D::IpBanned,
                    D::ChannelBanned,
                    D::TokenExpire,
                    D::UidConflict,
                ]
                .map(exhaustive_disconnect),
            ),
        ),
        (
            "UserInfoMessage",
            "The `msg` of the `user-info-updated` event.",
            string_values(
                &[
                    M::MuteAudio,
                    M::UnmuteAudio,
                    M::MuteVideo,
                    M::UnmuteVideo,
                    M::EnableLocalAudio,
                    M::DisableLocalAudio,
                    M::EnableLocalVideo,
                    M::DisableLocalVideo,
                ]
                .map(exhaustive_msg),
            ),
        ),
    ]
}

/// The TypeScript type of a field, by `Context.field` first and then by field name alone.
fn field_type(context: &str, field: &str) -> &'static str {
    match (context, field) {
        ("JoinRequest" | "GatewayRequest" | "ClientFrame.join", "uid") => "number | string | null",
        ("JoinRequest" | "GatewayRequest" | "ClientFrame.join", "token") => "string | null",
        ("ServerFrame.joined" | "ServerFrame.published" | "ServerFrame.subscribed", "id") => "number | null",
        (_, "uid" | "id" | "keepalive_ms" | "session_timeout_ms" | "expires_at") => "number",
        (_, "app_id" | "channel" | "token" | "session_id" | "resume_token" | "offer" | "answer" | "account") => {
            "string"
        }
        (_, "signalling_url" | "codec") => "string",
        (_, "mode") => "Mode",
        (_, "role") => "ClientRole",
        (_, "media_type") => "MediaType",
        (_, "media_types") => "MediaType[]",
        (_, "muted" | "enabled") => "boolean",
        // Agora's network quality scale; the server refuses anything above 6.
        (_, "uplink" | "downlink") => "0 | 1 | 2 | 3 | 4 | 5 | 6",
        (_, "tracks") => "TrackState[]",
        (_, "users") => "UserInfo[]",
        (_, "error") => "WireError",
        (_, "msg") => "UserInfoMessage",
        ("ServerFrame.user_left", "reason") => "UserLeftReason",
        ("ServerFrame.disconnected", "reason") => "DisconnectReason",
        _ => panic!("no TypeScript type for {context}.{field}: add it to field_type"),
    }
}

/// Fields of `full` (every option set), marking those absent from `minimal` (every option unset) as optional.
fn fields(context: &str, full: &Value, minimal: &Value, skip: &[&str]) -> String {
    let full = full.as_object().expect("an object");
    let minimal = minimal.as_object().expect("an object");
    let mut out = String::new();
    for key in full.keys().filter(|k| !skip.contains(&k.as_str())) {
        let optional = if minimal.contains_key(key) { "" } else { "?" };
        let _ = writeln!(out, "  {key}{optional}: {};", field_type(context, key));
    }
    out
}

fn interface(name: &str, doc: &str, full: &Value, minimal: &Value) -> String {
    format!(
        "/** {doc} */\nexport interface {name} {{\n{}}}\n\n",
        fields(name, full, minimal, &[])
    )
}

/// A union of `{type: ...}` objects, one per variant, from (full, minimal) example pairs.
fn tagged_union(name: &str, doc: &str, variants: &[(Value, Value)], extra: &str) -> String {
    let mut out = format!("/** {doc} */\nexport type {name} =\n");
    for (full, minimal) in variants {
        let tag = full["type"].as_str().expect("a type tag");
        let context = format!("{name}.{tag}");
        let body: Vec<String> = fields(&context, full, minimal, &["type"])
            .lines()
            .map(|l| format!(" {}", l.trim()))
            .collect();
        let _ = writeln!(out, "  | {{ type: \"{tag}\";{extra}{} }}", body.concat());
    }
    out.push_str(";\n\n");
    out
}

fn user(with_options: bool) -> UserInfo {
    UserInfo {
        uid: 1,
        account: with_options.then(|| "a".into()),
        tracks: if with_options { vec![track()] } else { vec![] },
    }
}

fn track() -> TrackState {
    TrackState {
        media_type: MediaType::Audio,
        muted: false,
        enabled: true,
    }
}

fn join(with_options: bool) -> JoinRequest {
    JoinRequest {
        app_id: "a".into(),
        channel: "c".into(),
        token: None,
        uid: Value::Null,
        mode: Mode::Rtc,
        role: ClientRole::Host,
        codec: with_options.then(|| "vp8".into()),
    }
}

fn joined(with_options: bool) -> Joined {
    Joined {
        uid: 1,
        account: with_options.then(|| "a".into()),
        role: ClientRole::Host,
        session_id: "s".into(),
        resume_token: "r".into(),
        keepalive_ms: 1,
        session_timeout_ms: 1,
        users: vec![],
    }
}

/// One example of every request, built through an exhaustive match so a new variant fails to compile here.
fn requests(with_options: bool) -> Vec<Value> {
    let all = vec![
        Request::Join(join(with_options)),
        Request::Rejoin {
            session_id: "s".into(),
            resume_token: "r".into(),
        },
        Request::Leave,
        Request::SetClientRole { role: ClientRole::Host },
        Request::RenewToken { token: "t".into() },
        Request::Ping,
        Request::Publish {
            tracks: vec![],
            offer: "o".into(),
        },
        Request::Unpublish { media_types: vec![] },
        Request::SetTrackState(track()),
        Request::Subscribe {
            uid: 1,
            media_type: MediaType::Audio,
        },
        Request::Unsubscribe {
            uid: 1,
            media_type: MediaType::Audio,
        },
        Request::SubscriberAnswer { answer: "a".into() },
        Request::NetworkQuality { uplink: 1, downlink: 1 },
        Request::RestartPublisherIce { offer: "o".into() },
        Request::RestartSubscriberIce,
    ];
    all.into_iter()
        .map(|request| {
            match &request {
                Request::Join(_)
                | Request::Rejoin { .. }
                | Request::Leave
                | Request::SetClientRole { .. }
                | Request::RenewToken { .. }
                | Request::Ping
                | Request::Publish { .. }
                | Request::Unpublish { .. }
                | Request::SetTrackState(_)
                | Request::Subscribe { .. }
                | Request::Unsubscribe { .. }
                | Request::SubscriberAnswer { .. }
                | Request::NetworkQuality { .. }
                | Request::RestartPublisherIce { .. }
                | Request::RestartSubscriberIce => {}
            }
            to_json(&request)
        })
        .collect()
}

fn server_frames(with_options: bool) -> Vec<Value> {
    let error = RtcError::new(ErrorCode::InvalidParams, "x");
    let id = with_options.then_some(1);
    let all = vec![
        ServerFrame::Joined {
            id,
            joined: joined(with_options),
        },
        ServerFrame::Ok { id: 1 },
        ServerFrame::Error { id, error },
        ServerFrame::UserJoined(user(with_options)),
        ServerFrame::Published { id, answer: "a".into() },
        ServerFrame::Subscribed { id, offer: "o".into() },
        ServerFrame::UserPublished {
            uid: 1,
            media_type: MediaType::Audio,
        },
        ServerFrame::UserUnpublished {
            uid: 1,
            media_type: MediaType::Audio,
        },
        ServerFrame::UserInfoUpdated {
            uid: 1,
            msg: UserInfoMessage::MuteAudio,
        },
        ServerFrame::UserLeft {
            uid: 1,
            reason: UserLeftReason::Quit,
        },
        ServerFrame::UserNetworkQuality {
            uid: 1,
            uplink: 1,
            downlink: 1,
        },
        ServerFrame::TokenPrivilegeWillExpire { expires_at: 1 },
        ServerFrame::TokenPrivilegeDidExpire,
        ServerFrame::Disconnected {
            reason: DisconnectReason::TokenExpire,
        },
    ];
    all.into_iter()
        .map(|frame| {
            match &frame {
                ServerFrame::Joined { .. }
                | ServerFrame::Ok { .. }
                | ServerFrame::Error { .. }
                | ServerFrame::UserJoined(_)
                | ServerFrame::Published { .. }
                | ServerFrame::Subscribed { .. }
                | ServerFrame::UserPublished { .. }
                | ServerFrame::UserUnpublished { .. }
                | ServerFrame::UserInfoUpdated { .. }
                | ServerFrame::UserLeft { .. }
                | ServerFrame::UserNetworkQuality { .. }
                | ServerFrame::TokenPrivilegeWillExpire { .. }
                | ServerFrame::TokenPrivilegeDidExpire
                | ServerFrame::Disconnected { .. } => {}
            }
            to_json(&frame)
        })
        .collect()
}

fn render_protocol() -> String {
    let mut out = String::from(HEADER);
    out.push_str(
        "// The signalling protocol (crates/proto/src/signal.rs, docs/protocol.md): JSON text frames over one WebSocket.\n\n",
    );
    let _ = writeln!(
        out,
        "/** Largest text frame the server reads. */\nexport const MAX_FRAME_BYTES = {MAX_FRAME_BYTES};\n"
    );
    for (name, doc, values) in string_enums() {
        let union: Vec<String> = values.iter().map(|v| format!("\"{v}\"")).collect();
        let _ = writeln!(out, "/** {doc} */\nexport type {name} = {};\n", union.join(" | "));
    }
    out.push_str(&interface(
        "TrackState",
        "A published track and its switches; available to others while enabled and not muted.",
        &to_json(&track()),
        &json!({"media_type": "audio"}),
    ));
    out.push_str(&interface(
        "UserInfo",
        "A user as others see it.",
        &to_json(&user(true)),
        &to_json(&user(false)),
    ));
    out.push_str(&interface(
        "JoinRequest",
        "The fields of a `join` frame.",
        &to_json(&join(true)),
        &json!({"app_id": "a", "channel": "c"}),
    ));
    out.push_str(&interface(
        "Joined",
        "The fields of a `joined` reply.",
        &to_json(&joined(true)),
        &to_json(&joined(false)),
    ));
    let gateway = GatewayRequest {
        app_id: "a".into(),
        channel: "c".into(),
        token: None,
        uid: Value::Null,
        role: ClientRole::Host,
    };
    out.push_str(&interface(
        "GatewayRequest",
        "`POST /api/v1/gateway` body.",
        &to_json(&gateway),
        &json!({"app_id": "a", "channel": "c"}),
    ));
    let answer = |uid| GatewayResponse {
        signalling_url: "ws://x/ws".into(),
        uid,
    };
    out.push_str(&interface(
        "GatewayResponse",
        "`POST /api/v1/gateway` answer.",
        &to_json(&answer(Some(1))),
        &to_json(&answer(None)),
    ));
    out.push_str(
        "/** An error as the server sends it: `message` is the detail alone. */\n\
         export interface WireError {\n  code: string;\n  message: string;\n  data?: unknown;\n}\n\n",
    );
    let wire = to_json(&RtcError::new(ErrorCode::InvalidParams, "x").with_data(json!({})));
    assert_eq!(
        wire.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["code", "data", "message"],
        "WireError is written by hand above; update it"
    );
    let pairs = |full: Vec<Value>, minimal: Vec<Value>| full.into_iter().zip(minimal).collect::<Vec<_>>();
    out.push_str(&tagged_union(
        "ClientFrame",
        "One frame from client to server; `id` is echoed in the reply.",
        &pairs(requests(true), requests(false)),
        " id?: number;",
    ));
    out.push_str(&tagged_union(
        "ServerFrame",
        "One frame from server to client.",
        &pairs(server_frames(true), server_frames(false)),
        "",
    ));
    out.trim_end().to_string() + "\n"
}

/// `CROSS_CHANNEL_FAILED_JOIN_SRC` from `CrossChannelFailedJoinSrc`: the enum member name, which differs from the
/// wire value for that one code.
fn member_name(code: ErrorCode) -> String {
    let debug = format!("{code:?}");
    let mut out = String::new();
    for (i, c) in debug.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

fn js_string(s: &str) -> String {
    serde_json::to_string(s).expect("strings serialize")
}

fn render_errors() -> String {
    let mut out = String::from(HEADER);
    out.push_str(
        "// The error catalog (crates/proto/src/error): every AgoraRTCErrorCode of agora-rtc-sdk-ng 4.24.8, with\n\
         // the catalog's English description and handling advice.\n\n",
    );
    let members: BTreeMap<usize, (String, &str)> = ErrorCode::ALL
        .iter()
        .enumerate()
        .map(|(i, c)| (i, (member_name(*c), c.as_str())))
        .collect();
    out.push_str("/** `AgoraRTCErrorCode`: member name to wire value (the values equal the names but one). */\n");
    out.push_str("export const AgoraRTCErrorCode = {\n");
    for (name, value) in members.values() {
        let _ = writeln!(out, "  {name}: \"{value}\",");
    }
    out.push_str("} as const;\n\n");
    out.push_str("/** One wire value of `AgoraRTCErrorCode`. */\n");
    out.push_str(
        "export type AgoraRTCErrorCodeValue = (typeof AgoraRTCErrorCode)[keyof typeof AgoraRTCErrorCode];\n\n",
    );
    out.push_str(
        "export interface ErrorCodeInfo {\n  /** What the code means. */\n  description: string;\n  \
         /** What an app should do about it. */\n  advice: string;\n  /** The catalog's group. */\n  category: string;\n  \
         /** Whether Stoa raises it today. */\n  raised: \"now\" | \"planned\" | \"never\";\n}\n\n",
    );
    out.push_str("/** The catalog entry of every code, by wire value. */\n");
    out.push_str("export const ERROR_CATALOG: Record<AgoraRTCErrorCodeValue, ErrorCodeInfo> = {\n");
    for entry in catalog::entries() {
        let raised = match entry.raised {
            Raised::Now => "now",
            Raised::Planned(_) => "planned",
            Raised::Never(_) => "never",
        };
        let _ = writeln!(
            out,
            "  {}: {{\n    description: {},\n    advice: {},\n    category: {},\n    raised: \"{raised}\",\n  }},",
            js_string(entry.code.as_str()),
            js_string(entry.description_en),
            js_string(entry.advice_en),
            js_string(entry.category.title()),
        );
    }
    out.push_str("};\n");
    out
}

fn check_or_bless(relative: &str, rendered: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(relative);
    if std::env::var("STOA_BLESS").as_deref() == Ok("1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, rendered).unwrap();
        return;
    }
    let current = std::fs::read_to_string(&path).unwrap_or_default().replace("\r\n", "\n");
    assert!(
        current == rendered,
        "{relative} is stale or missing; regenerate it with `STOA_BLESS=1 cargo test -p stoa-proto --test ts_types`"
    );
}

#[test]
fn web_protocol_types_are_fresh() {
    check_or_bless("web/src/generated/protocol.ts", &render_protocol());
}

#[test]
fn web_error_catalog_is_fresh() {
    check_or_bless("web/src/generated/errors.ts", &render_errors());
}

#[test]
fn member_names_follow_the_sdk_enum() {
    assert_eq!(
        member_name(ErrorCode::CrossChannelFailedJoinSrc),
        "CROSS_CHANNEL_FAILED_JOIN_SRC"
    );
    assert_eq!(member_name(ErrorCode::P2pMessageFailed), "P2P_MESSAGE_FAILED");
    for code in ErrorCode::ALL {
        if *code != ErrorCode::CrossChannelFailedJoinSrc {
            assert_eq!(member_name(*code), code.as_str());
        }
    }
}

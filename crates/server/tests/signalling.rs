//! Signalling against a real `stoa serve` on loopback, through the Rust SDK (and raw frames where the SDK's types
//! make a bad input impossible to express).

mod common;

use std::time::Duration;

use common::*;
use futures_util::{SinkExt, StreamExt};
use stoa_proto::token::{Role, build_token_with_uid, build_token_with_user_account};
use stoa_sdk::{
    ClientConfig, ClientRole, ConnectionState, DisconnectReason, ErrorCode, Event, Mode, RemoteUser, Uid,
    UserLeftReason,
};
use tokio_tungstenite::tungstenite::Message;

fn joined_uid(event: &Event) -> Option<u32> {
    match event {
        Event::UserJoined(user) => Some(user.uint_uid),
        _ => None,
    }
}

fn left(event: &Event) -> Option<(u32, UserLeftReason)> {
    match event {
        Event::UserLeft(user, reason) => Some((user.uint_uid, *reason)),
        _ => None,
    }
}

fn token(channel: &str, uid: u32, expire: u32) -> String {
    build_token_with_uid(APP, CERT, channel, uid, Role::Publisher, expire, expire, now_unix(), 7).unwrap()
}

fn with_cert() -> String {
    format!("{APP}:{CERT}")
}

#[tokio::test]
async fn two_clients_see_each_other_join_and_quit() {
    let server = Server::start(&[]);
    let app = server.app_ids[0].clone();
    let a = client(&server.url(), ClientConfig::default());
    let b = client(&server.url(), ClientConfig::default());
    let mut a_events = a.events();
    let mut b_events = b.events();
    assert_eq!(
        a.join(&app, "room", None, Some(Uid::Number(11))).await.unwrap(),
        Uid::Number(11)
    );
    assert_eq!(a.connection_state(), ConnectionState::Connected);
    assert_eq!(a.channel_name().as_deref(), Some("room"));
    assert_eq!(
        b.join(&app, "room", None, Some(Uid::Number(22))).await.unwrap(),
        Uid::Number(22)
    );
    wait_for(&mut a_events, 3.0, |e| joined_uid(e) == Some(22)).await;
    wait_for(&mut b_events, 3.0, |e| joined_uid(e) == Some(11)).await;
    assert_eq!(
        b.remote_users(),
        vec![RemoteUser {
            uid: Uid::Number(11),
            uint_uid: 11,
            has_audio: false,
            has_video: false
        }]
    );

    b.leave().await.unwrap();
    wait_for(&mut a_events, 3.0, |e| left(e) == Some((22, UserLeftReason::Quit))).await;
    let disconnected = wait_for(&mut b_events, 1.0, |e| {
        matches!(
            e,
            Event::ConnectionStateChange {
                current: ConnectionState::Disconnected,
                ..
            }
        )
    })
    .await;
    assert_eq!(
        disconnected,
        Event::ConnectionStateChange {
            current: ConnectionState::Disconnected,
            previous: ConnectionState::Disconnecting,
            reason: Some(DisconnectReason::Leave)
        }
    );
    assert!(a.remote_users().is_empty());
    assert!(b.remote_users().is_empty());
    // Joining twice from one client is refused, and a server-assigned uid is a fresh number.
    assert_eq!(
        a.join(&app, "room", None, None).await.unwrap_err().code,
        ErrorCode::InvalidOperation
    );
    let assigned = b.join(&app, "room", None, None).await.unwrap();
    assert!(matches!(assigned, Uid::Number(n) if n != 0 && n != 11));
}

#[tokio::test]
async fn a_cut_link_reconnects_silently_or_times_out_for_others() {
    let server = Server::start(&[]);
    let app = server.app_ids[0].clone();
    let relay = Relay::start(server.addr).await;
    let observer = client(&server.url(), ClientConfig::default());
    let mut seen = observer.events();
    observer.join(&app, "blip", None, Some(Uid::Number(1))).await.unwrap();
    let flaky = client(&relay.url(), ClientConfig::default());
    let mut flaky_events = flaky.events();
    flaky.join(&app, "blip", None, Some(Uid::Number(2))).await.unwrap();
    wait_for(&mut seen, 3.0, |e| joined_uid(e) == Some(2)).await;

    // A blip: the link is cut and comes straight back. The client rejoins its session; nobody sees it leave.
    relay.cut();
    wait_for(&mut flaky_events, 3.0, |e| {
        matches!(
            e,
            Event::ConnectionStateChange {
                current: ConnectionState::Reconnecting,
                ..
            }
        )
    })
    .await;
    wait_for(&mut flaky_events, 5.0, |e| {
        matches!(
            e,
            Event::ConnectionStateChange {
                current: ConnectionState::Connected,
                ..
            }
        )
    })
    .await;
    assert_eq!(flaky.uid(), Some(Uid::Number(2)));
    let during = collect_for(&mut seen, 2.5).await;
    assert!(during.iter().all(|e| left(e).is_none()), "observer saw {during:?}");

    // An outage longer than the session timeout (1.5 s): the others see ServerTimeOut.
    relay.refuse(true);
    relay.cut();
    let (uid, reason) = left(&wait_for(&mut seen, 6.0, |e| left(e).is_some()).await).unwrap();
    assert_eq!((uid, reason), (2, UserLeftReason::ServerTimeOut));
    assert_eq!(flaky.connection_state(), ConnectionState::Reconnecting);
    // When the network returns, the client's session is gone, so it enters again with the same uid.
    relay.refuse(false);
    wait_for(&mut seen, 6.0, |e| joined_uid(e) == Some(2)).await;
    wait_for(&mut flaky_events, 3.0, |e| {
        matches!(
            e,
            Event::ConnectionStateChange {
                current: ConnectionState::Connected,
                ..
            }
        )
    })
    .await;
    assert_eq!(flaky.uid(), Some(Uid::Number(2)));
    // Requests made while the link is down fail with WS_DISCONNECT rather than hanging.
    relay.refuse(true);
    relay.cut();
    wait_for(&mut flaky_events, 3.0, |e| {
        matches!(
            e,
            Event::ConnectionStateChange {
                current: ConnectionState::Reconnecting,
                ..
            }
        )
    })
    .await;
    let live = client(
        &relay.url(),
        ClientConfig {
            mode: Mode::Live,
            ..ClientConfig::default()
        },
    );
    drop(live);
    assert_eq!(
        flaky.renew_token("007whatever").await.unwrap_err().code,
        ErrorCode::WsDisconnect
    );
    flaky.leave().await.unwrap();
    assert_eq!(flaky.connection_state(), ConnectionState::Disconnected);
}

#[tokio::test]
async fn leaving_while_reconnecting_still_says_quit() {
    let server = Server::start(&[]);
    let app = server.app_ids[0].clone();
    let relay = Relay::start(server.addr).await;
    let observer = client(&server.url(), ClientConfig::default());
    let mut seen = observer.events();
    observer.join(&app, "bye", None, Some(Uid::Number(1))).await.unwrap();
    let flaky = client(&relay.url(), ClientConfig::default());
    let mut flaky_events = flaky.events();
    flaky.join(&app, "bye", None, Some(Uid::Number(2))).await.unwrap();
    wait_for(&mut seen, 3.0, |e| joined_uid(e) == Some(2)).await;
    relay.refuse(true);
    relay.cut();
    wait_for(&mut flaky_events, 3.0, |e| {
        matches!(
            e,
            Event::ConnectionStateChange {
                current: ConnectionState::Reconnecting,
                ..
            }
        )
    })
    .await;
    // The network returns just as the application leaves: well inside the 1.5 s session timeout.
    relay.refuse(false);
    flaky.leave().await.unwrap();
    assert_eq!(flaky.connection_state(), ConnectionState::Disconnected);
    let (uid, reason) = left(&wait_for(&mut seen, 3.0, |e| left(e).is_some()).await).unwrap();
    assert_eq!((uid, reason), (2, UserLeftReason::Quit));
}

#[tokio::test]
async fn conflicts_and_bad_arguments_have_their_codes() {
    let server = Server::start(&[]);
    let app = server.app_ids[0].clone();
    let first = client(&server.url(), ClientConfig::default());
    first.join(&app, "c", None, Some(Uid::Number(5))).await.unwrap();
    let second = client(&server.url(), ClientConfig::default());
    let err = second.join(&app, "c", None, Some(Uid::Number(5))).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::UidConflict, "{err}");
    assert_eq!(second.connection_state(), ConnectionState::Disconnected);

    for bad in ["", "a/b", "ä", &"x".repeat(65)] {
        assert_eq!(
            second.join(&app, bad, None, None).await.unwrap_err().code,
            ErrorCode::InvalidParams
        );
    }
    assert_eq!(
        second.join(&app, "c", Some(""), None).await.unwrap_err().code,
        ErrorCode::InvalidParams
    );
    let long_account = Uid::Account("u".repeat(256));
    assert_eq!(
        second.join(&app, "c", None, Some(long_account)).await.unwrap_err().code,
        ErrorCode::InvalidParams
    );

    // Inputs the SDK's types cannot express, sent raw: the server checks them too.
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{}/ws", server.addr))
        .await
        .unwrap();
    for (id, uid) in [(1, "4294967296"), (2, "-1"), (3, "1.5"), (4, "\"\"")] {
        let frame = format!(r#"{{"id":{id},"type":"join","app_id":"{app}","channel":"c","token":null,"uid":{uid}}}"#);
        ws.send(Message::Text(frame.into())).await.unwrap();
        let reply = next_json(&mut ws).await;
        assert_eq!(reply["type"], "error", "{reply}");
        assert_eq!(reply["id"], id);
        assert_eq!(reply["error"]["code"], "INVALID_PARAMS", "{reply}");
    }
    // Discovery wraps the same refusals in CAN_NOT_GET_GATEWAY_SERVER.
    let http = reqwest::Client::new();
    let answer: serde_json::Value = http
        .post(format!("{}/api/v1/gateway", server.url()))
        .json(&serde_json::json!({"app_id": app, "channel": "c", "token": null, "uid": 4294967296u64}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["code"], "CAN_NOT_GET_GATEWAY_SERVER", "{answer}");
    assert_eq!(answer["data"]["cause"], "INVALID_PARAMS");
    let unknown_app = second
        .join("ffffffffffffffffffffffffffffffff", "c", None, None)
        .await
        .unwrap_err();
    assert_eq!(unknown_app.code, ErrorCode::CanNotGetGatewayServer);
    assert_eq!(unknown_app.data.as_ref().unwrap()["code"], 2010005);
}

async fn next_json(
    ws: &mut tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
) -> serde_json::Value {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(3), ws.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        if let Message::Text(text) = message {
            return serde_json::from_str(&text).unwrap();
        }
    }
}

#[tokio::test]
async fn tokens_are_enforced_at_discovery_and_join() {
    let server = Server::start(&["--app", &with_cert(), "--app", OPEN_APP]);
    assert_eq!(server.app_ids, vec![OPEN_APP.to_string(), APP.to_string()]);
    let c = client(&server.url(), ClientConfig::default());
    let refused = |err: stoa_sdk::RtcError| {
        assert_eq!(err.code, ErrorCode::CanNotGetGatewayServer, "{err}");
        err.data.unwrap()["code"].as_u64().unwrap()
    };
    let wrong_cert = build_token_with_uid(
        APP,
        "0".repeat(32).as_str(),
        "t",
        9,
        Role::Publisher,
        600,
        600,
        now_unix(),
        1,
    )
    .unwrap();
    refused(
        c.join(APP, "t", Some(&wrong_cert), Some(Uid::Number(9)))
            .await
            .unwrap_err(),
    );
    let expired = build_token_with_uid(APP, CERT, "t", 9, Role::Publisher, 60, 60, now_unix() - 120, 1).unwrap();
    refused(
        c.join(APP, "t", Some(&expired), Some(Uid::Number(9)))
            .await
            .unwrap_err(),
    );
    refused(
        c.join(APP, "other", Some(&token("t", 9, 600)), Some(Uid::Number(9)))
            .await
            .unwrap_err(),
    );
    refused(
        c.join(APP, "t", Some(&token("t", 9, 600)), Some(Uid::Number(10)))
            .await
            .unwrap_err(),
    );
    refused(c.join(APP, "t", None, Some(Uid::Number(9))).await.unwrap_err());
    assert_eq!(c.connection_state(), ConnectionState::Disconnected);

    // The right token joins; a uid-0 token lets any uid in; an account token needs that account.
    c.join(APP, "t", Some(&token("t", 9, 600)), Some(Uid::Number(9)))
        .await
        .unwrap();
    let any = client(&server.url(), ClientConfig::default());
    any.join(APP, "t", Some(&token("t", 0, 600)), Some(Uid::Number(12345)))
        .await
        .unwrap();
    let account_token =
        build_token_with_user_account(APP, CERT, "t", "zoe", Role::Subscriber, 600, 0, now_unix(), 3).unwrap();
    let zoe = client(&server.url(), ClientConfig::default());
    assert_eq!(
        zoe.join(APP, "t", Some(&account_token), Some("zoe".into()))
            .await
            .unwrap(),
        Uid::Account("zoe".into())
    );
    // The testing-mode app takes null.
    let open = client(&server.url(), ClientConfig::default());
    open.join(OPEN_APP, "t", None, None).await.unwrap();
}

#[tokio::test]
async fn token_expiry_warns_then_disconnects_unless_renewed() {
    let server = Server::start(&["--app", &with_cert()]);
    let short = client(&server.url(), ClientConfig::default());
    let renewing = client(&server.url(), ClientConfig::default());
    let mut short_events = short.events();
    let mut renewing_events = renewing.events();
    // 4 s tokens; the server warns 2 s before expiry.
    short
        .join(APP, "exp", Some(&token("exp", 1, 4)), Some(Uid::Number(1)))
        .await
        .unwrap();
    renewing
        .join(APP, "exp", Some(&token("exp", 2, 4)), Some(Uid::Number(2)))
        .await
        .unwrap();

    wait_for(&mut renewing_events, 4.0, |e| *e == Event::TokenPrivilegeWillExpire).await;
    let err = renewing.renew_token(&token("exp", 3, 600)).await.unwrap_err();
    assert_eq!(
        err.code,
        ErrorCode::InvalidParams,
        "a token for another uid is refused: {err}"
    );
    renewing.renew_token(&token("exp", 2, 600)).await.unwrap();

    wait_for(&mut short_events, 4.0, |e| *e == Event::TokenPrivilegeWillExpire).await;
    wait_for(&mut short_events, 4.0, |e| *e == Event::TokenPrivilegeDidExpire).await;
    let end = wait_for(&mut short_events, 2.0, |e| {
        matches!(e, Event::ConnectionStateChange { .. })
    })
    .await;
    assert_eq!(
        end,
        Event::ConnectionStateChange {
            current: ConnectionState::Disconnected,
            previous: ConnectionState::Connected,
            reason: Some(DisconnectReason::TokenExpire)
        }
    );
    wait_for(&mut renewing_events, 2.0, |e| {
        left(e) == Some((1, UserLeftReason::Quit))
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        renewing.connection_state(),
        ConnectionState::Connected,
        "the renewed session stays"
    );
    assert_eq!(
        renewing.renew_token("").await.unwrap_err().code,
        ErrorCode::InvalidParams
    );
}

#[tokio::test]
async fn string_uids_are_stable_across_restarts_and_never_shared() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start_in(data.path(), &[]);
    let app = server.app_ids[0].clone();
    let observer = client(&server.url(), ClientConfig::default());
    let mut seen = observer.events();
    observer.join(&app, "names", None, Some(Uid::Number(1))).await.unwrap();
    let alice = client(&server.url(), ClientConfig::default());
    assert_eq!(
        alice.join(&app, "names", None, Some("alice".into())).await.unwrap(),
        Uid::Account("alice".into())
    );
    let Event::UserJoined(user) = wait_for(&mut seen, 3.0, |e| joined_uid(e).is_some()).await else {
        unreachable!()
    };
    assert_eq!(user.uid, Uid::Account("alice".into()));
    let alice_number = user.uint_uid;
    let bob = client(&server.url(), ClientConfig::default());
    bob.join(&app, "names", None, Some("bob".into())).await.unwrap();
    let Event::UserJoined(bob_user) = wait_for(&mut seen, 3.0, |e| joined_uid(e).is_some()).await else {
        unreachable!()
    };
    assert_ne!(bob_user.uint_uid, alice_number);
    // A second "alice" in the same channel is the same user: a conflict.
    let again = client(&server.url(), ClientConfig::default());
    assert_eq!(
        again
            .join(&app, "names", None, Some("alice".into()))
            .await
            .unwrap_err()
            .code,
        ErrorCode::UidConflict
    );
    drop((alice, bob, again, observer));
    server.stop();

    let server = Server::start_in(data.path(), &[]);
    assert_eq!(server.app_ids, vec![app.clone()], "the development app keeps its id");
    let http = reqwest::Client::new();
    let answer: serde_json::Value = http
        .post(format!("{}/api/v1/string-uid", server.url()))
        .json(&serde_json::json!({"app_id": app, "account": "alice"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["uid"], alice_number);
}

#[tokio::test]
async fn live_mode_announces_hosts_only() {
    let server = Server::start(&[]);
    let app = server.app_ids[0].clone();
    let live = || {
        client(
            &server.url(),
            ClientConfig {
                mode: Mode::Live,
                ..ClientConfig::default()
            },
        )
    };
    let host = live();
    host.set_client_role(ClientRole::Host).await.unwrap();
    let mut host_events = host.events();
    host.join(&app, "show", None, Some(Uid::Number(1))).await.unwrap();
    let viewer = live();
    assert_eq!(viewer.role(), ClientRole::Audience, "live mode defaults to audience");
    let mut viewer_events = viewer.events();
    viewer.join(&app, "show", None, Some(Uid::Number(2))).await.unwrap();
    wait_for(&mut viewer_events, 3.0, |e| joined_uid(e) == Some(1)).await;
    let quiet = collect_for(&mut host_events, 0.5).await;
    assert!(
        quiet.iter().all(|e| joined_uid(e).is_none()),
        "audience announced: {quiet:?}"
    );

    viewer.set_client_role(ClientRole::Host).await.unwrap();
    wait_for(&mut host_events, 3.0, |e| joined_uid(e) == Some(2)).await;
    viewer.set_client_role(ClientRole::Audience).await.unwrap();
    wait_for(&mut host_events, 3.0, |e| {
        left(e) == Some((2, UserLeftReason::BecomeAudience))
    })
    .await;
    // In rtc mode the role has no effect.
    let rtc = client(&server.url(), ClientConfig::default());
    rtc.set_client_role(ClientRole::Audience).await.unwrap();
    assert_eq!(rtc.role(), ClientRole::Host);
}

#[tokio::test]
async fn bad_frames_are_answered_and_counted_while_others_are_served() {
    let server = Server::start(&[]);
    let app = server.app_ids[0].clone();
    let a = client(&server.url(), ClientConfig::default());
    let mut a_events = a.events();
    a.join(&app, "noise", None, Some(Uid::Number(1))).await.unwrap();

    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{}/ws", server.addr))
        .await
        .unwrap();
    let garbage: Vec<Message> = vec![
        Message::Text("not json".into()),
        Message::Text(r#"{"id":5,"type":"teleport"}"#.into()),
        Message::Text(format!(r#"{{"id":6,"type":"renew_token","token":"{}"}}"#, "a".repeat(20_000)).into()),
        Message::Binary(vec![0, 159, 146, 150].into()),
        Message::Text(r#"{"id":7,"type":"leave"}"#.into()),
    ];
    for message in garbage {
        ws.send(message).await.unwrap();
        let reply = next_json(&mut ws).await;
        assert_eq!(reply["type"], "error", "{reply}");
        assert!(["INVALID_PARAMS", "INVALID_OPERATION"].contains(&reply["error"]["code"].as_str().unwrap()));
    }
    // A flood is refused frame by frame, then the connection is closed.
    for _ in 0..400 {
        if ws.send(Message::Text(r#"{"type":"ping"}"#.into())).await.is_err() {
            break;
        }
    }
    // The server still serves others.
    let b = client(&server.url(), ClientConfig::default());
    b.join(&app, "noise", None, Some(Uid::Number(2))).await.unwrap();
    wait_for(&mut a_events, 3.0, |e| joined_uid(e) == Some(2)).await;

    let metrics = metrics_text(&server).await;
    for expected in [
        "stoa_refused_frames_total{reason=\"malformed\"}",
        "stoa_refused_frames_total{reason=\"oversized\"}",
        "stoa_refused_frames_total{reason=\"binary\"}",
        "stoa_refused_frames_total{reason=\"rate\"}",
        "stoa_errors_total{code=\"INVALID_PARAMS\"}",
        "stoa_joins_total 2",
        "stoa_active_channels 1",
        "stoa_active_users 2",
    ] {
        assert!(metrics.contains(expected), "missing {expected} in\n{metrics}");
    }
    assert_eq!(
        reqwest::get(format!("{}/healthz", server.url()))
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn an_unreachable_gateway_fails_after_the_retry_policy() {
    // Bind then drop a listener so the port is known to be closed.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let c = client(&format!("http://{closed}"), ClientConfig::default());
    let started = std::time::Instant::now();
    let err = c.join(OPEN_APP, "x", None, None).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::CanNotGetGatewayServer, "{err}");
    assert_eq!(err.data.as_ref().unwrap()["cause"], "NETWORK_ERROR");
    assert!(err.detail.contains("after 4 attempts"), "{err}");
    // Three waits of 100, 150 and 225 ms were made (the quick policy of the test client).
    assert!(started.elapsed() >= Duration::from_millis(475));
    assert_eq!(c.connection_state(), ConnectionState::Disconnected);
}

#[tokio::test]
async fn a_dropped_join_future_leaves_the_client_disconnected() {
    let server = Server::start(&[]);
    let app = server.app_ids[0].clone();
    let c = client(&server.url(), ClientConfig::default());
    let join = c.join(&app, "cancel", None, Some(Uid::Number(3)));
    // Cancel immediately, before the join can finish.
    assert!(tokio::time::timeout(Duration::from_micros(1), join).await.is_err());
    assert_eq!(c.connection_state(), ConnectionState::Disconnected);
    c.join(&app, "cancel2", None, Some(Uid::Number(3))).await.unwrap();
    assert_eq!(c.connection_state(), ConnectionState::Connected);
}

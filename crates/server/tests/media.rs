//! Media through a real `stoa serve`: a publisher and a subscriber, each a str0m WebRTC peer (full ICE) on its own
//! loopback UDP socket, negotiate through the signalling protocol; the publisher sends a 440 Hz sine encoded by the
//! SDK's Opus pipeline and the subscriber decodes what the SFU forwarded.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::*;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use stoa_sdk::media::signal::{SineSource, dominant_frequency, level_steadiness};
use stoa_sdk::media::{AudioEncoderPreset, OpusDecoderPipeline, OpusEncoderPipeline};
use str0m::change::{SdpAnswer, SdpOffer};
use str0m::format::Codec;
use str0m::media::{Direction, Frequency, MediaKind, MediaTime, Mid};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event as RtcEvent, Input, Output as RtcOutput, Rtc};
use tokio::net::{TcpStream, UdpSocket};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A raw signalling connection.
struct Signal {
    ws: Ws,
    next_id: u32,
    /// Pushes seen while waiting for replies.
    pushes: Vec<Value>,
}

impl Signal {
    async fn join(server: &Server, app: &str, channel: &str, uid: u32) -> Signal {
        let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{}/ws", server.addr))
            .await
            .unwrap();
        let mut signal = Signal {
            ws,
            next_id: 1,
            pushes: Vec::new(),
        };
        let joined = signal
            .request(json!({"type": "join", "app_id": app, "channel": channel, "uid": uid}))
            .await;
        assert_eq!(joined["type"], "joined", "{joined}");
        signal
    }

    async fn next(&mut self) -> Value {
        loop {
            let message = tokio::time::timeout(Duration::from_secs(5), self.ws.next())
                .await
                .unwrap()
                .unwrap()
                .unwrap();
            if let Message::Text(text) = message {
                return serde_json::from_str(&text).unwrap();
            }
        }
    }

    /// Sends `body` with a fresh id and returns the reply, keeping pushes that come first.
    async fn request(&mut self, mut body: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        body["id"] = id.into();
        self.ws.send(Message::Text(body.to_string().into())).await.unwrap();
        loop {
            let frame = self.next().await;
            if frame["id"] == id {
                return frame;
            }
            self.pushes.push(frame);
        }
    }

    /// Keeps the session alive (FAST_CONFIG ends silent sessions after 1.5 s) until the task is dropped.
    fn keep_alive(mut self) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            loop {
                if self.ws.send(Message::Text(r#"{"type":"ping"}"#.into())).await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
                while let Ok(Some(_)) = tokio::time::timeout(Duration::from_millis(1), self.ws.next()).await {}
            }
        })
    }

    async fn wait_push(&mut self, pred: impl Fn(&Value) -> bool) -> Value {
        if let Some(i) = self.pushes.iter().position(&pred) {
            return self.pushes.remove(i);
        }
        loop {
            let frame = self.next().await;
            if pred(&frame) {
                return frame;
            }
            self.pushes.push(frame);
        }
    }
}

/// A WebRTC peer on a loopback UDP socket.
struct Peer {
    rtc: Rtc,
    socket: UdpSocket,
    addr: SocketAddr,
    timeout: Instant,
    connected: bool,
    /// Received frames: (RTP time in 48 kHz units, mid, payload).
    received: Vec<(u64, Mid, Vec<u8>)>,
}

impl Peer {
    async fn new() -> Peer {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = socket.local_addr().unwrap();
        let mut rtc = Rtc::builder()
            .clear_codecs()
            .enable_opus(true, false)
            .build(Instant::now());
        rtc.add_local_candidate(Candidate::host(addr, "udp").unwrap()).unwrap();
        Peer {
            rtc,
            socket,
            addr,
            timeout: Instant::now(),
            connected: false,
            received: Vec::new(),
        }
    }

    /// Sends what str0m produced and records its events.
    fn drain(&mut self) {
        loop {
            match self.rtc.poll_output().expect("peer keeps running") {
                RtcOutput::Timeout(at) => {
                    self.timeout = at;
                    return;
                }
                RtcOutput::Transmit(t) => {
                    let _ = self.socket.try_send_to(&t.contents, t.destination);
                }
                RtcOutput::Event(RtcEvent::Connected) => self.connected = true,
                RtcOutput::Event(RtcEvent::MediaData(data)) => {
                    self.received.push((data.time.numer(), data.mid, data.data.to_vec()))
                }
                RtcOutput::Event(_) => {}
            }
        }
    }

    fn receive(&mut self, source: SocketAddr, contents: &[u8]) {
        let Ok(contents) = contents.try_into() else { return };
        let input = Input::Receive(
            Instant::now(),
            Receive {
                proto: Protocol::Udp,
                source,
                destination: self.addr,
                contents,
            },
        );
        self.rtc.handle_input(input).expect("peer accepts input");
        self.drain();
    }

    fn tick(&mut self) {
        let now = Instant::now();
        if now >= self.timeout {
            self.rtc.handle_input(Input::Timeout(now)).expect("peer accepts time");
            self.drain();
        }
    }
}

/// A UDP relay between one peer and the server's media socket that drops a share of the datagrams in each
/// direction, with a fixed seed so runs are repeatable.
struct LossyRelay {
    /// Where the peer sends (it stands in for the server's candidate).
    addr: SocketAddr,
    dropped: Arc<AtomicU64>,
    relayed: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl LossyRelay {
    async fn start(server: SocketAddr, loss: f64) -> LossyRelay {
        let peer_side = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let server_side = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = peer_side.local_addr().unwrap();
        let (dropped, relayed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let (d, r) = (dropped.clone(), relayed.clone());
        let task = tokio::spawn(async move {
            let mut rng = 0x2545_f491_4f6c_dd1du64;
            let mut lose = move || {
                // xorshift64*: enough randomness for a repeatable drop pattern.
                rng ^= rng >> 12;
                rng ^= rng << 25;
                rng ^= rng >> 27;
                ((rng.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64) < loss
            };
            let (mut a, mut b) = (vec![0u8; 2048], vec![0u8; 2048]);
            let mut peer: Option<SocketAddr> = None;
            loop {
                tokio::select! {
                    Ok((len, from)) = peer_side.recv_from(&mut a) => {
                        peer = Some(from);
                        if lose() { d.fetch_add(1, Ordering::Relaxed); continue; }
                        r.fetch_add(1, Ordering::Relaxed);
                        let _ = server_side.send_to(&a[..len], server).await;
                    }
                    Ok((len, _)) = server_side.recv_from(&mut b) => {
                        let Some(peer) = peer else { continue };
                        if lose() { d.fetch_add(1, Ordering::Relaxed); continue; }
                        r.fetch_add(1, Ordering::Relaxed);
                        let _ = peer_side.send_to(&b[..len], peer).await;
                    }
                }
            }
        });
        LossyRelay {
            addr,
            dropped,
            relayed,
            task,
        }
    }

    /// The share of datagrams it dropped.
    fn loss(&self) -> f64 {
        let dropped = self.dropped.load(Ordering::Relaxed) as f64;
        dropped / (dropped + self.relayed.load(Ordering::Relaxed) as f64).max(1.0)
    }
}

impl Drop for LossyRelay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Points the host candidate of an SDP from the server at `relay` instead.
fn via_relay(sdp: &str, relay: SocketAddr) -> String {
    sdp.lines()
        .map(|line| {
            if !line.starts_with("a=candidate:") {
                return line.to_string();
            }
            let mut fields: Vec<String> = line.split(' ').map(str::to_string).collect();
            // a=candidate:<foundation> <component> <proto> <priority> <ip> <port> typ host
            fields[4] = relay.ip().to_string();
            fields[5] = relay.port().to_string();
            fields.join(" ")
        })
        .collect::<Vec<_>>()
        .join("\r\n")
        + "\r\n"
}

fn candidate_addr(sdp: &str) -> SocketAddr {
    let line = sdp
        .lines()
        .find(|l| l.starts_with("a=candidate:"))
        .expect("a host candidate");
    let fields: Vec<&str> = line.split(' ').collect();
    format!("{}:{}", fields[4], fields[5]).parse().unwrap()
}

/// What a subscriber made of 3 s of a 440 Hz sine.
struct Heard {
    sent: u64,
    received: usize,
    frequency: f32,
    level: stoa_sdk::media::signal::LevelSteadiness,
    loss: Option<f64>,
}

/// Alice publishes 3 s of a 440 Hz sine; Bob subscribes and decodes it. With `loss`, Bob's media goes through a
/// relay that drops that share of datagrams both ways.
async fn sine_call(loss: Option<f64>) -> Heard {
    let server = Server::start(&[]);
    let app = server.app_ids[0].clone();
    let mut alice_signal = Signal::join(&server, &app, "tone", 1).await;
    let mut bob_signal = Signal::join(&server, &app, "tone", 2).await;

    // Alice publishes audio: her offer, the server's answer.
    let mut alice = Peer::new().await;
    let mut api = alice.rtc.sdp_api();
    let alice_mid = api.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None);
    let (offer, pending) = api.apply().unwrap();
    let published = alice_signal
        .request(json!({"type": "publish", "tracks": [{"media_type": "audio"}], "offer": offer.to_sdp_string()}))
        .await;
    assert_eq!(published["type"], "published", "{published}");
    let answer = SdpAnswer::from_sdp_string(published["answer"].as_str().unwrap()).unwrap();
    alice.rtc.sdp_api().accept_answer(pending, answer).unwrap();
    alice.drain();

    // Bob hears of it and subscribes: the server offers, Bob answers.
    let push = bob_signal.wait_push(|f| f["type"] == "user_published").await;
    assert_eq!(
        (push["uid"].as_u64(), push["media_type"].as_str()),
        (Some(1), Some("audio"))
    );
    let subscribed = bob_signal
        .request(json!({"type": "subscribe", "uid": 1, "media_type": "audio"}))
        .await;
    assert_eq!(subscribed["type"], "subscribed", "{subscribed}");
    let mut offer_sdp = subscribed["offer"].as_str().unwrap().to_string();
    let relay = match loss {
        Some(loss) => Some(LossyRelay::start(candidate_addr(&offer_sdp), loss).await),
        None => None,
    };
    if let Some(relay) = &relay {
        offer_sdp = via_relay(&offer_sdp, relay.addr);
    }
    let mut bob = Peer::new().await;
    let answer = bob
        .rtc
        .sdp_api()
        .accept_offer(SdpOffer::from_sdp_string(&offer_sdp).unwrap())
        .unwrap();
    bob.drain();
    let applied = bob_signal
        .request(json!({"type": "subscriber_answer", "answer": answer.to_sdp_string()}))
        .await;
    assert_eq!(applied["type"], "ok", "{applied}");
    let _alive = (alice_signal.keep_alive(), bob_signal.keep_alive());

    // Media: 3 s of a 440 Hz sine, 20 ms Opus frames from the SDK's encoder.
    let pt = alice
        .rtc
        .writer(alice_mid)
        .unwrap()
        .payload_params()
        .find(|p| p.spec().codec == Codec::Opus)
        .unwrap()
        .pt();
    let mut encoder = OpusEncoderPipeline::new(AudioEncoderPreset::MusicStandard).unwrap();
    let mut sine = SineSource::new(440.0, 48_000, 1, 0.5);
    let (mut buf_a, mut buf_b) = (vec![0u8; 2048], vec![0u8; 2048]);
    let start = Instant::now();
    let mut sent = 0u64;
    let mut next_frame = start;
    let deadline = start + Duration::from_secs(10);
    while Instant::now() < deadline && sent < 150 {
        alice.tick();
        bob.tick();
        let now = Instant::now();
        if alice.connected && bob.connected && now >= next_frame {
            for packet in encoder.push(&sine.next_frame(20)).unwrap() {
                let time = MediaTime::new(sent * 960, Frequency::FORTY_EIGHT_KHZ);
                alice
                    .rtc
                    .writer(alice_mid)
                    .expect("alice's transport is up")
                    .write(pt, now, time, packet.payload)
                    .unwrap();
                sent += 1;
            }
            alice.drain();
            next_frame += Duration::from_millis(20);
        }
        let pacing = if alice.connected && bob.connected {
            next_frame
        } else {
            deadline
        };
        let wake = alice.timeout.min(bob.timeout).min(pacing);
        tokio::select! {
            Ok((len, source)) = alice.socket.recv_from(&mut buf_a) => alice.receive(source, &buf_a[..len]),
            Ok((len, source)) = bob.socket.recv_from(&mut buf_b) => bob.receive(source, &buf_b[..len]),
            _ = tokio::time::sleep_until(tokio::time::Instant::from_std(wake.max(Instant::now()))) => {}
        }
    }
    // Let the last packets arrive.
    let settle = Instant::now() + Duration::from_millis(300);
    while Instant::now() < settle {
        bob.tick();
        tokio::select! {
            Ok((len, source)) = bob.socket.recv_from(&mut buf_b) => bob.receive(source, &buf_b[..len]),
            _ = tokio::time::sleep(Duration::from_millis(20)) => {}
        }
    }
    assert!(
        alice.connected && bob.connected,
        "both transports connect through ICE-lite and DTLS"
    );
    assert_eq!(sent, 150, "3 s of audio was sent");

    // Decode in RTP-timestamp order with Opus concealment for missing frames, as a jitter buffer would.
    let mut decoder = OpusDecoderPipeline::new(1).unwrap();
    let mut by_time: Vec<(u64, &Vec<u8>)> = bob.received.iter().map(|(t, _, data)| (*t, data)).collect();
    by_time.sort_by_key(|(t, _)| *t);
    by_time.dedup_by_key(|(t, _)| *t);
    let mut pcm = Vec::new();
    let mut expected = by_time.first().map(|(t, _)| *t).unwrap_or(0);
    for (time, payload) in &by_time {
        while expected < *time {
            pcm.extend(decoder.decode(None).unwrap().samples);
            expected += 960;
        }
        pcm.extend(decoder.decode(Some(payload)).unwrap().samples);
        expected = time + 960;
    }
    // Skip the first 100 ms; the rest is the tone.
    let steady = &pcm[4_800.min(pcm.len())..];
    Heard {
        sent,
        received: by_time.len(),
        frequency: dominant_frequency(steady, 48_000),
        level: level_steadiness(steady, 48_000, 100),
        loss: relay.as_ref().map(LossyRelay::loss),
    }
}

#[tokio::test]
async fn a_440_hz_sine_crosses_the_sfu_and_decodes_at_440_hz() {
    let heard = sine_call(None).await;
    eprintln!(
        "sent {}, received {}, dominant {:.2} Hz, {:?}",
        heard.sent, heard.received, heard.frequency, heard.level
    );
    assert!(
        heard.received >= 140,
        "received {} of {} frames",
        heard.received,
        heard.sent
    );
    assert!(
        (heard.frequency - 440.0).abs() <= 5.0,
        "dominant frequency {} Hz",
        heard.frequency
    );
    assert!(
        heard.level.max_deviation_db < 3.0,
        "level not steady: {:?}",
        heard.level
    );
}

#[tokio::test]
async fn audio_keeps_decoding_through_ten_percent_loss() {
    let heard = sine_call(Some(0.10)).await;
    let loss = heard.loss.unwrap();
    eprintln!(
        "relay dropped {:.1} % of datagrams; sent {}, received {}, dominant {:.2} Hz, {:?}",
        loss * 100.0,
        heard.sent,
        heard.received,
        heard.frequency,
        heard.level
    );
    assert!((0.05..0.15).contains(&loss), "the relay dropped {:.1} %", loss * 100.0);
    assert!(
        heard.received >= 110,
        "received {} of {} frames",
        heard.received,
        heard.sent
    );
    assert!(
        (heard.frequency - 440.0).abs() <= 5.0,
        "dominant frequency {} Hz",
        heard.frequency
    );
    // Concealment keeps the tone going: no window falls silent.
    assert!(heard.level.min_max_ratio > 0.1, "audio dropped out: {:?}", heard.level);
}

/// A `publish` request for one audio track, with a real str0m offer (whose ICE is never run).
async fn audio_publish() -> Value {
    let mut peer = Peer::new().await;
    let mut api = peer.rtc.sdp_api();
    api.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None);
    let (offer, _pending) = api.apply().unwrap();
    json!({"type": "publish", "tracks": [{"media_type": "audio"}], "offer": offer.to_sdp_string()})
}

/// Reads one gauge from `/metrics`.
async fn gauge(server: &Server, name: &str) -> i64 {
    metric(server, name)
        .await
        .unwrap_or_else(|| panic!("no {name} in /metrics")) as i64
}

#[tokio::test]
async fn fifty_publish_subscribe_leave_cycles_release_the_media_state() {
    let server = Server::start(&[]);
    let app = server.app_ids[0].clone();
    for cycle in 0..50 {
        let mut alice = Signal::join(&server, &app, "cycles", 1).await;
        let mut bob = Signal::join(&server, &app, "cycles", 2).await;
        assert_eq!(alice.request(audio_publish().await).await["type"], "published");
        bob.wait_push(|f| f["type"] == "user_published").await;
        let subscribed = bob
            .request(json!({"type": "subscribe", "uid": 1, "media_type": "audio"}))
            .await;
        assert_eq!(subscribed["type"], "subscribed", "{subscribed}");
        if cycle == 0 {
            assert_eq!(gauge(&server, "stoa_media_tracks").await, 1);
            assert_eq!(gauge(&server, "stoa_media_subscriptions").await, 1);
        }
        // End in turn by leave, by unpublish then leave, and by unsubscribe then leave.
        match cycle % 3 {
            0 => {}
            1 => assert_eq!(
                alice
                    .request(json!({"type": "unpublish", "media_types": ["audio"]}))
                    .await["type"],
                "ok"
            ),
            _ => {
                let unsubscribe = json!({"type": "unsubscribe", "uid": 1, "media_type": "audio"});
                assert_eq!(bob.request(unsubscribe).await["type"], "ok");
            }
        }
        assert_eq!(alice.request(json!({"type": "leave"})).await["type"], "ok");
        assert_eq!(bob.request(json!({"type": "leave"})).await["type"], "ok");
    }
    // The last sessions: one leaves, one just vanishes and times out (1.5 s).
    let mut gone = Signal::join(&server, &app, "cycles", 3).await;
    assert_eq!(gone.request(audio_publish().await).await["type"], "published");
    drop(gone);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let state = (
            gauge(&server, "stoa_media_participants").await,
            gauge(&server, "stoa_media_tracks").await,
            gauge(&server, "stoa_media_subscriptions").await,
            gauge(&server, "stoa_active_users").await,
        );
        if state == (0, 0, 0, 0) {
            break;
        }
        assert!(Instant::now() < deadline, "media state left behind: {state:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// With two media workers, two channels land on different workers (each answer names its worker's own UDP port
/// as the candidate), a channel's subscriber gets the same worker as its publisher, and a third channel goes to
/// the least-loaded worker. The gauges are summed over workers.
#[tokio::test]
async fn channels_are_pinned_to_workers_with_their_own_ports() {
    let server = Server::start(&["--media-workers", "2"]);
    let app = server.app_ids[0].clone();
    assert_eq!(gauge(&server, "stoa_media_workers").await, 2);
    let mut candidates = Vec::new();
    let mut signals = Vec::new();
    for channel in ["red", "blue"] {
        let mut publisher = Signal::join(&server, &app, channel, 1).await;
        let mut subscriber = Signal::join(&server, &app, channel, 2).await;
        let published = publisher.request(audio_publish().await).await;
        assert_eq!(published["type"], "published", "{published}");
        let publisher_candidate = candidate_addr(published["answer"].as_str().unwrap());
        subscriber.wait_push(|f| f["type"] == "user_published").await;
        let subscribed = subscriber
            .request(json!({"type": "subscribe", "uid": 1, "media_type": "audio"}))
            .await;
        assert_eq!(subscribed["type"], "subscribed", "{subscribed}");
        assert_eq!(
            candidate_addr(subscribed["offer"].as_str().unwrap()),
            publisher_candidate,
            "{channel}: publisher and subscriber share a worker"
        );
        candidates.push(publisher_candidate);
        signals.push((publisher, subscriber));
    }
    assert_ne!(candidates[0], candidates[1], "two channels, two workers, two ports");
    assert_eq!(
        gauge(&server, "stoa_media_participants").await,
        4,
        "summed over workers"
    );
    assert_eq!(gauge(&server, "stoa_media_subscriptions").await, 2);

    // "red" empties; a new channel goes to its now idle worker.
    let (mut red_publisher, mut red_subscriber) = signals.remove(0);
    assert_eq!(red_publisher.request(json!({"type": "leave"})).await["type"], "ok");
    assert_eq!(red_subscriber.request(json!({"type": "leave"})).await["type"], "ok");
    let mut green = Signal::join(&server, &app, "green", 1).await;
    let published = green.request(audio_publish().await).await;
    assert_eq!(candidate_addr(published["answer"].as_str().unwrap()), candidates[0]);
    assert_eq!(gauge(&server, "stoa_media_participants").await, 3);
}

/// The `a=ice-ufrag` of an SDP.
fn ice_ufrag(sdp: &str) -> String {
    sdp.lines()
        .find_map(|line| line.strip_prefix("a=ice-ufrag:"))
        .unwrap_or_else(|| panic!("no ice-ufrag in {sdp}"))
        .trim()
        .to_string()
}

/// ICE restarts through the real media plane: a publisher re-offer with new credentials gets an answer from the
/// same transport, and `restart_subscriber_ice` gets a subscriber offer with new server credentials that the
/// client answers as usual. Neither is possible before the transport exists.
#[tokio::test]
async fn ice_restarts_give_both_transports_new_credentials() {
    let server = Server::start(&[]);
    let app = server.app_ids[0].clone();
    let mut alice = Signal::join(&server, &app, "restart", 1).await;
    let mut bob = Signal::join(&server, &app, "restart", 2).await;
    let refused = alice
        .request(json!({"type": "restart_publisher_ice", "offer": "v=0"}))
        .await;
    assert_eq!(refused["error"]["code"], "INVALID_OPERATION", "{refused}");
    let refused = bob.request(json!({"type": "restart_subscriber_ice"})).await;
    assert_eq!(refused["error"]["code"], "INVALID_OPERATION", "{refused}");

    let mut publisher = Peer::new().await;
    let mut api = publisher.rtc.sdp_api();
    api.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None);
    let (offer, pending) = api.apply().unwrap();
    let publish = json!({"type": "publish", "tracks": [{"media_type": "audio"}], "offer": offer.to_sdp_string()});
    let published = alice.request(publish).await;
    let answer = published["answer"].as_str().unwrap().to_string();
    let sdp = publisher.rtc.sdp_api();
    sdp.accept_answer(pending, SdpAnswer::from_sdp_string(&answer).unwrap())
        .unwrap();
    let mut api = publisher.rtc.sdp_api();
    let client_credentials = api.ice_restart(true);
    let (offer, pending) = api.apply().unwrap();
    assert!(offer.to_sdp_string().contains(&client_credentials.ufrag));
    let restarted = alice
        .request(json!({"type": "restart_publisher_ice", "offer": offer.to_sdp_string()}))
        .await;
    assert_eq!(restarted["type"], "published", "{restarted}");
    let restart_answer = restarted["answer"].as_str().unwrap();
    assert_ne!(
        ice_ufrag(restart_answer),
        ice_ufrag(&answer),
        "the server restarted its ICE too"
    );
    let sdp = publisher.rtc.sdp_api();
    sdp.accept_answer(pending, SdpAnswer::from_sdp_string(restart_answer).unwrap())
        .unwrap();

    bob.wait_push(|f| f["type"] == "user_published").await;
    let mut subscriber = Peer::new().await;
    let subscribed = bob
        .request(json!({"type": "subscribe", "uid": 1, "media_type": "audio"}))
        .await;
    let first_offer = subscribed["offer"].as_str().unwrap().to_string();
    let answer = subscriber
        .rtc
        .sdp_api()
        .accept_offer(SdpOffer::from_sdp_string(&first_offer).unwrap())
        .unwrap();
    let applied = bob
        .request(json!({"type": "subscriber_answer", "answer": answer.to_sdp_string()}))
        .await;
    assert_eq!(applied["type"], "ok", "{applied}");
    let restarted = bob.request(json!({"type": "restart_subscriber_ice"})).await;
    assert_eq!(restarted["type"], "subscribed", "{restarted}");
    let restart_offer = restarted["offer"].as_str().unwrap();
    assert_ne!(
        ice_ufrag(restart_offer),
        ice_ufrag(&first_offer),
        "new server credentials"
    );
    let answer = subscriber
        .rtc
        .sdp_api()
        .accept_offer(SdpOffer::from_sdp_string(restart_offer).unwrap())
        .unwrap();
    let applied = bob
        .request(json!({"type": "subscriber_answer", "answer": answer.to_sdp_string()}))
        .await;
    assert_eq!(applied["type"], "ok", "{applied}");
}

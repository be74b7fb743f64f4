//! Media through a real `stoa serve`: a publisher and a subscriber, each a str0m WebRTC peer (full ICE) on its own
//! loopback UDP socket, negotiate through the signalling protocol; the publisher sends a 440 Hz sine encoded by the
//! SDK's Opus pipeline and the subscriber decodes what the SFU forwarded.

mod common;

use std::net::SocketAddr;
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
    received: Vec<(Mid, Vec<u8>)>,
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
                RtcOutput::Event(RtcEvent::MediaData(data)) => self.received.push((data.mid, data.data.to_vec())),
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

#[tokio::test]
async fn a_440_hz_sine_crosses_the_sfu_and_decodes_at_440_hz() {
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
    let mut bob = Peer::new().await;
    let offer = SdpOffer::from_sdp_string(subscribed["offer"].as_str().unwrap()).unwrap();
    let answer = bob.rtc.sdp_api().accept_offer(offer).unwrap();
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
        if alice.connected && now >= next_frame {
            for packet in encoder.push(&sine.next_frame(20)).unwrap() {
                let time = MediaTime::new(sent * 960, Frequency::FORTY_EIGHT_KHZ);
                alice
                    .rtc
                    .writer(alice_mid)
                    .unwrap()
                    .write(pt, now, time, packet.payload)
                    .unwrap();
                sent += 1;
            }
            alice.drain();
            next_frame += Duration::from_millis(20);
        }
        let wake = alice
            .timeout
            .min(bob.timeout)
            .min(if alice.connected { next_frame } else { deadline });
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

    let mut decoder = OpusDecoderPipeline::new(1).unwrap();
    let mut pcm = Vec::new();
    for (_, payload) in &bob.received {
        pcm.extend(decoder.decode(Some(payload)).unwrap().samples);
    }
    let received = bob.received.len();
    eprintln!("sent {sent} Opus frames, received {received}");
    assert!(received >= 140, "received {received} of {sent} frames");
    // Skip the encoder's first 100 ms; the rest is the tone.
    let steady = &pcm[4_800..];
    let frequency = dominant_frequency(steady, 48_000);
    let level = level_steadiness(steady, 48_000, 100);
    eprintln!("dominant {frequency:.2} Hz, level {level:?}");
    assert!((frequency - 440.0).abs() <= 5.0, "dominant frequency {frequency} Hz");
    assert!(level.max_deviation_db < 3.0, "level not steady: {level:?}");
}

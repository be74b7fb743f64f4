//! The engine core against an in-process server made of two ICE-lite str0m sessions (one answering the publisher
//! transport, one offering the subscriber transport, frames forwarded between them), on a simulated clock: no
//! sockets, no sleeping, deterministic.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use str0m::change::{SdpAnswer, SdpOffer};
use str0m::format::Codec;
use str0m::media::{Direction, MediaKind, Mid};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, Rtc, RtcConfig};

use super::core::{EngineCore, NewTrack, Side};
use super::track::{RemoteAudioTrack, RemoteShared, SendShared};
use crate::media::signal::{SineSource, concat, dominant_frequency};
use crate::media::{AudioEncoderPreset, OpusEncoderPipeline};
use crate::state::Uid;
use stoa_proto::signal::MediaType;

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// One server-side session.
struct ServerPeer {
    rtc: Rtc,
    addr: SocketAddr,
    timeout: Instant,
    out: VecDeque<(SocketAddr, Vec<u8>)>,
    media: Vec<(Mid, str0m::media::MediaData)>,
    keyframe_requests: usize,
}

impl ServerPeer {
    fn new(addr: SocketAddr, now: Instant) -> ServerPeer {
        ServerPeer::with_config(addr, RtcConfig::new().clear_codecs().enable_opus(true, false), now)
    }

    fn with_config(addr: SocketAddr, config: RtcConfig, now: Instant) -> ServerPeer {
        let mut rtc = config.set_ice_lite(true).build(now);
        rtc.add_local_candidate(Candidate::host(addr, "udp").unwrap()).unwrap();
        ServerPeer {
            rtc,
            addr,
            timeout: now,
            out: VecDeque::new(),
            media: Vec::new(),
            keyframe_requests: 0,
        }
    }

    fn drain(&mut self) {
        loop {
            match self.rtc.poll_output().unwrap() {
                Output::Timeout(at) => return self.timeout = at,
                Output::Transmit(t) => self.out.push_back((t.destination, t.contents.to_vec())),
                Output::Event(Event::MediaData(data)) => self.media.push((data.mid, data)),
                Output::Event(Event::KeyframeRequest(_)) => self.keyframe_requests += 1,
                Output::Event(_) => {}
            }
        }
    }

    fn receive(&mut self, source: SocketAddr, contents: &[u8], now: Instant) {
        let input = Input::Receive(
            now,
            Receive {
                proto: Protocol::Udp,
                source,
                destination: self.addr,
                contents: contents.try_into().unwrap(),
            },
        );
        self.rtc.handle_input(input).unwrap();
        self.drain();
    }

    fn tick(&mut self, now: Instant) {
        if now >= self.timeout {
            self.rtc.handle_input(Input::Timeout(now)).unwrap();
        }
        self.drain();
    }
}

fn is_rtp(datagram: &[u8]) -> bool {
    datagram.len() > 12 && datagram[0] >> 6 == 2 && !(192..=223).contains(&datagram[1])
}

/// Runs A (publisher) → server → B (subscriber) for `seconds` of simulated time, dropping every `drop_every`-th RTP
/// packet from the server to B (0: none). Returns what A sent, B's track, and the frames B decoded.
fn run(seconds: u64, drop_every: usize) -> (Arc<SendShared>, RemoteAudioTrack, Vec<crate::media::AudioFrame>) {
    let t0 = Instant::now();
    let server = addr("10.0.0.1:5000");
    let mut a = EngineCore::new(addr("10.0.0.2:4000"), addr("10.0.0.2:4001"), t0).unwrap();
    let mut b = EngineCore::new(addr("10.0.0.3:4000"), addr("10.0.0.3:4001"), t0).unwrap();
    let mut srv_pub = ServerPeer::new(server, t0);
    let mut srv_sub = ServerPeer::new(server, t0);

    // Publish: A offers, the server answers.
    let send = Arc::new(SendShared::default());
    let (offer, mids) = a
        .publish_offer(
            vec![NewTrack {
                kind: MediaKind::Audio,
                stream_id: "stoa-1".into(),
                track_id: "audio-1".into(),
                send: send.clone(),
            }],
            t0,
        )
        .unwrap();
    let answer = srv_pub
        .rtc
        .sdp_api()
        .accept_offer(SdpOffer::from_sdp_string(&offer).unwrap())
        .unwrap();
    a.publish_answer(&answer.to_sdp_string(), t0).unwrap();
    srv_pub.drain();

    // Subscribe: the server offers, B answers.
    let mut api = srv_sub.rtc.sdp_api();
    let sub_mid = api.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None);
    let (offer, pending) = api.apply().unwrap();
    let remote = RemoteShared::new(Uid::Number(1), 1, MediaType::Audio);
    let track = RemoteAudioTrack { shared: remote.clone() };
    let mut frames = track.frames();
    let (answer, mid) = b.subscribe_offer(&offer.to_sdp_string(), remote, t0).unwrap();
    assert_eq!(mid, sub_mid, "the new m-line is the subscription's");
    srv_sub
        .rtc
        .sdp_api()
        .accept_answer(pending, SdpAnswer::from_sdp_string(&answer).unwrap())
        .unwrap();
    srv_sub.drain();

    let mut encoder = OpusEncoderPipeline::new(AudioEncoderPreset::MusicStandard).unwrap();
    let mut sine = SineSource::new(440.0, 48_000, 1, 0.5);
    let mut now = t0;
    let mut next_frame = t0;
    let end = t0 + Duration::from_secs(seconds);
    let mut to_b = 0usize;
    // A little longer than the sending, for the last packets to arrive.
    while now < end + Duration::from_millis(200) {
        // Move datagrams until nobody has anything to say.
        loop {
            let mut moved = false;
            while let Some(t) = a.poll_transmit() {
                assert_eq!(t.side, Side::Publisher, "A only publishes");
                srv_pub.receive(a.local_addr(Side::Publisher), &t.contents, now);
                moved = true;
            }
            while let Some((dest, contents)) = srv_pub.out.pop_front() {
                assert_eq!(dest, a.local_addr(Side::Publisher));
                a.handle_datagram(Side::Publisher, server, &contents, now);
                moved = true;
            }
            while let Some(t) = b.poll_transmit() {
                assert_eq!(t.side, Side::Subscriber, "B only subscribes");
                srv_sub.receive(b.local_addr(Side::Subscriber), &t.contents, now);
                moved = true;
            }
            while let Some((_, contents)) = srv_sub.out.pop_front() {
                if is_rtp(&contents) {
                    to_b += 1;
                    if drop_every > 0 && to_b.is_multiple_of(drop_every) {
                        continue;
                    }
                }
                b.handle_datagram(Side::Subscriber, server, &contents, now);
                moved = true;
            }
            // Forward what the server received from A to B.
            for (_, data) in std::mem::take(&mut srv_pub.media) {
                if let Some(writer) = srv_sub.rtc.writer(sub_mid) {
                    let pt = writer
                        .payload_params()
                        .find(|p| p.spec().codec == Codec::Opus)
                        .unwrap()
                        .pt();
                    let _ = writer.write(pt, now, data.time, data.data.to_vec());
                }
                srv_sub.drain();
                moved = true;
            }
            if !moved {
                break;
            }
        }
        if now >= next_frame && now < end {
            for packet in encoder.push(&sine.next_frame(20)).unwrap() {
                a.write_audio(mids[0], packet, now);
            }
            next_frame += Duration::from_millis(20);
        }
        let wake = a
            .next_timeout()
            .min(b.next_timeout())
            .min(srv_pub.timeout)
            .min(srv_sub.timeout)
            .min(next_frame)
            .max(now + Duration::from_millis(1));
        now = wake;
        a.handle_timeout(now);
        b.handle_timeout(now);
        srv_pub.tick(now);
        srv_sub.tick(now);
    }
    let mut decoded = Vec::new();
    while let Ok(frame) = frames.try_recv() {
        decoded.push(frame);
    }
    (send, track, decoded)
}

#[test]
fn audio_crosses_from_one_engine_to_another_and_decodes_at_440_hz() {
    let (send, track, decoded) = run(3, 0);
    let sent = send.stats.lock().unwrap().clone();
    let stats = track.stats();
    let pcm = concat(&decoded);
    let hz = dominant_frequency(&pcm[pcm.len().min(4_800)..], 48_000);
    assert!(sent.packets > 130, "A sent {} packets", sent.packets);
    assert_eq!(stats.receive_packets, sent.packets, "nothing is lost on a perfect link");
    assert_eq!(decoded.len() as u64, sent.packets);
    assert_eq!(stats.receive_packets_lost, 0);
    assert!((hz - 440.0).abs() < 2.0, "{hz} Hz");
}

#[test]
fn lost_packets_are_counted_and_concealed() {
    let (send, track, decoded) = run(3, 10);
    let sent = send.stats.lock().unwrap().clone();
    let stats = track.stats();
    assert!(stats.receive_packets_lost >= 10, "{stats:?}");
    assert_eq!(
        stats.receive_packets + stats.receive_packets_lost,
        sent.packets,
        "{stats:?}"
    );
    assert!(
        (stats.packet_loss_rate - 10.0).abs() < 2.0,
        "loss rate {}",
        stats.packet_loss_rate
    );
    // Every lost frame is concealed: the stream stays continuous.
    assert_eq!(decoded.len() as u64, sent.packets);
    let pcm = concat(&decoded);
    let hz = dominant_frequency(&pcm[pcm.len().min(4_800)..], 48_000);
    assert!((hz - 440.0).abs() < 5.0, "{hz} Hz");
}

/// VP8 from A through an in-memory server (frame mode, keyframe requests passed on) to B, 4 s of simulated time.
/// From 1.5 s to 2.5 s every RTP packet to B and everything B sends is dropped, and retransmissions (RTX) to B are
/// dropped from then on, so the gap cannot be repaired: B must skip frames, ask for a keyframe, and decode again once
/// A sent one.
#[test]
fn video_recovers_with_a_keyframe_request_after_unrepairable_loss() {
    use crate::media::video::pattern::{CounterPattern, read_counter};
    use crate::media::video::{VideoCodec, VideoEncoderConfig, VideoEncoderPipeline};
    use std::sync::atomic::Ordering;

    let t0 = Instant::now();
    let server = addr("10.0.0.1:5000");
    let mut a = EngineCore::new(addr("10.0.0.2:4000"), addr("10.0.0.2:4001"), t0).unwrap();
    let mut b = EngineCore::new(addr("10.0.0.3:4000"), addr("10.0.0.3:4001"), t0).unwrap();
    let video_config = || RtcConfig::new().clear_codecs().enable_vp8(true);
    let mut srv_pub = ServerPeer::with_config(server, video_config(), t0);
    let mut srv_sub = ServerPeer::with_config(server, video_config(), t0);

    let send = Arc::new(SendShared::default());
    let (offer, mids) = a
        .publish_offer(
            vec![NewTrack {
                kind: MediaKind::Video,
                stream_id: "stoa-1".into(),
                track_id: "video-1".into(),
                send: send.clone(),
            }],
            t0,
        )
        .unwrap();
    let answer = srv_pub
        .rtc
        .sdp_api()
        .accept_offer(SdpOffer::from_sdp_string(&offer).unwrap())
        .unwrap();
    a.publish_answer(&answer.to_sdp_string(), t0).unwrap();
    srv_pub.drain();
    let pub_mid = mids[0];

    let mut api = srv_sub.rtc.sdp_api();
    let sub_mid = api.add_media(MediaKind::Video, Direction::SendOnly, None, None, None);
    let (offer, pending) = api.apply().unwrap();
    let remote = RemoteShared::new(Uid::Number(1), 1, MediaType::Video);
    let track = super::video::RemoteVideoTrack { shared: remote.clone() };
    let mut frames = track.frames();
    let (answer, mid) = b.subscribe_offer(&offer.to_sdp_string(), remote, t0).unwrap();
    assert_eq!(mid, sub_mid);
    srv_sub
        .rtc
        .sdp_api()
        .accept_answer(pending, SdpAnswer::from_sdp_string(&answer).unwrap())
        .unwrap();
    srv_sub.drain();

    let rtx_pt = srv_sub
        .rtc
        .writer(sub_mid)
        .unwrap()
        .payload_params()
        .find(|p| p.spec().codec == Codec::Vp8)
        .and_then(|p| p.resend())
        .map(|pt| *pt)
        .expect("RTX is negotiated for VP8");
    let is_rtx = |datagram: &[u8]| is_rtp(datagram) && datagram[1] & 0x7f == rtx_pt;
    let config = VideoEncoderConfig {
        codec: VideoCodec::Vp8,
        width: 320,
        height: 180,
        frame_rate: 30,
        bitrate_kbps: 300,
        keyframe_interval: 0,
    };
    let mut encoder = VideoEncoderPipeline::new(config).unwrap();
    let mut pattern = CounterPattern::new(320, 180).unwrap();
    let blackout = (t0 + Duration::from_millis(1500))..(t0 + Duration::from_millis(2500));
    let end = t0 + Duration::from_secs(4);
    let frame_period = Duration::from_millis(33);
    let (mut now, mut next_frame) = (t0, t0);
    let mut decoded = Vec::new();
    while now < end + Duration::from_millis(300) {
        let dark = blackout.contains(&now);
        loop {
            let mut moved = false;
            while let Some(t) = a.poll_transmit() {
                srv_pub.receive(a.local_addr(Side::Publisher), &t.contents, now);
                moved = true;
            }
            while let Some((_, contents)) = srv_pub.out.pop_front() {
                a.handle_datagram(Side::Publisher, server, &contents, now);
                moved = true;
            }
            while let Some(t) = b.poll_transmit() {
                if !dark {
                    srv_sub.receive(b.local_addr(Side::Subscriber), &t.contents, now);
                }
                moved = true;
            }
            while let Some((_, contents)) = srv_sub.out.pop_front() {
                let lost = (dark && is_rtp(&contents)) || (now >= blackout.end && is_rtx(&contents));
                if !lost {
                    b.handle_datagram(Side::Subscriber, server, &contents, now);
                }
                moved = true;
            }
            for (_, data) in std::mem::take(&mut srv_pub.media) {
                if let Some(writer) = srv_sub.rtc.writer(sub_mid) {
                    let pt = writer
                        .payload_params()
                        .find(|p| p.spec().codec == Codec::Vp8)
                        .unwrap()
                        .pt();
                    let _ = writer.write(pt, now, data.time, data.data.to_vec());
                }
                srv_sub.drain();
                moved = true;
            }
            // The server passes B's keyframe requests on to A.
            if srv_sub.keyframe_requests > 0 {
                srv_sub.keyframe_requests = 0;
                if let Some(mut writer) = srv_pub.rtc.writer(pub_mid) {
                    writer
                        .request_keyframe(None, str0m::media::KeyframeRequestKind::Pli)
                        .unwrap();
                }
                srv_pub.drain();
                moved = true;
            }
            if !moved {
                break;
            }
        }
        if now >= next_frame && now < end {
            let force = send.keyframe_wanted.swap(false, Ordering::Relaxed);
            for frame in encoder.encode(&pattern.next_frame(), force).unwrap() {
                a.write_video(pub_mid, VideoCodec::Vp8, frame, now);
            }
            next_frame += frame_period;
        }
        while let Ok(frame) = frames.try_recv() {
            decoded.push((now, read_counter(&frame).unwrap()));
        }
        let wake = a
            .next_timeout()
            .min(b.next_timeout())
            .min(srv_pub.timeout)
            .min(srv_sub.timeout)
            .min(next_frame)
            .max(now + Duration::from_millis(1));
        now = wake;
        a.handle_timeout(now);
        b.handle_timeout(now);
        srv_pub.tick(now);
        srv_sub.tick(now);
    }
    let stats = track.stats();
    let counters: Vec<u32> = decoded.iter().map(|(_, n)| *n).collect();
    assert!(counters.windows(2).all(|w| w[0] < w[1]), "in order: {counters:?}");
    assert!(
        stats.frames_skipped > 0,
        "frames after the blackout waited for a keyframe: {stats:?}"
    );
    assert!(stats.keyframe_requests_sent >= 1, "{stats:?}");
    assert!(
        encoder.stats().keyframes >= 2,
        "A sent a keyframe on request: {:?}",
        encoder.stats()
    );
    // 45 frames follow the blackout. Alone this test decodes 30 or more of them; under a loaded CI machine it once
    // decoded 19, because VP8's adaptive real-time speed (cpu-used -6) follows wall-clock time and changes what is
    // sent. Recovery itself is the point here, so 10 frames after the blackout are enough.
    let after = decoded.iter().filter(|(at, _)| *at >= blackout.end).count();
    assert!(
        after >= 10,
        "video decodes again after the blackout: {after} frames; {stats:?}"
    );
    let before = decoded.iter().filter(|(at, _)| *at < blackout.start).count();
    assert!(before >= 30, "{before} frames before the blackout");
}

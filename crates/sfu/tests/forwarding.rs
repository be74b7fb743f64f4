//! Publisher -> router -> subscriber through the in-memory network: ICE + DTLS, forwarding, payload type mapping,
//! keyframe requests, NACK recovery.

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::{Net, all_codecs, codecs, counter_of, frame, time48, time90};
use stoa_sfu::{Event, MediaKind, ParticipantId, TransportKind};
use str0m::format::{Codec, FormatParams};
use str0m::media::{Frequency, KeyframeRequestKind, Mid, Pt};
use str0m::{Event as RtcEvent, RtcConfig};

const ALICE: ParticipantId = ParticipantId(1);
const BOB: ParticipantId = ParticipantId(2);

struct Call {
    net: Net,
    /// Alice's publisher transport (client side).
    alice: usize,
    /// Bob's subscriber transport (client side).
    bob: usize,
    audio_mid: Mid,
    video_mid: Mid,
    codec: Codec,
    audio_pt: Pt,
    video_pt: Pt,
    /// Sent video frames: counter -> keyframe.
    sent_video: HashMap<u32, bool>,
    next_audio: u32,
    next_video: u32,
    requests_seen: usize,
    publisher_connected_after: Duration,
}

/// Alice publishes audio + video with `alice_config`; the publisher transport connects.
fn publish(codec: Codec, alice_config: impl FnOnce(RtcConfig) -> RtcConfig) -> Call {
    let mut net = Net::new();
    net.add_participant(ALICE);
    net.add_participant(BOB);
    let alice = net.add_client("alice-publisher", alice_config);
    let mids = net.publish(alice, ALICE, &[MediaKind::Audio, MediaKind::Video]);
    let (audio_mid, video_mid) = (mids[0], mids[1]);
    for kind in [MediaKind::Audio, MediaKind::Video] {
        assert_eq!(
            net.router_event_count(|e| matches!(e, Event::TrackPublished { participant, kind: k, .. }
                if *participant == ALICE && *k == kind)),
            1
        );
    }
    let start = net.now;
    assert!(net.run_until_true(Duration::from_secs(2), |n| n.clients[alice].connected_at().is_some()));
    let publisher_connected_after = net.clients[alice].connected_at().unwrap() - start;
    assert!(net.run_until_true(Duration::from_millis(100), |n| {
        n.router_event_count(|e| {
            *e == Event::Connected {
                participant: ALICE,
                transport: TransportKind::Publisher,
            }
        }) == 1
    }));
    let audio_pt = net.clients[alice].pt_for(audio_mid, Codec::Opus);
    let video_pt = net.clients[alice].pt_for(video_mid, codec);
    Call {
        net,
        alice,
        bob: usize::MAX,
        audio_mid,
        video_mid,
        codec,
        audio_pt,
        video_pt,
        sent_video: HashMap::new(),
        next_audio: 0,
        next_video: 0,
        requests_seen: 0,
        publisher_connected_after,
    }
}

impl Call {
    /// Bob subscribes to both of Alice's tracks; his subscriber transport connects. Returns the time to connect.
    fn subscribe(&mut self) -> Duration {
        self.subscribe_with(all_codecs)
    }

    fn subscribe_with(&mut self, bob_config: impl FnOnce(RtcConfig) -> RtcConfig) -> Duration {
        let net = &mut self.net;
        for kind in [MediaKind::Audio, MediaKind::Video] {
            net.router.subscribe(BOB, ALICE, kind, net.now).unwrap();
        }
        net.drain_router();
        assert_eq!(
            net.router_event_count(|e| *e == Event::NegotiationNeeded { participant: BOB }),
            1
        );
        self.bob = net.add_client("bob-subscriber", bob_config);
        let start = net.now;
        assert!(net.negotiate_subscriber(self.bob, BOB));
        let bob = self.bob;
        assert!(net.run_until_true(Duration::from_secs(2), |n| n.clients[bob].connected_at().is_some()));
        let took = net.clients[bob].connected_at().unwrap() - start;
        assert!(net.run_until_true(Duration::from_millis(100), |n| {
            n.router_event_count(|e| {
                *e == Event::Connected {
                    participant: BOB,
                    transport: TransportKind::Subscriber,
                }
            }) == 1
        }));
        took
    }

    fn bob_mid(&self, kind: MediaKind) -> Mid {
        Mid::from(self.net.router.subscription_mid(BOB, ALICE, kind).unwrap().as_str())
    }

    /// Alice streams for `duration`: 20 ms Opus frames, 33 ms video frames (3000-byte keyframes, 900-byte delta
    /// frames). A keyframe comes first and after each keyframe request Alice receives.
    fn stream(&mut self, duration: Duration) {
        let end = self.net.now + duration;
        let mut next_audio_at = self.net.now;
        let mut next_video_at = self.net.now;
        while self.net.now < end {
            let at = next_audio_at.min(next_video_at);
            self.net.run_until(at);
            if self.net.now >= next_audio_at {
                let n = self.next_audio;
                self.next_audio += 1;
                let (mid, pt) = (self.audio_mid, self.audio_pt);
                self.net.write_frame(
                    self.alice,
                    mid,
                    pt,
                    time48(n as u64 * 20),
                    frame(Codec::Opus, n, false, 120),
                );
                next_audio_at += Duration::from_millis(20);
            }
            if self.net.now >= next_video_at {
                let requests = self.net.clients[self.alice].keyframe_requests().len();
                let keyframe = self.next_video == 0 || requests > self.requests_seen;
                self.requests_seen = requests;
                let n = self.next_video;
                self.next_video += 1;
                self.sent_video.insert(n, keyframe);
                let len = if keyframe { 3000 } else { 900 };
                let (mid, pt, codec) = (self.video_mid, self.video_pt, self.codec);
                self.net.write_frame(
                    self.alice,
                    mid,
                    pt,
                    time90(n as u64 * 33),
                    frame(codec, n, keyframe, len),
                );
                next_video_at += Duration::from_millis(33);
            }
        }
    }

    /// Bob's received frames of `kind`: (counter, data, pt, codec).
    fn received(&self, kind: MediaKind) -> Vec<(u32, Vec<u8>, Pt, Codec)> {
        let mid = self.bob_mid(kind);
        self.net.clients[self.bob]
            .media_data(mid)
            .into_iter()
            .map(|d| {
                let n = counter_of(&d.data).expect("a counter in the frame");
                (n, d.data.to_vec(), d.pt, d.params.spec().codec)
            })
            .collect()
    }

    /// Every received video frame in order, without gaps, byte-exact, starting on a keyframe.
    fn check_video(&self) -> (u32, u32) {
        let got = self.received(MediaKind::Video);
        assert!(!got.is_empty(), "no video received");
        let first = got[0].0;
        assert!(
            self.sent_video[&first],
            "the first forwarded frame {first} is a keyframe"
        );
        for (i, (n, data, _, codec)) in got.iter().enumerate() {
            assert_eq!(*n, first + i as u32, "video frames in order without gaps");
            assert_eq!(*codec, self.codec);
            let keyframe = self.sent_video[n];
            let expected = frame(self.codec, *n, keyframe, if keyframe { 3000 } else { 900 });
            assert_eq!(data, &expected, "payload of video frame {n}");
        }
        (first, got.last().unwrap().0)
    }

    fn check_audio(&self) -> usize {
        let got = self.received(MediaKind::Audio);
        assert!(!got.is_empty(), "no audio received");
        let first = got[0].0;
        for (i, (n, data, _, codec)) in got.iter().enumerate() {
            assert_eq!(*n, first + i as u32, "audio frames in order without gaps");
            assert_eq!(*codec, Codec::Opus);
            assert_eq!(data, &frame(Codec::Opus, *n, false, 120));
        }
        got.len()
    }
}

fn forwards(codec: Codec) {
    let mut call = publish(codec, codecs(codec));
    let sub_connect = call.subscribe();
    call.stream(Duration::from_secs(2));
    call.net.run_for(Duration::from_millis(300));

    let (first, last) = call.check_video();
    let audio = call.check_audio();
    assert_eq!(first, 0);
    assert_eq!(last + 1, call.next_video, "every video frame arrived");
    assert_eq!(audio as u32, call.next_audio, "every audio frame arrived");
    assert_eq!(
        call.net
            .router_event_count(|e| matches!(e, Event::MediaStarted { participant, .. } if *participant == ALICE)),
        2
    );
    let stats = call.net.router.stats();
    assert_eq!(
        stats.rtp_forwarded, stats.rtp_in,
        "every packet forwarded once: {stats:?}"
    );
    println!(
        "{codec:?}: publisher connected after {:?}, subscriber after {:?} (simulated, 5 ms one-way latency); \
         {} video frames, {audio} audio frames; router stats {stats:?}",
        call.publisher_connected_after, sub_connect, call.next_video
    );
}

#[test]
fn vp8_and_opus_are_forwarded_in_order() {
    forwards(Codec::Vp8);
}

#[test]
fn h264_and_opus_are_forwarded_in_order() {
    forwards(Codec::H264);
}

#[test]
fn vp9_and_opus_are_forwarded_in_order() {
    forwards(Codec::Vp9);
}

/// Alice uses payload types the router does not (Opus 109, VP8 100 with RTX 101): Bob still gets the router's.
#[test]
fn payload_types_are_mapped_per_subscriber() {
    let mut call = publish(Codec::Vp8, |c: RtcConfig| {
        let mut c = c.clear_codecs();
        let opus = FormatParams {
            min_p_time: Some(10),
            use_inband_fec: Some(true),
            ..Default::default()
        };
        c.codec_config()
            .add_config(109.into(), None, Codec::Opus, Frequency::FORTY_EIGHT_KHZ, Some(2), opus);
        c.codec_config().add_config(
            100.into(),
            Some(101.into()),
            Codec::Vp8,
            Frequency::NINETY_KHZ,
            None,
            FormatParams::default(),
        );
        c
    });
    assert_eq!((*call.audio_pt, *call.video_pt), (109, 100));
    call.subscribe();
    call.stream(Duration::from_millis(500));
    call.net.run_for(Duration::from_millis(300));
    call.check_video();
    call.check_audio();
    let video_pt = call.received(MediaKind::Video)[0].2;
    let audio_pt = call.received(MediaKind::Audio)[0].2;
    assert_eq!(
        (*audio_pt, *video_pt),
        (111, 96),
        "the router's own payload types towards Bob"
    );
}

/// Bob subscribes while Alice has been streaming for a second: the router asks Alice for a keyframe, and Bob's
/// stream starts on it, continuous from there.
#[test]
fn a_late_subscriber_starts_on_a_requested_keyframe() {
    let mut call = publish(Codec::Vp8, codecs(Codec::Vp8));
    call.stream(Duration::from_secs(1));
    assert_eq!(call.net.clients[call.alice].keyframe_requests().len(), 0);
    let before = call.next_video;
    call.subscribe();
    call.stream(Duration::from_secs(1));
    call.net.run_for(Duration::from_millis(300));
    let (first, last) = call.check_video();
    assert!(first >= before, "starts with a frame sent after subscribing");
    assert_eq!(last + 1, call.next_video);
    assert!(
        !call.net.clients[call.alice].keyframe_requests().is_empty(),
        "the router asked for a keyframe"
    );
    let got = call.received(MediaKind::Video);
    println!(
        "late subscriber: first frame {first} (keyframe sent after the request), {} frames, stats {:?}",
        got.len(),
        call.net.router.stats()
    );
}

/// Bob sends a PLI every 50 ms for 2 s; Alice gets at most one per 500 ms.
#[test]
fn keyframe_requests_reach_the_publisher_throttled() {
    let mut call = publish(Codec::Vp8, codecs(Codec::Vp8));
    call.subscribe();
    call.stream(Duration::from_millis(600));
    let bob_video = call.bob_mid(MediaKind::Video);
    let before = call.net.clients[call.alice].keyframe_requests().len();
    let stats_before = call.net.router.stats();
    let start = call.net.now;
    for _ in 0..40 {
        let bob = call.bob;
        call.net.clients[bob]
            .rtc
            .writer(bob_video)
            .unwrap()
            .request_keyframe(None, KeyframeRequestKind::Pli)
            .unwrap();
        call.net.drain_client(bob);
        call.stream(Duration::from_millis(50));
    }
    call.net.run_for(Duration::from_millis(100));
    let requests: Vec<Instant> = call.net.clients[call.alice].keyframe_requests()[before..].to_vec();
    let stats = call.net.router.stats();
    let received = stats.keyframe_requests_in - stats_before.keyframe_requests_in;
    println!(
        "keyframe requests: Bob sent 40 PLIs in 2 s, the router received {received}, Alice received {} at {:?}",
        requests.len(),
        requests.iter().map(|t| *t - start).collect::<Vec<_>>()
    );
    assert!(received >= 20, "the router saw Bob's PLIs ({received})");
    assert!(requests.len() >= 3, "requests reach Alice ({})", requests.len());
    assert!(requests.len() <= 5, "throttled to one per 500 ms ({})", requests.len());
    for pair in requests.windows(2) {
        // Arrival spacing can shrink by the jitter of RTCP scheduling on both sides.
        assert!(
            pair[1] - pair[0] >= Duration::from_millis(400),
            "spacing {:?}",
            pair[1] - pair[0]
        );
    }
    // Keyframes answered the requests and Bob's stream stayed intact.
    call.net.run_for(Duration::from_millis(300));
    call.check_video();
}

/// 5 % loss of video packets between Alice and the router, and between the router and Bob: NACK/RTX on both legs
/// repairs it (str0m NACKs Alice's stream; the router answers Bob's NACKs from its send buffer).
#[test]
fn nack_repairs_loss_on_both_legs() {
    let mut call = publish(Codec::Vp8, codecs(Codec::Vp8));
    call.subscribe();
    let router_addr = call.net.router_addr;
    let alice_addr = call.net.clients[call.alice].addr;
    let bob_addr = call.net.clients[call.bob].addr;
    let mut up = 0u32;
    let mut down = 0u32;
    let (mut lost_up, mut lost_down) = (0u32, 0u32);
    let lost = std::rc::Rc::new(std::cell::Cell::new((0u32, 0u32)));
    let lost_in = lost.clone();
    call.net.drop_fn = Some(Box::new(move |d| {
        // SRTP video: RTP version 2, not RTCP, bigger than an audio packet.
        let rtp = d.contents.len() > 300 && d.contents[0] >> 6 == 2 && !(64..96).contains(&(d.contents[1] & 0x7f));
        if !rtp {
            return false;
        }
        if d.source == alice_addr && d.destination == router_addr {
            up += 1;
            if up.is_multiple_of(20) {
                lost_up += 1;
                lost_in.set((lost_up, lost_down));
                return true;
            }
        }
        if d.source == router_addr && d.destination == bob_addr {
            down += 1;
            if down % 20 == 7 {
                lost_down += 1;
                lost_in.set((lost_up, lost_down));
                return true;
            }
        }
        false
    }));
    call.stream(Duration::from_secs(3));
    call.net.drop_fn = None;
    call.net.run_for(Duration::from_millis(500));
    let (first, last) = call.check_video();
    assert_eq!(
        (first, last + 1),
        (0, call.next_video),
        "every video frame arrived despite the loss"
    );
    let (lost_up, lost_down) = lost.get();
    assert!(lost_up > 0 && lost_down > 0);
    println!(
        "NACK: dropped {lost_up} video packets Alice->router and {lost_down} router->Bob; all {} frames arrived; \
         stats {:?}",
        call.next_video,
        call.net.router.stats()
    );
}

/// What str0m does on every session, seen from the clients: the router sends Alice receiver reports and TWCC
/// feedback for her packets; it sends Bob sender reports and transport-wide sequence numbers, and Bob's TWCC
/// feedback goes back to it.
#[test]
fn rtcp_reports_and_twcc_feedback_flow() {
    use str0m::rtp::RawPacket;
    use str0m::rtp::rtcp::Rtcp;

    let mut call = publish(Codec::Vp8, |c: RtcConfig| {
        codecs(Codec::Vp8)(c).enable_raw_packets(true)
    });
    call.subscribe_with(|c: RtcConfig| all_codecs(c).enable_raw_packets(true));
    call.stream(Duration::from_secs(3));
    call.check_video();

    let count = |client: usize, f: &dyn Fn(&RawPacket) -> bool| {
        call.net.clients[client]
            .events
            .iter()
            .filter(|(_, e)| matches!(e, RtcEvent::RawPacket(p) if f(p)))
            .count()
    };
    let alice_twcc = count(call.alice, &|p| matches!(p, RawPacket::RtcpRx(Rtcp::Twcc(_))));
    let alice_rr = count(call.alice, &|p| matches!(p, RawPacket::RtcpRx(Rtcp::ReceiverReport(_))));
    let bob_sr = count(call.bob, &|p| matches!(p, RawPacket::RtcpRx(Rtcp::SenderReport(_))));
    let bob_twcc_seq = count(
        call.bob,
        &|p| matches!(p, RawPacket::RtpRx(h, _) if h.ext_vals.transport_cc.is_some()),
    );
    let bob_rtp = count(call.bob, &|p| matches!(p, RawPacket::RtpRx(..)));
    let bob_twcc_sent = count(call.bob, &|p| matches!(p, RawPacket::RtcpTx(Rtcp::Twcc(_))));
    println!(
        "in 3 s: Alice got {alice_twcc} TWCC feedbacks and {alice_rr} receiver reports from the router; Bob got \
         {bob_sr} sender reports, {bob_twcc_seq} of {bob_rtp} RTP packets with a transport-wide sequence number, \
         and sent {bob_twcc_sent} TWCC feedbacks"
    );
    assert!(alice_twcc >= 10 && alice_rr >= 2);
    assert!(bob_sr >= 2 && bob_twcc_sent >= 10);
    assert_eq!(bob_twcc_seq, bob_rtp);
}

/// One publisher, three subscribers joining at different times: each gets every frame from its start, on its own
/// SSRC, with its own gap-free sequence numbers starting below 2^15.
#[test]
fn fan_out_gives_each_subscriber_its_own_continuous_stream() {
    use str0m::rtp::RawPacket;

    let mut call = publish(Codec::Vp8, codecs(Codec::Vp8));
    let mut subscribers = Vec::new();
    for i in 0..3u64 {
        let id = ParticipantId(10 + i);
        call.net.add_participant(id);
        call.net
            .router
            .subscribe(id, ALICE, MediaKind::Video, call.net.now)
            .unwrap();
        let c = call
            .net
            .add_client("subscriber", |c: RtcConfig| all_codecs(c).enable_raw_packets(true));
        assert!(call.net.negotiate_subscriber(c, id));
        subscribers.push((id, c, call.next_video));
        call.stream(Duration::from_millis(400));
    }
    call.net.run_for(Duration::from_millis(300));
    assert_eq!(call.net.router.subscription_count(), 3);

    let mut ssrcs = Vec::new();
    for (id, c, joined_at_frame) in subscribers {
        let mid = Mid::from(
            call.net
                .router
                .subscription_mid(id, ALICE, MediaKind::Video)
                .unwrap()
                .as_str(),
        );
        let frames: Vec<u32> = call.net.clients[c]
            .media_data(mid)
            .iter()
            .map(|d| counter_of(&d.data).unwrap())
            .collect();
        let first = frames[0];
        assert!(
            first >= joined_at_frame && call.sent_video[&first],
            "starts on a keyframe"
        );
        assert_eq!(frames, (first..call.next_video).collect::<Vec<_>>(), "subscriber {id}");
        let headers: Vec<_> = call.net.clients[c]
            .events
            .iter()
            .filter_map(|(_, e)| match e {
                RtcEvent::RawPacket(p) => match &**p {
                    RawPacket::RtpRx(h, _) => Some((h.ssrc, h.sequence_number)),
                    _ => None,
                },
                _ => None,
            })
            .collect();
        let ssrc = headers[0].0;
        assert!(headers.iter().all(|(s, _)| *s == ssrc), "one SSRC per subscriber");
        assert!(headers[0].1 < 0x8000, "sequence starts below 2^15");
        for pair in headers.windows(2) {
            assert_eq!(
                pair[1].1,
                pair[0].1.wrapping_add(1),
                "gap-free sequence for subscriber {id}"
            );
        }
        ssrcs.push(ssrc);
        println!(
            "subscriber {id}: frames {first}..{}, SSRC {ssrc}, first seq {}",
            call.next_video - 1,
            headers[0].1
        );
    }
    ssrcs.sort();
    ssrcs.dedup();
    assert_eq!(ssrcs.len(), 3, "distinct SSRCs");
}

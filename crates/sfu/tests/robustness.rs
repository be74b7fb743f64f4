//! Bad input is normal input: malformed SDP and garbage datagrams give errors, never panics, and do not disturb the
//! sessions that work.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::{Net, all_codecs, codecs, counter_of, frame, time90};
use stoa_sfu::{MediaKind, ParticipantId, SfuError};
use str0m::format::Codec;
use str0m::media::{Direction, MediaKind as RtcKind};

const ALICE: ParticipantId = ParticipantId(1);
const BOB: ParticipantId = ParticipantId(2);

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

/// A real publisher offer from a str0m client, with `kinds` as sendonly m-lines.
fn client_offer(net: &mut Net, kinds: &[RtcKind]) -> String {
    let c = net.add_client("offerer", codecs(Codec::Vp8));
    let mut api = net.clients[c].rtc.sdp_api();
    for kind in kinds {
        api.add_media(*kind, Direction::SendOnly, None, None, None);
    }
    let (offer, _pending) = api.apply().unwrap();
    net.retire(c);
    offer.to_sdp_string()
}

#[test]
fn malformed_sdp_is_refused() {
    let mut net = Net::new();
    net.add_participant(ALICE);
    net.add_participant(BOB);
    let now = net.now;
    let good = client_offer(&mut net, &[RtcKind::Audio, RtcKind::Video]);
    let r = &mut net.router;

    assert_eq!(
        r.publisher_offer(ParticipantId(9), &good, now),
        Err(SfuError::UnknownParticipant(ParticipantId(9)))
    );
    for bad in [
        "",
        "hello",
        "v=0\r\n",
        "m=",
        "m=audio",
        "\0\0\0",
        "m=video 9 UDP/TLS/RTP/SAVPF 96\r\n",
    ] {
        let result = r.publisher_offer(ALICE, bad, now);
        assert!(
            matches!(result, Err(SfuError::InvalidSdp(_) | SfuError::SdpRejected(_))),
            "{bad:?}: {result:?}"
        );
    }
    let huge = "a".repeat(r.config().max_sdp_len + 1);
    assert!(matches!(
        r.publisher_offer(ALICE, &huge, now),
        Err(SfuError::SdpTooLarge { .. })
    ));
    let many_mlines = "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n".repeat(40);
    assert!(matches!(
        r.publisher_offer(ALICE, &many_mlines, now),
        Err(SfuError::InvalidSdp(_))
    ));

    let no_fingerprint: String = good
        .lines()
        .filter(|l| !l.starts_with("a=fingerprint"))
        .map(|l| format!("{l}\r\n"))
        .collect();
    let result = r.publisher_offer(ALICE, &no_fingerprint, now);
    assert!(
        matches!(result, Err(SfuError::InvalidSdp(_) | SfuError::SdpRejected(_))),
        "{result:?}"
    );
    let no_ice: String = good
        .lines()
        .filter(|l| !l.starts_with("a=ice-"))
        .map(|l| format!("{l}\r\n"))
        .collect();
    let result = r.publisher_offer(BOB, &no_ice, now);
    assert!(
        matches!(result, Err(SfuError::InvalidSdp(_) | SfuError::SdpRejected(_))),
        "{result:?}"
    );
    let lite = good.replacen("a=group", "a=ice-lite\r\na=group", 1);
    let result = r.publisher_offer(BOB, &lite, now);
    assert!(
        matches!(result, Err(SfuError::SdpRejected(_))),
        "both ICE-lite: {result:?}"
    );

    let two_videos = client_offer(&mut net, &[RtcKind::Video, RtcKind::Video]);
    let r = &mut net.router;
    assert_eq!(
        r.publisher_offer(BOB, &two_videos, now),
        Err(SfuError::TooManyTracks(MediaKind::Video))
    );
    assert_eq!(r.track_count(), 0, "nothing published by refused offers");

    // Answers.
    assert_eq!(r.subscriber_answer(BOB, &good, now), Err(SfuError::NoPendingOffer));
    assert!(matches!(
        r.subscriber_answer(BOB, "junk", now),
        Err(SfuError::InvalidSdp(_))
    ));
    assert_eq!(r.create_subscriber_offer(BOB, now), Ok(None), "nothing to negotiate");

    // Calls that make no sense.
    assert_eq!(
        r.add_participant(ALICE, net.router_addr, now),
        Err(SfuError::ParticipantExists(ALICE))
    );
    let r = &mut net.router;
    assert_eq!(
        r.subscribe(BOB, ALICE, MediaKind::Audio, now),
        Err(SfuError::NotPublished {
            publisher: ALICE,
            kind: MediaKind::Audio
        })
    );
    assert_eq!(
        r.subscribe(ALICE, ALICE, MediaKind::Audio, now),
        Err(SfuError::SelfSubscription)
    );
    assert_eq!(
        r.subscribe(ParticipantId(9), ALICE, MediaKind::Audio, now),
        Err(SfuError::UnknownParticipant(ParticipantId(9)))
    );
    assert!(matches!(
        r.unsubscribe(BOB, ALICE, MediaKind::Audio, now),
        Err(SfuError::NotSubscribed { .. })
    ));
    assert!(matches!(
        r.unpublish(ALICE, MediaKind::Video, now),
        Err(SfuError::NotPublished { .. })
    ));
}

/// Every prefix of a real offer, and byte flips in it: each is answered or refused, never a panic.
#[test]
fn truncated_and_corrupted_offers_never_panic() {
    let mut net = Net::new();
    let good = client_offer(&mut net, &[RtcKind::Audio, RtcKind::Video]);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut outcomes = [0usize; 2];
    let mut id = 100;
    let mut cases: Vec<String> = (0..good.len()).step_by(13).map(|n| good[..n].to_string()).collect();
    for _ in 0..300 {
        let mut bytes = good.clone().into_bytes();
        for _ in 0..1 + rng.below(4) {
            let at = rng.below(bytes.len() as u64) as usize;
            let alphabet = b" :=/\r\n0123456789abcxyz-";
            bytes[at] = alphabet[rng.below(alphabet.len() as u64) as usize];
        }
        cases.push(String::from_utf8_lossy(&bytes).into_owned());
    }
    for case in &cases {
        id += 1;
        let participant = ParticipantId(id);
        net.add_participant(participant);
        let result = net.router.publisher_offer(participant, case, net.now);
        outcomes[result.is_ok() as usize] += 1;
        net.drain_router();
        net.router.remove_participant(participant, net.now).unwrap();
        net.drain_router();
    }
    println!(
        "{} corrupted offers: {} refused, {} answered",
        cases.len(),
        outcomes[0],
        outcomes[1]
    );
    assert!(outcomes[0] > 0);
    assert_eq!(
        (
            net.router.participant_count(),
            net.router.session_count(),
            net.router.track_count()
        ),
        (0, 0, 0)
    );
}

/// A call with Alice publishing VP8 to Bob; returns (net, alice client, bob client).
fn call() -> (Net, usize, usize, str0m::media::Mid, str0m::media::Pt) {
    let mut net = Net::new();
    net.add_participant(ALICE);
    net.add_participant(BOB);
    let alice = net.add_client("alice", codecs(Codec::Vp8));
    let mids = net.publish(alice, ALICE, &[MediaKind::Video]);
    net.router.subscribe(BOB, ALICE, MediaKind::Video, net.now).unwrap();
    let bob = net.add_client("bob", all_codecs);
    assert!(net.negotiate_subscriber(bob, BOB));
    assert!(net.run_until_true(Duration::from_secs(1), |n| {
        n.clients[alice].connected_at().is_some() && n.clients[bob].connected_at().is_some()
    }));
    let pt = net.clients[alice].pt_for(mids[0], Codec::Vp8);
    (net, alice, bob, mids[0], pt)
}

fn garbage(rng: &mut Rng, ufrag: &str) -> Vec<u8> {
    let len = rng.below(1300) as usize;
    let mut d = rng.bytes(len);
    match rng.below(6) {
        0 => {}
        1 if len >= 20 => {
            // STUN-looking, sometimes naming the router's ufrag.
            d[0] = 0;
            d[1] = 1;
            d[4..8].copy_from_slice(&[0x21, 0x12, 0xa4, 0x42]);
            if rng.below(2) == 0 {
                let name = format!("{ufrag}:junk");
                let mut attrs = vec![0x00, 0x06, 0, name.len() as u8];
                attrs.extend_from_slice(name.as_bytes());
                while attrs.len() % 4 != 0 {
                    attrs.push(0);
                }
                attrs.extend_from_slice(&[0x00, 0x08, 0, 20]);
                attrs.extend_from_slice(&rng.bytes(20));
                d.truncate(20);
                d.extend_from_slice(&attrs);
                let body = (d.len() - 20) as u16;
                d[2..4].copy_from_slice(&body.to_be_bytes());
            }
        }
        2 if len >= 1 => d[0] = 20 + rng.below(44) as u8, // DTLS-looking
        3 if len >= 2 => d[0] = 0x80 | (rng.below(0x40) as u8), // RTP-looking
        4 if len >= 2 => {
            d[0] = 0x80;
            d[1] = 200 + rng.below(6) as u8; // RTCP-looking
        }
        _ => {}
    }
    d
}

/// Thousands of garbage datagrams, from unknown addresses and spoofed from the clients' own: all refused or
/// dropped inside the session, no panic, and the call carries on.
#[test]
fn garbage_datagrams_never_panic_and_do_not_break_a_call() {
    // With no participant at all.
    let mut net = Net::new();
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let router = net.router_addr;
    for i in 0..3000 {
        let from: SocketAddr = format!("10.9.{}.{}:{}", i % 7, i % 251, 1000 + i % 5).parse().unwrap();
        let d = garbage(&mut rng, "abcd");
        let result = net.router.handle_datagram(net.now, from, router, &d);
        assert!(
            matches!(result, Err(SfuError::MalformedDatagram | SfuError::UnroutableDatagram)),
            "{result:?}"
        );
    }

    // During a call.
    let (mut net, alice, bob, mid, pt) = call();
    // The router's ufrag on Alice's publisher transport, as an attacker who saw the SDP would know it.
    let ufrag = net
        .last_answer
        .lines()
        .find_map(|l| l.strip_prefix("a=ice-ufrag:"))
        .unwrap()
        .trim()
        .to_string();
    let alice_addr = net.clients[alice].addr;
    let bob_addr = net.clients[bob].addr;
    let mut counter = 0u32;
    let (mut refused, mut accepted) = (0, 0);
    for round in 0..20 {
        let keyframe = round == 0;
        net.write_frame(
            alice,
            mid,
            pt,
            time90(counter as u64 * 33),
            frame(Codec::Vp8, counter, keyframe, 1500),
        );
        counter += 1;
        for i in 0..200 {
            let from = match i % 3 {
                0 => alice_addr,
                1 => bob_addr,
                _ => format!("10.8.0.{}:7000", i % 200).parse().unwrap(),
            };
            let d = garbage(&mut rng, &ufrag);
            match net.router.handle_datagram(net.now, from, router, &d) {
                Ok(()) => accepted += 1,
                Err(_) => refused += 1,
            }
            net.drain_router();
        }
        net.run_for(Duration::from_millis(33));
    }
    net.run_for(Duration::from_millis(300));
    let bob_mid = net.router.subscription_mid(BOB, ALICE, MediaKind::Video).unwrap();
    let got: Vec<_> = net.clients[bob]
        .media_data(bob_mid.as_str().into())
        .iter()
        .map(|d| counter_of(&d.data))
        .collect();
    println!(
        "garbage during a call: {accepted} taken by a session and dropped there, {refused} refused; \
         Bob received {} of {counter} frames; stats {:?}",
        got.len(),
        net.router.stats()
    );
    assert_eq!(
        got,
        (0..counter).map(Some).collect::<Vec<_>>(),
        "the call is undisturbed"
    );
    assert!(net.clients[alice].errors.is_empty() && net.clients[bob].errors.is_empty());
}

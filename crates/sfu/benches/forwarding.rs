//! Forwarding benchmark: one publisher and N subscribers on the in-memory network of the tests (real str0m peers,
//! real ICE, DTLS and SRTP), 5 s of VP8 video at 30 fps (~9 RTP packets per frame) plus Opus audio at 50 fps.
//! It reports the router's CPU time per forwarded packet (SRTP decrypt of the input share + SRTP encrypt and RTCP
//! bookkeeping per copy), packets per second on one core, and, as the baseline measured in the same run, the
//! publisher's own str0m send path per packet (packetize + SRTP encrypt). Run:
//! `cargo bench -p stoa-sfu --bench forwarding` (release profile; the first build takes several minutes).

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::*;
use stoa_sfu::{MediaKind, ParticipantId};
use str0m::format::Codec;
use str0m::media::Mid;

struct Result {
    subscribers: usize,
    forwarded: u64,
    router_us_per_packet: f64,
    publisher_us_per_packet: f64,
}

fn run(subscribers: usize) -> Result {
    let mut net = Net::new();
    let alice_id = ParticipantId(1);
    net.add_participant(alice_id);
    let alice = net.add_client("publisher", all_codecs);
    let mids = net.publish(alice, alice_id, &[MediaKind::Audio, MediaKind::Video]);
    let (audio_mid, video_mid): (Mid, Mid) = (mids[0], mids[1]);
    assert!(net.run_until_true(Duration::from_secs(2), |n| n.clients[alice].connected_at().is_some()));
    for i in 0..subscribers {
        let id = ParticipantId(100 + i as u64);
        net.add_participant(id);
        for kind in [MediaKind::Audio, MediaKind::Video] {
            let now = net.now;
            net.router.subscribe(id, alice_id, kind, now).unwrap();
        }
        net.drain_router();
        let client = net.add_client("subscriber", all_codecs);
        assert!(net.negotiate_subscriber(client, id));
        assert!(net.run_until_true(Duration::from_secs(2), |n| n.clients[client].connected_at().is_some()));
    }
    let audio_pt = net.clients[alice].pt_for(audio_mid, Codec::Opus);
    let video_pt = net.clients[alice].pt_for(video_mid, Codec::Vp8);

    // Warm up (keyframes, NACK buffers), then measure.
    let stream = |net: &mut Net, seconds: u64, first_frame: u32| -> Duration {
        let mut publisher_busy = Duration::ZERO;
        let start = net.now;
        for ms in (0..seconds * 1000).step_by(10) {
            net.run_until(start + Duration::from_millis(ms));
            let t = Instant::now();
            if ms.is_multiple_of(20) {
                let n = first_frame + (ms / 20) as u32;
                net.write_frame(
                    alice,
                    audio_mid,
                    audio_pt,
                    time48(u64::from(n) * 20),
                    frame(Codec::Opus, n, false, 120),
                );
            }
            if ms.is_multiple_of(30) {
                let n = first_frame + (ms / 30) as u32;
                let keyframe = n.is_multiple_of(60);
                let data = frame(Codec::Vp8, n, keyframe, 10_000);
                net.write_frame(alice, video_mid, video_pt, time90(u64::from(n) * 33), data);
            }
            publisher_busy += t.elapsed();
        }
        net.run_for(Duration::from_millis(100));
        publisher_busy
    };
    stream(&mut net, 1, 0);
    let before = net.router.stats();
    net.router_busy = Duration::ZERO;
    let publisher_busy = stream(&mut net, 5, 10_000);
    let after = net.router.stats();
    let forwarded = after.rtp_forwarded - before.rtp_forwarded;
    // Every packet the publisher sent reached the router (no loss on this network).
    let sent_packets = after.rtp_in - before.rtp_in;
    Result {
        subscribers,
        forwarded,
        router_us_per_packet: net.router_busy.as_secs_f64() * 1e6 / forwarded as f64,
        publisher_us_per_packet: publisher_busy.as_secs_f64() * 1e6 / sent_packets as f64,
    }
}

fn main() {
    // `cargo bench` passes --bench; nothing else is parsed.
    println!(
        "subscribers | forwarded packets | router us/forwarded packet | packets/s/core | publisher send us/packet (baseline) | ratio"
    );
    println!("---|---|---|---|---|---");
    for subscribers in [1, 10, 50] {
        let r = run(subscribers);
        println!(
            "{} | {} | {:.2} | {:.0} | {:.2} | {:.2}",
            r.subscribers,
            r.forwarded,
            r.router_us_per_packet,
            1e6 / r.router_us_per_packet,
            r.publisher_us_per_packet,
            r.router_us_per_packet / r.publisher_us_per_packet
        );
    }
}

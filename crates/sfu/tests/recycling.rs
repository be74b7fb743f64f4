//! Subscriber m-lines are recycled: unpublish / re-subscribe cycles keep the subscriber SDP bounded, and the reused
//! m-line carries the new subscription's media.

mod common;

use std::time::Duration;

use common::{Net, all_codecs, codecs, counter_of, frame, time48, time90};
use stoa_sfu::{MediaKind, ParticipantId};
use str0m::change::{SdpAnswer, SdpOffer};
use str0m::format::Codec;
use str0m::media::{Direction, Mid};

/// Counts `m=` lines and those that are active (port not 0 and not `a=inactive`).
fn mlines(sdp: &str) -> (usize, usize) {
    let sections: Vec<&str> = sdp.split("\r\nm=").skip(1).collect();
    let active = sections
        .iter()
        .filter(|s| s.split(' ').nth(1).is_none_or(|port| port != "0") && !s.contains("a=inactive"))
        .count();
    (sections.len(), active)
}

/// The publisher turns its m-lines' direction (as a browser does on unpublish / publish with the same
/// transceivers) and renegotiates.
fn set_publishing(net: &mut Net, client: usize, id: ParticipantId, mids: &[Mid], on: bool) {
    let dir = if on { Direction::SendOnly } else { Direction::Inactive };
    let mut api = net.clients[client].rtc.sdp_api();
    for mid in mids {
        api.set_direction(*mid, dir);
    }
    let (offer, pending) = api.apply().expect("a re-offer");
    net.drain_client(client);
    let answer = net
        .router
        .publisher_offer(id, &offer.to_sdp_string(), net.now)
        .expect("answer");
    net.drain_router();
    let answer = SdpAnswer::from_sdp_string(&answer).unwrap();
    net.clients[client]
        .rtc
        .sdp_api()
        .accept_answer(pending, answer)
        .unwrap();
    net.drain_client(client);
}

/// 100 rounds of: the publisher unpublishes audio and video, the subscriber's m-lines go inactive; the publisher
/// publishes again and the subscriber re-subscribes. The subscriber offer keeps two m-lines and the same size, the
/// reused m-lines carry each round's frames, and the state returns to zero at the end.
#[test]
fn a_hundred_unpublish_resubscribe_cycles_keep_the_subscriber_sdp_bounded() {
    let mut net = Net::new();
    let (alice, bob) = (ParticipantId(1), ParticipantId(2));
    net.add_participant(alice);
    net.add_participant(bob);
    let ca = net.add_client("alice", codecs(Codec::Vp8));
    let cb = net.add_client("bob", all_codecs);
    let kinds = [MediaKind::Audio, MediaKind::Video];
    let mids = net.publish(ca, alice, &kinds);
    for kind in kinds {
        net.router.subscribe(bob, alice, kind, net.now).unwrap();
    }
    let first = net.subscriber_round(cb, bob).expect("first offer");
    assert_eq!(mlines(&first), (2, 2));
    assert!(net.run_until_true(Duration::from_secs(2), |n| {
        n.clients[ca].connected_at().is_some() && n.clients[cb].connected_at().is_some()
    }));
    let (audio_mid, video_mid) = (
        net.router.subscription_mid(bob, alice, MediaKind::Audio).unwrap(),
        net.router.subscription_mid(bob, alice, MediaKind::Video).unwrap(),
    );
    let (audio_pt, video_pt) = (
        net.clients[ca].pt_for(mids[0], Codec::Opus),
        net.clients[ca].pt_for(mids[1], Codec::Vp8),
    );

    let mut sizes = Vec::new();
    let mut ms = 0;
    for cycle in 0..100u32 {
        // Media flows on the (possibly reused) m-lines.
        let before = net.clients[cb].media_data(video_mid.as_str().into()).len();
        let audio_before = net.clients[cb].media_data(audio_mid.as_str().into()).len();
        ms += 100;
        net.write_frame(ca, mids[1], video_pt, time90(ms), frame(Codec::Vp8, cycle, true, 1500));
        net.write_frame(ca, mids[0], audio_pt, time48(ms), frame(Codec::Opus, cycle, false, 80));
        net.run_for(Duration::from_millis(30));
        let video = net.clients[cb].media_data(video_mid.as_str().into());
        assert_eq!(video.len(), before + 1, "cycle {cycle}: one video frame");
        assert_eq!(counter_of(&video[before].data), Some(cycle), "cycle {cycle}");
        assert_eq!(
            net.clients[cb].media_data(audio_mid.as_str().into()).len(),
            audio_before + 1,
            "cycle {cycle}: one audio frame"
        );

        set_publishing(&mut net, ca, alice, &mids, false);
        assert_eq!(net.router.subscription_count(), 0, "cycle {cycle}");
        let stop = net
            .subscriber_round(cb, bob)
            .expect("an offer making the m-lines inactive");
        assert_eq!(mlines(&stop), (2, 0), "cycle {cycle}");

        set_publishing(&mut net, ca, alice, &mids, true);
        for kind in kinds {
            net.router.subscribe(bob, alice, kind, net.now).unwrap();
        }
        let again = net.subscriber_round(cb, bob).expect("an offer reusing the m-lines");
        assert_eq!(mlines(&again), (2, 2), "cycle {cycle}");
        assert_eq!(
            net.router.subscription_mid(bob, alice, MediaKind::Audio).as_ref(),
            Some(&audio_mid)
        );
        assert_eq!(
            net.router.subscription_mid(bob, alice, MediaKind::Video).as_ref(),
            Some(&video_mid)
        );
        sizes.push(again.len());
        net.run_for(Duration::from_millis(20));
    }
    let (min, max) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
    println!("subscriber offer after 100 cycles: {max} bytes (first {})", first.len());
    assert!(max - min < 64, "the offer does not grow: {min}..{max} bytes");
    assert!(*max < 16 * 1024);
    assert_eq!(net.clients[cb].errors, Vec::<String>::new());

    net.router.remove_participant(alice, net.now).unwrap();
    net.router.remove_participant(bob, net.now).unwrap();
    net.drain_router();
    assert_eq!(
        (
            net.router.session_count(),
            net.router.subscription_count(),
            net.router.demux_entry_count()
        ),
        (0, 0, 0)
    );
}

/// Subscriptions to different publishers share the freed m-lines: after Carol leaves, a subscription to Dave
/// reuses her m-line.
#[test]
fn a_freed_mline_serves_another_publisher() {
    let mut net = Net::new();
    let (bob, carol, dave) = (ParticipantId(2), ParticipantId(3), ParticipantId(4));
    for id in [bob, carol, dave] {
        net.add_participant(id);
    }
    let cb = net.add_client("bob", all_codecs);
    let cc = net.add_client("carol", codecs(Codec::Vp8));
    let cd = net.add_client("dave", codecs(Codec::Vp8));
    let carol_mids = net.publish(cc, carol, &[MediaKind::Video]);
    let dave_mids = net.publish(cd, dave, &[MediaKind::Video]);
    net.router.subscribe(bob, carol, MediaKind::Video, net.now).unwrap();
    net.subscriber_round(cb, bob).unwrap();
    assert!(net.run_until_true(Duration::from_secs(2), |n| {
        n.clients.iter().all(|c| c.connected_at().is_some())
    }));
    let mid = net.router.subscription_mid(bob, carol, MediaKind::Video).unwrap();
    let carol_pt = net.clients[cc].pt_for(carol_mids[0], Codec::Vp8);
    net.write_frame(cc, carol_mids[0], carol_pt, time90(0), frame(Codec::Vp8, 1, true, 3000));
    net.run_for(Duration::from_millis(30));

    net.router.remove_participant(carol, net.now).unwrap();
    net.drain_router();
    net.retire(cc);
    assert_eq!(mlines(&net.subscriber_round(cb, bob).unwrap()), (1, 0));
    net.router.subscribe(bob, dave, MediaKind::Video, net.now).unwrap();
    assert_eq!(mlines(&net.subscriber_round(cb, bob).unwrap()), (1, 1));
    assert_eq!(
        net.router.subscription_mid(bob, dave, MediaKind::Video),
        Some(mid.clone())
    );
    let dave_pt = net.clients[cd].pt_for(dave_mids[0], Codec::Vp8);
    for (i, ms) in [(2, 1000), (3, 1033)] {
        net.write_frame(
            cd,
            dave_mids[0],
            dave_pt,
            time90(ms),
            frame(Codec::Vp8, i, i == 2, 3000),
        );
        net.run_for(Duration::from_millis(30));
    }
    let got: Vec<_> = net.clients[cb]
        .media_data(mid.as_str().into())
        .iter()
        .map(|d| counter_of(&d.data))
        .collect();
    assert_eq!(
        got,
        vec![Some(1), Some(2), Some(3)],
        "Carol's frame, then Dave's on the same m-line"
    );
}

/// A subscriber of 16 remote users, each publishing audio and video: the offer (every codec str0m supports on
/// every m-line) and a client's answer stay within the router's SDP limit, which the signalling frame limit for
/// SDP frames covers (docs/protocol.md).
#[test]
fn sixteen_remote_users_fit_the_sdp_limits() {
    let mut net = Net::new();
    let bob = ParticipantId(1);
    net.add_participant(bob);
    let cb = net.add_client("bob", all_codecs);
    for n in 0..16u64 {
        let id = ParticipantId(100 + n);
        net.add_participant(id);
        let c = net.add_client("publisher", codecs(Codec::H264));
        net.publish(c, id, &[MediaKind::Audio, MediaKind::Video]);
        for kind in [MediaKind::Audio, MediaKind::Video] {
            net.router.subscribe(bob, id, kind, net.now).unwrap();
        }
    }
    let offer = net.router.create_subscriber_offer(bob, net.now).unwrap().unwrap();
    net.drain_router();
    let parsed = SdpOffer::from_sdp_string(&offer).unwrap();
    let answer = net.clients[cb]
        .rtc
        .sdp_api()
        .accept_offer(parsed)
        .unwrap()
        .to_sdp_string();
    net.drain_client(cb);
    // As a JSON string, each CRLF takes four bytes.
    let escaped = |sdp: &str| sdp.len() + sdp.matches("\r\n").count() * 2 + sdp.matches('"').count();
    println!(
        "16 users x (audio + video): offer {} bytes ({} escaped), answer {} bytes ({} escaped)",
        offer.len(),
        escaped(&offer),
        answer.len(),
        escaped(&answer)
    );
    assert_eq!(mlines(&offer), (32, 32));
    let limit = net.router.config().max_sdp_len;
    assert!(offer.len() < limit && answer.len() < limit);
    net.router.subscriber_answer(bob, &answer, net.now).unwrap();
}

/// Unsubscribing and subscribing again to the same track in one round parks the old m-line and adds a new one in
/// the same offer: their msid lines differ (Chromium refuses an offer with duplicate a=msid lines).
#[test]
fn a_parked_and_a_new_mline_for_one_track_have_distinct_msids() {
    let mut net = Net::new();
    let (alice, bob) = (ParticipantId(1), ParticipantId(2));
    net.add_participant(alice);
    net.add_participant(bob);
    let ca = net.add_client("alice", codecs(Codec::Vp8));
    let cb = net.add_client("bob", all_codecs);
    net.publish(ca, alice, &[MediaKind::Video]);
    net.router.subscribe(bob, alice, MediaKind::Video, net.now).unwrap();
    net.subscriber_round(cb, bob).unwrap();
    net.router.unsubscribe(bob, alice, MediaKind::Video, net.now).unwrap();
    net.router.subscribe(bob, alice, MediaKind::Video, net.now).unwrap();
    let offer = net.subscriber_round(cb, bob).expect("one offer parking and adding");
    assert_eq!(mlines(&offer), (2, 1));
    let msids: Vec<&str> = offer.lines().filter(|l| l.starts_with("a=msid:")).collect();
    assert_eq!(msids.len(), 2, "{offer}");
    assert_ne!(msids[0], msids[1]);
}

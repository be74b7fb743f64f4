//! Sessions and state come and go without leaks; dead transports are reported.

mod common;

use std::time::Duration;

use common::{Net, all_codecs, codecs, counter_of, frame, time48, time90};
use stoa_sfu::{DisconnectReason, Event, MediaKind, ParticipantId, SfuError, TransportKind};
use str0m::format::Codec;
use str0m::media::Direction;

fn assert_empty(net: &Net, when: &str) {
    let r = &net.router;
    assert_eq!(
        (
            r.participant_count(),
            r.track_count(),
            r.subscription_count(),
            r.session_count(),
            r.demux_entry_count()
        ),
        (0, 0, 0, 0, 0),
        "everything released {when}"
    );
}

/// 50 rounds of: two participants join, one publishes audio + video, the other subscribes, a frame flows, and they
/// leave in one of four ways. Every counter returns to zero each round.
#[test]
fn fifty_cycles_release_everything() {
    let mut net = Net::new();
    let mut frames_received = 0;
    for cycle in 0..50u64 {
        let (a, b) = (ParticipantId(1000 + 2 * cycle), ParticipantId(1001 + 2 * cycle));
        net.add_participant(a);
        net.add_participant(b);
        let ca = net.add_client("publisher", codecs(Codec::Vp8));
        let mids = net.publish(ca, a, &[MediaKind::Audio, MediaKind::Video]);
        for kind in [MediaKind::Audio, MediaKind::Video] {
            net.router.subscribe(b, a, kind, net.now).unwrap();
        }
        net.drain_router();
        let cb = net.add_client("subscriber", all_codecs);
        assert!(net.negotiate_subscriber(cb, b));
        assert!(net.run_until_true(Duration::from_secs(1), |n| {
            n.clients[ca].connected_at().is_some() && n.clients[cb].connected_at().is_some()
        }));
        assert_eq!(
            (
                net.router.participant_count(),
                net.router.track_count(),
                net.router.subscription_count()
            ),
            (2, 2, 2)
        );
        assert_eq!(net.router.session_count(), 4);

        let (audio_pt, video_pt) = (
            net.clients[ca].pt_for(mids[0], Codec::Opus),
            net.clients[ca].pt_for(mids[1], Codec::Vp8),
        );
        net.write_frame(ca, mids[1], video_pt, time90(0), frame(Codec::Vp8, 7, true, 2000));
        net.write_frame(ca, mids[0], audio_pt, time48(0), frame(Codec::Opus, 8, false, 100));
        net.run_for(Duration::from_millis(50));
        let video_mid = net.router.subscription_mid(b, a, MediaKind::Video).unwrap();
        let got = net.clients[cb].media_data(video_mid.as_str().into());
        assert_eq!(
            got.iter().map(|d| counter_of(&d.data)).collect::<Vec<_>>(),
            vec![Some(7)],
            "cycle {cycle}"
        );
        frames_received += got.len();

        match cycle % 4 {
            0 => {
                net.router.remove_participant(a, net.now).unwrap();
                assert_eq!(
                    net.router.subscription_count(),
                    0,
                    "the publisher's subscribers lost their subscriptions"
                );
                net.router.remove_participant(b, net.now).unwrap();
            }
            1 => {
                net.router.remove_participant(b, net.now).unwrap();
                assert_eq!(net.router.subscription_count(), 0);
                assert_eq!(net.router.track_count(), 2, "the publisher keeps its tracks");
                net.router.remove_participant(a, net.now).unwrap();
            }
            2 => {
                // Explicit unsubscribe (the m-lines go inactive in a new SDP round) and unpublish.
                net.router.unsubscribe(b, a, MediaKind::Audio, net.now).unwrap();
                net.router.unsubscribe(b, a, MediaKind::Video, net.now).unwrap();
                net.drain_router();
                assert!(net.negotiate_subscriber(cb, b), "an offer making the m-lines inactive");
                assert!(!net.negotiate_subscriber(cb, b), "then nothing to negotiate");
                net.router.unpublish(a, MediaKind::Video, net.now).unwrap();
                net.router.unpublish(a, MediaKind::Audio, net.now).unwrap();
                assert_eq!((net.router.track_count(), net.router.subscription_count()), (0, 0));
                net.router.remove_participant(a, net.now).unwrap();
                net.router.remove_participant(b, net.now).unwrap();
            }
            _ => {
                // The publisher stops its video by renegotiating: the router unpublishes it.
                let mut api = net.clients[ca].rtc.sdp_api();
                api.set_direction(mids[1], Direction::Inactive);
                let (offer, pending) = api.apply().unwrap();
                net.drain_client(ca);
                let answer = net.router.publisher_offer(a, &offer.to_sdp_string(), net.now).unwrap();
                net.drain_router();
                let answer = str0m::change::SdpAnswer::from_sdp_string(&answer).unwrap();
                net.clients[ca].rtc.sdp_api().accept_answer(pending, answer).unwrap();
                net.drain_client(ca);
                assert!(!net.router.is_published(a, MediaKind::Video));
                assert_eq!((net.router.track_count(), net.router.subscription_count()), (1, 1));
                net.router.remove_participant(b, net.now).unwrap();
                net.router.remove_participant(a, net.now).unwrap();
            }
        }
        net.drain_router();
        net.run_for(Duration::from_millis(20));
        net.retire(ca);
        net.retire(cb);
        assert_empty(&net, &format!("after cycle {cycle}"));
    }
    let unpublished = net.router_event_count(|e| {
        matches!(
            e,
            Event::TrackUnpublished {
                kind: MediaKind::Video,
                ..
            }
        )
    });
    assert_eq!(
        unpublished,
        (0..50).filter(|c| c % 4 == 3).count(),
        "one SDP unpublish per fourth cycle"
    );
    assert_eq!(frames_received, 50);
    // Removed participants are unknown, and their datagrams go nowhere.
    assert_eq!(
        net.router.remove_participant(ParticipantId(1000), net.now),
        Err(SfuError::UnknownParticipant(ParticipantId(1000)))
    );
    net.run_for(Duration::from_secs(30));
    assert_empty(&net, "at the end");
    println!(
        "50 cycles in {:?} of simulated time; stats {:?}",
        net.elapsed(),
        net.router.stats()
    );
}

/// A client that vanishes is reported when ICE consent expires (no binding request for 15 s).
#[test]
fn a_vanished_client_is_reported_disconnected() {
    let mut net = Net::new();
    let alice = ParticipantId(1);
    net.add_participant(alice);
    let c = net.add_client("alice", codecs(Codec::Vp8));
    net.publish(c, alice, &[MediaKind::Audio]);
    assert!(net.run_until_true(Duration::from_secs(1), |n| n.clients[c].connected_at().is_some()));
    net.run_for(Duration::from_secs(5));
    net.clients[c].online = false;
    let cut = net.now;
    let gone = |e: &Event| {
        *e == Event::Disconnected {
            participant: alice,
            transport: TransportKind::Publisher,
            reason: DisconnectReason::IceTimeout,
        }
    };
    assert!(net.run_until_true(Duration::from_secs(30), |n| n.router_event_count(gone) == 1));
    let after = net.router_event_at(gone).unwrap() - cut;
    println!("disconnect reported {after:?} after the client vanished");
    assert!(
        after >= Duration::from_secs(12) && after <= Duration::from_secs(20),
        "{after:?}"
    );
    // The participant stays until the signalling layer removes it.
    assert_eq!(net.router.participant_count(), 1);
    net.router.remove_participant(alice, net.now).unwrap();
    assert_empty(&net, "after removal");
}

/// SDP exchanged, but the client never reaches the router: reported after the connect timeout (20 s).
#[test]
fn a_client_that_never_connects_times_out() {
    let mut net = Net::new();
    let alice = ParticipantId(1);
    net.add_participant(alice);
    let c = net.add_client("alice", codecs(Codec::Vp8));
    net.clients[c].online = false;
    let start = net.now;
    net.publish(c, alice, &[MediaKind::Video]);
    let timed_out = |e: &Event| {
        matches!(
            e,
            Event::Disconnected {
                reason: DisconnectReason::ConnectTimeout,
                transport: TransportKind::Publisher,
                ..
            }
        )
    };
    assert!(net.run_until_true(Duration::from_secs(25), |n| n.router_event_count(timed_out) == 1));
    let after = net.router_event_at(timed_out).unwrap() - start;
    println!("connect timeout reported after {after:?}");
    assert!(
        after >= Duration::from_secs(14) && after <= Duration::from_millis(20_100),
        "{after:?}"
    );
    // Reported once.
    net.run_for(Duration::from_secs(30));
    assert_eq!(net.router_event_count(timed_out), 1);
    net.router.remove_participant(alice, net.now).unwrap();
    assert_empty(&net, "after removal");
}

/// A short network blip (3 s) does not disconnect anything.
#[test]
fn a_short_blip_is_not_a_disconnection() {
    let mut net = Net::new();
    let alice = ParticipantId(1);
    net.add_participant(alice);
    let c = net.add_client("alice", codecs(Codec::Vp8));
    net.publish(c, alice, &[MediaKind::Audio]);
    assert!(net.run_until_true(Duration::from_secs(1), |n| n.clients[c].connected_at().is_some()));
    net.clients[c].online = false;
    net.run_for(Duration::from_secs(3));
    net.clients[c].online = true;
    net.run_for(Duration::from_secs(30));
    assert_eq!(net.router_event_count(|e| matches!(e, Event::Disconnected { .. })), 0);
}

/// An offer without candidates (trickle ICE that never trickles) and a silent client: the router's own connect
/// timeout reports it.
#[test]
fn a_client_without_candidates_hits_the_connect_timeout() {
    let mut net = Net::new();
    let alice = ParticipantId(1);
    net.add_participant(alice);
    let c = net.add_client("alice", codecs(Codec::Vp8));
    net.clients[c].online = false;
    let mut api = net.clients[c].rtc.sdp_api();
    api.add_media(str0m::media::MediaKind::Audio, Direction::SendOnly, None, None, None);
    let (offer, _pending) = api.apply().unwrap();
    let offer: String = offer
        .to_sdp_string()
        .lines()
        .filter(|l| !l.starts_with("a=candidate"))
        .map(|l| format!("{l}\r\n"))
        .collect();
    let start = net.now;
    net.router.publisher_offer(alice, &offer, net.now).unwrap();
    net.drain_router();
    let timed_out = |e: &Event| {
        matches!(
            e,
            Event::Disconnected {
                reason: DisconnectReason::ConnectTimeout,
                ..
            }
        )
    };
    assert!(net.run_until_true(Duration::from_secs(25), |n| n.router_event_count(timed_out) == 1));
    let after = net.router_event_at(timed_out).unwrap() - start;
    assert!(
        after >= Duration::from_secs(20) && after <= Duration::from_millis(20_100),
        "{after:?}"
    );
}

/// After a disconnection, the client restarts ICE with a new publisher offer and the transport comes back: the
/// router reports `Connected` again and media flows.
#[test]
fn an_ice_restart_reconnects_the_publisher() {
    let mut net = Net::new();
    let (alice, bob) = (ParticipantId(1), ParticipantId(2));
    net.add_participant(alice);
    net.add_participant(bob);
    let c = net.add_client("alice", codecs(Codec::Vp8));
    let mids = net.publish(c, alice, &[MediaKind::Audio]);
    assert!(net.run_until_true(Duration::from_secs(1), |n| n.clients[c].connected_at().is_some()));
    net.router.subscribe(bob, alice, MediaKind::Audio, net.now).unwrap();
    let cb = net.add_client("bob", all_codecs);
    assert!(net.negotiate_subscriber(cb, bob));
    net.run_for(Duration::from_millis(200));

    net.clients[c].online = false;
    let down = |e: &Event| matches!(e, Event::Disconnected { participant, .. } if *participant == alice);
    assert!(net.run_until_true(Duration::from_secs(30), |n| n.router_event_count(down) == 1));
    net.clients[c].online = true;

    let mut api = net.clients[c].rtc.sdp_api();
    api.ice_restart(true);
    let (offer, pending) = api.apply().unwrap();
    net.drain_client(c);
    let answer = net
        .router
        .publisher_offer(alice, &offer.to_sdp_string(), net.now)
        .unwrap();
    net.drain_router();
    let answer = str0m::change::SdpAnswer::from_sdp_string(&answer).unwrap();
    net.clients[c].rtc.sdp_api().accept_answer(pending, answer).unwrap();
    net.drain_client(c);
    let up = |e: &Event| {
        *e == Event::Connected {
            participant: alice,
            transport: TransportKind::Publisher,
        }
    };
    assert!(
        net.run_until_true(Duration::from_secs(5), |n| n.router_event_count(up) == 2),
        "reconnected"
    );
    assert!(
        net.router.is_published(alice, MediaKind::Audio),
        "the publication survived"
    );

    let pt = net.clients[c].pt_for(mids[0], Codec::Opus);
    for n in 0..10 {
        net.write_frame(
            c,
            mids[0],
            pt,
            time48(100_000 + n * 20),
            frame(Codec::Opus, n as u32, false, 100),
        );
        net.run_for(Duration::from_millis(20));
    }
    net.run_for(Duration::from_millis(100));
    let mid = net.router.subscription_mid(bob, alice, MediaKind::Audio).unwrap();
    let got: Vec<_> = net.clients[cb]
        .media_data(mid.as_str().into())
        .iter()
        .map(|d| counter_of(&d.data))
        .collect();
    assert_eq!(
        got,
        (0..10).map(Some).collect::<Vec<_>>(),
        "audio flows after the restart"
    );
}

/// Bob's subscriber transport drops; the signalling layer asks the router to restart ICE on it, and one SDP round
/// brings it back, with media flowing again, without a new join.
#[test]
fn an_ice_restart_reconnects_the_subscriber() {
    let mut net = Net::new();
    let (alice, bob) = (ParticipantId(1), ParticipantId(2));
    net.add_participant(alice);
    net.add_participant(bob);
    let c = net.add_client("alice", codecs(Codec::Vp8));
    let mids = net.publish(c, alice, &[MediaKind::Audio]);
    net.router.subscribe(bob, alice, MediaKind::Audio, net.now).unwrap();
    let cb = net.add_client("bob", all_codecs);
    assert!(net.negotiate_subscriber(cb, bob));
    assert!(net.run_until_true(Duration::from_secs(1), |n| n.clients[cb].connected_at().is_some()));

    net.clients[cb].online = false;
    let down = |e: &Event| {
        let Event::Disconnected {
            participant, transport, ..
        } = e
        else {
            return false;
        };
        *participant == bob && *transport == TransportKind::Subscriber
    };
    assert!(net.run_until_true(Duration::from_secs(30), |n| n.router_event_count(down) == 1));
    net.clients[cb].online = true;
    let demux_before = net.router.demux_entry_count();

    let needed = |e: &Event| *e == Event::NegotiationNeeded { participant: bob };
    let before = net.router_event_count(needed);
    net.router.restart_subscriber_ice(bob, net.now).unwrap();
    net.drain_router();
    assert_eq!(net.router_event_count(needed), before + 1);
    assert!(net.negotiate_subscriber(cb, bob));
    let up = |e: &Event| {
        *e == Event::Connected {
            participant: bob,
            transport: TransportKind::Subscriber,
        }
    };
    assert!(
        net.run_until_true(Duration::from_secs(5), |n| n.router_event_count(up) == 2),
        "reconnected"
    );
    assert_eq!(
        net.router.demux_entry_count(),
        demux_before,
        "the old ufrag was released"
    );

    let pt = net.clients[c].pt_for(mids[0], Codec::Opus);
    for n in 0..10 {
        net.write_frame(c, mids[0], pt, time48(n * 20), frame(Codec::Opus, n as u32, false, 100));
        net.run_for(Duration::from_millis(20));
    }
    net.run_for(Duration::from_millis(100));
    let mid = net.router.subscription_mid(bob, alice, MediaKind::Audio).unwrap();
    let got: Vec<_> = net.clients[cb]
        .media_data(mid.as_str().into())
        .iter()
        .map(|d| counter_of(&d.data))
        .collect();
    assert_eq!(
        got,
        (0..10).map(Some).collect::<Vec<_>>(),
        "audio flows after the restart"
    );
}

/// Changes while an offer waits for its answer are kept for the next round, which NegotiationNeeded announces.
#[test]
fn changes_during_a_pending_offer_wait_for_the_next_round() {
    let mut net = Net::new();
    let (alice, bob) = (ParticipantId(1), ParticipantId(2));
    net.add_participant(alice);
    net.add_participant(bob);
    let c = net.add_client("alice", codecs(Codec::Vp8));
    let mids = net.publish(c, alice, &[MediaKind::Audio, MediaKind::Video]);
    let cb = net.add_client("bob", all_codecs);
    let needed = |e: &Event| *e == Event::NegotiationNeeded { participant: bob };

    net.router.subscribe(bob, alice, MediaKind::Audio, net.now).unwrap();
    let offer = net.router.create_subscriber_offer(bob, net.now).unwrap().unwrap();
    // While Bob thinks about it: video is subscribed and audio dropped.
    net.router.subscribe(bob, alice, MediaKind::Video, net.now).unwrap();
    net.router.unsubscribe(bob, alice, MediaKind::Audio, net.now).unwrap();
    net.drain_router();
    assert_eq!(
        net.router_event_count(needed),
        1,
        "only the first change announced so far"
    );
    assert_eq!(
        net.router.create_subscriber_offer(bob, net.now),
        Ok(None),
        "one offer at a time"
    );
    let answer = net.clients[cb]
        .rtc
        .sdp_api()
        .accept_offer(str0m::change::SdpOffer::from_sdp_string(&offer).unwrap())
        .unwrap();
    net.drain_client(cb);
    net.router
        .subscriber_answer(bob, &answer.to_sdp_string(), net.now)
        .unwrap();
    net.drain_router();
    assert_eq!(net.router_event_count(needed), 2, "announced again after the answer");
    assert!(
        net.negotiate_subscriber(cb, bob),
        "the second round adds video and makes audio inactive"
    );
    assert!(!net.negotiate_subscriber(cb, bob));
    assert_eq!(net.router.subscription_count(), 1);
    assert!(net.run_until_true(Duration::from_secs(1), |n| n.clients[cb].connected_at().is_some()));
    let audio_mid = net.clients[cb]
        .events
        .iter()
        .find_map(|(_, e)| match e {
            str0m::Event::MediaAdded(m) if m.kind == str0m::media::MediaKind::Audio => Some(m.mid),
            _ => None,
        })
        .unwrap();
    assert!(
        net.clients[cb]
            .rtc
            .media(audio_mid)
            .is_some_and(|m| m.direction() == Direction::Inactive),
        "Bob's audio m-line is inactive (kept for reuse)"
    );

    let pt = net.clients[c].pt_for(mids[1], Codec::Vp8);
    for n in 0..5u32 {
        net.write_frame(
            c,
            mids[1],
            pt,
            time90(n as u64 * 33),
            frame(Codec::Vp8, n, n == 0, 1000),
        );
        net.run_for(Duration::from_millis(33));
    }
    net.run_for(Duration::from_millis(100));
    let mid = net.router.subscription_mid(bob, alice, MediaKind::Video).unwrap();
    let got: Vec<_> = net.clients[cb]
        .media_data(mid.as_str().into())
        .iter()
        .map(|d| counter_of(&d.data))
        .collect();
    assert_eq!(got, (0..5).map(Some).collect::<Vec<_>>());
}

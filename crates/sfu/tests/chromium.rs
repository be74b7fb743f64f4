//! Browser readiness: real Chromium 156 publisher offers (captured with `RTCPeerConnection.createOffer()`, one
//! audio and one video sendonly transceiver, BUNDLE, rtcp-mux, no simulcast, every codec and header extension
//! Chromium lists) are answered correctly, and a subscriber is offered the publisher's codec with the same fmtp.

mod common;

use common::{Net, all_codecs};
use stoa_sfu::{Event, MediaKind, ParticipantId};

const VP8_FIRST: &str = include_str!("fixtures/chromium156_offer_vp8.sdp");
const H264_FIRST: &str = include_str!("fixtures/chromium156_offer_h264.sdp");
const VP9_FIRST: &str = include_str!("fixtures/chromium156_offer_vp9.sdp");

/// The m-sections of an SDP (text from each `m=` line to the next).
fn sections(sdp: &str) -> Vec<&str> {
    sdp.split("\r\nm=").skip(1).collect()
}

fn port(section: &str) -> &str {
    section.split(' ').nth(1).unwrap_or("")
}

/// The payload types of an m-line in preference order.
fn pts(section: &str) -> Vec<&str> {
    section.lines().next().unwrap_or("").split(' ').skip(3).collect()
}

/// `a=fmtp:<pt> ...` of `pt`, without the PT.
fn fmtp<'a>(section: &'a str, pt: &str) -> Option<&'a str> {
    let prefix = format!("a=fmtp:{pt} ");
    section.lines().find_map(|l| l.strip_prefix(prefix.as_str()))
}

fn rtpmap<'a>(section: &'a str, pt: &str) -> Option<&'a str> {
    let prefix = format!("a=rtpmap:{pt} ");
    section.lines().find_map(|l| l.strip_prefix(prefix.as_str()))
}

/// Sorted `;`-separated fmtp parameters (order is not meaningful).
fn params(fmtp: &str) -> Vec<String> {
    let mut v: Vec<String> = fmtp.split(';').map(|p| p.trim().to_ascii_lowercase()).collect();
    v.sort();
    v
}

/// Publishes `offer` for Alice, checks the answer, then subscribes Bob (a str0m peer with every codec) to her
/// video and returns (answer, Bob's subscriber offer).
fn publish_and_subscribe(offer: &str) -> (String, String) {
    let mut net = Net::new();
    let (alice, bob) = (ParticipantId(1), ParticipantId(2));
    net.add_participant(alice);
    net.add_participant(bob);
    let answer = net
        .router
        .publisher_offer(alice, offer, net.now)
        .expect("Chromium's offer is accepted");
    net.drain_router();
    for kind in [MediaKind::Audio, MediaKind::Video] {
        assert_eq!(
            net.router_event_count(|e| matches!(e, Event::TrackPublished { kind: k, .. } if *k == kind)),
            1,
            "{kind} published"
        );
    }
    net.router.subscribe(bob, alice, MediaKind::Audio, net.now).unwrap();
    net.router.subscribe(bob, alice, MediaKind::Video, net.now).unwrap();
    let sub_offer = net.router.create_subscriber_offer(bob, net.now).unwrap().unwrap();
    let cb = net.add_client("bob", all_codecs);
    let parsed = str0m::change::SdpOffer::from_sdp_string(&sub_offer).unwrap();
    let sub_answer = net.clients[cb].rtc.sdp_api().accept_offer(parsed).unwrap();
    net.router
        .subscriber_answer(bob, &sub_answer.to_sdp_string(), net.now)
        .unwrap();
    (answer, sub_offer)
}

/// The answer accepts both m-lines in one BUNDLE with rtcp-mux, keeps the mids, and answers with codecs and
/// extensions from the offer.
fn check_answer(offer: &str, answer: &str) {
    assert!(answer.contains("a=group:BUNDLE 0 1"), "{answer}");
    assert!(answer.contains("a=ice-lite"));
    let (offered, answered) = (sections(offer), sections(answer));
    assert_eq!(answered.len(), 2);
    for (o, a) in offered.iter().zip(&answered) {
        assert_ne!(port(a), "0", "m-line accepted: {a}");
        assert!(a.contains("a=rtcp-mux"));
        assert!(a.contains("a=recvonly"), "the SFU receives: {a}");
        let mid = o.lines().find(|l| l.starts_with("a=mid:")).unwrap();
        assert!(a.lines().any(|l| l == mid), "same {mid}");
        // Every answered codec is one of the offer's, with the offer's PT.
        for pt in pts(a) {
            assert_eq!(
                rtpmap(a, pt).map(str::to_ascii_lowercase),
                rtpmap(o, pt).map(str::to_ascii_lowercase),
                "PT {pt}"
            );
        }
        // Header extensions: the answer uses the offer's ids for those it keeps, and keeps the essential ones.
        for line in a.lines().filter(|l| l.starts_with("a=extmap:")) {
            assert!(o.lines().any(|l| l == line), "{line} as offered");
        }
        for uri in ["transport-wide-cc", "abs-send-time", "sdes:mid"] {
            assert!(
                a.lines().any(|l| l.starts_with("a=extmap:") && l.contains(uri)),
                "{uri} kept"
            );
        }
    }
    let audio = answered[0];
    assert_eq!(pts(audio).first(), Some(&"111"), "Opus first");
    assert_eq!(
        fmtp(audio, "111").map(params),
        Some(params("minptime=10;useinbandfec=1"))
    );
}

/// The video codec Chromium prefers (first PT) with its fmtp, and the subscriber offer's video m-line.
fn check_subscriber_codec(offer: &str, sub_offer: &str) -> String {
    let video = sections(offer)[1];
    let first = pts(video)[0];
    let codec = rtpmap(video, first).unwrap().to_string();
    let publisher_fmtp = fmtp(video, first).map(params);
    let sub_video = sections(sub_offer)
        .into_iter()
        .find(|s| s.starts_with("video"))
        .unwrap();
    let found = pts(sub_video).into_iter().any(|pt| {
        rtpmap(sub_video, pt).is_some_and(|c| c.eq_ignore_ascii_case(&codec))
            && fmtp(sub_video, pt).map(params) == publisher_fmtp
    });
    assert!(
        found,
        "the subscriber is offered {codec} with fmtp {publisher_fmtp:?}:\n{sub_video}"
    );
    codec
}

#[test]
fn chromium_vp8_offer() {
    let (answer, sub_offer) = publish_and_subscribe(VP8_FIRST);
    check_answer(VP8_FIRST, &answer);
    assert_eq!(check_subscriber_codec(VP8_FIRST, &sub_offer), "VP8/90000");
}

#[test]
fn chromium_h264_offer_keeps_profile_level_id_and_packetization_mode() {
    let (answer, sub_offer) = publish_and_subscribe(H264_FIRST);
    check_answer(H264_FIRST, &answer);
    let video = sections(&answer)[1];
    let first = pts(video)[0];
    assert_eq!(
        rtpmap(video, first),
        Some("H264/90000"),
        "Chromium's preference is kept:\n{video}"
    );
    assert_eq!(
        fmtp(video, first).map(params),
        Some(params(
            "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f"
        ))
    );
    assert_eq!(check_subscriber_codec(H264_FIRST, &sub_offer), "H264/90000");
}

#[test]
fn chromium_vp9_offer_keeps_profile_id() {
    let (answer, sub_offer) = publish_and_subscribe(VP9_FIRST);
    check_answer(VP9_FIRST, &answer);
    let video = sections(&answer)[1];
    let first = pts(video)[0];
    assert_eq!(rtpmap(video, first), Some("VP9/90000"), "{video}");
    assert_eq!(fmtp(video, first).map(params), Some(params("profile-id=0")));
    assert_eq!(check_subscriber_codec(VP9_FIRST, &sub_offer), "VP9/90000");
}

/// A subscriber that answers a video m-line with port 0 (here: it supports no video codec) loses that
/// subscription cleanly; its audio subscription in the same round works and later rounds carry on.
#[test]
fn a_rejected_mline_in_the_answer_ends_its_subscription() {
    let mut net = Net::new();
    let (alice, bob) = (ParticipantId(1), ParticipantId(2));
    net.add_participant(alice);
    net.add_participant(bob);
    net.router.publisher_offer(alice, VP8_FIRST, net.now).unwrap();
    net.drain_router();
    net.router.subscribe(bob, alice, MediaKind::Audio, net.now).unwrap();
    net.router.subscribe(bob, alice, MediaKind::Video, net.now).unwrap();
    let offer = net.router.create_subscriber_offer(bob, net.now).unwrap().unwrap();
    // Bob's answer rejects video, as a browser writes it.
    let cb = net.add_client("bob", all_codecs);
    let parsed = str0m::change::SdpOffer::from_sdp_string(&offer).unwrap();
    let answer = net.clients[cb]
        .rtc
        .sdp_api()
        .accept_offer(parsed)
        .unwrap()
        .to_sdp_string();
    let video = sections(&answer).into_iter().find(|s| s.starts_with("video")).unwrap();
    let video_mid = video.lines().find_map(|l| l.strip_prefix("a=mid:")).unwrap();
    // Port 0 and out of the BUNDLE group (RFC 8843: a bundled m-line may have port 0 without being rejected).
    let bundle = answer.lines().find(|l| l.starts_with("a=group:BUNDLE")).unwrap();
    let kept: Vec<&str> = bundle.split(' ').filter(|m| *m != video_mid).collect();
    let rejected = answer
        .replacen("m=video 9 ", "m=video 0 ", 1)
        .replacen(bundle, &kept.join(" "), 1);
    assert_ne!(rejected, answer);
    net.router.subscriber_answer(bob, &rejected, net.now).unwrap();
    net.drain_router();
    assert_eq!(
        net.router_event_count(|e| matches!(
            e,
            Event::SubscriptionRejected {
                kind: MediaKind::Video,
                ..
            }
        )),
        1
    );
    assert_eq!(net.router.subscription_count(), 1, "audio stays");
    assert!(net.router.subscription_mid(bob, alice, MediaKind::Video).is_none());
    assert!(net.router.subscription_mid(bob, alice, MediaKind::Audio).is_some());
    assert_eq!(
        net.router.create_subscriber_offer(bob, net.now),
        Ok(None),
        "nothing left to negotiate"
    );
}

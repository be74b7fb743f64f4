//! Audio through a real `stoa serve` with the Rust SDK on both ends: custom audio tracks published by one client and
//! subscribed by another (real UDP sockets, ICE, DTLS-SRTP, Opus), mute and unpublish announced to the other side,
//! and the publish / subscribe errors with their catalog codes.

mod common;

use std::time::Duration;

use common::*;
use stoa_sdk::media::signal::{SineSource, concat, dominant_frequency, level_steadiness};
use stoa_sdk::media::{AudioEncoderPreset, AudioFrame};
use stoa_sdk::{
    Client, ClientConfig, ClientRole, ErrorCode, Event, LocalAudioTrack, MediaType, Mode, RemoteAudioTrack, Uid,
    UserInfoMessage,
};
use tokio::sync::{broadcast, mpsc};

/// Pushes a sine into a track in real time, 20 ms per frame, until dropped.
struct Feeder {
    task: tokio::task::JoinHandle<()>,
    pushed: tokio::sync::watch::Receiver<u64>,
}

impl Feeder {
    fn start(track: &LocalAudioTrack, freq_hz: f32) -> Feeder {
        let track = track.clone();
        let (count_tx, pushed) = tokio::sync::watch::channel(0u64);
        let task = tokio::spawn(async move {
            let mut sine = SineSource::new(freq_hz, 48_000, 1, 0.5);
            let mut tick = tokio::time::interval(Duration::from_millis(20));
            let mut n = 0u64;
            loop {
                tick.tick().await;
                if track.push(&sine.next_frame(20)).is_err() {
                    return;
                }
                n += 1;
                let _ = count_tx.send(n);
            }
        });
        Feeder { task, pushed }
    }

    fn pushed(&self) -> u64 {
        *self.pushed.borrow()
    }
}

impl Drop for Feeder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Frames that arrive within `duration`.
async fn collect(frames: &mut mpsc::Receiver<AudioFrame>, duration: Duration) -> Vec<AudioFrame> {
    let deadline = tokio::time::Instant::now() + duration;
    let mut got = Vec::new();
    while let Ok(Some(frame)) = tokio::time::timeout_at(deadline, frames.recv()).await {
        got.push(frame);
    }
    got
}

/// Waits until `frames` has ended (the track ended), failing after `secs`.
async fn wait_end(frames: &mut mpsc::Receiver<AudioFrame>, secs: u64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        match tokio::time::timeout_at(deadline, frames.recv()).await {
            Ok(Some(_)) => continue,
            Ok(None) => return,
            Err(_) => panic!("the remote track did not end within {secs} s"),
        }
    }
}

fn published(event: &Event, uid: u32) -> bool {
    matches!(event, Event::UserPublished(user, MediaType::Audio) if user.uint_uid == uid)
}

fn unpublished(event: &Event, uid: u32) -> bool {
    matches!(event, Event::UserUnpublished(user, MediaType::Audio) if user.uint_uid == uid)
}

fn info(event: &Event, uid: u32, msg: UserInfoMessage) -> bool {
    matches!(event, Event::UserInfoUpdated(Uid::Number(n), m) if *n == uid && *m == msg)
}

/// Two joined clients, uids 1 and 2, in `channel`, with `b`'s events.
async fn pair(server: &Server, channel: &str) -> (Client, Client, broadcast::Receiver<Event>) {
    let app = server.app_ids[0].clone();
    let a = client(&server.url(), ClientConfig::default());
    let b = client(&server.url(), ClientConfig::default());
    let b_events = b.events();
    a.join(&app, channel, None, Some(Uid::Number(1))).await.unwrap();
    b.join(&app, channel, None, Some(Uid::Number(2))).await.unwrap();
    (a, b, b_events)
}

/// B subscribes to A's audio once B heard it was published.
async fn subscribe_when_published(b: &Client, b_events: &mut broadcast::Receiver<Event>) -> RemoteAudioTrack {
    let event = wait_for(b_events, 5.0, |e| published(e, 1)).await;
    let Event::UserPublished(user, _) = event else {
        unreachable!()
    };
    assert!(user.has_audio);
    b.subscribe_audio(&user).await.unwrap()
}

/// The dominant frequency of decoded audio (the first 100 ms left out) and its level steadiness.
fn analyse(frames: &[AudioFrame]) -> (f32, stoa_sdk::media::signal::LevelSteadiness) {
    let pcm = concat(frames);
    let channels = frames.first().map_or(1, |f| f.channels);
    let mono = stoa_sdk::media::signal::downmix(&pcm, channels);
    let steady = &mono[mono.len().min(4_800)..];
    (
        dominant_frequency(steady, 48_000),
        level_steadiness(steady, 48_000, 100),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sine_published_by_one_sdk_client_decodes_at_440_hz_on_another() {
    let server = Server::start(&[]);
    let (a, b, mut b_events) = pair(&server, "tone").await;

    let track = LocalAudioTrack::custom(AudioEncoderPreset::MusicStandard).unwrap();
    a.publish([&track]).await.unwrap();
    assert!(track.is_published());
    assert_eq!(a.local_tracks().len(), 1);
    let remote = subscribe_when_published(&b, &mut b_events).await;
    assert_eq!(remote.uid(), &Uid::Number(1));
    let mut frames = remote.frames();

    let feeder = Feeder::start(&track, 440.0);
    let received = collect(&mut frames, Duration::from_secs(3)).await;
    let pushed = feeder.pushed();
    drop(feeder);

    let (frequency, level) = analyse(&received);
    let sent = track.stats();
    let stats = remote.stats();
    eprintln!(
        "pushed {pushed} frames of 20 ms; sent {} Opus packets ({} bytes, {} bps); B decoded {} frames ({:.2} s) from \
         {} packets ({} lost, {} bps); dominant {frequency:.2} Hz; level {level:?}",
        sent.send_packets,
        sent.send_bytes,
        sent.send_bitrate,
        received.len(),
        received.len() as f64 * 0.02,
        stats.receive_packets,
        stats.receive_packets_lost,
        stats.receive_bitrate,
    );
    assert!(
        received.len() as u64 >= pushed.saturating_sub(20),
        "B decoded {} frames of {pushed} pushed",
        received.len()
    );
    assert!((frequency - 440.0).abs() <= 5.0, "dominant frequency {frequency} Hz");
    assert!(level.max_deviation_db < 3.0, "level not steady: {level:?}");
    assert!(stats.receive_packets > 100 && stats.receive_bytes > 0, "{stats:?}");
    assert_eq!(stats.codec_type.as_deref(), Some("opus"));
    assert!(received.iter().all(|f| f.sample_rate == 48_000 && f.channels == 1));

    a.leave().await.unwrap();
    assert!(!track.is_published(), "leaving releases the publication");
    wait_end(&mut frames, 5).await;
    assert!(remote.is_ended());
    b.leave().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_and_subscribe_errors_carry_their_codes() {
    let server = Server::start(&[]);
    let app = server.app_ids[0].clone();
    let track = LocalAudioTrack::custom(AudioEncoderPreset::SpeechStandard).unwrap();

    // Not joined.
    let lonely = client(&server.url(), ClientConfig::default());
    let error = lonely.publish([&track]).await.unwrap_err();
    assert_eq!(error.code, ErrorCode::InvalidOperation);
    assert_eq!(error.detail, "Can't publish stream, haven't joined yet!");
    let error = lonely.subscribe(Uid::Number(1), MediaType::Audio).await.unwrap_err();
    assert_eq!(
        (error.code, error.detail.as_str()),
        (ErrorCode::InvalidOperation, "Can't subscribe stream, not joined")
    );

    // Audience in live mode.
    let audience = client(
        &server.url(),
        ClientConfig {
            mode: Mode::Live,
            role: Some(ClientRole::Audience),
            ..ClientConfig::default()
        },
    );
    audience
        .join(&app, "errors-live", None, Some(Uid::Number(9)))
        .await
        .unwrap();
    let error = audience.publish([&track]).await.unwrap_err();
    assert_eq!(
        (error.code, error.detail.as_str()),
        (ErrorCode::InvalidOperation, "audience can not publish stream")
    );

    let (a, b, mut b_events) = pair(&server, "errors").await;
    // An empty list, a disabled track, a closed track.
    let none: [&LocalAudioTrack; 0] = [];
    assert_eq!(a.publish(none).await.unwrap_err().code, ErrorCode::InvalidParams);
    track.set_enabled(false).await.unwrap();
    assert_eq!(a.publish([&track]).await.unwrap_err().code, ErrorCode::TrackIsDisabled);
    track.set_enabled(true).await.unwrap();
    let closed = LocalAudioTrack::custom(AudioEncoderPreset::SpeechStandard).unwrap();
    closed.close();
    assert_eq!(
        a.publish([&closed]).await.unwrap_err().code,
        ErrorCode::InvalidLocalTrack
    );
    assert!(a.local_tracks().is_empty());

    // Subscribing to someone absent, to someone who publishes nothing, to a type not published.
    let error = b.subscribe(Uid::Number(404), MediaType::Audio).await.unwrap_err();
    assert_eq!(
        (error.code, error.detail.as_str()),
        (ErrorCode::InvalidRemoteUser, "user is not in the channel")
    );
    let error = b.subscribe(Uid::Number(1), MediaType::Audio).await.unwrap_err();
    assert_eq!(error.code, ErrorCode::RemoteUserIsNotPublished);
    a.publish([&track]).await.unwrap();
    wait_for(&mut b_events, 5.0, |e| published(e, 1)).await;
    let error = b.subscribe(Uid::Number(1), MediaType::Video).await.unwrap_err();
    assert_eq!(error.code, ErrorCode::RemoteUserIsNotPublished);
    // A track is published once per client; on another client it is refused.
    a.publish([&track]).await.unwrap();
    assert_eq!(a.local_tracks().len(), 1);
    let error = b.publish([&track]).await.unwrap_err();
    assert_eq!(error.code, ErrorCode::InvalidLocalTrack);
    // A second audio track.
    let second = LocalAudioTrack::custom(AudioEncoderPreset::SpeechStandard).unwrap();
    assert_eq!(
        a.publish([&second]).await.unwrap_err().code,
        ErrorCode::InvalidOperation
    );
    // The audience member sees no one publish (it is not a host) but hosts are visible to it.
    let error = audience
        .subscribe(Uid::Number(404), MediaType::Audio)
        .await
        .unwrap_err();
    assert_eq!(error.code, ErrorCode::InvalidRemoteUser);

    for client in [a, b, audience] {
        client.leave().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mute_and_disable_are_announced_and_unmute_can_be_subscribed_again() {
    let server = Server::start(&[]);
    let (a, b, mut b_events) = pair(&server, "mute").await;
    let track = LocalAudioTrack::custom(AudioEncoderPreset::MusicStandard).unwrap();
    a.publish([&track]).await.unwrap();
    let _feeder = Feeder::start(&track, 440.0);
    let remote = subscribe_when_published(&b, &mut b_events).await;
    let mut frames = remote.frames();
    let before = collect(&mut frames, Duration::from_millis(600)).await;
    assert!(
        before.len() > 10,
        "audio flows before the mute: {} frames",
        before.len()
    );

    track.set_muted(true).await.unwrap();
    assert!(track.muted());
    wait_for(&mut b_events, 5.0, |e| info(e, 1, UserInfoMessage::MuteAudio)).await;
    wait_for(&mut b_events, 5.0, |e| unpublished(e, 1)).await;
    assert!(!b.remote_users()[0].has_audio);
    wait_end(&mut frames, 5).await;
    assert!(remote.is_ended(), "user-unpublished ends the subscription");
    assert_eq!(
        b.subscribe(Uid::Number(1), MediaType::Audio).await.unwrap_err().code,
        ErrorCode::RemoteUserIsNotPublished
    );

    track.set_muted(false).await.unwrap();
    wait_for(&mut b_events, 5.0, |e| info(e, 1, UserInfoMessage::UnmuteAudio)).await;
    let again = subscribe_when_published(&b, &mut b_events).await;
    let mut frames = again.frames();
    let after = collect(&mut frames, Duration::from_secs(1)).await;
    let (frequency, _) = analyse(&after);
    eprintln!("after unmute: {} frames, dominant {frequency:.1} Hz", after.len());
    assert!(
        after.len() > 20,
        "audio flows again after unmute: {} frames",
        after.len()
    );
    assert!((frequency - 440.0).abs() <= 5.0, "dominant frequency {frequency} Hz");

    // Disabling works the same way, with its own messages.
    track.set_enabled(false).await.unwrap();
    wait_for(&mut b_events, 5.0, |e| info(e, 1, UserInfoMessage::DisableLocalAudio)).await;
    wait_for(&mut b_events, 5.0, |e| unpublished(e, 1)).await;
    track.set_enabled(true).await.unwrap();
    wait_for(&mut b_events, 5.0, |e| info(e, 1, UserInfoMessage::EnableLocalAudio)).await;
    wait_for(&mut b_events, 5.0, |e| published(e, 1)).await;

    a.leave().await.unwrap();
    b.leave().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unpublish_close_and_leave_release_the_track() {
    let server = Server::start(&[]);
    let (a, b, mut b_events) = pair(&server, "release").await;
    let track = LocalAudioTrack::custom(AudioEncoderPreset::MusicStandard).unwrap();
    let _feeder = Feeder::start(&track, 440.0);

    // Unpublish: B hears of it and its track ends.
    a.publish([&track]).await.unwrap();
    let remote = subscribe_when_published(&b, &mut b_events).await;
    let mut frames = remote.frames();
    assert!(!collect(&mut frames, Duration::from_millis(500)).await.is_empty());
    a.unpublish([&track]).await.unwrap();
    assert!(!track.is_published() && a.local_tracks().is_empty());
    wait_for(&mut b_events, 5.0, |e| unpublished(e, 1)).await;
    wait_end(&mut frames, 5).await;

    // Published again (a fresh m-line on the same transport), subscribed again, unsubscribed by B.
    a.publish([&track]).await.unwrap();
    let remote = subscribe_when_published(&b, &mut b_events).await;
    let mut frames = remote.frames();
    let got = collect(&mut frames, Duration::from_millis(800)).await;
    assert!(got.len() > 10, "audio flows after re-publishing: {} frames", got.len());
    b.unsubscribe(Uid::Number(1), Some(MediaType::Audio)).await.unwrap();
    wait_end(&mut frames, 5).await;
    let remote = b.subscribe_audio(Uid::Number(1)).await.unwrap();
    let mut frames = remote.frames();
    let got = collect(&mut frames, Duration::from_millis(800)).await;
    assert!(got.len() > 10, "audio flows after re-subscribing: {} frames", got.len());
    let same = b.subscribe_audio(Uid::Number(1)).await.unwrap();
    assert_eq!(
        same.track_id(),
        remote.track_id(),
        "subscribing twice gives the same track"
    );

    // Closing a published track unpublishes it.
    track.close();
    wait_for(&mut b_events, 5.0, |e| unpublished(e, 1)).await;
    wait_end(&mut frames, 5).await;
    assert!(a.local_tracks().is_empty());

    // Leaving: B sees the user leave while subscribed, and its track ends.
    let second = LocalAudioTrack::custom(AudioEncoderPreset::MusicStandard).unwrap();
    let _feeder = Feeder::start(&second, 440.0);
    a.publish([&second]).await.unwrap();
    let remote = subscribe_when_published(&b, &mut b_events).await;
    let mut frames = remote.frames();
    assert!(!collect(&mut frames, Duration::from_millis(500)).await.is_empty());
    a.leave().await.unwrap();
    assert!(!second.is_published());
    wait_for(
        &mut b_events,
        5.0,
        |e| matches!(e, Event::UserLeft(user, _) if user.uint_uid == 1),
    )
    .await;
    wait_end(&mut frames, 5).await;

    // After a new join the track can be published again (on a new engine).
    let app = server.app_ids[0].clone();
    a.join(&app, "release", None, Some(Uid::Number(1))).await.unwrap();
    a.publish([&second]).await.unwrap();
    let remote = subscribe_when_published(&b, &mut b_events).await;
    let mut frames = remote.frames();
    let got = collect(&mut frames, Duration::from_millis(800)).await;
    assert!(got.len() > 10, "audio flows after joining again: {} frames", got.len());
    a.leave().await.unwrap();
    b.leave().await.unwrap();
}

/// Agora apps subscribe on every `user-published`. Mute and unmute keep the subscription's m-line (the server keeps
/// it, the SDK binds a new track to it), and re-publishing reuses the publisher's m-line, so neither transport's SDP
/// grows with the cycles (it would pass the 16 KiB frame limit after about 20 new m-lines).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mute_and_republish_cycles_reuse_their_m_lines() {
    let server = Server::start(&[]);
    let (a, b, mut b_events) = pair(&server, "cycles").await;
    let track = LocalAudioTrack::custom(AudioEncoderPreset::MusicStandard).unwrap();
    let _feeder = Feeder::start(&track, 440.0);
    a.publish([&track]).await.unwrap();
    for cycle in 0..25 {
        let remote = subscribe_when_published(&b, &mut b_events).await;
        let mut frames = remote.frames();
        let got = collect(&mut frames, Duration::from_millis(100)).await;
        assert!(got.len() >= 2, "cycle {cycle}: {} frames", got.len());
        track.set_muted(true).await.unwrap();
        wait_for(&mut b_events, 5.0, |e| unpublished(e, 1)).await;
        wait_end(&mut frames, 5).await;
        track.set_muted(false).await.unwrap();
    }
    wait_for(&mut b_events, 5.0, |e| published(e, 1)).await;
    for _ in 0..25 {
        a.unpublish([&track]).await.unwrap();
        wait_for(&mut b_events, 5.0, |e| unpublished(e, 1)).await;
        a.publish([&track]).await.unwrap();
        wait_for(&mut b_events, 5.0, |e| published(e, 1)).await;
    }
    let remote = b.subscribe_audio(Uid::Number(1)).await.unwrap();
    let mut frames = remote.frames();
    let got = collect(&mut frames, Duration::from_millis(500)).await;
    let (frequency, _) = analyse(&got);
    assert!(got.len() > 10, "{} frames after the cycles", got.len());
    assert!((frequency - 440.0).abs() <= 5.0, "dominant frequency {frequency} Hz");
    a.leave().await.unwrap();
    b.leave().await.unwrap();
}

/// A signalling reconnect (the session is resumed) leaves the media alone: the subscription keeps its track and the
/// audio keeps flowing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn media_keeps_flowing_through_a_signalling_reconnect() {
    let server = Server::start(&[]);
    let app = server.app_ids[0].clone();
    let relay = Relay::start(server.addr).await;
    let a = client(&server.url(), ClientConfig::default());
    let b = client(&relay.url(), ClientConfig::default());
    let mut b_events = b.events();
    a.join(&app, "blip", None, Some(Uid::Number(1))).await.unwrap();
    b.join(&app, "blip", None, Some(Uid::Number(2))).await.unwrap();
    let track = LocalAudioTrack::custom(AudioEncoderPreset::MusicStandard).unwrap();
    let _feeder = Feeder::start(&track, 440.0);
    a.publish([&track]).await.unwrap();
    let remote = subscribe_when_published(&b, &mut b_events).await;
    let mut frames = remote.frames();
    assert!(!collect(&mut frames, Duration::from_millis(300)).await.is_empty());

    relay.cut();
    let reconnecting = |e: &Event| {
        matches!(
            e,
            Event::ConnectionStateChange {
                current: stoa_sdk::ConnectionState::Reconnecting,
                ..
            }
        )
    };
    wait_for(&mut b_events, 5.0, reconnecting).await;
    // With it, network-quality says the link is down (6) both ways.
    let down = |e: &Event| matches!(e, Event::NetworkQuality(q) if (q.uplink, q.downlink) == (6, 6));
    wait_for(&mut b_events, 1.0, down).await;
    wait_for(&mut b_events, 5.0, |e| {
        matches!(
            e,
            Event::ConnectionStateChange {
                current: stoa_sdk::ConnectionState::Connected,
                ..
            }
        )
    })
    .await;
    let after = collect(&mut frames, Duration::from_secs(1)).await;
    let (frequency, _) = analyse(&after);
    eprintln!(
        "after the reconnect: {} frames, dominant {frequency:.1} Hz",
        after.len()
    );
    assert!(!remote.is_ended(), "the subscription survives the reconnect");
    assert!(after.len() >= 45, "audio keeps flowing: {} frames in 1 s", after.len());
    assert!((frequency - 440.0).abs() <= 5.0, "dominant frequency {frequency} Hz");
    a.leave().await.unwrap();
    b.leave().await.unwrap();
}

/// Every 2 s each client rates its own link (`Event::NetworkQuality`, `Client::network_quality`): A from the
/// receiver reports on the audio it sends, B from the audio it receives, both on a loopback link that is excellent
/// or good. Each host's rating reaches the other through the server (`Client::remote_network_quality`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_client_rates_its_link_and_sees_the_others_rating() {
    let server = Server::start(&[]);
    let (a, b, mut b_events) = pair(&server, "quality").await;
    let mut a_events = a.events();
    let track = LocalAudioTrack::custom(AudioEncoderPreset::SpeechStandard).unwrap();
    a.publish([&track]).await.unwrap();
    let remote = subscribe_when_published(&b, &mut b_events).await;
    let feeder = Feeder::start(&track, 440.0);
    let measured = |event: &Event| matches!(event, Event::NetworkQuality(q) if q.uplink > 0 && q.downlink > 0);
    // The first rating comes before the first receiver report; wait for ratings taken while audio flows.
    for events in [&mut a_events, &mut b_events] {
        wait_for(events, 6.0, measured).await;
        let Event::NetworkQuality(rating) = wait_for(events, 6.0, measured).await else {
            unreachable!()
        };
        assert!(
            (1..=2).contains(&rating.uplink) && (1..=2).contains(&rating.downlink),
            "a loopback link rated {rating:?}"
        );
    }
    let (a_rating, b_rating) = (a.network_quality(), b.network_quality());
    let relayed = |client: &Client, uid: u32| {
        client
            .remote_network_quality()
            .into_iter()
            .find(|(user, _)| *user == Uid::Number(uid))
            .map(|(_, rating)| rating)
            .unwrap()
    };
    let (a_sees_b, b_sees_a) = (relayed(&a, 2), relayed(&b, 1));
    drop(feeder);
    eprintln!(
        "A rates (uplink {}, downlink {}), B rates ({}, {}); A sees B's {a_sees_b:?}, B sees A's {b_sees_a:?}; \
         A's audio stats {:?}",
        a_rating.uplink,
        a_rating.downlink,
        b_rating.uplink,
        b_rating.downlink,
        remote.stats()
    );
    for rating in [a_sees_b, b_sees_a] {
        assert!(
            (1..=2).contains(&rating.uplink) && (1..=2).contains(&rating.downlink),
            "{rating:?}"
        );
    }
    a.leave().await.unwrap();
    b.leave().await.unwrap();
}

//! Video through a real `stoa serve` with the Rust SDK on both ends: a custom video track publishes frames whose
//! pixels encode a frame counter (VP8, VP9 or H.264, the client's codec), another client subscribes and decodes
//! them; the counters come back in order, at the right size, with few gaps. With 10 % datagram loss between the
//! subscriber and the server, NACK/RTX and keyframe requests (PLI) keep the picture going. Audio and video from
//! one client together.

mod common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::*;
use stoa_sdk::media::video::pattern::{CounterPattern, read_counter};
use stoa_sdk::media::video::{VideoCodec, VideoEncoderConfig, VideoFrame};
use stoa_sdk::{
    Client, ClientConfig, Codec, ErrorCode, Event, LocalAudioTrack, LocalTrack, LocalVideoTrack, MediaType,
    RemoteVideoTrack, Uid,
};
use tokio::net::UdpSocket;
use tokio::sync::{broadcast, mpsc};

const WIDTH: u32 = 640;
const HEIGHT: u32 = 360;
const FPS: u32 = 30;
/// How long frames still in flight get after the feeder stopped.
const DRAIN: Duration = Duration::from_millis(700);

/// The cases run one at a time: each encodes and decodes in real time, and the machine may have two cores.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn config() -> VideoEncoderConfig {
    VideoEncoderConfig {
        codec: VideoCodec::Vp8,
        width: WIDTH,
        height: HEIGHT,
        frame_rate: FPS,
        bitrate_kbps: 500,
        keyframe_interval: 0,
    }
}

/// Pushes `total` counter frames into a track at `FPS` on a thread of its own (encoding blocks). A loaded machine
/// pushes more slowly, never fewer frames.
struct VideoFeeder {
    stop: Arc<AtomicBool>,
    pushed: Arc<AtomicU64>,
    total: u64,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl VideoFeeder {
    fn start(track: &LocalVideoTrack, total: u32) -> VideoFeeder {
        let track = track.clone();
        let stop = Arc::new(AtomicBool::new(false));
        let pushed = Arc::new(AtomicU64::new(0));
        let (s, p) = (stop.clone(), pushed.clone());
        let thread = std::thread::spawn(move || {
            let mut pattern = CounterPattern::new(WIDTH, HEIGHT).unwrap();
            let period = Duration::from_secs(1) / FPS;
            let start = Instant::now();
            for n in 1..=total {
                if s.load(Ordering::SeqCst) {
                    return;
                }
                if let Err(e) = track.push(&pattern.next_frame()) {
                    panic!("push failed: {e}");
                }
                p.store(u64::from(n), Ordering::SeqCst);
                std::thread::sleep((start + period * n).saturating_duration_since(Instant::now()));
            }
        });
        VideoFeeder {
            stop,
            pushed,
            total: u64::from(total),
            thread: Some(thread),
        }
    }

    fn pushed(&self) -> u64 {
        self.pushed.load(Ordering::SeqCst)
    }

    fn done(&self) -> bool {
        self.pushed() >= self.total
    }
}

impl Drop for VideoFeeder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Decoded frames that arrive within `duration`.
async fn collect(frames: &mut mpsc::Receiver<VideoFrame>, duration: Duration) -> Vec<VideoFrame> {
    let deadline = tokio::time::Instant::now() + duration;
    let mut got = Vec::new();
    while let Ok(Some(frame)) = tokio::time::timeout_at(deadline, frames.recv()).await {
        got.push(frame);
    }
    got
}

/// Decoded frames until the feeder pushed all its frames, and [`DRAIN`] more; `on_progress` sees the count of
/// frames pushed as it goes. Fails after a minute.
/// Decoded frames until `count` arrived or `limit` passed.
async fn collect_until(frames: &mut mpsc::Receiver<VideoFrame>, count: usize, limit: Duration) -> Vec<VideoFrame> {
    let deadline = tokio::time::Instant::now() + limit;
    let mut got = Vec::new();
    while got.len() < count {
        match tokio::time::timeout_at(deadline, frames.recv()).await {
            Ok(Some(frame)) => got.push(frame),
            _ => break,
        }
    }
    got
}

async fn collect_feed(
    frames: &mut mpsc::Receiver<VideoFrame>,
    feeder: &VideoFeeder,
    mut on_progress: impl FnMut(u64),
) -> Vec<VideoFrame> {
    let limit = tokio::time::Instant::now() + Duration::from_secs(60);
    let mut got = Vec::new();
    while !feeder.done() {
        assert!(
            tokio::time::Instant::now() < limit,
            "the feeder did not finish within a minute"
        );
        on_progress(feeder.pushed());
        match tokio::time::timeout(Duration::from_millis(20), frames.recv()).await {
            Ok(Some(frame)) => got.push(frame),
            Ok(None) => break,
            Err(_) => {}
        }
    }
    on_progress(feeder.pushed());
    got.extend(collect(frames, DRAIN).await);
    got
}

/// What the subscriber made of the counter frames.
#[derive(Debug)]
struct Seen {
    pushed: u64,
    decoded: usize,
    wrong_size: usize,
    unreadable: usize,
    out_of_order: usize,
    /// Counters missing between the first and the last decoded one.
    missing: u64,
    first: Option<u32>,
    last: Option<u32>,
}

impl Seen {
    fn of(frames: &[VideoFrame], pushed: u64) -> Seen {
        let mut seen = Seen {
            pushed,
            decoded: frames.len(),
            wrong_size: 0,
            unreadable: 0,
            out_of_order: 0,
            missing: 0,
            first: None,
            last: None,
        };
        for frame in frames {
            if (frame.width, frame.height) != (WIDTH, HEIGHT) {
                seen.wrong_size += 1;
                continue;
            }
            let Some(counter) = read_counter(frame) else {
                seen.unreadable += 1;
                continue;
            };
            match seen.last {
                Some(last) if counter <= last => seen.out_of_order += 1,
                Some(last) => {
                    seen.missing += u64::from(counter - last - 1);
                    seen.last = Some(counter);
                }
                None => {
                    seen.first = Some(counter);
                    seen.last = Some(counter);
                }
            }
        }
        seen
    }

    /// Decoded share of the frames pushed from the first decoded one on.
    fn decoded_fraction(&self) -> f64 {
        let (Some(first), Some(last)) = (self.first, self.last) else {
            return 0.0;
        };
        (u64::from(last - first) + 1 - self.missing) as f64 / (self.pushed.saturating_sub(u64::from(first))) as f64
    }
}

fn video_published(event: &Event, uid: u32) -> bool {
    matches!(event, Event::UserPublished(user, MediaType::Video) if user.uint_uid == uid)
}

fn with_codec(codec: VideoCodec) -> ClientConfig {
    ClientConfig {
        codec: Codec::from(codec),
        ..ClientConfig::default()
    }
}

/// Two joined clients, uids 1 and 2, in `channel`, with `b`'s events; both use `codec`.
async fn pair(
    server: &Server,
    channel: &str,
    codec: VideoCodec,
    b_config: ClientConfig,
) -> (Client, Client, broadcast::Receiver<Event>) {
    let app = server.app_ids[0].clone();
    let a = client(&server.url(), with_codec(codec));
    let b = client(
        &server.url(),
        ClientConfig {
            codec: Codec::from(codec),
            ..b_config
        },
    );
    let b_events = b.events();
    a.join(&app, channel, None, Some(Uid::Number(1))).await.unwrap();
    b.join(&app, channel, None, Some(Uid::Number(2))).await.unwrap();
    (a, b, b_events)
}

async fn subscribe_video_when_published(b: &Client, b_events: &mut broadcast::Receiver<Event>) -> RemoteVideoTrack {
    let event = wait_for(b_events, 5.0, |e| video_published(e, 1)).await;
    let Event::UserPublished(user, _) = event else {
        unreachable!()
    };
    assert!(user.has_video);
    b.subscribe_video(&user).await.unwrap()
}

/// A publishes `seconds` of counter frames with `codec`; B subscribes and decodes. Returns what B saw, and the
/// remote track for its stats.
async fn counter_call(codec: VideoCodec, frames_to_push: u32) -> (Seen, RemoteVideoTrack, LocalVideoTrack) {
    let server = Server::start(&[]);
    let (a, b, mut b_events) = pair(&server, codec.as_str(), codec, ClientConfig::default()).await;
    let track = LocalVideoTrack::custom(config()).unwrap();
    a.publish([&track]).await.unwrap();
    let remote = subscribe_video_when_published(&b, &mut b_events).await;
    let mut frames = remote.frames();
    let feeder = VideoFeeder::start(&track, frames_to_push);
    let received = collect_feed(&mut frames, &feeder, |_| {}).await;
    let seen = Seen::of(&received, feeder.pushed());
    a.leave().await.unwrap();
    b.leave().await.unwrap();
    (seen, remote, track)
}

async fn check_codec(codec: VideoCodec) {
    let _turn = ONE_AT_A_TIME.lock().await;
    let (seen, remote, track) = counter_call(codec, 3 * FPS).await;
    let sent = track.stats();
    let got = remote.stats();
    eprintln!("{codec}: {seen:?}\n  sent {sent:?}\n  received {got:?}");
    assert_eq!(sent.codec_type.as_deref(), Some(codec.stats_name()));
    assert_eq!(got.codec_type.as_deref(), Some(codec.stats_name()));
    assert_eq!(
        (seen.wrong_size, seen.unreadable, seen.out_of_order),
        (0, 0, 0),
        "{seen:?}"
    );
    assert_eq!(seen.pushed, u64::from(3 * FPS));
    assert!(
        seen.first.is_some_and(|first| first <= 5),
        "the first frames decode: {seen:?}"
    );
    assert!(seen.missing <= 2, "few gaps: {seen:?}");
    assert!(seen.decoded_fraction() >= 0.95, "{seen:?}");
    assert_eq!(
        (got.receive_resolution_width, got.receive_resolution_height),
        (WIDTH, HEIGHT)
    );
    assert!(got.receive_packets > 0 && got.frames_decoded as usize >= seen.decoded);
    assert!(sent.send_bytes > 0 && sent.key_frames_encoded >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vp8_counter_frames_decode_in_order_on_the_subscriber() {
    check_codec(VideoCodec::Vp8).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vp9_counter_frames_decode_in_order_on_the_subscriber() {
    check_codec(VideoCodec::Vp9).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h264_counter_frames_decode_in_order_on_the_subscriber() {
    check_codec(VideoCodec::H264).await;
}

// ------------------------------------------------------------------------------------------------------------------
// Loss

/// A UDP relay in front of the server's media socket that drops a share of datagrams both ways, from a seeded
/// generator. Like a NAT it gives each client address a socket of its own toward the server, so the server sees one
/// 5-tuple per client transport.
struct LossyRelay {
    addr: SocketAddr,
    /// The share of datagrams dropped each way (f64 bits).
    share: Arc<AtomicU64>,
    dropped: Arc<AtomicU64>,
    relayed: Arc<AtomicU64>,
    /// While set, everything from the clients to the server is dropped (their NACKs, PLIs and receiver reports).
    blocking_uplink: Arc<AtomicBool>,
    /// While set, everything from the server to the clients is dropped too: the path is down.
    blocking_downlink: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

/// xorshift64*: enough randomness for a repeatable drop pattern. `loss` holds the share to drop (f64 bits), so a
/// test can change it while the relay runs.
fn lossy(seed: u64, loss: Arc<AtomicU64>) -> impl FnMut() -> bool + Send {
    let mut state = seed;
    move || {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        let share = f64::from_bits(loss.load(Ordering::Relaxed));
        ((state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64) < share
    }
}

impl LossyRelay {
    async fn start(server: SocketAddr, loss: f64) -> LossyRelay {
        let share = Arc::new(AtomicU64::new(loss.to_bits()));
        let loss = share.clone();
        let front = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
        let addr = front.local_addr().unwrap();
        let (dropped, relayed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let (d, r) = (dropped.clone(), relayed.clone());
        let blocking_uplink = Arc::new(AtomicBool::new(false));
        let blocking = blocking_uplink.clone();
        let blocking_downlink = Arc::new(AtomicBool::new(false));
        let blocking_down = blocking_downlink.clone();
        let task = tokio::spawn(async move {
            let mut lose = lossy(0x2545_f491_4f6c_dd1d, loss.clone());
            let mut back: HashMap<SocketAddr, Arc<UdpSocket>> = HashMap::new();
            let mut returns = Vec::new();
            let mut buf = vec![0u8; 2048];
            while let Ok((len, client)) = front.recv_from(&mut buf).await {
                let socket = match back.get(&client) {
                    Some(socket) => socket.clone(),
                    None => {
                        let socket = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
                        back.insert(client, socket.clone());
                        // Server → client for this mapping, with its own drop pattern.
                        let (front, socket2, d, r) = (front.clone(), socket.clone(), d.clone(), r.clone());
                        let blocking_down = blocking_down.clone();
                        let mut lose_back = lossy(0x9e37_79b9_7f4a_7c15 ^ u64::from(client.port()), loss.clone());
                        returns.push(tokio::spawn(async move {
                            let mut buf = vec![0u8; 2048];
                            while let Ok((len, _)) = socket2.recv_from(&mut buf).await {
                                if blocking_down.load(Ordering::Relaxed) {
                                    continue;
                                }
                                if lose_back() {
                                    d.fetch_add(1, Ordering::Relaxed);
                                    continue;
                                }
                                r.fetch_add(1, Ordering::Relaxed);
                                let _ = front.send_to(&buf[..len], client).await;
                            }
                        }));
                        socket
                    }
                };
                if blocking.load(Ordering::Relaxed) {
                    continue;
                }
                if lose() {
                    d.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                r.fetch_add(1, Ordering::Relaxed);
                let _ = socket.send_to(&buf[..len], server).await;
            }
            for task in returns {
                task.abort();
            }
        });
        LossyRelay {
            addr,
            share,
            dropped,
            relayed,
            blocking_uplink,
            blocking_downlink,
            task,
        }
    }

    /// Drops `loss` of the datagrams each way from now on.
    fn set_loss(&self, loss: f64) {
        self.share.store(loss.to_bits(), Ordering::Relaxed);
    }

    /// Cuts (or restores) the path both ways.
    fn cut(&self, cut: bool) {
        self.blocking_uplink.store(cut, Ordering::Relaxed);
        self.blocking_downlink.store(cut, Ordering::Relaxed);
    }

    fn block_uplink(&self, blocking: bool) {
        self.blocking_uplink.store(blocking, Ordering::Relaxed);
    }

    /// The share of datagrams it dropped at random (the blocked uplink not counted), and how many it saw.
    /// Datagrams dropped and relayed so far.
    fn counts(&self) -> (u64, u64) {
        (
            self.dropped.load(Ordering::Relaxed),
            self.relayed.load(Ordering::Relaxed),
        )
    }

    fn loss(&self) -> (f64, u64) {
        let dropped = self.dropped.load(Ordering::Relaxed);
        let total = dropped + self.relayed.load(Ordering::Relaxed);
        (dropped as f64 / total.max(1) as f64, total)
    }
}

impl Drop for LossyRelay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A free UDP port on 127.0.0.1 for the server's media socket (so the relay knows where to send).
fn free_udp_addr() -> SocketAddr {
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.local_addr().unwrap()
}

/// A publishes counter frames; B receives them through a relay that drops 10 % of datagrams both ways. Once B
/// decodes, the relay also drops everything B sends for 30 frames (one second), so B's NACKs go nowhere: losses in
/// that second are not repaired and B has to ask for a keyframe (its requests get through once the uplink is
/// back). Two more seconds follow.
async fn lossy_call(codec: VideoCodec) {
    let _turn = ONE_AT_A_TIME.lock().await;
    let media = free_udp_addr();
    // One worker, so that every channel is on the port the relay forwards to.
    let server = Server::start(&["--udp", &media.to_string(), "--media-workers", "1"]);
    let relay = LossyRelay::start(media, 0.10).await;
    let b_config = ClientConfig {
        media_server_address: Some(relay.addr),
        ..ClientConfig::default()
    };
    let (a, b, mut b_events) = pair(&server, &format!("lossy-{codec}"), codec, b_config).await;
    let track = LocalVideoTrack::custom(config()).unwrap();
    a.publish([&track]).await.unwrap();
    let remote = subscribe_video_when_published(&b, &mut b_events).await;
    let mut frames = remote.frames();
    // Enough frames for any start-up; the feeder is stopped once the plan below is through.
    let feeder = VideoFeeder::start(&track, 60 * FPS);
    let limit = tokio::time::Instant::now() + Duration::from_secs(60);
    let mut received = Vec::new();
    // B's transport connects through the lossy relay too (DTLS retransmits may take a few seconds).
    while received.is_empty() {
        assert!(tokio::time::Instant::now() < limit, "nothing decoded within a minute");
        if let Ok(Some(frame)) = tokio::time::timeout(Duration::from_millis(50), frames.recv()).await {
            received.push(frame);
        }
    }
    let block_start = feeder.pushed() + u64::from(FPS / 2);
    let block = block_start..block_start + u64::from(FPS);
    let stop_at = block.end + u64::from(2 * FPS);
    let mut requests_before_block = None;
    loop {
        let pushed = feeder.pushed();
        assert!(
            tokio::time::Instant::now() < limit,
            "the feeder did not get through within a minute"
        );
        relay.block_uplink(block.contains(&pushed));
        if pushed >= block.start && requests_before_block.is_none() {
            requests_before_block = Some(remote.stats().keyframe_requests_sent);
        }
        if pushed >= stop_at {
            break;
        }
        if let Ok(Some(frame)) = tokio::time::timeout(Duration::from_millis(20), frames.recv()).await {
            received.push(frame);
        }
    }
    drop(feeder);
    received.extend(collect(&mut frames, DRAIN).await);
    let pushed = stop_at;
    let seen = Seen::of(&received, pushed);
    let (loss, datagrams) = relay.loss();
    let sent = track.stats();
    let got = remote.stats();
    let after_block = received
        .iter()
        .filter_map(read_counter)
        .filter(|&n| u64::from(n) >= block.end)
        .count();
    eprintln!(
        "{codec} with loss: the relay dropped {:.1} % of {datagrams} datagrams at random; {pushed} frames pushed, {} \
         decoded ({:.1} % of those pushed since the first decoded), {} counters missing, {} frames skipped waiting \
         for a keyframe, uplink blocked for frames {block:?}, {after_block} decoded after that; B sent {} keyframe requests ({:?} before \
         the uplink was blocked), A received {} and encoded {} keyframes; A got {} NACKs; B's packet loss after \
         retransmissions {:.1} %, freeze {:.2} s\n  {seen:?}",
        loss * 100.0,
        seen.decoded,
        seen.decoded_fraction() * 100.0,
        seen.missing,
        got.frames_skipped,
        got.keyframe_requests_sent,
        requests_before_block,
        sent.keyframe_requests_received,
        sent.key_frames_encoded,
        sent.nacks_received,
        got.packet_loss_rate,
        got.total_freeze_time,
    );
    assert!((0.05..=0.15).contains(&loss), "the relay dropped {:.1} %", loss * 100.0);
    assert_eq!(
        (seen.wrong_size, seen.unreadable, seen.out_of_order),
        (0, 0, 0),
        "{seen:?}"
    );
    // NACK/RTX repairs the random loss and keyframes what it could not repair: most frames decode.
    assert!(seen.decoded_fraction() >= 0.5, "{seen:?}");
    // Frames that could not be decoded (the blocked second's losses, when retransmission could not fill them)
    // ended with a keyframe that came on request.
    if got.frames_skipped > 0 {
        assert!(
            got.keyframe_requests_sent > 0 && sent.keyframe_requests_received > 0,
            "{got:?} {sent:?}"
        );
        assert!(sent.key_frames_encoded >= 2, "{sent:?}");
    }
    // And the picture came back: the frames after the blocked second decode, up to the last.
    let last = seen.last.expect("frames decoded");
    assert!(
        u64::from(last) + 10 >= pushed,
        "decoding goes on to the end: last counter {last} of {pushed} pushed"
    );
    assert!(
        after_block as u64 >= (pushed - block.end) / 2,
        "only {after_block} frames decoded after the blocked second"
    );
    a.leave().await.unwrap();
    b.leave().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vp8_recovers_from_10_percent_loss_between_the_subscriber_and_the_server() {
    lossy_call(VideoCodec::Vp8).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h264_recovers_from_10_percent_loss_between_the_subscriber_and_the_server() {
    lossy_call(VideoCodec::H264).await;
}

// ------------------------------------------------------------------------------------------------------------------
// Audio and video together, and the publish rules

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audio_and_video_from_one_client_both_arrive() {
    use stoa_sdk::media::AudioEncoderPreset;
    use stoa_sdk::media::signal::{SineSource, concat, dominant_frequency};

    let _turn = ONE_AT_A_TIME.lock().await;
    let server = Server::start(&[]);
    let (a, b, mut b_events) = pair(&server, "av", VideoCodec::Vp8, ClientConfig::default()).await;
    let audio = LocalAudioTrack::custom(AudioEncoderPreset::MusicStandard).unwrap();
    let video = LocalVideoTrack::custom(config()).unwrap();
    a.publish([LocalTrack::from(&audio), LocalTrack::from(&video)])
        .await
        .unwrap();
    assert_eq!(a.local_tracks().len(), 2);

    let mut published = Vec::new();
    while published.len() < 2 {
        if let Event::UserPublished(user, media_type) =
            wait_for(&mut b_events, 5.0, |e| matches!(e, Event::UserPublished(..))).await
        {
            assert_eq!(user.uint_uid, 1);
            published.push(media_type);
        }
    }
    let remote_video = b.subscribe_video(1u32).await.unwrap();
    let remote_audio = b.subscribe_audio(1u32).await.unwrap();
    let mut video_frames = remote_video.frames();
    let mut audio_frames = remote_audio.frames();

    let sine_track = audio.clone();
    let sine = tokio::spawn(async move {
        let mut sine = SineSource::new(440.0, 48_000, 1, 0.5);
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        loop {
            tick.tick().await;
            if sine_track.push(&sine.next_frame(20)).is_err() {
                return;
            }
        }
    });
    let feeder = VideoFeeder::start(&video, 3 * FPS);
    let (stop_audio, mut audio_stopped) = tokio::sync::oneshot::channel::<()>();
    let audio_collect = tokio::spawn(async move {
        let mut got = Vec::new();
        loop {
            tokio::select! {
                frame = audio_frames.recv() => match frame {
                    Some(frame) => got.push(frame),
                    None => break,
                },
                _ = &mut audio_stopped => break,
            }
        }
        got
    });
    let received = collect_feed(&mut video_frames, &feeder, |_| {}).await;
    let pushed = feeder.pushed();
    sine.abort();
    let _ = stop_audio.send(());
    let heard = audio_collect.await.unwrap();

    let seen = Seen::of(&received, pushed);
    let pcm = concat(&heard);
    let frequency = dominant_frequency(&pcm[pcm.len().min(4_800)..], 48_000);
    eprintln!(
        "audio+video: {seen:?}; {} audio frames at {frequency:.2} Hz",
        heard.len()
    );
    assert_eq!(
        (seen.wrong_size, seen.unreadable, seen.out_of_order),
        (0, 0, 0),
        "{seen:?}"
    );
    assert!(seen.decoded_fraction() >= 0.95 && seen.missing <= 2, "{seen:?}");
    assert!(
        heard.len() >= 100,
        "{} audio frames while 3 s of video went through",
        heard.len()
    );
    assert!((frequency - 440.0).abs() <= 5.0, "dominant frequency {frequency} Hz");
    a.leave().await.unwrap();
    b.leave().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn video_publish_errors_carry_the_catalog_codes() {
    let server = Server::start(&[]);
    let app = server.app_ids[0].clone();
    let a = client(&server.url(), ClientConfig::default());
    let video = LocalVideoTrack::custom(config()).unwrap();

    // Not joined.
    let error = a.publish([&video]).await.unwrap_err();
    assert_eq!(error.code, ErrorCode::InvalidOperation);
    a.join(&app, "video-errors", None, Some(Uid::Number(1))).await.unwrap();

    // Two video tracks at once, or one more later.
    let second = LocalVideoTrack::custom(config()).unwrap();
    let error = a.publish([&video, &second]).await.unwrap_err();
    assert_eq!(error.code, ErrorCode::CanNotPublishMultipleVideoTracks);
    a.publish([&video]).await.unwrap();
    let error = a.publish([&second]).await.unwrap_err();
    assert_eq!(error.code, ErrorCode::CanNotPublishMultipleVideoTracks);
    // Publishing the same track again is a success.
    a.publish([&video]).await.unwrap();

    // A disabled track, a closed one.
    a.unpublish([&video]).await.unwrap();
    video.set_enabled(false).await.unwrap();
    assert_eq!(a.publish([&video]).await.unwrap_err().code, ErrorCode::TrackIsDisabled);
    video.close();
    assert_eq!(
        a.publish([&video]).await.unwrap_err().code,
        ErrorCode::InvalidLocalTrack
    );
    let frame = CounterPattern::new(WIDTH, HEIGHT).unwrap().next_frame();
    assert_eq!(video.push(&frame).unwrap_err().code, ErrorCode::InvalidLocalTrack);

    // Frames of another size than configured.
    let wrong = CounterPattern::new(320, 180).unwrap().next_frame();
    assert_eq!(second.push(&wrong).unwrap_err().code, ErrorCode::InvalidParams);

    // A codec the SDK cannot encode.
    let av1 = client(
        &server.url(),
        ClientConfig {
            codec: Codec::Av1,
            ..ClientConfig::default()
        },
    );
    av1.join(&app, "video-errors", None, Some(Uid::Number(2)))
        .await
        .unwrap();
    assert_eq!(av1.publish([&second]).await.unwrap_err().code, ErrorCode::NotSupported);

    // Subscribing to video the user has not published.
    let error = av1.subscribe_video(1u32).await.unwrap_err();
    assert_eq!(error.code, ErrorCode::RemoteUserIsNotPublished);
    a.leave().await.unwrap();
    av1.leave().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vp9_recovers_from_10_percent_loss_between_the_subscriber_and_the_server() {
    lossy_call(VideoCodec::Vp9).await;
}

// ------------------------------------------------------------------------------------------------------------------
// Mute

/// Muting ends the remote video track (Agora's `user-unpublished`); after unmuting, a new subscription decodes
/// again from a keyframe, on the same m-line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn muted_video_comes_back_after_unmute_and_resubscribe() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let server = Server::start(&[]);
    let (a, b, mut b_events) = pair(&server, "mute", VideoCodec::Vp8, ClientConfig::default()).await;
    let track = LocalVideoTrack::custom(config()).unwrap();
    a.publish([&track]).await.unwrap();
    let remote = subscribe_video_when_published(&b, &mut b_events).await;
    let mut frames = remote.frames();
    let feeder = VideoFeeder::start(&track, 6 * FPS);
    let first = collect(&mut frames, Duration::from_secs(1)).await;
    assert!(!first.is_empty(), "frames before mute");

    track.set_muted(true).await.unwrap();
    wait_for(
        &mut b_events,
        5.0,
        |e| matches!(e, Event::UserUnpublished(user, MediaType::Video) if user.uint_uid == 1),
    )
    .await;
    // The track ended: its receiver drains and closes.
    while tokio::time::timeout(Duration::from_secs(5), frames.recv())
        .await
        .expect("the muted track's receiver ends")
        .is_some()
    {}
    assert!(remote.is_ended());

    track.set_muted(false).await.unwrap();
    let again = subscribe_video_when_published(&b, &mut b_events).await;
    let mut frames = again.frames();
    let second = collect(&mut frames, Duration::from_secs(2)).await;
    drop(feeder);
    let seen = Seen::of(&second, u64::MAX);
    eprintln!("after unmute: {seen:?}; stats {:?}", again.stats());
    assert!(seen.decoded >= 10, "{seen:?}");
    assert_eq!(
        (seen.wrong_size, seen.unreadable, seen.out_of_order),
        (0, 0, 0),
        "{seen:?}"
    );
    let before_mute = first.last().and_then(read_counter).expect("a counter before mute");
    assert!(
        seen.first.is_some_and(|n| n > before_mute),
        "the new track starts after the mute (last counter before it: {before_mute}): {seen:?}"
    );
    a.leave().await.unwrap();
    b.leave().await.unwrap();
}

// ------------------------------------------------------------------------------------------------------------------
// Media reconnection

/// A server with one media worker, and a VP8 pair in `channel` whose B reaches the media port only through a
/// [`LossyRelay`] dropping `loss` of the datagrams.
struct RelayedPair {
    server: Server,
    relay: LossyRelay,
    a: Client,
    b: Client,
    b_events: broadcast::Receiver<Event>,
}

impl RelayedPair {
    async fn start(channel: &str, loss: f64) -> RelayedPair {
        let media = free_udp_addr();
        let server = Server::start(&["--udp", &media.to_string(), "--media-workers", "1"]);
        let relay = LossyRelay::start(media, loss).await;
        let b_config = ClientConfig {
            media_server_address: Some(relay.addr),
            ..ClientConfig::default()
        };
        let (a, b, b_events) = pair(&server, channel, VideoCodec::Vp8, b_config).await;
        RelayedPair {
            server,
            relay,
            a,
            b,
            b_events,
        }
    }
}

/// When the UDP path between the subscriber and the server breaks, the subscriber gets `media-reconnect-start` for
/// the user it subscribes to; when the path is back, `media-reconnect-end`, and the video decodes again (from a
/// keyframe it asks for).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_media_path_fires_media_reconnect_start_and_end() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let RelayedPair {
        server: _server,
        relay,
        a,
        b,
        mut b_events,
    } = RelayedPair::start("blip", 0.0).await;
    let track = LocalVideoTrack::custom(config()).unwrap();
    a.publish([&track]).await.unwrap();
    let remote = subscribe_video_when_published(&b, &mut b_events).await;
    let mut frames = remote.frames();
    let feeder = VideoFeeder::start(&track, 30 * FPS);
    assert!(!collect(&mut frames, Duration::from_secs(1)).await.is_empty());

    relay.cut(true);
    let cut_at = Instant::now();
    let start = wait_for(&mut b_events, 15.0, |e| matches!(e, Event::MediaReconnectStart(_))).await;
    let detected = cut_at.elapsed();
    eprintln!("media-reconnect-start after {detected:?}");
    assert_eq!(start, Event::MediaReconnectStart(Uid::Number(1)));
    // Nothing decodes while the path is down (what was in flight is gone by now).
    while frames.try_recv().is_ok() {}

    relay.cut(false);
    let restored_at = Instant::now();
    let end = wait_for(&mut b_events, 15.0, |e| matches!(e, Event::MediaReconnectEnd(_))).await;
    let recovered = restored_at.elapsed();
    assert_eq!(end, Event::MediaReconnectEnd(Uid::Number(1)));
    let after = collect(&mut frames, Duration::from_secs(2)).await;
    drop(feeder);
    let seen = Seen::of(&after, u64::MAX);
    eprintln!(
        "path cut: media-reconnect-start after {detected:?}; restored: media-reconnect-end after {recovered:?}; \
         then {seen:?}; stats {:?}",
        remote.stats()
    );
    assert!(
        seen.decoded >= 10,
        "video decodes again after the reconnection: {seen:?}"
    );
    assert_eq!(
        (seen.wrong_size, seen.unreadable, seen.out_of_order),
        (0, 0, 0),
        "{seen:?}"
    );
    a.leave().await.unwrap();
    b.leave().await.unwrap();
}

/// B publishes and subscribes through a relay that then drops everything for 12 s: longer than the ICE agents keep
/// a silent pair (about 9 s), so only ICE restarts over signalling (`restart_publisher_ice`,
/// `restart_subscriber_ice`, retried every 5 s while the path is down) bring the media back, on both of B's
/// transports, without a new join.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_outage_ends_with_ice_restarts_on_both_transports() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let RelayedPair {
        server,
        relay,
        a,
        b,
        mut b_events,
    } = RelayedPair::start("long-outage", 0.0).await;
    let mut a_events = a.events();
    let (a_track, b_track) = (
        LocalVideoTrack::custom(config()).unwrap(),
        LocalVideoTrack::custom(config()).unwrap(),
    );
    a.publish([&a_track]).await.unwrap();
    b.publish([&b_track]).await.unwrap();
    let from_a = subscribe_video_when_published(&b, &mut b_events).await;
    let Event::UserPublished(b_user, _) = wait_for(&mut a_events, 5.0, |e| video_published(e, 2)).await else {
        unreachable!()
    };
    let from_b = a.subscribe_video(&b_user).await.unwrap();
    let (mut b_sees, mut a_sees) = (from_a.frames(), from_b.frames());
    let feeders = [
        VideoFeeder::start(&a_track, 60 * FPS),
        VideoFeeder::start(&b_track, 60 * FPS),
    ];
    assert!(!collect(&mut b_sees, Duration::from_secs(1)).await.is_empty());
    assert!(!collect(&mut a_sees, Duration::from_secs(1)).await.is_empty());

    relay.cut(true);
    let cut_at = Instant::now();
    wait_for(&mut b_events, 15.0, |e| matches!(e, Event::MediaReconnectStart(_))).await;
    tokio::time::sleep(Duration::from_secs(12).saturating_sub(cut_at.elapsed())).await;
    while b_sees.try_recv().is_ok() {}
    while a_sees.try_recv().is_ok() {}
    relay.cut(false);
    let restored_at = Instant::now();
    // Both transports come back: the subscriber one (for uid 1) and the publisher one (the local uid 2).
    let mut back = Vec::new();
    while back.len() < 2 {
        match wait_for(&mut b_events, 20.0, |e| matches!(e, Event::MediaReconnectEnd(_))).await {
            Event::MediaReconnectEnd(uid) if !back.contains(&uid) => back.push(uid),
            _ => {}
        }
    }
    let recovered = restored_at.elapsed();
    back.sort_by_key(|uid| uid.to_string());
    assert_eq!(back, vec![Uid::Number(1), Uid::Number(2)]);
    // Decoding starts again at the first keyframe (asked for with PLI); a loaded machine takes a few seconds.
    let b_after = Seen::of(&collect_until(&mut b_sees, 10, Duration::from_secs(10)).await, u64::MAX);
    let a_after = Seen::of(&collect_until(&mut a_sees, 10, Duration::from_secs(10)).await, u64::MAX);
    drop(feeders);
    let restarts = (
        metric(&server, "stoa_ice_restart_requests_total{transport=\"publisher\"}")
            .await
            .unwrap_or(0.0),
        metric(&server, "stoa_ice_restart_requests_total{transport=\"subscriber\"}")
            .await
            .unwrap_or(0.0),
    );
    eprintln!(
        "12 s outage: both transports back {recovered:?} after the path returned, ICE restarts asked \
         (publisher, subscriber) {restarts:?}; B decodes {b_after:?}; A decodes {a_after:?}"
    );
    assert!(
        restarts.0 >= 1.0 && restarts.1 >= 1.0,
        "B restarted ICE on both transports: {restarts:?}"
    );
    assert!(b_after.decoded >= 10, "B decodes A again: {b_after:?}");
    assert!(a_after.decoded >= 10, "A decodes B again: {a_after:?}");
    a.leave().await.unwrap();
    b.leave().await.unwrap();
}

/// A subscriber whose link starts dropping 30 % of datagrams both ways rates its downlink poor or worse (3 and up):
/// what NACK/RTX cannot repair in time (the SDK counts loss after repair) is still several percent. Its uplink
/// carries no media, so the signalling round trip rates it, and that is excellent or good.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lossy_downlink_is_rated_poor_or_worse() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let RelayedPair {
        server: _server,
        relay,
        a,
        b,
        mut b_events,
    } = RelayedPair::start("lossy-rating", 0.0).await;
    let track = LocalVideoTrack::custom(config()).unwrap();
    a.publish([&track]).await.unwrap();
    let remote = subscribe_video_when_published(&b, &mut b_events).await;
    let feeder = VideoFeeder::start(&track, 60 * FPS);
    // The loss starts once video flows: connecting through it would only add DTLS retransmissions to wait for.
    let flowing = Instant::now() + Duration::from_secs(20);
    while remote.stats().receive_packets < 100 {
        assert!(
            Instant::now() < flowing,
            "no video through the relay: {:?}",
            remote.stats()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let before = relay.counts();
    relay.set_loss(0.3);
    while b_events.try_recv().is_ok() {}
    let mut ratings: Vec<stoa_sdk::NetworkQuality> = Vec::new();
    while ratings.len() < 3 && !ratings.iter().any(|r| r.downlink >= 3) {
        let event = wait_for(&mut b_events, 6.0, |e| matches!(e, Event::NetworkQuality(_))).await;
        if let Event::NetworkQuality(rating) = event {
            ratings.push(rating);
        }
    }
    drop(feeder);
    let after = relay.counts();
    let (dropped, relayed) = (after.0 - before.0, after.1 - before.1);
    eprintln!(
        "{:.1} % of {} datagrams dropped; B's ratings {ratings:?}; B's video stats {:?}",
        dropped as f64 * 100.0 / (dropped + relayed).max(1) as f64,
        dropped + relayed,
        remote.stats()
    );
    assert!(
        ratings.iter().any(|r| r.downlink >= 3),
        "a 30 % lossy downlink rated {ratings:?} while video flowed"
    );
    assert!(
        ratings.iter().all(|r| (1..=2).contains(&r.uplink)),
        "no media up: the signalling round trip rates it, {ratings:?}"
    );
    a.leave().await.unwrap();
    b.leave().await.unwrap();
}

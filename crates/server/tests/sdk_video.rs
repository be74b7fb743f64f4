//! Video through a real `stoa serve` with the Rust SDK on both ends: a custom video track publishes frames whose
//! pixels encode a frame counter (VP8, VP9 or H.264, the client's codec), another client subscribes and decodes
//! them; the counters come back in order, at the right size, with few gaps. With 10 % datagram loss between the
//! subscriber and the server, NACK/RTX and keyframe requests (PLI) keep the picture going. Audio and video from
//! one client together.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::*;
use stoa_sdk::media::video::pattern::{CounterPattern, read_counter};
use stoa_sdk::media::video::{VideoCodec, VideoEncoderConfig, VideoFrame};
use stoa_sdk::{
    Client, ClientConfig, Codec, ErrorCode, Event, LocalTrack, LocalVideoTrack, MediaType, RemoteVideoTrack, Uid,
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

/// Pushes counter frames into a track at `FPS` on a thread of its own (encoding blocks), until dropped.
struct VideoFeeder {
    stop: Arc<AtomicBool>,
    pushed: Arc<AtomicU64>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl VideoFeeder {
    fn start(track: &LocalVideoTrack) -> VideoFeeder {
        let track = track.clone();
        let stop = Arc::new(AtomicBool::new(false));
        let pushed = Arc::new(AtomicU64::new(0));
        let (s, p) = (stop.clone(), pushed.clone());
        let thread = std::thread::spawn(move || {
            let mut pattern = CounterPattern::new(WIDTH, HEIGHT).unwrap();
            let period = Duration::from_secs(1) / FPS;
            let start = Instant::now();
            let mut n = 0u32;
            while !s.load(Ordering::SeqCst) {
                let frame = pattern.next_frame();
                if let Err(e) = track.push(&frame) {
                    panic!("push failed: {e}");
                }
                n += 1;
                p.store(u64::from(n), Ordering::SeqCst);
                let next = start + period * n;
                std::thread::sleep(next.saturating_duration_since(Instant::now()));
            }
        });
        VideoFeeder {
            stop,
            pushed,
            thread: Some(thread),
        }
    }

    fn pushed(&self) -> u64 {
        self.pushed.load(Ordering::SeqCst)
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
async fn counter_call(codec: VideoCodec, seconds: u64) -> (Seen, RemoteVideoTrack, LocalVideoTrack) {
    let server = Server::start(&[]);
    let (a, b, mut b_events) = pair(&server, codec.as_str(), codec, ClientConfig::default()).await;
    let track = LocalVideoTrack::custom(config()).unwrap();
    a.publish([&track]).await.unwrap();
    let remote = subscribe_video_when_published(&b, &mut b_events).await;
    let mut frames = remote.frames();
    let feeder = VideoFeeder::start(&track);
    let mut received = collect(&mut frames, Duration::from_secs(seconds)).await;
    let pushed = feeder.pushed();
    drop(feeder);
    // The frames still on their way.
    received.extend(collect(&mut frames, DRAIN).await);
    let seen = Seen::of(&received, pushed);
    a.leave().await.unwrap();
    b.leave().await.unwrap();
    (seen, remote, track)
}

async fn check_codec(codec: VideoCodec) {
    let _turn = ONE_AT_A_TIME.lock().await;
    let (seen, remote, track) = counter_call(codec, 3).await;
    let sent = track.stats();
    let got = remote.stats();
    eprintln!("{codec}: {seen:?}\n  sent {sent:?}\n  received {got:?}");
    assert_eq!(sent.codec_type.as_deref(), Some(codec.stats_name()));
    assert_eq!(got.codec_type.as_deref(), Some(codec.stats_name()));
    assert_eq!((seen.wrong_size, seen.unreadable, seen.out_of_order), (0, 0, 0), "{seen:?}");
    // Frames are pushed in real time; a loaded machine pushes fewer, but never this few.
    assert!(seen.pushed >= 30, "{seen:?}");
    assert!(seen.first.is_some_and(|first| first <= 5), "the first frames decode: {seen:?}");
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

//! Loopback load benchmark: the server in this process, P Rust-SDK publishers each sending a real Opus stream and N
//! Rust-SDK subscribers receiving all of them, all on 127.0.0.1 with real ICE, DTLS-SRTP and UDP. It reports the
//! media worker threads' CPU time per forwarded packet next to raw UDP send floors measured in the same run: a
//! plain loop of `sendmmsg`, and one of `send_to`, to N loopback sockets nobody waits on, and a `sendmmsg` to N
//! sockets each with a thread blocked in `recv` (what the worker really pays: each datagram wakes a receiver).
//! It also reports the fixed cost of the idle sessions per second and the worker's wakeups per forwarded packet.
//!
//! `cargo run --release -p stoa-server --example loopback -- [--publishers P] [--subscribers N] [--seconds S]
//! [--workers W]`
//!
//! CPU time is the kernel's per-thread accounting (`/proc/self/task/*/schedstat`, nanoseconds) of the threads
//! named `stoa-media-*`: receiving, SRTP, routing, sending and the timers (RTCP, STUN) all count. The SDK
//! clients run in other threads and are not counted. docs/benchmarks.md has the figures.

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use stoa_sdk::media::AudioEncoderPreset;
use stoa_sdk::media::signal::SineSource;
use stoa_sdk::{Client, ClientConfig, LocalAudioTrack, RemoteAudioTrack, Uid};
use stoa_server::config::Config;
use stoa_server::udp;

struct Args {
    publishers: usize,
    subscribers: usize,
    seconds: u64,
    workers: usize,
}

fn args() -> Args {
    let mut args = Args {
        publishers: 1,
        subscribers: 20,
        seconds: 10,
        workers: 1,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().and_then(|v| v.parse::<u64>().ok());
        match (flag.as_str(), value) {
            ("--publishers", Some(v)) if v > 0 => args.publishers = v as usize,
            ("--subscribers", Some(v)) => args.subscribers = v as usize,
            ("--seconds", Some(v)) => args.seconds = v,
            ("--workers", Some(v)) => args.workers = v as usize,
            _ => {
                eprintln!("usage: loopback [--publishers P] [--subscribers N] [--seconds S] [--workers W]");
                std::process::exit(2);
            }
        }
    }
    args
}

/// What the kernel counted for some threads.
#[derive(Clone, Copy, Default)]
struct ThreadCounts {
    cpu_ns: u64,
    /// Voluntary context switches: each is the thread going to sleep, so each is one wakeup later.
    wakeups: u64,
    threads: usize,
}

/// CPU nanoseconds and voluntary context switches of this process's threads whose name starts with `prefix`.
fn threads_counts(prefix: &str) -> ThreadCounts {
    let mut counts = ThreadCounts::default();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return counts;
    };
    for task in tasks.flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if !comm.trim_end().starts_with(prefix) {
            continue;
        }
        let schedstat = std::fs::read_to_string(task.path().join("schedstat")).unwrap_or_default();
        if let Some(ns) = schedstat.split_whitespace().next().and_then(|v| v.parse::<u64>().ok()) {
            counts.cpu_ns += ns;
            counts.threads += 1;
        }
        let status = std::fs::read_to_string(task.path().join("status")).unwrap_or_default();
        counts.wakeups += status
            .lines()
            .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(0);
    }
    counts
}

/// CPU nanoseconds of the calling thread.
fn this_thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: a valid clock id and a valid out pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// The raw send floor: CPU nanoseconds per datagram for `packets` datagrams of `size` bytes spread over
/// `destinations` loopback sockets, with `sendmmsg` batches and with one `send_to` per datagram.
fn send_floor(destinations: usize, size: usize, packets: usize) -> (f64, f64) {
    let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
    udp::grow_buffers(&sender, 4 << 20);
    let receivers: Vec<UdpSocket> = (0..destinations)
        .map(|_| UdpSocket::bind("127.0.0.1:0").unwrap())
        .collect();
    let batch: Vec<(SocketAddr, Vec<u8>)> = receivers
        .iter()
        .cycle()
        .take(udp::BATCH.max(destinations))
        .map(|r| (r.local_addr().unwrap(), vec![0x80; size]))
        .collect();
    let drain = |receivers: &[UdpSocket]| {
        let mut buf = [0u8; 2048];
        for r in receivers {
            r.set_nonblocking(true).unwrap();
            while r.recv(&mut buf).is_ok() {}
        }
    };

    let start = this_thread_cpu_ns();
    let mut sent = 0;
    while sent < packets {
        let mut at = 0;
        while at < batch.len() {
            at += udp::send_batch(&sender, &batch[at..]).unwrap_or(1);
        }
        sent += batch.len();
    }
    let mmsg = (this_thread_cpu_ns() - start) as f64 / sent as f64;
    drain(&receivers);

    let start = this_thread_cpu_ns();
    let mut sent = 0;
    while sent < packets {
        for (destination, contents) in &batch {
            let _ = sender.send_to(contents, destination);
        }
        sent += batch.len();
    }
    let plain = (this_thread_cpu_ns() - start) as f64 / sent as f64;
    drain(&receivers);
    (mmsg, plain)
}

/// The send floor when every datagram wakes its receiver, as on the media path (the subscribers sleep between
/// packets): CPU nanoseconds of the sending thread per datagram, for `rounds` `sendmmsg` batches of one datagram
/// to each of `destinations` sockets, each read by a thread blocked in `recv`. The pause between rounds lets the
/// receivers go back to sleep.
fn woken_send_floor(destinations: usize, size: usize, rounds: usize) -> f64 {
    let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
    udp::grow_buffers(&sender, 4 << 20);
    let receivers: Vec<UdpSocket> = (0..destinations)
        .map(|_| UdpSocket::bind("127.0.0.1:0").unwrap())
        .collect();
    let batch: Vec<(SocketAddr, Vec<u8>)> = receivers
        .iter()
        .map(|r| (r.local_addr().unwrap(), vec![0x80; size]))
        .collect();
    let readers: Vec<_> = receivers
        .into_iter()
        .map(|r| {
            std::thread::spawn(move || {
                r.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
                let mut buf = [0u8; 2048];
                // A 1-byte datagram ends the reader.
                while let Ok(n) = r.recv(&mut buf) {
                    if n == 1 {
                        break;
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(50));
    let mut cpu = 0;
    for _ in 0..rounds {
        let start = this_thread_cpu_ns();
        let mut at = 0;
        while at < batch.len() {
            at += udp::send_batch(&sender, &batch[at..]).unwrap_or(1);
        }
        cpu += this_thread_cpu_ns() - start;
        std::thread::sleep(Duration::from_millis(2));
    }
    for (destination, _) in &batch {
        let _ = sender.send_to(&[0], destination);
    }
    for reader in readers {
        let _ = reader.join();
    }
    cpu as f64 / (rounds * destinations) as f64
}

fn client(url: &str) -> Client {
    Client::new(url, ClientConfig::default()).expect("client")
}

#[tokio::main]
async fn main() {
    let args = args();
    let data = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.server.http = "127.0.0.1:0".parse().unwrap();
    config.server.udp = "127.0.0.1:0".parse().unwrap();
    config.server.data = data.path().to_path_buf();
    config.media.workers = args.workers;
    config.limits.max_frames_per_second = 1000;
    let running = stoa_server::start(config).await.expect("server");
    let url = format!("http://{}", running.local_addr);
    let app = running.apps[0].id.clone();
    let metrics = running.shared.clone();

    let mut publishers = Vec::new();
    let mut tracks = Vec::new();
    let mut feeders = Vec::new();
    for p in 0..args.publishers {
        let publisher = client(&url);
        publisher
            .join(&app, "load", None, Some(Uid::Number(1 + p as u32)))
            .await
            .unwrap();
        let track = LocalAudioTrack::custom(AudioEncoderPreset::MusicStandard).unwrap();
        publisher.publish([&track]).await.unwrap();
        feeders.push({
            let track = track.clone();
            tokio::spawn(async move {
                let mut sine = SineSource::new(440.0 + 110.0 * p as f32, 48_000, 1, 0.5);
                let mut tick = tokio::time::interval(Duration::from_millis(20));
                loop {
                    tick.tick().await;
                    if track.push(&sine.next_frame(20)).is_err() {
                        return;
                    }
                }
            })
        });
        publishers.push(publisher);
        tracks.push(track);
    }

    let mut subscribers: Vec<(Client, Vec<RemoteAudioTrack>)> = Vec::new();
    for i in 0..args.subscribers {
        let c = client(&url);
        c.join(&app, "load", None, Some(Uid::Number(1000 + i as u32)))
            .await
            .unwrap();
        let mut remotes = Vec::new();
        for p in 0..args.publishers {
            let mut attempt = 0;
            let remote = loop {
                match c.subscribe_audio(Uid::Number(1 + p as u32)).await {
                    Ok(remote) => break remote,
                    Err(e) if attempt < 20 => {
                        attempt += 1;
                        tracing_free_sleep(e.to_string()).await;
                    }
                    Err(e) => panic!("subscriber {i}, publisher {p}: {e}"),
                }
            };
            remotes.push(remote);
        }
        subscribers.push((c, remotes));
    }
    // Let every transport connect and the stream settle.
    tokio::time::sleep(Duration::from_secs(2)).await;

    let forwarded = || metrics.metrics.media_packets_forwarded.get() as u64;
    let datagrams = || {
        (
            metrics.metrics.media_datagrams_in.get() as u64,
            metrics.metrics.media_datagrams_out.get() as u64,
        )
    };
    let (in0, out0) = datagrams();
    let received = |subs: &[(Client, Vec<RemoteAudioTrack>)]| {
        subs.iter()
            .flat_map(|(_, remotes)| remotes)
            .map(|r| r.stats().receive_packets)
            .sum::<u64>()
    };
    let busy0 = threads_counts("stoa-media-");
    let (fwd0, recv0, wall0) = (forwarded(), received(&subscribers), Instant::now());
    tokio::time::sleep(Duration::from_secs(args.seconds)).await;
    let busy1 = threads_counts("stoa-media-");
    let (fwd1, recv1, wall) = (forwarded(), received(&subscribers), wall0.elapsed());
    let (in1, out1) = datagrams();
    let (sent_bytes, sent_packets) = tracks
        .iter()
        .map(|t| t.stats())
        .fold((0, 0), |(b, p), s| (b + s.send_bytes, p + s.send_packets));
    let payload = sent_bytes.checked_div(sent_packets).unwrap_or(100) as usize;

    // The same sessions with no media: what the timers (RTCP, STUN consent, TWCC, NACK checks) cost on their own.
    for feeder in &feeders {
        feeder.abort();
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle0 = threads_counts("stoa-media-");
    let idle_wall0 = Instant::now();
    tokio::time::sleep(Duration::from_secs(args.seconds)).await;
    let idle1 = threads_counts("stoa-media-");
    let idle_scale = wall.as_secs_f64() / idle_wall0.elapsed().as_secs_f64();
    let idle_ns = (idle1.cpu_ns - idle0.cpu_ns) as f64 * idle_scale;
    let idle_wakeups = (idle1.wakeups - idle0.wakeups) as f64 * idle_scale;

    for (c, _) in &subscribers {
        let _ = c.leave().await;
    }
    for publisher in &publishers {
        let _ = publisher.leave().await;
    }

    let fwd = fwd1 - fwd0;
    let cpu_ns = busy1.cpu_ns - busy0.cpu_ns;
    let wakeups = busy1.wakeups - busy0.wakeups;
    // One connected WebRTC transport per participant: publishers only send, subscribers only receive.
    let sessions = args.publishers + args.subscribers;
    // SRTP adds a 12-byte RTP header, extensions (~12) and a 10-byte auth tag to the Opus payload.
    let datagram = payload + 34;
    let (floor_mmsg, floor_plain) = send_floor(args.subscribers, datagram, 200_000);
    let floor_woken = woken_send_floor(args.subscribers, datagram, 1000);
    let per_packet = cpu_ns as f64 / fwd.max(1) as f64;
    let marginal = (cpu_ns as f64 - idle_ns).max(0.0) / fwd.max(1) as f64;
    println!(
        "## loopback: {} publisher(s) (Opus, 50 packets/s each), {} subscribers, {} media worker thread(s)",
        args.publishers, args.subscribers, busy1.threads
    );
    println!();
    println!(
        "- measured over {:.1} s: {fwd} packets forwarded ({:.0}/s), {} received by the subscribers",
        wall.as_secs_f64(),
        fwd as f64 / wall.as_secs_f64(),
        recv1 - recv0
    );
    println!(
        "- media worker CPU: {:.1} ms ({:.1} % of one core)",
        cpu_ns as f64 / 1e6,
        cpu_ns as f64 / 1e7 / wall.as_secs_f64()
    );
    println!(
        "- datagrams: {} in ({:.2} per forwarded packet), {} out ({:.2} per forwarded packet)",
        in1 - in0,
        (in1 - in0) as f64 / fwd.max(1) as f64,
        out1 - out0,
        (out1 - out0) as f64 / fwd.max(1) as f64
    );
    println!(
        "- worker wakeups: {wakeups} ({:.2} per forwarded packet, {:.2} per datagram in)",
        wakeups as f64 / fwd.max(1) as f64,
        wakeups as f64 / (in1 - in0).max(1) as f64
    );
    println!(
        "- the same sessions without media for as long: {:.1} ms, {:.0} wakeups (timers: RTCP, STUN consent, TWCC, \
         NACK checks): {:.1} µs of CPU per connected transport per second",
        idle_ns / 1e6,
        idle_wakeups,
        idle_ns / 1e3 / wall.as_secs_f64() / sessions as f64
    );
    println!("- datagram size used for the floor: {datagram} bytes (Opus payload {payload} + SRTP/RTP overhead)");
    println!();
    println!("| | CPU per packet | ratio to the sendmmsg floor |");
    println!("|---|---|---|");
    println!(
        "| server, per forwarded packet (all media work) | {:.2} µs | {:.2} |",
        per_packet / 1e3,
        per_packet / floor_mmsg
    );
    println!(
        "| server, per forwarded packet beyond the idle sessions' cost | {:.2} µs | {:.2} |",
        marginal / 1e3,
        marginal / floor_mmsg
    );
    println!(
        "| floor: sendmmsg to {} loopback sockets | {:.2} µs | 1.00 |",
        args.subscribers,
        floor_mmsg / 1e3
    );
    println!(
        "| floor: send_to, one call per packet | {:.2} µs | {:.2} |",
        floor_plain / 1e3,
        floor_plain / floor_mmsg
    );
    println!(
        "| floor: sendmmsg, each datagram waking a receiver blocked in recv | {:.2} µs | {:.2} |",
        floor_woken / 1e3,
        floor_woken / floor_mmsg
    );
    println!(
        "| server per forwarded packet beyond idle, as a ratio to the waking floor | | {:.2} |",
        marginal / floor_woken
    );
    drop(subscribers);
    let _ = running.stop().await;
}

/// A short pause before retrying a subscribe (the publication may not be announced yet).
async fn tracing_free_sleep(why: String) {
    eprintln!("subscribe retry: {why}");
    tokio::time::sleep(Duration::from_millis(200)).await;
}

//! Publishes a test source to a Stoa channel: a 440 Hz tone and frames whose pixels encode a frame counter, and
//! prints what every other user in the channel sends (decoded video frames and their counters, audio levels).
//!
//! ```text
//! stoa serve &                                   # prints "app id: <APP_ID>" and "listening: http://…"
//! cargo run -p stoa-sdk --example publish_testsrc -- http://127.0.0.1:8080 <APP_ID> lobby vp8 10
//! ```
//!
//! Arguments: server URL, app id, channel, codec (`vp8`, `vp9` or `h264`, default vp8), seconds (default 10). Run
//! it twice in the same channel to see each instance receive the other's counters.

use std::time::{Duration, Instant};

use stoa_sdk::media::AudioEncoderPreset;
use stoa_sdk::media::signal::SineSource;
use stoa_sdk::media::video::pattern::{CounterPattern, read_counter};
use stoa_sdk::media::video::{VideoCodec, VideoEncoderPreset};
use stoa_sdk::{Client, ClientConfig, Event, LocalAudioTrack, LocalTrack, LocalVideoTrack, MediaType, RtcError};

#[tokio::main]
async fn main() -> Result<(), RtcError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [server, app_id, channel, ..] = args.as_slice() else {
        eprintln!("usage: publish_testsrc SERVER_URL APP_ID CHANNEL [vp8|vp9|h264] [SECONDS]");
        std::process::exit(2);
    };
    let codec: VideoCodec = args.get(3).map_or(Ok(VideoCodec::Vp8), |c| c.parse())?;
    let seconds: u64 = args.get(4).and_then(|s| s.parse().ok()).unwrap_or(10);

    let client = Client::new(
        server,
        ClientConfig {
            codec: codec.into(),
            ..ClientConfig::default()
        },
    )?;
    let mut events = client.events();
    let uid = client.join(app_id, channel, None, None).await?;
    println!("joined {channel} as {uid}, publishing {codec}");

    // 640×360 at 15 fps, 400 Kbps (Agora's "360p_1"), and a tone.
    let preset: VideoEncoderPreset = "360p_1".parse()?;
    let video = LocalVideoTrack::custom(preset)?;
    let audio = LocalAudioTrack::custom(AudioEncoderPreset::MusicStandard)?;
    client
        .publish([LocalTrack::from(&audio), LocalTrack::from(&video)])
        .await?;

    // Video frames are encoded on the pushing thread: give them one of their own.
    let video_source = video.clone();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop_video = stop.clone();
    let video_thread = std::thread::spawn(move || {
        let mut pattern = CounterPattern::new(preset.width(), preset.height()).expect("a valid size");
        let period = Duration::from_secs(1) / preset.frame_rate();
        let start = Instant::now();
        let mut n = 0;
        while !stop_video.load(std::sync::atomic::Ordering::Relaxed) {
            if let Err(e) = video_source.push(&pattern.next_frame()) {
                eprintln!("video push failed: {e}");
                return;
            }
            n += 1;
            std::thread::sleep((start + period * n).saturating_duration_since(Instant::now()));
        }
    });
    let audio_task = tokio::spawn(async move {
        let mut sine = SineSource::new(440.0, 48_000, 1, 0.3);
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        loop {
            tick.tick().await;
            if audio.push(&sine.next_frame(20)).is_err() {
                return;
            }
        }
    });

    // Subscribe to everything the others publish, for as long as we run.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
    loop {
        let event = tokio::select! {
            _ = tokio::time::sleep_until(deadline) => break,
            event = events.recv() => match event {
                Ok(event) => event,
                Err(_) => break,
            },
        };
        let Event::UserPublished(user, media_type) = event else {
            continue;
        };
        match media_type {
            MediaType::Video => {
                let remote = client.subscribe_video(&user).await?;
                let mut frames = remote.frames();
                tokio::spawn(async move {
                    let mut count = 0u64;
                    while let Some(frame) = frames.recv().await {
                        count += 1;
                        if count % 30 == 1 {
                            let stats = remote.stats();
                            println!(
                                "video from {}: {}x{}, counter {:?}, {:.1} fps, {} bps, {:.1} % loss",
                                remote.uid(),
                                frame.width,
                                frame.height,
                                read_counter(&frame),
                                stats.decode_frame_rate,
                                stats.receive_bitrate,
                                stats.packet_loss_rate,
                            );
                        }
                    }
                });
            }
            MediaType::Audio => {
                let remote = client.subscribe_audio(&user).await?;
                let mut frames = remote.frames();
                tokio::spawn(async move {
                    let mut count = 0u64;
                    while frames.recv().await.is_some() {
                        count += 1;
                        if count % 100 == 1 {
                            println!("audio from {}: level {}", remote.uid(), remote.stats().receive_level);
                        }
                    }
                });
            }
        }
    }

    let sent = video.stats();
    println!(
        "sent {} bytes of {} video at {:.1} fps, {} bps (target {}), {} keyframes",
        sent.send_bytes,
        sent.codec_type.as_deref().unwrap_or("?"),
        sent.send_frame_rate,
        sent.send_bitrate,
        sent.target_send_bitrate,
        sent.key_frames_encoded,
    );
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = video_thread.join();
    audio_task.abort();
    client.leave().await
}

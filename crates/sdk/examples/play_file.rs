//! Plays an audio file into a Stoa channel with a buffer-source track (Agora's `createBufferSourceAudioTrack`):
//! a path or an http(s) URL, in wav, flac, ogg/vorbis, mp3 or aac/m4a. It prints the source's state changes and
//! its position once a second, and leaves when the file has played `CYCLES` times.
//!
//! ```text
//! stoa serve &                                   # prints "app id: <APP_ID>" and "listening: http://…"
//! cargo run -p stoa-sdk --example play_file -- http://127.0.0.1:8080 <APP_ID> lobby song.mp3 2
//! ```
//!
//! Arguments: server URL, app id, channel, file path or URL, cycles (default 1).

use std::time::Duration;

use stoa_sdk::media::{AudioEncoderPreset, AudioSourceState, BufferSourceAudioTrack, StartOptions};
use stoa_sdk::{Client, ClientConfig, RtcError};

#[tokio::main]
async fn main() -> Result<(), RtcError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [server, app_id, channel, source, ..] = args.as_slice() else {
        eprintln!("usage: play_file SERVER_URL APP_ID CHANNEL FILE_OR_URL [CYCLES]");
        std::process::exit(2);
    };
    let cycle: u32 = args.get(4).and_then(|s| s.parse().ok()).unwrap_or(1);

    // Errors here are READ_LOCAL_AUDIO_FILE_ERROR, FETCH_AUDIO_FILE_FAILED or DECODE_AUDIO_FILE_FAILED.
    let music = BufferSourceAudioTrack::new(source.as_str(), AudioEncoderPreset::MusicStandard).await?;
    println!("{} lasts {:.1} s", music.source(), music.duration().as_secs_f64());

    let client = Client::new(server, ClientConfig::default())?;
    let uid = client.join(app_id, channel, None, None).await?;
    client.publish([&music]).await?;
    println!("joined {channel} as {uid}, playing {cycle} time(s)");

    let mut states = music.events();
    music.start(StartOptions {
        cycle,
        ..StartOptions::default()
    })?;
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            state = states.recv() => match state {
                Ok(AudioSourceState::Stopped) | Err(_) => break,
                Ok(state) => println!("source-state-change: {}", state.as_str()),
            },
            _ = ticker.tick() => {
                let stats = music.track().stats();
                println!("{:6.1} s, {} packets sent", music.current_time().as_secs_f64(), stats.send_packets);
            }
        }
    }
    println!("source-state-change: stopped");
    client.leave().await
}

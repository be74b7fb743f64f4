//! Buffer-source audio tracks: real files (WAV written here, FLAC encoded in-process), a tiny HTTP server for the
//! URL cases, garbage input, and real-time playback with its state events.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

use stoa_sdk::media::buffer_source::decode_audio;
use stoa_sdk::media::{AudioEncoderPreset, AudioSourceState, BufferSourceAudioTrack, StartOptions, signal};
use stoa_sdk::{ErrorCode, RtcError};
use tokio::sync::broadcast;

/// A 16-bit PCM WAV file holding a sine.
fn sine_wav(freq: f32, rate: u32, channels: u16, seconds: f32) -> Vec<u8> {
    let mut sine = signal::SineSource::new(freq, rate, channels, 0.5);
    let frame = sine.next_frame((seconds * 1000.0) as u32);
    wav_bytes(rate, channels, &frame.samples)
}

fn wav_bytes(rate: u32, channels: u16, samples: &[i16]) -> Vec<u8> {
    let data_len = (samples.len() * 2) as u32;
    let mut out = Vec::with_capacity(44 + data_len as usize);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&channels.to_le_bytes());
    out.extend_from_slice(&rate.to_le_bytes());
    out.extend_from_slice(&(rate * u32::from(channels) * 2).to_le_bytes());
    out.extend_from_slice(&(channels * 2).to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    for s in samples {
        out.extend_from_slice(&s.to_le_bytes());
    }
    out
}

/// FLAC block length used by the test files.
const FLAC_BLOCK: usize = 4096;

/// A FLAC file holding a sine, encoded with flacenc: `blocks` blocks of 4096 samples per channel. (flacenc writes
/// a shorter last block into STREAMINFO's minimum block size, which symphonia's strict frame check then refuses;
/// whole blocks keep the file like libFLAC's.)
fn sine_flac(freq: f32, rate: u32, channels: u16, blocks: usize) -> Vec<u8> {
    use flacenc::component::BitRepr;
    use flacenc::error::Verify;
    let mut sine = signal::SineSource::new(freq, rate, channels, 0.5);
    let mut samples: Vec<i32> = Vec::new();
    while samples.len() < blocks * FLAC_BLOCK * usize::from(channels) {
        samples.extend(sine.next_frame(10).samples.iter().map(|&s| i32::from(s)));
    }
    samples.truncate(blocks * FLAC_BLOCK * usize::from(channels));
    let config = flacenc::config::Encoder::default()
        .into_verified()
        .expect("flac config");
    let source = flacenc::source::MemSource::from_samples(&samples, usize::from(channels), 16, rate as usize);
    let stream = flacenc::encode_with_fixed_block_size(&config, source, config.block_size).expect("flac encodes");
    let mut sink = flacenc::bitsink::ByteSink::new();
    stream.write(&mut sink).expect("flac writes");
    sink.as_slice().to_vec()
}

fn code(result: Result<BufferSourceAudioTrack, RtcError>) -> ErrorCode {
    result.expect_err("the source must be refused").code
}

#[test]
fn wav_and_flac_decode_to_48_khz_at_the_right_pitch_and_length() {
    let flac_ms = |rate: f64, blocks: usize| (blocks * FLAC_BLOCK) as f64 * 1000.0 / rate;
    for (name, bytes, channels, hz, expected_ms) in [
        ("wav 44.1 kHz stereo", sine_wav(440.0, 44_100, 2, 1.0), 2, 440.0, 1000.0),
        ("wav 16 kHz mono", sine_wav(1000.0, 16_000, 1, 1.0), 1, 1000.0, 1000.0),
        (
            "flac 48 kHz stereo",
            sine_flac(440.0, 48_000, 2, 12),
            2,
            440.0,
            flac_ms(48_000.0, 12),
        ),
        (
            "flac 22.05 kHz mono",
            sine_flac(660.0, 22_050, 1, 6),
            1,
            660.0,
            flac_ms(22_050.0, 6),
        ),
    ] {
        let decoded = decode_audio(bytes, None).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(decoded.channels, channels, "{name}");
        let ms = decoded.duration().as_secs_f64() * 1000.0;
        assert!(
            (ms - expected_ms).abs() <= 1.0,
            "{name}: {ms} ms, expected {expected_ms}"
        );
        let mono = signal::downmix(&decoded.samples, decoded.channels);
        let found = signal::dominant_frequency(&mono, 48_000);
        assert!((found - hz).abs() < 5.0, "{name}: {found} Hz");
        let dbfs = signal::rms_dbfs(&mono);
        assert!(
            (dbfs - (-9.03)).abs() < 0.5,
            "{name}: level {dbfs} dBFS (a 0.5 sine is -9 dBFS)"
        );
        println!("{name}: {found:.2} Hz, {ms:.1} ms, {dbfs:.2} dBFS");
    }
}

#[tokio::test]
async fn sources_from_files_bytes_and_their_errors() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("tone.wav");
    std::fs::write(&wav, sine_wav(440.0, 48_000, 1, 0.5)).unwrap();
    let flac = dir.path().join("tone.flac");
    std::fs::write(&flac, sine_flac(440.0, 48_000, 2, 6)).unwrap();
    for (path, frames) in [(&wav, 24_000), (&flac, 6 * FLAC_BLOCK)] {
        let track = BufferSourceAudioTrack::new(path.as_path(), AudioEncoderPreset::MusicStandard)
            .await
            .unwrap();
        assert_eq!(
            track.duration(),
            Duration::from_secs_f64(frames as f64 / 48_000.0),
            "{}",
            path.display()
        );
        assert_eq!(track.current_state(), AudioSourceState::Stopped);
        assert_eq!(track.source(), path.display().to_string());
    }
    // A text path is a file path too.
    let by_text = BufferSourceAudioTrack::new(wav.to_str().unwrap(), AudioEncoderPreset::SpeechStandard).await;
    assert!(by_text.is_ok());
    let from_bytes = BufferSourceAudioTrack::new(sine_wav(440.0, 8_000, 1, 0.25), AudioEncoderPreset::SpeechLowQuality)
        .await
        .unwrap();
    assert_eq!(from_bytes.duration(), Duration::from_millis(250));

    let missing = dir.path().join("missing.mp3");
    let err = BufferSourceAudioTrack::new(missing.as_path(), AudioEncoderPreset::MusicStandard)
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::ReadLocalAudioFileError);
    assert!(err.detail.contains("missing.mp3"), "{}", err.detail);
    assert_eq!(
        code(BufferSourceAudioTrack::new(dir.path(), AudioEncoderPreset::MusicStandard).await),
        ErrorCode::ReadLocalAudioFileError,
        "a directory is not a readable file"
    );

    let garbage: Vec<u8> = (0..64 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    assert_eq!(
        code(BufferSourceAudioTrack::new(garbage.clone(), AudioEncoderPreset::MusicStandard).await),
        ErrorCode::DecodeAudioFileFailed
    );
    let garbage_file = dir.path().join("noise.mp3");
    std::fs::write(&garbage_file, &garbage).unwrap();
    assert_eq!(
        code(BufferSourceAudioTrack::new(garbage_file.as_path(), AudioEncoderPreset::MusicStandard).await),
        ErrorCode::DecodeAudioFileFailed
    );
    assert_eq!(
        code(BufferSourceAudioTrack::new(Vec::new(), AudioEncoderPreset::MusicStandard).await),
        ErrorCode::DecodeAudioFileFailed,
        "empty"
    );
    let header_only = sine_wav(440.0, 48_000, 1, 0.0);
    assert_eq!(
        code(BufferSourceAudioTrack::new(header_only, AudioEncoderPreset::MusicStandard).await),
        ErrorCode::DecodeAudioFileFailed,
        "a WAV with no samples"
    );
    // A truncated file keeps what decodes.
    let mut truncated = sine_wav(440.0, 48_000, 1, 0.5);
    truncated.truncate(44 + 24_000); // half of the 48 000 data bytes
    let track = BufferSourceAudioTrack::new(truncated, AudioEncoderPreset::MusicStandard)
        .await
        .unwrap();
    assert_eq!(track.duration(), Duration::from_millis(250));
}

/// Serves `body` with `status` to every request on a loopback port, on a thread.
fn http_server(status: &'static str, body: Vec<u8>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut request = Vec::new();
            let mut buf = [0u8; 1024];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            let head = format!(
                "HTTP/1.1 {status}\r\nContent-Type: audio/wav\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&body);
        }
    });
    addr
}

#[tokio::test]
async fn sources_from_urls_and_fetch_errors() {
    let ok = http_server("200 OK", sine_wav(440.0, 44_100, 1, 0.5));
    let track = BufferSourceAudioTrack::new(
        format!("http://{ok}/media/tone.wav?x=1"),
        AudioEncoderPreset::MusicStandard,
    )
    .await
    .unwrap();
    assert_eq!(track.duration(), Duration::from_millis(500));

    let not_found = http_server("404 Not Found", b"no such file".to_vec());
    let err = BufferSourceAudioTrack::new(
        format!("http://{not_found}/tone.wav"),
        AudioEncoderPreset::MusicStandard,
    )
    .await
    .unwrap_err();
    assert_eq!(err.code, ErrorCode::FetchAudioFileFailed);
    assert!(err.detail.contains("404"), "{}", err.detail);

    let server_error = http_server("500 Internal Server Error", Vec::new());
    assert_eq!(
        code(
            BufferSourceAudioTrack::new(
                format!("http://{server_error}/a.wav"),
                AudioEncoderPreset::MusicStandard
            )
            .await
        ),
        ErrorCode::FetchAudioFileFailed
    );

    // A port nobody listens on: bind one, then free it.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let err = BufferSourceAudioTrack::new(format!("http://{closed}/tone.wav"), AudioEncoderPreset::MusicStandard)
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::FetchAudioFileFailed);
    assert!(err.detail.to_lowercase().contains("connect"), "{}", err.detail);

    // 200 with a body that is not audio.
    let html = http_server("200 OK", b"<html>hello</html>".to_vec());
    assert_eq!(
        code(BufferSourceAudioTrack::new(format!("http://{html}/tone.wav"), AudioEncoderPreset::MusicStandard).await),
        ErrorCode::DecodeAudioFileFailed
    );
}

async fn next_state(events: &mut broadcast::Receiver<AudioSourceState>, secs: u64) -> AudioSourceState {
    tokio::time::timeout(Duration::from_secs(secs), events.recv())
        .await
        .expect("a source-state-change in time")
        .expect("events open")
}

#[tokio::test]
async fn playback_is_paced_and_reports_its_state() {
    let track = BufferSourceAudioTrack::new(sine_wav(440.0, 48_000, 1, 0.4), AudioEncoderPreset::MusicStandard)
        .await
        .unwrap();
    let mut events = track.events();

    let started = tokio::time::Instant::now();
    track.start(StartOptions::default()).unwrap();
    assert_eq!(next_state(&mut events, 1).await, AudioSourceState::Playing);
    assert_eq!(track.current_state(), AudioSourceState::Playing);
    assert_eq!(next_state(&mut events, 3).await, AudioSourceState::Stopped);
    let took = started.elapsed();
    // Real-time pacing: 20 frames of 20 ms cannot be sent in much less than 400 ms.
    assert!(took >= Duration::from_millis(360), "played 400 ms of audio in {took:?}");
    assert_eq!(track.current_state(), AudioSourceState::Stopped);
    assert_eq!(track.current_time(), Duration::ZERO);

    // Two cycles take twice as long; pause and resume in between.
    track
        .start(StartOptions {
            cycle: 2,
            ..StartOptions::default()
        })
        .unwrap();
    assert_eq!(next_state(&mut events, 1).await, AudioSourceState::Playing);
    tokio::time::sleep(Duration::from_millis(100)).await;
    track.pause();
    assert_eq!(next_state(&mut events, 1).await, AudioSourceState::Paused);
    let at = track.current_time();
    assert!(at > Duration::ZERO && at < Duration::from_millis(400), "{at:?}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(track.current_time(), at, "a paused source does not move");
    track.seek(Duration::from_millis(300));
    assert_eq!(track.current_time(), Duration::from_millis(300));
    track.resume();
    assert_eq!(next_state(&mut events, 1).await, AudioSourceState::Playing);
    let resumed = tokio::time::Instant::now();
    assert_eq!(next_state(&mut events, 3).await, AudioSourceState::Stopped);
    // 100 ms left of the first cycle, then a whole second one.
    assert!(
        resumed.elapsed() >= Duration::from_millis(450),
        "{:?}",
        resumed.elapsed()
    );

    // Looping plays until stopped; stop rewinds.
    track
        .start(StartOptions {
            looping: true,
            start_play_time: Duration::from_millis(200),
            ..StartOptions::default()
        })
        .unwrap();
    assert_eq!(next_state(&mut events, 1).await, AudioSourceState::Playing);
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(
        track.current_state(),
        AudioSourceState::Playing,
        "still looping after 2.5 lengths"
    );
    track.stop();
    assert_eq!(next_state(&mut events, 1).await, AudioSourceState::Stopped);
    assert_eq!(track.current_time(), Duration::ZERO);
    track.stop();
    track.pause();
    track.resume();
    assert!(
        events.try_recv().is_err(),
        "stop, pause and resume out of turn change nothing"
    );

    assert_eq!(track.set_playback_speed(30).unwrap_err().code, ErrorCode::InvalidParams);
    track.set_playback_speed(200).unwrap();
    assert_eq!(track.playback_speed(), 200);
    let started = tokio::time::Instant::now();
    track.start(StartOptions::default()).unwrap();
    assert_eq!(next_state(&mut events, 1).await, AudioSourceState::Playing);
    assert_eq!(next_state(&mut events, 3).await, AudioSourceState::Stopped);
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(160), "double speed: {took:?}");

    track.close();
    assert!(track.track().is_closed());
    assert_eq!(
        track.start(StartOptions::default()).unwrap_err().code,
        ErrorCode::InvalidLocalTrack
    );
}

/// Lossy formats, encoded by ffmpeg (`scripts/test.sh` installs it): mp3, ogg/vorbis, aac in mp4 (m4a) and ADTS,
/// and ffmpeg's FLAC. Each decodes to 48 kHz at the tone's pitch and about its length.
#[tokio::test]
async fn ffmpeg_encoded_mp3_ogg_m4a_aac_and_flac_decode_at_the_right_pitch() {
    let dir = tempfile::tempdir().unwrap();
    for (file, codec_args) in [
        ("tone.mp3", &["-c:a", "libmp3lame", "-b:a", "128k"][..]),
        ("tone.ogg", &["-c:a", "libvorbis"][..]),
        ("tone.m4a", &["-c:a", "aac", "-b:a", "128k"][..]),
        ("tone.aac", &["-c:a", "aac", "-f", "adts"][..]),
        ("tone.flac", &["-c:a", "flac"][..]),
    ] {
        let path = dir.path().join(file);
        let status = std::process::Command::new("ffmpeg")
            .args(["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi"])
            .args(["-i", "sine=frequency=440:sample_rate=44100:duration=2", "-ac", "2"])
            .args(codec_args)
            .arg(&path)
            .status()
            .expect("ffmpeg runs (Debian: apt-get install ffmpeg; scripts/test.sh installs it)");
        assert!(status.success(), "ffmpeg made {file}");
        let track = BufferSourceAudioTrack::new(path.as_path(), AudioEncoderPreset::MusicStandard)
            .await
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        let ms = track.duration().as_secs_f64() * 1000.0;
        // Encoder priming and padding (mp3, aac) add a few tens of milliseconds at most.
        assert!((1990.0..2100.0).contains(&ms), "{file}: {ms} ms");
        let decoded = decode_audio(std::fs::read(&path).unwrap(), None).unwrap();
        assert_eq!(decoded.channels, 2, "{file}");
        let mono = signal::downmix(&decoded.samples, decoded.channels);
        let hz = signal::dominant_frequency(&mono, 48_000);
        assert!((hz - 440.0).abs() < 5.0, "{file}: {hz} Hz");
        println!("{file}: {hz:.2} Hz, {ms:.1} ms");
    }
}

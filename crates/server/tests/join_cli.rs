//! `stoa join` (the bot, built with the `bot` feature) against a real `stoa serve`: one bot publishes a tone or a
//! file and a test pattern, another records; the recorded WAV has the tone's frequency and the video summary the
//! pattern's size. Errors print their catalog code and exit non-zero; Ctrl-C leaves cleanly.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;
use stoa_sdk::media::signal;

/// Exit status 2 is the binary built without `stoa join`.
const NOT_A_BOT_BUILD: &str = "the stoa binary has no `stoa join`: it was built without the `bot` feature (run \
     these tests with `--features bot`; in a target folder shared with other builds, one without the feature may \
     have replaced it)";

/// A running `stoa join`; its stderr lines arrive on `stderr`.
struct Bot {
    child: Child,
    stderr: mpsc::Receiver<String>,
}

impl Bot {
    fn start(server: &Server, channel: &str, extra: &[&str]) -> Bot {
        let mut child = Command::new(env!("CARGO_BIN_EXE_stoa"))
            .args([
                "join",
                "--server",
                &server.url(),
                "--app-id",
                &server.app_ids[0],
                "--channel",
                channel,
            ])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("stoa join starts");
        let (tx, stderr) = mpsc::channel();
        let lines = BufReader::new(child.stderr.take().unwrap()).lines();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                eprintln!("  bot: {line}");
                let _ = tx.send(line);
            }
        });
        Bot { child, stderr }
    }

    /// Waits for a stderr line containing `text`.
    fn wait_for(&self, text: &str, secs: u64) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stderr.recv_timeout(left) {
                Ok(line) if line.contains(text) => return,
                Ok(_) => {}
                Err(_) => panic!("the bot did not print {text:?} within {secs} s"),
            }
        }
    }

    /// Waits for the exit (bounded) and returns the exit status and the JSON object printed on stdout.
    fn finish(mut self, secs: u64) -> (std::process::ExitStatus, Value) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("the bot did not exit within {secs} s");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        assert_ne!(status.code(), Some(2), "{NOT_A_BOT_BUILD}");
        let mut stdout = String::new();
        std::io::Read::read_to_string(&mut self.child.stdout.take().unwrap(), &mut stdout).unwrap();
        let summary: Value = serde_json::from_str(stdout.trim())
            .unwrap_or_else(|e| panic!("stdout is one JSON object ({e}): {stdout:?}"));
        (status, summary)
    }
}

impl Drop for Bot {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The samples of a 16-bit PCM WAV written by the bot, downmixed to mono, with the rate.
fn read_wav(path: &Path) -> (Vec<i16>, u32) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(&bytes[..4], b"RIFF");
    assert_eq!(&bytes[8..16], b"WAVEfmt ");
    let channels = u16::from_le_bytes([bytes[22], bytes[23]]);
    let rate = u32::from_le_bytes(bytes[24..28].try_into().unwrap());
    assert_eq!(&bytes[36..40], b"data");
    let data_len = u32::from_le_bytes(bytes[40..44].try_into().unwrap()) as usize;
    assert_eq!(data_len, bytes.len() - 44, "the header's data size matches the file");
    let samples: Vec<i16> = bytes[44..]
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect();
    (signal::downmix(&samples, channels), rate)
}

fn wav_file(rate: u32, samples: &[i16]) -> Vec<u8> {
    let data_len = (samples.len() * 2) as u32;
    let mut out = Vec::new();
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&rate.to_le_bytes());
    out.extend_from_slice(&(rate * 2).to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    for s in samples {
        out.extend_from_slice(&s.to_le_bytes());
    }
    out
}

/// Checks the recorded WAV of uid 1: at least `min_seconds` of audio whose dominant frequency is `hz`.
fn check_recorded_tone(dir: &Path, uid: &str, hz: f32, min_seconds: f64) {
    let (samples, rate) = read_wav(&dir.join(format!("{uid}.wav")));
    assert_eq!(rate, 48_000);
    let seconds = samples.len() as f64 / 48_000.0;
    assert!(seconds >= min_seconds, "recorded {seconds:.2} s");
    // Skip the first half second (start-up), analyse the rest.
    let found = signal::dominant_frequency(&samples[24_000..], rate);
    println!("recorded {seconds:.2} s of audio from uid {uid}, dominant {found:.2} Hz");
    assert!((found - hz).abs() < 5.0, "{found} Hz, expected {hz}");
}

/// `publisher` is the publishing bot's uid (a number or a string).
fn run_pair(codec: &str, audio: &str, hz: f32, publisher_uid: &str) {
    let server = Server::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let channel = format!("bots-{codec}");
    let recorder = Bot::start(
        &server,
        &channel,
        &[
            "--uid",
            "2",
            "--record",
            dir.path().to_str().unwrap(),
            "--codec",
            codec,
            "--duration",
            "7",
        ],
    );
    // The publisher joins after the recorder: its tracks arrive as `user-published`, not in the join's list.
    recorder.wait_for("joined", 15);
    let publisher = Bot::start(
        &server,
        &channel,
        &[
            "--uid",
            publisher_uid,
            "--audio",
            audio,
            "--video",
            "testsrc:320x240@15",
            "--codec",
            codec,
            "--duration",
            "5",
        ],
    );
    let (status, published) = publisher.finish(30);
    assert!(status.success(), "publisher: {status} {published}");
    let (status, recorded) = recorder.finish(30);
    assert!(status.success(), "recorder: {status} {recorded}");
    println!("publisher: {published}\nrecorder: {recorded}");

    assert_eq!(published["uid"], publisher_uid);
    assert_eq!(published["left"], "duration");
    assert!(
        published["published"]["audio_packets"].as_u64().unwrap() > 100,
        "{published}"
    );
    assert!(
        published["published"]["video_frames"].as_u64().unwrap() > 30,
        "{published}"
    );
    assert!(
        published["remote_users"]
            .get("2")
            .is_none_or(|u| u.get("audio").is_none()),
        "uid 2 publishes nothing"
    );

    let remote = &recorded["remote_users"][publisher_uid];
    assert!(
        (remote["audio"]["dominant_hz"].as_f64().unwrap() - f64::from(hz)).abs() < 5.0,
        "{recorded}"
    );
    check_recorded_tone(dir.path(), publisher_uid, hz, 3.0);

    let video: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join(format!("{publisher_uid}.video.json"))).unwrap())
            .unwrap();
    println!("{codec} video summary: {video}");
    assert!(video["frames_decoded"].as_u64().unwrap() > 15, "{video}");
    assert_eq!(
        (video["width"].as_u64(), video["height"].as_u64()),
        (Some(320), Some(240))
    );
    assert!(video["first_frame_ms"].as_u64().is_some(), "{video}");
    assert_eq!(remote["video"], video);
}

#[test]
fn two_bots_exchange_a_tone_and_a_test_pattern_vp8() {
    run_pair("vp8", "sine:440", 440.0, "1");
}

#[test]
fn two_bots_exchange_a_tone_and_a_test_pattern_h264_and_vp9() {
    run_pair("h264", "sine:440", 440.0, "1");
    run_pair("vp9", "sine:440", 440.0, "1");
}

#[test]
fn a_bot_publishes_an_audio_file_through_the_server() {
    // A 660 Hz tone at 44.1 kHz, 1.5 s long, played in a loop by the buffer source.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tone.wav");
    let mut sine = signal::SineSource::new(660.0, 44_100, 1, 0.5);
    std::fs::write(&file, wav_file(44_100, &sine.next_frame(1500).samples)).unwrap();
    // A string uid names the recorded files.
    run_pair("vp8", file.to_str().unwrap(), 660.0, "music-bot");
}

fn error_code(bot: Bot) -> String {
    let (status, summary) = bot.finish(30);
    assert!(!status.success(), "{summary}");
    summary["error"]["code"].as_str().unwrap_or_default().to_string()
}

#[test]
fn errors_print_their_code_and_exit_non_zero() {
    let server = Server::start(&[]);
    let unknown_app = Command::new(env!("CARGO_BIN_EXE_stoa"))
        .args([
            "join",
            "--server",
            &server.url(),
            "--app-id",
            "ffffffffffffffffffffffffffffffff",
        ])
        .args(["--channel", "x", "--duration", "1"])
        .output()
        .unwrap();
    assert_ne!(unknown_app.status.code(), Some(2), "{NOT_A_BOT_BUILD}");
    assert!(!unknown_app.status.success());
    let stdout: Value = serde_json::from_slice(&unknown_app.stdout).unwrap();
    assert_eq!(stdout["error"]["code"], "CAN_NOT_GET_GATEWAY_SERVER", "{stdout}");
    let stderr = String::from_utf8_lossy(&unknown_app.stderr);
    assert!(stderr.contains("CAN_NOT_GET_GATEWAY_SERVER"), "{stderr}");

    let missing = Bot::start(&server, "x", &["--audio", "/nonexistent/tone.mp3", "--duration", "1"]);
    assert_eq!(error_code(missing), "READ_LOCAL_AUDIO_FILE_ERROR");
    let garbage = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(garbage.path(), vec![0x5a; 10_000]).unwrap();
    let undecodable = Bot::start(
        &server,
        "x",
        &["--audio", garbage.path().to_str().unwrap(), "--duration", "1"],
    );
    assert_eq!(error_code(undecodable), "DECODE_AUDIO_FILE_FAILED");
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let unreachable = Bot::start(
        &server,
        "x",
        &["--audio", &format!("http://{closed}/a.mp3"), "--duration", "1"],
    );
    assert_eq!(error_code(unreachable), "FETCH_AUDIO_FILE_FAILED");
    let bad_video = Bot::start(&server, "x", &["--video", "testsrc:big", "--duration", "1"]);
    assert_eq!(error_code(bad_video), "INVALID_PARAMS");
    let bad_channel = Bot::start(&server, &"c".repeat(65), &["--duration", "1"]);
    assert_eq!(error_code(bad_channel), "INVALID_PARAMS");
}

#[test]
fn ctrl_c_leaves_cleanly_with_a_summary() {
    let server = Server::start(&[]);
    let bot = Bot::start(&server, "sigint", &["--audio", "sine:300"]);
    bot.wait_for("joined", 15);
    std::thread::sleep(Duration::from_millis(500));
    let pid = bot.child.id().to_string();
    assert!(Command::new("kill").args(["-INT", &pid]).status().unwrap().success());
    let (status, summary) = bot.finish(15);
    assert!(status.success(), "{status} {summary}");
    assert_eq!(summary["left"], "interrupted");
    assert!(summary["published"]["audio_packets"].as_u64().unwrap() > 0, "{summary}");
}

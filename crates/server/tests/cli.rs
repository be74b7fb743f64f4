//! The `stoa` command line: `stoa token` prints a token the server accepts; `stoa serve` reads STOA_* variables.

mod common;

use std::process::Command;

use common::*;
use stoa_proto::token::{Privilege, check_rtc_token};

fn stoa(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_stoa"))
        .args(args)
        .output()
        .expect("stoa runs")
}

#[test]
fn token_prints_one_token_that_verifies() {
    let out = stoa(&[
        "token",
        "--app-id",
        APP,
        "--app-certificate",
        CERT,
        "--channel",
        "room",
        "--uid",
        "42",
        "--expire",
        "600",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 1, "only the token is printed: {text:?}");
    let token = text.trim();
    let now = u64::from(now_unix());
    let grant = check_rtc_token(token, APP, CERT, "room", "42", now).unwrap();
    assert!((now + 590..=now + 600).contains(&grant.expires_at));
    assert!(grant.allows(Privilege::PublishVideoStream, now));
    assert!(check_rtc_token(token, APP, CERT, "room", "43", now).is_err());

    let out = stoa(&[
        "token",
        "--app-id",
        APP,
        "--app-certificate",
        CERT,
        "--channel",
        "room",
        "--account",
        "ann",
        "--role",
        "subscriber",
    ]);
    let token = String::from_utf8(out.stdout).unwrap();
    let grant = check_rtc_token(token.trim(), APP, CERT, "room", "ann", now).unwrap();
    assert!(!grant.allows(Privilege::PublishAudioStream, now));
}

#[test]
fn token_refuses_bad_input_with_a_message() {
    let out = stoa(&[
        "token",
        "--app-id",
        "nothex",
        "--app-certificate",
        CERT,
        "--channel",
        "room",
        "--uid",
        "1",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("stoa:"));
    let out = stoa(&["token", "--app-id", APP, "--app-certificate", CERT, "--channel", "room"]);
    assert!(!out.status.success(), "a uid or an account is required");
}

#[test]
fn serve_refuses_a_bad_app_and_a_bad_config() {
    let data = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_stoa"))
        .args(["serve", "--http", "127.0.0.1:0", "--data"])
        .arg(data.path())
        .env("STOA_APP", "short")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("32 hex"));
    let config = data.path().join("bad.toml");
    std::fs::write(&config, "[server]\nnope = 1\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_stoa"))
        .args(["serve", "--http", "127.0.0.1:0", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown field"));
}

#[test]
fn apps_from_the_environment_are_served() {
    // Server::start passes flags; STOA_APP is read by clap the same way, so use it directly here.
    let data = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_stoa"))
        .args(["serve", "--http", "127.0.0.1:0", "--data"])
        .arg(data.path())
        .env("STOA_APP", format!("{APP}:{CERT},{OPEN_APP}"))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::BufRead;
    let lines: Vec<String> = std::io::BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map(Result::unwrap)
        .take_while(|l| !l.starts_with("listening:"))
        .collect();
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(lines, vec![format!("app id: {OPEN_APP}"), format!("app id: {APP}")]);
}

//! Microphone and speaker devices (feature `devices`). A machine with no sound card is a normal case (CI has
//! none): the lists are empty and opening a device is `DEVICE_NOT_FOUND`; where ALSA's `null` device is listed, a
//! microphone track and a speaker open on it for real.

use std::time::Duration;

use stoa_sdk::ErrorCode;
use stoa_sdk::media::AudioEncoderPreset;
use stoa_sdk::media::devices::{DeviceKind, MicrophoneAudioTrack, get_devices, get_microphones, get_playback_devices};

#[test]
fn devices_are_listed_and_unknown_ones_are_device_not_found() {
    let microphones = get_microphones().expect("ALSA lists its devices (an empty list without a sound card)");
    let speakers = get_playback_devices().unwrap();
    println!("microphones: {microphones:#?}\nplayback: {speakers:#?}");
    assert!(microphones.iter().all(|d| d.kind == DeviceKind::AudioInput));
    assert!(speakers.iter().all(|d| d.kind == DeviceKind::AudioOutput));
    assert_eq!(get_devices().unwrap().len(), microphones.len() + speakers.len());

    let err = MicrophoneAudioTrack::new(Some("no-such-microphone"), AudioEncoderPreset::SpeechStandard).unwrap_err();
    assert_eq!(err.code, ErrorCode::DeviceNotFound, "{err}");
    assert!(err.detail.contains("no-such-microphone"), "{}", err.detail);
}

#[test]
fn the_default_microphone_opens_or_is_device_not_found() {
    match MicrophoneAudioTrack::new(None, AudioEncoderPreset::SpeechStandard) {
        Ok(mic) => {
            println!("default microphone: {:?}", mic.label());
            std::thread::sleep(Duration::from_millis(300));
            mic.close();
            assert!(mic.track().is_closed());
        }
        Err(e) => {
            println!("no default microphone: {e}");
            assert_eq!(e.code, ErrorCode::DeviceNotFound, "{e}");
        }
    }
}

/// ALSA's `null` device exists wherever alsa-lib is installed, sound card or not: capture gives zeros and playback
/// discards (neither paced in real time), so the streams' callbacks are seen running.
#[test]
fn the_alsa_null_device_captures_and_plays() {
    use stoa_sdk::media::AudioFrame;
    use stoa_sdk::media::devices::Speaker;
    let null = "alsa:null";
    assert!(
        get_microphones().unwrap().iter().any(|d| d.device_id == null),
        "alsa-lib lists its null device"
    );

    let mic = MicrophoneAudioTrack::new(Some(null), AudioEncoderPreset::SpeechStandard).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while mic.captured_frames() < 4_800 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        mic.captured_frames() >= 4_800,
        "captured {} frames",
        mic.captured_frames()
    );
    mic.close();
    assert!(mic.track().is_closed());

    let speaker = Speaker::open(Some(null)).unwrap();
    for _ in 0..10 {
        speaker.push(&AudioFrame::new(48_000, 2, vec![1000; 1920])).unwrap();
    }
    assert!(speaker.queued() > Duration::ZERO);
    assert_eq!(
        speaker
            .push(&AudioFrame::new(16_000, 1, vec![0; 320]))
            .unwrap_err()
            .code,
        ErrorCode::InvalidParams
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while speaker.queued() > Duration::ZERO && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(speaker.queued(), Duration::ZERO, "the device consumed the queued audio");
    speaker.stop();

    let err = Speaker::open(Some("no-such-speaker")).unwrap_err();
    assert_eq!(err.code, ErrorCode::DeviceNotFound, "{err}");
}

//! Round trips through the real codec: sine in → resample → Opus → decode → measure.

use stoa_proto::ErrorCode;

use super::signal::{self, SineSource};
use super::*;

const TONE_HZ: f32 = 440.0;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Loss {
    None,
    /// Drop every nth packet and conceal it with PLC.
    EveryNthPlc(usize),
    /// Drop every nth packet and rebuild it from the next packet's FEC.
    EveryNthFec(usize),
}

struct RoundTrip {
    /// Decoded 48 kHz audio, interleaved with `channels` channels.
    decoded: Vec<i16>,
    channels: u16,
    packets: Vec<EncodedAudio>,
    encoder: EncoderStats,
    decoder: DecoderStats,
}

/// `total_ms` of a 440 Hz tone at half scale, fed in `frame_ms` frames, through encoder and decoder.
fn round_trip(
    config: AudioEncoderConfig,
    rate: u32,
    channels: u16,
    total_ms: u32,
    frame_ms: u32,
    loss: Loss,
) -> RoundTrip {
    let mut encoder = OpusEncoderPipeline::new(config).expect("encoder");
    let mut sine = SineSource::new(TONE_HZ, rate, channels, 0.5);
    let mut packets = Vec::new();
    for frame in sine.take_ms(total_ms, frame_ms) {
        packets.extend(encoder.push(&frame).expect("push"));
    }
    packets.extend(encoder.flush().expect("flush"));

    let out_channels = config.channels();
    let mut decoder = OpusDecoderPipeline::new(out_channels).expect("decoder");
    let mut decoded = Vec::new();
    for (i, packet) in packets.iter().enumerate() {
        let frame = match loss {
            Loss::EveryNthPlc(n) if i % n == n - 1 => decoder.decode(None),
            Loss::EveryNthFec(n) if i % n == n - 1 => match packets.get(i + 1) {
                Some(next) => decoder.decode_fec(&next.payload),
                None => decoder.decode(None),
            },
            _ => decoder.decode(Some(&packet.payload)),
        }
        .expect("decode");
        assert_eq!(frame.sample_rate, 48_000);
        assert_eq!(frame.channels, out_channels);
        assert_eq!(frame.frames(), 960);
        decoded.extend(frame.samples);
    }
    RoundTrip {
        decoded,
        channels: out_channels,
        packets,
        encoder: encoder.stats(),
        decoder: decoder.stats(),
    }
}

/// Frequency and steadiness of each decoded channel after the first 100 ms (codec and resampler start-up), over
/// whole 100 ms windows up to the end of the tone. Returns (worst frequency error, worst deviation dB, worst
/// min/max ratio).
fn measure(rt: &RoundTrip, total_ms: u32, label: &str) -> (f32, f32, f32) {
    let mut worst = (0.0f32, 0.0f32, 1.0f32);
    for ch in 0..rt.channels {
        let mono = signal::channel_samples(&rt.decoded, rt.channels, ch);
        let tone = &mono[4_800..(total_ms as usize * 48).min(mono.len())];
        let hz = signal::dominant_frequency(tone, 48_000);
        let steady = signal::level_steadiness(tone, 48_000, 100);
        println!(
            "{label} ch{ch}: {hz:.3} Hz (error {:+.3}), {} windows, level {:.2} dBFS, deviation {:.2} dB, \
             min/max {:.3}",
            hz - TONE_HZ,
            steady.windows,
            steady.mean_dbfs,
            steady.max_deviation_db,
            steady.min_max_ratio
        );
        worst.0 = worst.0.max((hz - TONE_HZ).abs());
        worst.1 = worst.1.max(steady.max_deviation_db);
        worst.2 = worst.2.min(steady.min_max_ratio);
    }
    worst
}

#[test]
fn sine_44k1_stereo_round_trip_keeps_frequency_and_level() {
    for preset in [AudioEncoderPreset::StandardStereo, AudioEncoderPreset::MusicStandard] {
        let rt = round_trip(preset.into(), 44_100, 2, 2_000, 10, Loss::None);
        assert_eq!(rt.packets.len(), 100, "2 s is 100 packets of 20 ms");
        let (freq_err, deviation, _) = measure(&rt, 2_000, &format!("44.1k stereo {preset}"));
        assert!(freq_err <= 2.0, "{preset}: frequency off by {freq_err} Hz");
        assert!(deviation <= 3.0, "{preset}: level varies by {deviation} dB");
        // Half-scale sine: -9 dBFS RMS; Opus keeps the level within a dB or two.
        let level = signal::rms_dbfs(&signal::channel_samples(&rt.decoded[9_600..], rt.channels, 0));
        assert!((level + 9.03).abs() < 2.0, "{preset}: level {level} dBFS");
    }
}

#[test]
fn sine_16k_mono_round_trip_keeps_frequency_and_level() {
    for preset in [AudioEncoderPreset::MusicStandard, AudioEncoderPreset::SpeechLowQuality] {
        // 16 kHz mono in awkward 7 ms frames (112 samples).
        let rt = round_trip(preset.into(), 16_000, 1, 2_000, 7, Loss::None);
        assert_eq!(rt.packets.len(), 100);
        let (freq_err, deviation, _) = measure(&rt, 2_000, &format!("16k mono {preset}"));
        assert!(freq_err <= 2.0, "{preset}: frequency off by {freq_err} Hz");
        assert!(deviation <= 3.0, "{preset}: level varies by {deviation} dB");
    }
}

#[test]
fn every_supported_rate_and_preset_round_trips() {
    for rate in SUPPORTED_SAMPLE_RATES {
        for preset in AudioEncoderPreset::ALL {
            let channels = if preset.config().stereo { 1 } else { 2 };
            let rt = round_trip(preset.into(), rate, channels, 600, 10, Loss::None);
            assert_eq!(rt.packets.len(), 30, "{rate} Hz {preset}");
            let (freq_err, deviation, _) = measure(&rt, 600, &format!("{rate} Hz x{channels} {preset}"));
            assert!(freq_err <= 2.0, "{rate} Hz {preset}: frequency off by {freq_err} Hz");
            assert!(deviation <= 3.0, "{rate} Hz {preset}: level varies by {deviation} dB");
        }
    }
}

#[test]
fn ten_percent_loss_is_concealed_by_plc() {
    let rt = round_trip(
        AudioEncoderPreset::MusicStandard.into(),
        44_100,
        2,
        2_000,
        10,
        Loss::EveryNthPlc(10),
    );
    assert_eq!(rt.decoder.packets_concealed, 10);
    assert_eq!(rt.decoder.packets_decoded, 90);
    assert_eq!(rt.decoder.samples_out, 100 * 960);
    let (freq_err, deviation, ratio) = measure(&rt, 2_000, "plc 10% music_standard");
    println!("plc: worst deviation {deviation:.2} dB, min/max {ratio:.3}");
    assert!(freq_err <= 5.0, "frequency off by {freq_err} Hz under loss");
}

#[test]
fn ten_percent_loss_is_rebuilt_from_inband_fec() {
    // Speech mode (SILK) carries in-band FEC once the encoder expects loss.
    let config = AudioEncoderConfig {
        expected_packet_loss_percent: 10,
        ..AudioEncoderPreset::SpeechStandard.config()
    };
    let clean = round_trip(config, 32_000, 1, 2_000, 20, Loss::None);
    let fec = round_trip(config, 32_000, 1, 2_000, 20, Loss::EveryNthFec(10));
    let plc = round_trip(config, 32_000, 1, 2_000, 20, Loss::EveryNthPlc(10));
    // Packets 9, 19, ... 99 are lost; the last has no successor and falls back to PLC.
    assert_eq!(fec.decoder.packets_concealed, 10);
    assert_eq!(fec.decoder.fec_decodes, 9);
    let (freq_err, deviation, ratio) = measure(&fec, 2_000, "fec 10% speech_standard");
    println!("fec: worst deviation {deviation:.2} dB, min/max {ratio:.3}");
    assert!(freq_err <= 5.0, "frequency off by {freq_err} Hz under loss");
    // Distance of each lossy decode from the loss-free one, over the lost frames (all but the last).
    let error = |lossy: &RoundTrip| {
        let diff: Vec<i16> = (0..9)
            .flat_map(|k| (k * 10 + 9) * 960..(k * 10 + 10) * 960)
            .map(|i| lossy.decoded[i].saturating_sub(clean.decoded[i]))
            .collect();
        signal::rms_level(&diff)
    };
    let (fec_err, plc_err) = (error(&fec), error(&plc));
    println!(
        "lost frames vs loss-free decode: FEC error {:.2} dBFS, PLC error {:.2} dBFS (tone -9 dBFS)",
        20.0 * fec_err.log10(),
        20.0 * plc_err.log10()
    );
    assert!(fec_err < plc_err, "FEC ({fec_err}) no better than PLC ({plc_err})");
}

#[test]
fn bitrate_follows_the_preset() {
    for preset in AudioEncoderPreset::ALL {
        let config = preset.config();
        let rt = round_trip(config, 48_000, config.channels(), 5_000, 20, Loss::None);
        let measured = rt.encoder.average_bitrate_bps();
        let target = f64::from(config.bitrate_kbps) * 1000.0;
        println!(
            "{preset}: target {} kbps, measured {:.1} kbps ({:+.1} %), {} packets, mean payload {:.1} B",
            config.bitrate_kbps,
            measured / 1000.0,
            (measured / target - 1.0) * 100.0,
            rt.encoder.packets,
            rt.encoder.payload_bytes as f64 / rt.encoder.packets as f64
        );
        if preset == AudioEncoderPreset::MusicStandard {
            assert!(
                (measured / target - 1.0).abs() <= 0.30,
                "music_standard: {measured} bps vs {target}"
            );
        }
    }
}

#[test]
fn constant_bitrate_hits_the_target_exactly() {
    let config = AudioEncoderConfig {
        vbr: false,
        ..AudioEncoderConfig::default()
    };
    let rt = round_trip(config, 48_000, 1, 2_000, 20, Loss::None);
    let sizes: Vec<usize> = rt.packets.iter().map(|p| p.payload.len()).collect();
    // 32 kbps * 20 ms = 80 bytes.
    assert!(sizes.iter().all(|&s| s == 80), "{sizes:?}");
}

#[test]
fn packets_carry_rtp_timing() {
    let rt = round_trip(AudioEncoderConfig::default(), 22_050, 1, 1_000, 10, Loss::None);
    for (i, packet) in rt.packets.iter().enumerate() {
        assert_eq!(packet.timestamp, i as u64 * 960);
        assert_eq!(packet.rtp_timestamp_increment, 960);
        assert_eq!(packet.duration, std::time::Duration::from_millis(20));
        assert!(!packet.payload.is_empty());
    }
}

#[test]
fn frame_length_does_not_change_the_output_length() {
    let mut counts = Vec::new();
    for frame_ms in [1, 3, 10, 20, 33, 1_000] {
        let mut encoder = OpusEncoderPipeline::new(AudioEncoderPreset::MusicStandard).unwrap();
        let mut sine = SineSource::new(TONE_HZ, 44_100, 2, 0.5);
        let mut n = 0;
        for frame in sine.take_ms(1_000, frame_ms) {
            n += encoder.push(&frame).unwrap().len();
        }
        // 1 s at 48 kHz is 50 frames; a few ms may wait in the resampler until flush.
        assert!((49..=50).contains(&n), "{frame_ms} ms frames: {n} packets before flush");
        n += encoder.flush().unwrap().len();
        counts.push(n);
    }
    assert!(counts.iter().all(|&n| n == 50), "{counts:?}");
}

#[test]
fn input_rate_may_change_mid_stream() {
    let mut encoder = OpusEncoderPipeline::new(AudioEncoderPreset::MusicStandard).unwrap();
    let mut decoder = OpusDecoderPipeline::new(1).unwrap();
    let mut decoded = Vec::new();
    for rate in [16_000, 44_100, 48_000, 8_000] {
        let mut sine = SineSource::new(TONE_HZ, rate, 1, 0.5);
        for frame in sine.take_ms(500, 10) {
            for packet in encoder.push(&frame).unwrap() {
                decoded.extend(decoder.decode(Some(&packet.payload)).unwrap().samples);
            }
        }
    }
    for packet in encoder.flush().unwrap() {
        decoded.extend(decoder.decode(Some(&packet.payload)).unwrap().samples);
    }
    assert_eq!(encoder.stats().packets, 100, "4 x 500 ms");
    let hz = signal::dominant_frequency(&decoded[4_800..], 48_000);
    assert!((hz - TONE_HZ).abs() <= 2.0, "{hz}");
}

fn assert_invalid<T: std::fmt::Debug>(result: Result<T, RtcError>, what: &str) {
    match result {
        Err(e) => assert_eq!(e.code, ErrorCode::InvalidParams, "{what}: {e}"),
        Ok(v) => panic!("{what}: accepted ({v:?})"),
    }
}

#[test]
fn bad_input_is_invalid_params() {
    let mut encoder = OpusEncoderPipeline::new(AudioEncoderPreset::MusicStandard).unwrap();
    assert_invalid(encoder.push(&AudioFrame::new(48_000, 0, vec![0; 960])), "0 channels");
    assert_invalid(
        encoder.push(&AudioFrame::new(48_000, 3, vec![0; 960 * 3])),
        "3 channels",
    );
    assert_invalid(encoder.push(&AudioFrame::new(44_000, 1, vec![0; 440])), "44 kHz");
    assert_invalid(encoder.push(&AudioFrame::new(0, 1, vec![0; 10])), "0 Hz");
    assert_invalid(encoder.push(&AudioFrame::new(u32::MAX, 1, vec![0; 10])), "huge rate");
    assert_invalid(
        encoder.push(&AudioFrame::new(48_000, 2, vec![0; 961])),
        "odd stereo sample count",
    );
    assert_invalid(encoder.set_bitrate_kbps(0), "0 kbps");
    assert_invalid(encoder.set_bitrate_kbps(1_000), "1000 kbps");
    assert_invalid(encoder.set_expected_packet_loss(101), "101 % loss");
    // Nothing was buffered by the rejected frames; an empty frame is fine and yields nothing.
    assert!(
        encoder
            .push(&AudioFrame::new(48_000, 1, Vec::new()))
            .unwrap()
            .is_empty()
    );
    assert!(encoder.flush().unwrap().is_empty());
    assert_eq!(encoder.stats().frames_in, 0);

    let base = AudioEncoderConfig::default();
    for (what, config) in [
        (
            "rate 44 kHz",
            AudioEncoderConfig {
                sample_rate: 44_000,
                ..base
            },
        ),
        (
            "rate 96 kHz",
            AudioEncoderConfig {
                sample_rate: 96_000,
                ..base
            },
        ),
        (
            "5 kbps",
            AudioEncoderConfig {
                bitrate_kbps: 5,
                ..base
            },
        ),
        (
            "511 kbps",
            AudioEncoderConfig {
                bitrate_kbps: 511,
                ..base
            },
        ),
        ("complexity 11", AudioEncoderConfig { complexity: 11, ..base }),
        (
            "loss 200",
            AudioEncoderConfig {
                expected_packet_loss_percent: 200,
                ..base
            },
        ),
    ] {
        assert_invalid(OpusEncoderPipeline::new(config), what);
    }
    assert_invalid(OpusDecoderPipeline::new(0), "decoder 0 channels");
    assert_invalid(OpusDecoderPipeline::new(3), "decoder 3 channels");
    assert_invalid("music_hq".parse::<AudioEncoderPreset>(), "unknown preset");
}

#[test]
fn presets_parse_and_match_the_reference() {
    let expected = [
        ("speech_low_quality", 16_000, false, 24),
        ("speech_standard", 32_000, false, 18),
        ("music_standard", 48_000, false, 32),
        ("standard_stereo", 48_000, true, 56),
        ("high_quality", 48_000, false, 128),
        ("high_quality_stereo", 48_000, true, 192),
    ];
    for (name, rate, stereo, kbps) in expected {
        let preset: AudioEncoderPreset = name.parse().unwrap();
        assert_eq!(preset.to_string(), name);
        let config = preset.config();
        assert_eq!(
            (config.sample_rate, config.stereo, config.bitrate_kbps),
            (rate, stereo, kbps),
            "{name}"
        );
        assert!(config.validate().is_ok());
    }
    assert_eq!(AudioEncoderPreset::default(), AudioEncoderPreset::MusicStandard);
    assert_eq!(
        AudioEncoderConfig::default(),
        AudioEncoderPreset::MusicStandard.config()
    );
}

#[test]
fn garbage_packets_are_concealed_not_fatal() {
    let mut decoder = OpusDecoderPipeline::new(2).unwrap();
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut concealed_or_decoded = 0;
    for len in 0..300usize {
        let packet: Vec<u8> = (0..len)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed as u8
            })
            .collect();
        let frame = decoder.decode(Some(&packet)).expect("garbage never errors");
        assert_eq!(frame.channels, 2);
        assert!(frame.samples.len().is_multiple_of(2));
        concealed_or_decoded += 1;
        let _ = decoder.decode_fec(&packet).expect("garbage FEC never errors");
    }
    let stats = decoder.stats();
    assert_eq!(concealed_or_decoded, 300);
    assert!(stats.packets_corrupt > 0, "{stats:?}");
}

#[test]
fn analysers_measure_clean_signals() {
    for (freq, rate) in [
        (440.0, 48_000),
        (440.0, 44_100),
        (1_000.0, 16_000),
        (97.3, 8_000),
        (3_333.3, 22_050),
    ] {
        let mut sine = SineSource::new(freq, rate, 1, 0.25);
        let tone = signal::concat(&sine.take_ms(1_000, 10));
        assert_eq!(tone.len(), rate as usize);
        let hz = signal::dominant_frequency(&tone, rate);
        assert!((hz - freq).abs() < 0.1, "{freq} Hz at {rate}: measured {hz}");
        // RMS of a sine with peak 0.25 is 0.25 / sqrt 2.
        let rms = signal::rms_level(&tone);
        assert!((rms - 0.25 / 2f32.sqrt()).abs() < 1e-3, "{rms}");
        let steady = signal::level_steadiness(&tone, rate, 100);
        assert_eq!(steady.windows, 10);
        // Windows holding a fractional number of periods (97.3 Hz) differ by a few hundredths of a dB.
        assert!(
            steady.max_deviation_db < 0.2 && steady.min_max_ratio > 0.95,
            "{steady:?}"
        );
    }
    // 10 ms at 22.05 kHz alternates 220 and 221 samples.
    let mut sine = SineSource::new(440.0, 22_050, 2, 0.5);
    let lens: Vec<usize> = sine.take_ms(40, 10).iter().map(AudioFrame::frames).collect();
    assert_eq!(lens, [220, 221, 220, 221]);

    assert_eq!(signal::dominant_frequency(&[], 48_000), 0.0);
    assert_eq!(signal::dominant_frequency(&[0; 4_800], 48_000), 0.0);
    assert_eq!(signal::rms_level(&[]), 0.0);
    let silent = signal::level_steadiness(&[0; 100], 48_000, 100);
    assert_eq!(silent.windows, 0);
    assert!(silent.max_deviation_db.is_infinite());
    // A gap makes the level unsteady.
    let mut gappy = signal::concat(&SineSource::new(440.0, 48_000, 1, 0.5).take_ms(1_000, 10));
    gappy[24_000..28_800].fill(0);
    let steady = signal::level_steadiness(&gappy, 48_000, 100);
    assert!(steady.max_deviation_db > 3.0, "{steady:?}");
}

#[test]
fn audio_frame_helpers() {
    let frame = AudioFrame::from_f32(48_000, 2, &[0.5, -0.5, 1.5, f32::NAN]);
    assert_eq!(frame.samples, vec![16_384, -16_384, 32_767, 0]);
    assert_eq!(frame.frames(), 2);
    assert_eq!(frame.channel(1), vec![-16_384, 0]);
    assert_eq!(frame.channel(2), Vec::<i16>::new());
    assert_eq!(
        AudioFrame::new(44_100, 1, vec![0; 441]).duration(),
        std::time::Duration::from_millis(10)
    );
    assert_eq!(AudioFrame::new(0, 0, vec![0; 3]).frames(), 0);
    assert_eq!(AudioFrame::new(0, 0, vec![0; 3]).duration(), std::time::Duration::ZERO);
}

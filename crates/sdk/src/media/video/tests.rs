//! Round trips through the real codecs: counter pattern in → encode → decode → read the counter back.
//! Run with `--nocapture` to see the measured sizes, bitrates, PSNR and timings.

use std::time::{Duration, Instant};

use stoa_proto::ErrorCode;

use super::pattern::{self, CounterPattern};
use super::*;

const WIDTH: u32 = 640;
const HEIGHT: u32 = 360;
const FPS: u32 = 30;
const KBPS: u32 = 500;

fn config(codec: VideoCodec) -> VideoEncoderConfig {
    VideoEncoderConfig {
        codec,
        width: WIDTH,
        height: HEIGHT,
        frame_rate: FPS,
        bitrate_kbps: KBPS,
        keyframe_interval: 0,
    }
}

/// Encodes `count` pattern frames, asking for keyframes at `requested` (through `request_keyframe`) and `forced`
/// (through the `force_keyframe` argument).
fn encode_pattern(
    encoder: &mut VideoEncoderPipeline,
    count: u32,
    requested: &[u32],
    forced: &[u32],
) -> (Vec<EncodedVideo>, Vec<VideoFrame>, Duration) {
    let mut source = CounterPattern::new(encoder.config().width, encoder.config().height).expect("pattern");
    let mut encoded = Vec::new();
    let mut originals = Vec::new();
    let mut encode_time = Duration::ZERO;
    for n in 0..count {
        let frame = source.next_frame();
        if requested.contains(&n) {
            encoder.request_keyframe();
        }
        let start = Instant::now();
        let out = encoder.encode(&frame, forced.contains(&n)).expect("encode");
        encode_time += start.elapsed();
        assert_eq!(out.len(), 1, "frame {n}: one encoded frame per input frame");
        encoded.extend(out);
        originals.push(frame);
    }
    (encoded, originals, encode_time)
}

fn round_trip(codec: VideoCodec) {
    let mut encoder = VideoEncoderPipeline::new(config(codec)).expect("encoder");
    let (encoded, originals, encode_time) = encode_pattern(&mut encoder, 60, &[30], &[45]);

    let keyframes: Vec<u32> = (0..60).filter(|&n| encoded[n as usize].keyframe).collect();
    assert_eq!(keyframes, [0, 30, 45], "{codec}: keyframes first and on request only");
    for (n, frame) in encoded.iter().enumerate() {
        assert_eq!(
            frame.rtp_timestamp,
            n as u32 * 3000,
            "{codec}: 90 kHz timestamps at 30 fps"
        );
        assert_eq!(
            is_keyframe(codec, &frame.data),
            frame.keyframe,
            "{codec} frame {n}: keyframe detection"
        );
    }
    if codec == VideoCodec::H264 {
        check_h264_stream(&encoded);
    }

    let mut decoder = VideoDecoderPipeline::new(codec).expect("decoder");
    let mut psnr_sum = 0.0;
    let mut decode_time = Duration::ZERO;
    for (n, frame) in encoded.iter().enumerate() {
        let start = Instant::now();
        let decoded = decoder.decode(&frame.data);
        decode_time += start.elapsed();
        let decoded = decoded
            .unwrap_or_else(|e| panic!("{codec} frame {n}: {e:?}"))
            .unwrap_or_else(|| panic!("{codec} frame {n}: no picture"));
        assert_eq!((decoded.width, decoded.height), (WIDTH, HEIGHT), "{codec} frame {n}");
        decoded.validate().expect("decoded frames are valid I420");
        assert_eq!(
            pattern::read_counter(&decoded),
            Some(n as u32),
            "{codec} frame {n}: counter"
        );
        psnr_sum += pattern::psnr_y(&originals[n], &decoded).expect("psnr");
    }
    assert!(!decoder.needs_keyframe());
    let stats = decoder.stats();
    assert_eq!(
        (stats.frames_decoded, stats.keyframes_decoded, stats.errors),
        (60, 3, 0)
    );
    let enc = encoder.stats();
    assert_eq!((enc.frames_in, enc.frames_out, enc.keyframes), (60, 60, 3));
    eprintln!(
        "{codec} 640x360@30 {KBPS} kbps, 60 frames: keyframe sizes {:?} B, mean delta frame {} B, Y PSNR {:.1} dB, \
         encode {:.2} ms/frame, decode {:.2} ms/frame",
        keyframes
            .iter()
            .map(|&n| encoded[n as usize].data.len())
            .collect::<Vec<_>>(),
        encoded
            .iter()
            .filter(|f| !f.keyframe)
            .map(|f| f.data.len())
            .sum::<usize>()
            / 57,
        psnr_sum / 60.0,
        encode_time.as_secs_f64() * 1000.0 / 60.0,
        decode_time.as_secs_f64() * 1000.0 / 60.0,
    );
}

/// Every IDR access unit starts with SPS and PPS; the SPS says Constrained Baseline (no B-frames).
fn check_h264_stream(encoded: &[EncodedVideo]) {
    for (n, frame) in encoded.iter().enumerate() {
        let types: Vec<u8> = h264::nal_units(&frame.data).iter().map(|u| u[0] & 0x1f).collect();
        assert!(frame.data.starts_with(&[0, 0, 0, 1]), "frame {n}: Annex-B");
        if frame.keyframe {
            let idr = types.iter().position(|&t| t == 5).expect("IDR slice");
            let sps = types.iter().position(|&t| t == 7).expect("SPS before IDR");
            let pps = types.iter().position(|&t| t == 8).expect("PPS before IDR");
            assert!(sps < pps && pps < idr, "frame {n}: NAL order {types:?}");
            let sps_unit = h264::nal_units(&frame.data)[sps].to_vec();
            let (profile, constraints, level) = (sps_unit[1], sps_unit[2], sps_unit[3]);
            assert_eq!(profile, 66, "Baseline profile");
            assert!(constraints & 0x40 != 0, "constraint_set1: Constrained Baseline");
            if n == 0 {
                eprintln!("H264 SPS: profile-level-id {profile:02x}{constraints:02x}{level:02x}, NAL types {types:?}");
            }
        } else {
            assert!(
                types.iter().all(|&t| t != 5 && t != 7),
                "frame {n}: delta frame NAL types {types:?}"
            );
        }
    }
}

#[test]
fn vp8_round_trip_keeps_size_and_counter() {
    round_trip(VideoCodec::Vp8);
}

#[test]
fn vp9_round_trip_keeps_size_and_counter() {
    round_trip(VideoCodec::Vp9);
}

#[test]
fn h264_round_trip_keeps_size_and_counter() {
    round_trip(VideoCodec::H264);
}

/// 3 s at 30 fps, 500 kbps: the average bitrate (keyframe included) is within ±50 % of the target.
fn bitrate_is_respected(codec: VideoCodec) {
    let mut encoder = VideoEncoderPipeline::new(VideoEncoderConfig {
        keyframe_interval: DEFAULT_KEYFRAME_INTERVAL,
        ..config(codec)
    })
    .expect("encoder");
    let (encoded, _, _) = encode_pattern(&mut encoder, 90, &[], &[]);
    let bytes: usize = encoded.iter().map(|f| f.data.len()).sum();
    let kbps = bytes as f64 * 8.0 / 3.0 / 1000.0;
    let last_2s: usize = encoded[30..].iter().map(|f| f.data.len()).sum();
    let stats = encoder.stats();
    assert!(
        (stats.average_bitrate_bps() / 1000.0 - kbps).abs() < 0.01,
        "stats agree"
    );
    eprintln!(
        "{codec} bitrate over 3 s at {KBPS} kbps target: {kbps:.0} kbps ({:+.0} %), last 2 s {:.0} kbps",
        (kbps / f64::from(KBPS) - 1.0) * 100.0,
        last_2s as f64 * 8.0 / 2.0 / 1000.0
    );
    assert!(
        (250.0..=750.0).contains(&kbps),
        "{codec}: {kbps:.0} kbps for a {KBPS} kbps target"
    );

    // Halving the target from BWE takes effect without a keyframe.
    encoder.set_bitrate_kbps(KBPS / 2).expect("set bitrate");
    let mut source = CounterPattern::new(WIDTH, HEIGHT).expect("pattern").starting_at(90);
    let mut low = 0;
    for n in 0..90 {
        let out = encoder.encode(&source.next_frame(), false).expect("encode");
        assert!(out.iter().all(|f| !f.keyframe), "frame {n} after the bitrate change");
        if n >= 30 {
            low += out.iter().map(|f| f.data.len()).sum::<usize>();
        }
    }
    let low_kbps = low as f64 * 8.0 / 2.0 / 1000.0;
    eprintln!(
        "{codec} after set_bitrate_kbps({}): {low_kbps:.0} kbps over the last 2 s",
        KBPS / 2
    );
    assert!(
        (125.0..=375.0).contains(&low_kbps),
        "{codec}: {low_kbps:.0} kbps for a {} kbps target",
        KBPS / 2
    );
}

#[test]
fn vp8_bitrate_is_respected() {
    bitrate_is_respected(VideoCodec::Vp8);
}

#[test]
fn vp9_bitrate_is_respected() {
    bitrate_is_respected(VideoCodec::Vp9);
}

#[test]
fn h264_bitrate_is_respected() {
    bitrate_is_respected(VideoCodec::H264);
}

/// The counter also survives the small presets at their own low bitrates.
#[test]
fn small_presets_keep_the_counter_readable() {
    for name in ["120p_1", "180p_1", "360p_1"] {
        for codec in VideoCodec::ALL {
            let preset: VideoEncoderPreset = name.parse().expect(name);
            let mut encoder = VideoEncoderPipeline::new(preset.config(codec)).expect("encoder");
            let mut decoder = VideoDecoderPipeline::new(codec).expect("decoder");
            let (encoded, _, _) = encode_pattern(&mut encoder, 30, &[], &[]);
            let mut read = 0;
            for (n, frame) in encoded.iter().enumerate() {
                let decoded = decoder.decode(&frame.data).expect("decode").expect("picture");
                assert_eq!((decoded.width, decoded.height), (preset.width(), preset.height()));
                if let Some(counter) = pattern::read_counter(&decoded) {
                    assert_eq!(counter, n as u32, "{name} {codec}: a counter is right or unreadable");
                    read += 1;
                }
            }
            let kbps = encoder.stats().average_bitrate_bps() / 1000.0;
            eprintln!(
                "{name} {codec} ({}x{}@{}, {} kbps target): {read}/30 counters read, {kbps:.0} kbps",
                preset.width(),
                preset.height(),
                preset.frame_rate(),
                preset.bitrate_max_kbps()
            );
            assert!(read >= 27, "{name} {codec}: only {read}/30 counters readable");
        }
    }
}

#[test]
fn periodic_keyframes_follow_the_interval() {
    for codec in VideoCodec::ALL {
        let mut encoder = VideoEncoderPipeline::new(VideoEncoderConfig {
            width: 320,
            height: 180,
            bitrate_kbps: 300,
            keyframe_interval: 10,
            ..config(codec)
        })
        .expect("encoder");
        let (encoded, _, _) = encode_pattern(&mut encoder, 35, &[], &[]);
        let keyframes: Vec<usize> = (0..35).filter(|&n| encoded[n].keyframe).collect();
        assert_eq!(keyframes, [0, 10, 20, 30], "{codec}");
    }
}

#[test]
fn pipelines_can_move_between_threads() {
    fn assert_send<T: Send>() {}
    assert_send::<VideoEncoderPipeline>();
    assert_send::<VideoDecoderPipeline>();
    assert_send::<VideoFrame>();
    assert_send::<EncodedVideo>();
}

fn assert_code<T: std::fmt::Debug>(result: Result<T, RtcError>, code: ErrorCode, what: &str) {
    match result {
        Err(e) => assert_eq!(e.code, code, "{what}: {e:?}"),
        Ok(v) => panic!("{what}: expected {code}, got Ok({v:?})"),
    }
}

/// Corrupt and truncated frames are errors (never panics), the decoder then waits for a keyframe and recovers.
fn corrupt_data_is_an_error(codec: VideoCodec) {
    let mut encoder = VideoEncoderPipeline::new(config(codec)).expect("encoder");
    let (encoded, _, _) = encode_pattern(&mut encoder, 12, &[8], &[]);
    let mut decoder = VideoDecoderPipeline::new(codec).expect("decoder");

    assert_code(decoder.decode(&[]), ErrorCode::InvalidParams, "empty frame");
    // Before any keyframe, delta frames are dropped unread.
    assert_eq!(decoder.decode(&encoded[1].data).expect("skipped"), None);
    assert!(decoder.needs_keyframe());

    // Garbage in place of a delta frame: not this codec at all.
    let key = &encoded[0].data;
    decoder.decode(key).expect("keyframe").expect("picture");
    assert!(!decoder.needs_keyframe());
    assert_code(decoder.decode(&[0x5a; 64]), ErrorCode::UnexpectedError, "garbage");
    assert!(decoder.needs_keyframe());
    // A keyframe cut in half.
    assert_code(
        decoder.decode(&key[..key.len() / 2]),
        ErrorCode::UnexpectedError,
        "truncated keyframe",
    );
    assert!(decoder.needs_keyframe());
    // A keyframe header with garbage behind it: an error, or (if the codec cannot tell) a picture of garbage.
    let mut garbage = key[..key.len().min(24)].to_vec();
    garbage.extend((0..2000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    let result = decoder.decode(&garbage);
    assert!(
        result.as_ref().is_err_and(|e| e.code == ErrorCode::UnexpectedError) || result.as_ref().is_ok(),
        "{result:?}"
    );

    // Recovery: a whole keyframe decodes, then the deltas after it.
    let frame = decoder.decode(key).expect("keyframe").expect("picture");
    assert_eq!(pattern::read_counter(&frame), Some(0));
    for (n, f) in encoded.iter().enumerate().take(4).skip(1) {
        let frame = decoder.decode(&f.data).expect("delta").expect("picture");
        assert_eq!(pattern::read_counter(&frame), Some(n as u32));
    }
    // A truncated delta frame: error, then deltas are skipped until the requested keyframe (frame 8).
    let delta = &encoded[4].data;
    assert_code(
        decoder.decode(&delta[..delta.len() / 3]),
        ErrorCode::UnexpectedError,
        "truncated delta",
    );
    for f in &encoded[5..8] {
        assert_eq!(decoder.decode(&f.data).expect("skipped"), None);
    }
    for (n, f) in encoded.iter().enumerate().skip(8) {
        let frame = decoder.decode(&f.data).expect("after keyframe").expect("picture");
        assert_eq!(pattern::read_counter(&frame), Some(n as u32));
    }
    // A reported loss also waits for the next keyframe.
    decoder.frame_lost();
    assert!(decoder.needs_keyframe());
    assert_eq!(decoder.decode(&encoded[9].data).expect("skipped"), None);

    let stats = decoder.stats();
    eprintln!("{codec} decoder after the corrupt-data sequence: {stats:?}");
    assert!(stats.errors >= 3 && stats.frames_skipped >= 5, "{stats:?}");
}

#[test]
fn vp8_corrupt_data_is_an_error() {
    corrupt_data_is_an_error(VideoCodec::Vp8);
}

#[test]
fn vp9_corrupt_data_is_an_error() {
    corrupt_data_is_an_error(VideoCodec::Vp9);
}

#[test]
fn h264_corrupt_data_is_an_error() {
    corrupt_data_is_an_error(VideoCodec::H264);
}

/// Thousands of mutated frames (bit flips, cuts, splices) through each decoder: results vary, panics and crashes
/// must not happen.
#[test]
fn mutated_frames_never_panic() {
    for codec in VideoCodec::ALL {
        let mut encoder = VideoEncoderPipeline::new(VideoEncoderConfig {
            width: 160,
            height: 96,
            bitrate_kbps: 200,
            ..config(codec)
        })
        .expect("encoder");
        let (encoded, _, _) = encode_pattern(&mut encoder, 6, &[], &[]);
        let mut decoder = VideoDecoderPipeline::new(codec).expect("decoder");
        let mut seed = 0x1234_5678u32;
        let mut rand = || {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            seed
        };
        let (mut ok, mut err) = (0, 0);
        for round in 0..1500 {
            let source = &encoded[round % encoded.len()].data;
            let mut data = source.clone();
            match rand() % 4 {
                0 => {
                    for _ in 0..1 + rand() % 8 {
                        let i = rand() as usize % data.len();
                        data[i] ^= 1 << (rand() % 8);
                    }
                }
                1 => data.truncate(rand() as usize % data.len()),
                2 => {
                    let other = &encoded[rand() as usize % encoded.len()].data;
                    let cut = rand() as usize % data.len().min(other.len());
                    data.truncate(cut);
                    data.extend_from_slice(&other[cut..]);
                }
                _ => {
                    let i = rand() as usize % data.len();
                    data[i..].iter_mut().for_each(|b| *b = rand() as u8);
                }
            }
            if round % 7 == 0 {
                // Keep the decoder going: a clean keyframe now and then.
                let _ = decoder.decode(&encoded[0].data);
            }
            match decoder.decode(&data) {
                Ok(_) => ok += 1,
                Err(e) => {
                    assert!(
                        matches!(
                            e.code,
                            ErrorCode::UnexpectedError | ErrorCode::InvalidParams | ErrorCode::NotSupported
                        ),
                        "{e:?}"
                    );
                    err += 1;
                }
            }
        }
        eprintln!("{codec}: 1500 mutated frames decoded without panic ({ok} Ok, {err} errors)");
    }
}

#[test]
fn bad_frames_are_invalid_params() {
    for codec in VideoCodec::ALL {
        let mut encoder = VideoEncoderPipeline::new(config(codec)).expect("encoder");
        let good = CounterPattern::new(WIDTH, HEIGHT).expect("pattern").frame(0);
        let mut short = good.clone();
        short.data.pop();
        let cases = [
            ("another size", CounterPattern::new(320, 180).expect("pattern").frame(0)),
            ("odd width", VideoFrame::new(641, 360, vec![0; 641 * 360 * 3 / 2])),
            ("too small", VideoFrame::new(8, 8, vec![0; 96])),
            ("too big", VideoFrame::new(8192, 16, vec![0; 8192 * 16 * 3 / 2])),
            ("short data", short),
            ("no data", VideoFrame::new(WIDTH, HEIGHT, Vec::new())),
            ("default", VideoFrame::default()),
        ];
        for (what, frame) in &cases {
            assert_code(encoder.encode(frame, false), ErrorCode::InvalidParams, what);
        }
        // Nothing changed: the first frame that encodes is still frame 0, a keyframe at RTP time 0.
        let out = encoder.encode(&good, false).expect("encode");
        assert_eq!((out[0].keyframe, out[0].rtp_timestamp), (true, 0));
        assert_eq!(encoder.stats().frames_in, 1);
        // Caller timestamps must advance.
        assert_code(
            encoder.encode_at(&good, 0, false),
            ErrorCode::InvalidParams,
            "same timestamp",
        );
        assert_code(
            encoder.encode_at(&good, u32::MAX, false),
            ErrorCode::InvalidParams,
            "going back",
        );
        let out = encoder.encode_at(&good, 4500, false).expect("encode_at");
        assert_eq!(out[0].rtp_timestamp, 4500);
        let out = encoder.encode(&good, false).expect("encode");
        assert_eq!(out[0].rtp_timestamp, 7500);
        assert_code(encoder.set_bitrate_kbps(0), ErrorCode::InvalidParams, "bitrate 0");
        assert_eq!(encoder.config().bitrate_kbps, KBPS);
    }
}

#[test]
fn bad_configs_are_invalid_params() {
    let base = config(VideoCodec::Vp8);
    let cases = [
        ("odd width", VideoEncoderConfig { width: 641, ..base }),
        ("zero height", VideoEncoderConfig { height: 0, ..base }),
        ("too wide", VideoEncoderConfig { width: 8192, ..base }),
        ("0 fps", VideoEncoderConfig { frame_rate: 0, ..base }),
        (
            "240 fps",
            VideoEncoderConfig {
                frame_rate: 240,
                ..base
            },
        ),
        (
            "1 kbps",
            VideoEncoderConfig {
                bitrate_kbps: 1,
                ..base
            },
        ),
        (
            "100 Mbps",
            VideoEncoderConfig {
                bitrate_kbps: 100_000,
                ..base
            },
        ),
        (
            "H.264 4096 wide",
            VideoEncoderConfig {
                codec: VideoCodec::H264,
                width: 4096,
                height: 2160,
                ..base
            },
        ),
    ];
    for (what, config) in cases {
        assert_code(VideoEncoderPipeline::new(config), ErrorCode::InvalidParams, what);
    }
    // VP8 and VP9 go up to 4096; the 4k presets fit H.264 too.
    VideoEncoderConfig {
        width: 4096,
        height: 2160,
        ..base
    }
    .validate()
    .expect("4096 VP8");
    VideoEncoderConfig::from_preset("4k_3".parse().expect("4k_3"), VideoCodec::H264)
        .validate()
        .expect("4k H.264");
}

#[test]
fn camera_presets_parse() {
    let cases = [
        ("120p_1", 160, 120, 15, 65),
        ("180p_1", 320, 180, 15, 140),
        ("240p_1", 320, 240, 15, 200),
        ("360p_1", 640, 360, 15, 400),
        ("480p_1", 640, 480, 15, 500),
        ("720p_1", 1280, 720, 15, 1130),
        ("720p_2", 1280, 720, 30, 2000),
        ("1080p_1", 1920, 1080, 15, 2080),
        ("1080p_2", 1920, 1080, 30, 3000),
        ("720p_auto", 1280, 720, 30, 3000),
        ("4k", 3840, 2160, 30, 8910),
    ];
    for (name, width, height, fps, kbps) in cases {
        let preset: VideoEncoderPreset = name.parse().expect(name);
        let config = preset.config(VideoCodec::Vp9);
        assert_eq!(
            (config.width, config.height, config.frame_rate, config.bitrate_kbps),
            (width, height, fps, kbps),
            "{name}"
        );
        assert_eq!(config.codec, VideoCodec::Vp9);
        config.validate().expect(name);
    }
    assert_eq!(
        "480p".parse::<VideoEncoderPreset>().expect("alias"),
        VideoEncoderPreset::DEFAULT
    );
    assert_eq!(VideoEncoderPreset::default().as_str(), "480p_1");
    assert_eq!(
        VideoEncoderConfig::default(),
        VideoEncoderPreset::DEFAULT.config(VideoCodec::Vp8)
    );
    // The Web SDK's 51 keys: 41 entries and 10 short aliases.
    let aliases = [
        "90p", "120p", "180p", "240p", "360p", "480p", "720p", "1080p", "1440p", "4k",
    ];
    for alias in aliases {
        alias.parse::<VideoEncoderPreset>().expect(alias);
    }
    assert_eq!(VideoEncoderPreset::ALL.len() + aliases.len(), 51);
    for preset in VideoEncoderPreset::ALL {
        let key = preset.as_str();
        assert_eq!(key.parse::<VideoEncoderPreset>().expect(key), preset);
        for codec in VideoCodec::ALL {
            preset.config(codec).validate().expect(key);
        }
    }
    for bad in ["", "480", "480p_5", "720P_1", "1080p_4", "_1", "screen"] {
        assert_code(bad.parse::<VideoEncoderPreset>(), ErrorCode::InvalidParams, bad);
    }
}

#[test]
fn codec_names() {
    for codec in VideoCodec::ALL {
        assert_eq!(codec.as_str().parse::<VideoCodec>().expect("parse"), codec);
        assert_eq!(codec.stats_name().parse::<VideoCodec>().expect("parse"), codec);
        assert_eq!(
            VideoCodec::try_from(crate::Codec::from(codec)).expect("client codec"),
            codec
        );
    }
    assert_code("av1".parse::<VideoCodec>(), ErrorCode::InvalidParams, "av1");
    assert_code(
        VideoCodec::try_from(crate::Codec::Av1),
        ErrorCode::NotSupported,
        "client av1",
    );
}

#[test]
fn counter_pattern_reads_back_uncompressed() {
    for (w, h) in [
        (640, 360),
        (1280, 720),
        (320, 180),
        (160, 120),
        (96, 64),
        (1920, 1080),
        (480, 480),
    ] {
        let source = CounterPattern::new(w, h).expect("pattern");
        let (bw, bh) = source.block_size();
        for counter in [0, 1, 0x8000_0000, 0xdead_beef, u32::MAX] {
            let frame = source.frame(counter);
            frame.validate().expect("valid frame");
            assert_eq!(pattern::read_counter(&frame), Some(counter), "{w}x{h} blocks {bw}x{bh}");
        }
        if w >= 512 {
            assert!(bw >= 16 && bh >= 16, "{w}x{h}: {bw}x{bh}");
        }
    }
    assert_eq!(CounterPattern::new(640, 360).expect("pattern").block_size(), (20, 20));
    let mut source = CounterPattern::new(640, 360).expect("pattern").starting_at(u32::MAX);
    assert_eq!(pattern::read_counter(&source.next_frame()), Some(u32::MAX));
    assert_eq!(source.next_counter(), 0);
    // Frames that are not a pattern have no counter.
    assert_eq!(
        pattern::read_counter(&VideoFrame::black(640, 360).expect("black")),
        None
    );
    assert_eq!(pattern::read_counter(&VideoFrame::new(640, 360, vec![0; 10])), None);
    assert_eq!(pattern::read_counter(&VideoFrame::default()), None);
    assert_code(CounterPattern::new(17, 16), ErrorCode::InvalidParams, "odd width");
}

#[test]
fn video_frame_layout() {
    let frame = VideoFrame::filled(32, 16, 1, 2, 3).expect("frame");
    assert_eq!(frame.data.len(), 32 * 16 * 3 / 2);
    assert_eq!(
        (frame.y_plane().len(), frame.u_plane().len(), frame.v_plane().len()),
        (512, 128, 128)
    );
    assert!(frame.y_plane().iter().all(|&b| b == 1));
    assert!(frame.u_plane().iter().all(|&b| b == 2));
    assert!(frame.v_plane().iter().all(|&b| b == 3));
    assert_eq!(VideoFrame::i420_len(640, 360), Some(345_600));
    let short = VideoFrame::new(32, 16, vec![0; 600]);
    assert_eq!(
        (short.y_plane().len(), short.u_plane().len(), short.v_plane().len()),
        (512, 0, 0)
    );
    assert_code(short.validate(), ErrorCode::InvalidParams, "short");
    assert_code(VideoFrame::black(14, 16), ErrorCode::InvalidParams, "14 wide");
}

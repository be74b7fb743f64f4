import { describe, expect, it } from "vitest";
import {
  AUDIO_PRESET_NAMES,
  CAMERA_PRESET_NAMES,
  audioEncoderConfig,
  cameraEncoderConfig,
  maxBitrateBps,
  maxFramerate,
  screenEncoderConfig,
  videoConstraints,
} from "../../src/presets";
import { preferredCodecs } from "../../src/transport";
import { HTTP_RETRY, WEBSOCKET_RETRY, mayRetry, retryDelay } from "../../src/retry";

describe("encoder presets", () => {
  it("has Agora's 51 camera presets with 480p_1 by default", () => {
    expect(CAMERA_PRESET_NAMES).toHaveLength(51);
    expect(cameraEncoderConfig()).toEqual({ width: 640, height: 480, frameRate: 15, bitrateMin: 100, bitrateMax: 500 });
    expect(cameraEncoderConfig("720p_2")).toEqual({ width: 1280, height: 720, frameRate: 30, bitrateMin: 120, bitrateMax: 2000 });
    expect(cameraEncoderConfig("90p")).toEqual({ width: 160, height: 90 });
    expect(cameraEncoderConfig("4k_3")).toMatchObject({ frameRate: 60, bitrateMax: 13500 });
  });

  it("gives screen presets as maximum sizes, 1080p_2 by default", () => {
    expect(screenEncoderConfig()).toEqual({ width: { max: 1920 }, height: { max: 1080 }, frameRate: 30 });
    expect(screenEncoderConfig("480p_1")).toEqual({ width: { max: 640 }, height: { max: 480 }, frameRate: 5 });
    expect(screenEncoderConfig("720p_auto")).toMatchObject({ width: 1280, bitrateMin: 900, bitrateMax: 3000 });
  });

  it("has the six audio presets with the code's values, music_standard by default", () => {
    expect(AUDIO_PRESET_NAMES).toHaveLength(6);
    expect(audioEncoderConfig()).toEqual({ sampleRate: 48000, stereo: false });
    expect(audioEncoderConfig("speech_standard")).toEqual({ sampleRate: 32000, stereo: false, bitrate: 18 });
    expect(audioEncoderConfig("high_quality_stereo")).toEqual({ sampleRate: 48000, stereo: true, bitrate: 192 });
  });

  it("refuses unknown presets and bad values with INVALID_PARAMS", () => {
    expect(() => cameraEncoderConfig("481p")).toThrowError(/INVALID_PARAMS/);
    expect(() => screenEncoderConfig("4k")).toThrowError(/INVALID_PARAMS/);
    expect(() => audioEncoderConfig("loud")).toThrowError(/INVALID_PARAMS/);
    expect(() => cameraEncoderConfig({ width: -5 })).toThrowError(/INVALID_PARAMS/);
    expect(() => cameraEncoderConfig({ bitrateMax: Number.NaN })).toThrowError(/INVALID_PARAMS/);
  });

  it("turns configs into constraints and sender limits", () => {
    const config = cameraEncoderConfig("360p_4");
    expect(videoConstraints(config)).toEqual({ width: { ideal: 640 }, height: { ideal: 360 }, frameRate: { ideal: 30 } });
    expect(videoConstraints({ width: { max: 800 } })).toEqual({ width: { max: 800 } });
    expect(maxBitrateBps(config)).toBe(600000);
    expect(maxBitrateBps({ bitrate: 64 })).toBe(64000);
    expect(maxFramerate(config)).toBe(30);
    expect(maxFramerate({ frameRate: { max: 24 } })).toBe(24);
  });
});

describe("codec preference", () => {
  const caps = [
    { mimeType: "video/VP8", clockRate: 90000 },
    { mimeType: "video/rtx", clockRate: 90000 },
    { mimeType: "video/VP9", clockRate: 90000, sdpFmtpLine: "profile-id=0" },
    { mimeType: "video/VP9", clockRate: 90000, sdpFmtpLine: "profile-id=2" },
    { mimeType: "video/H264", clockRate: 90000 },
    { mimeType: "video/red", clockRate: 90000 },
  ];

  it("keeps only the chosen codec's profiles and the repair formats, chosen first", () => {
    expect(preferredCodecs(caps, "vp9").map((c) => c.mimeType)).toEqual(["video/VP9", "video/VP9", "video/rtx", "video/red"]);
    expect(preferredCodecs(caps, "h264").map((c) => c.mimeType)).toEqual(["video/H264", "video/rtx", "video/red"]);
  });

  it("falls back to VP8 when the browser lacks the codec", () => {
    expect(preferredCodecs(caps, "av1").map((c) => c.mimeType)).toEqual(["video/VP8", "video/rtx", "video/red"]);
  });
});

describe("retry policy", () => {
  it("waits 500 ms x 1.5^n capped at 10 s, like the Rust SDK", () => {
    expect([0, 1, 2, 3].map((n) => retryDelay(HTTP_RETRY, n))).toEqual([500, 750, 1125, 1687.5]);
    expect(retryDelay(HTTP_RETRY, 40)).toBe(10000);
  });

  it("retries discovery 6 times and the websocket forever", () => {
    expect(mayRetry(HTTP_RETRY, 5)).toBe(true);
    expect(mayRetry(HTTP_RETRY, 6)).toBe(false);
    expect(mayRetry(WEBSOCKET_RETRY, 1e9)).toBe(true);
  });
});

describe("subscriber offers", () => {
  it("get one msid per m-line, keyed by mid, so a repeated publisher msid is not refused", async () => {
    const { uniqueMsids } = await import("../../src/transport");
    const offer = [
      "v=0", "a=msid-semantic: WMS stoa-2",
      "m=video 9 UDP/TLS/RTP/SAVPF 96", "a=mid:cDa", "a=inactive", "a=msid:stoa-2 stoa-2-video", "a=ssrc:1 msid:stoa-2 stoa-2-video",
      "m=video 9 UDP/TLS/RTP/SAVPF 96", "a=mid:5oB", "a=sendonly", "a=msid:stoa-2 stoa-2-video", "a=ssrc:2 msid:stoa-2 stoa-2-video",
      "",
    ].join("\r\n");
    const fixed = uniqueMsids(offer);
    expect(fixed.match(/^a=msid:.*$/gm)).toEqual(["a=msid:stoa-2 stoa-2-video-cDa", "a=msid:stoa-2 stoa-2-video-5oB"]);
    expect(fixed).toContain("a=ssrc:2 msid:stoa-2 stoa-2-video-5oB\r\n");
    expect(fixed).toContain("a=msid-semantic: WMS stoa-2\r\n");
    expect(uniqueMsids(fixed.replace(/-cDa|-5oB/g, ""))).toBe(fixed);
  });
});

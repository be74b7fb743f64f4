import { AgoraRTCError } from "./errors";
import type {
  AudioEncoderConfiguration,
  ConstrainLong,
  VideoEncoderConfiguration,
} from "./types";

type Preset = [width: number, height: number, frameRate?: number, bitrateMin?: number, bitrateMax?: number];

/** Camera presets (agora-rtc-sdk-ng 4.24.8): width x height @ fps, bitrate range in Kbps. */
const CAMERA: Record<string, Preset> = {
  "90p": [160, 90], "90p_1": [160, 90],
  "120p": [160, 120, 15, 30, 65], "120p_1": [160, 120, 15, 30, 65], "120p_3": [120, 120, 15, 30, 50], "120p_4": [212, 120],
  "180p": [320, 180, 15, 30, 140], "180p_1": [320, 180, 15, 30, 140], "180p_3": [180, 180, 15, 30, 100],
  "180p_4": [240, 180, 15, 30, 120],
  "240p": [320, 240, 15, 40, 200], "240p_1": [320, 240, 15, 40, 200], "240p_3": [240, 240, 15, 40, 140],
  "240p_4": [424, 240, 15, 40, 220],
  "360p": [640, 360, 15, 80, 400], "360p_1": [640, 360, 15, 80, 400], "360p_3": [360, 360, 15, 80, 260],
  "360p_4": [640, 360, 30, 80, 600], "360p_6": [360, 360, 30, 80, 400], "360p_7": [480, 360, 15, 80, 320],
  "360p_8": [480, 360, 30, 80, 490], "360p_9": [640, 360, 15, 80, 800], "360p_10": [640, 360, 24, 80, 800],
  "360p_11": [640, 360, 24, 80, 1000],
  "480p": [640, 480, 15, 100, 500], "480p_1": [640, 480, 15, 100, 500], "480p_2": [640, 480, 30, 100, 1000],
  "480p_3": [480, 480, 15, 100, 400], "480p_4": [640, 480, 30, 100, 750], "480p_6": [480, 480, 30, 100, 600],
  "480p_8": [848, 480, 15, 100, 610], "480p_9": [848, 480, 30, 100, 930], "480p_10": [640, 480, 10, 100, 400],
  "720p": [1280, 720, 15, 120, 1130], "720p_1": [1280, 720, 15, 120, 1130], "720p_2": [1280, 720, 30, 120, 2000],
  "720p_3": [1280, 720, 30, 120, 1710], "720p_auto": [1280, 720, 30, 900, 3000], "720p_5": [960, 720, 15, 120, 910],
  "720p_6": [960, 720, 30, 120, 1380],
  "1080p": [1920, 1080, 15, 120, 2080], "1080p_1": [1920, 1080, 15, 120, 2080], "1080p_2": [1920, 1080, 30, 120, 3000],
  "1080p_3": [1920, 1080, 30, 120, 3150], "1080p_5": [1920, 1080, 60, 120, 4780],
  "1440p": [2560, 1440, 30, 120, 4850], "1440p_1": [2560, 1440, 30, 120, 4850], "1440p_2": [2560, 1440, 60, 120, 7350],
  "4k": [3840, 2160, 30, 120, 8910], "4k_1": [3840, 2160, 30, 120, 8910], "4k_3": [3840, 2160, 60, 120, 13500],
};

/** Screen presets: `{width: {max}, height: {max}, frameRate}`, no bitrate, except 720p_auto. */
const SCREEN: Record<string, Preset> = {
  "480p": [640, 480, 5], "480p_1": [640, 480, 5], "480p_2": [640, 480, 30], "480p_3": [640, 480, 15],
  "720p": [1280, 720, 5], "720p_1": [1280, 720, 5], "720p_2": [1280, 720, 30], "720p_3": [1280, 720, 15],
  "1080p": [1920, 1080, 5], "1080p_1": [1920, 1080, 5], "1080p_2": [1920, 1080, 30], "1080p_3": [1920, 1080, 15],
};

/** Audio presets as the 4.24.8 code has them (the docs disagree on some bitrates). */
const AUDIO: Record<string, AudioEncoderConfiguration> = {
  speech_low_quality: { sampleRate: 16000, stereo: false },
  speech_standard: { sampleRate: 32000, stereo: false, bitrate: 18 },
  music_standard: { sampleRate: 48000, stereo: false },
  standard_stereo: { sampleRate: 48000, stereo: true, bitrate: 56 },
  high_quality: { sampleRate: 48000, stereo: false, bitrate: 128 },
  high_quality_stereo: { sampleRate: 48000, stereo: true, bitrate: 192 },
};

export const DEFAULT_CAMERA_PRESET = "480p_1";
export const DEFAULT_SCREEN_PRESET = "1080p_2";
export const DEFAULT_AUDIO_PRESET = "music_standard";

export const CAMERA_PRESET_NAMES = Object.keys(CAMERA);
export const SCREEN_PRESET_NAMES = Object.keys(SCREEN);
export const AUDIO_PRESET_NAMES = Object.keys(AUDIO);

function fromPreset([width, height, frameRate, bitrateMin, bitrateMax]: Preset): VideoEncoderConfiguration {
  const config: VideoEncoderConfiguration = { width, height };
  if (frameRate !== undefined) config.frameRate = frameRate;
  if (bitrateMin !== undefined) config.bitrateMin = bitrateMin;
  if (bitrateMax !== undefined) config.bitrateMax = bitrateMax;
  return config;
}

function checkVideoConfig(config: VideoEncoderConfiguration, what: string): VideoEncoderConfiguration {
  const numberOrRange = (v: unknown) =>
    v === undefined ||
    (typeof v === "number" && Number.isFinite(v) && v > 0) ||
    (typeof v === "object" && v !== null && Object.values(v).every((x) => typeof x === "number" && x >= 0));
  for (const key of ["width", "height", "frameRate"] as const) {
    if (!numberOrRange(config[key])) {
      throw new AgoraRTCError("INVALID_PARAMS", `${what}.${key} must be a positive number or a ConstrainLong`);
    }
  }
  for (const key of ["bitrateMin", "bitrateMax"] as const) {
    const v = config[key];
    if (v !== undefined && !(typeof v === "number" && v >= 0 && Number.isFinite(v))) {
      throw new AgoraRTCError("INVALID_PARAMS", `${what}.${key} must be a non-negative number of Kbps`);
    }
  }
  return { ...config };
}

/** A camera encoder config from a preset name or an object; an unknown name is INVALID_PARAMS. */
export function cameraEncoderConfig(config?: VideoEncoderConfiguration | string): VideoEncoderConfiguration {
  if (config === undefined) return fromPreset(CAMERA[DEFAULT_CAMERA_PRESET]!);
  if (typeof config === "string") {
    const preset = CAMERA[config];
    if (!preset) throw new AgoraRTCError("INVALID_PARAMS", `invalid video encoder preset "${config}"`);
    return fromPreset(preset);
  }
  if (typeof config !== "object" || config === null) {
    throw new AgoraRTCError("INVALID_PARAMS", "encoderConfig must be a preset name or a VideoEncoderConfiguration");
  }
  return checkVideoConfig(config, "encoderConfig");
}

/** A screen encoder config: presets give maximum sizes, so the captured window keeps its aspect ratio. */
export function screenEncoderConfig(config?: VideoEncoderConfiguration | string): VideoEncoderConfiguration {
  const name = config ?? DEFAULT_SCREEN_PRESET;
  if (typeof name === "string") {
    if (name === "720p_auto") return fromPreset(CAMERA["720p_auto"]!);
    const preset = SCREEN[name];
    if (!preset) throw new AgoraRTCError("INVALID_PARAMS", `invalid screen encoder preset "${name}"`);
    return { width: { max: preset[0] }, height: { max: preset[1] }, frameRate: preset[2]! };
  }
  return cameraEncoderConfig(name);
}

export function audioEncoderConfig(config?: AudioEncoderConfiguration | string): AudioEncoderConfiguration {
  if (config === undefined) return { ...AUDIO[DEFAULT_AUDIO_PRESET]! };
  if (typeof config === "string") {
    const preset = AUDIO[config];
    if (!preset) throw new AgoraRTCError("INVALID_PARAMS", `invalid audio encoder preset "${config}"`);
    return { ...preset };
  }
  if (typeof config !== "object" || config === null) {
    throw new AgoraRTCError("INVALID_PARAMS", "encoderConfig must be a preset name or an AudioEncoderConfiguration");
  }
  return { ...config };
}

function constrain(value: number | ConstrainLong | undefined): ConstrainULong | undefined {
  if (value === undefined) return undefined;
  if (typeof value === "number") return { ideal: value };
  return { ...value };
}

/** getUserMedia video constraints for an encoder config. */
export function videoConstraints(config: VideoEncoderConfiguration): MediaTrackConstraints {
  const out: MediaTrackConstraints = {};
  const width = constrain(config.width);
  const height = constrain(config.height);
  const frameRate = constrain(config.frameRate);
  if (width) out.width = width;
  if (height) out.height = height;
  if (frameRate) out.frameRate = frameRate;
  return out;
}

/** The sender's maxBitrate (bits/s) for an encoder config, when it names one. */
export function maxBitrateBps(config: VideoEncoderConfiguration | AudioEncoderConfiguration): number | undefined {
  const kbps = "bitrateMax" in config ? config.bitrateMax : "bitrate" in config ? config.bitrate : undefined;
  return kbps === undefined ? undefined : Math.round(kbps * 1000);
}

export function maxFramerate(config: VideoEncoderConfiguration): number | undefined {
  const f = config.frameRate;
  if (f === undefined) return undefined;
  if (typeof f === "number") return f;
  return f.max ?? f.exact ?? f.ideal;
}

// The AgoraRTC object: the same names and behaviour as agora-rtc-sdk-ng 4.x, backed by a Stoa server.

import { AgoraRTCClient } from "./client";
import { getParameter, log, setLogLevel, setParameter } from "./config";
import { getCameras, getDevices, getMicrophones, getPlaybackDevices, watchDevices } from "./devices";
import { AgoraRTCError, AgoraRTCErrorCode, ERROR_CATALOG, fromMediaError } from "./errors";
import { EventEmitter } from "./events";
import { sdkEvents } from "./global";
import { audioEncoderConfig, cameraEncoderConfig, screenEncoderConfig, videoConstraints } from "./presets";
import { BufferSourceAudioTrack, loadAudioBuffer } from "./tracks/buffer";
import {
  CameraVideoTrack,
  LocalAudioTrack,
  LocalVideoTrack,
  MicrophoneAudioTrack,
  ScreenVideoTrack,
  getUserMedia,
  microphoneConstraints,
} from "./tracks/local";
import type {
  BufferSourceAudioTrackInitConfig,
  CameraVideoTrackInitConfig,
  ClientConfig,
  CustomAudioTrackInitConfig,
  CustomVideoTrackInitConfig,
  DeviceInfo,
  MicrophoneAudioTrackInitConfig,
  ScreenAudioTrackInitConfig,
  ScreenVideoTrackInitConfig,
  VideoEncoderConfiguration,
} from "./types";

export const VERSION = "4.24.8";
/** Stoa's own build of the API above. */
export const STOA_VERSION = "0.1.0";

export const ConnectionDisconnectedReason = {
  LEAVE: "LEAVE",
  NETWORK_ERROR: "NETWORK_ERROR",
  SERVER_ERROR: "SERVER_ERROR",
  UID_BANNED: "UID_BANNED",
  IP_BANNED: "IP_BANNED",
  CHANNEL_BANNED: "CHANNEL_BANNED",
  TOKEN_EXPIRE: "TOKEN_EXPIRE",
  UID_CONFLICT: "UID_CONFLICT",
  FALLBACK: "FALLBACK",
} as const;

export const RemoteStreamType = { HIGH_STREAM: 0, LOW_STREAM: 1 } as const;
export const AudienceLatencyLevelType = {
  AUDIENCE_LEVEL_LOW_LATENCY: 1,
  AUDIENCE_LEVEL_ULTRA_LOW_LATENCY: 2,
  AUDIENCE_LEVEL_SYNC_LATENCY: 3,
} as const;

export function createClient(config?: ClientConfig): AgoraRTCClient {
  return new AgoraRTCClient(config);
}

function checkObject(config: unknown, name: string): void {
  if (config !== undefined && (typeof config !== "object" || config === null)) {
    throw new AgoraRTCError("INVALID_PARAMS", `${name} must be an object`);
  }
}

function cameraConstraints(config: CameraVideoTrackInitConfig, encoder: VideoEncoderConfiguration): MediaTrackConstraints {
  const constraints = videoConstraints(encoder);
  if (config.cameraId !== undefined) {
    if (typeof config.cameraId !== "string") throw new AgoraRTCError("INVALID_PARAMS", "cameraId must be a string");
    constraints.deviceId = { exact: config.cameraId };
  }
  if (config.facingMode !== undefined) constraints.facingMode = config.facingMode;
  return constraints;
}

export async function createMicrophoneAudioTrack(config: MicrophoneAudioTrackInitConfig = {}): Promise<MicrophoneAudioTrack> {
  checkObject(config, "config");
  const encoder = audioEncoderConfig(config.encoderConfig);
  const constraints = microphoneConstraints(config, encoder);
  const stream = await getUserMedia({ audio: constraints });
  return new MicrophoneAudioTrack(stream.getAudioTracks()[0]!, encoder, constraints);
}

export async function createCameraVideoTrack(config: CameraVideoTrackInitConfig = {}): Promise<CameraVideoTrack> {
  checkObject(config, "config");
  const encoder = cameraEncoderConfig(config.encoderConfig);
  const constraints = cameraConstraints(config, encoder);
  const stream = await getUserMedia({ video: constraints });
  return new CameraVideoTrack(stream.getVideoTracks()[0]!, encoder, constraints, config.optimizationMode);
}

/** Both permissions in one prompt, as Agora does. */
export async function createMicrophoneAndCameraTracks(
  audioConfig: MicrophoneAudioTrackInitConfig = {},
  videoConfig: CameraVideoTrackInitConfig = {},
): Promise<[MicrophoneAudioTrack, CameraVideoTrack]> {
  checkObject(audioConfig, "audioConfig");
  checkObject(videoConfig, "videoConfig");
  const audioEncoder = audioEncoderConfig(audioConfig.encoderConfig);
  const videoEncoder = cameraEncoderConfig(videoConfig.encoderConfig);
  const audio = microphoneConstraints(audioConfig, audioEncoder);
  const video = cameraConstraints(videoConfig, videoEncoder);
  const stream = await getUserMedia({ audio, video });
  return [
    new MicrophoneAudioTrack(stream.getAudioTracks()[0]!, audioEncoder, audio),
    new CameraVideoTrack(stream.getVideoTracks()[0]!, videoEncoder, video, videoConfig.optimizationMode),
  ];
}

export function createScreenVideoTrack(config: ScreenVideoTrackInitConfig, withAudio: "enable"): Promise<[LocalVideoTrack, LocalAudioTrack]>;
export function createScreenVideoTrack(config: ScreenVideoTrackInitConfig, withAudio?: "disable"): Promise<LocalVideoTrack>;
export function createScreenVideoTrack(
  config: ScreenVideoTrackInitConfig,
  withAudio?: "enable" | "disable" | "auto" | ScreenAudioTrackInitConfig,
): Promise<[LocalVideoTrack, LocalAudioTrack] | LocalVideoTrack>;
/**
 * getDisplayMedia. With `"enable"` (or an audio config) audio is required: no audio chosen by the user is
 * SHARE_AUDIO_NOT_ALLOWED. With `"auto"` audio is returned when the user shared it.
 */
export async function createScreenVideoTrack(
  config: ScreenVideoTrackInitConfig = {},
  withAudio: "enable" | "disable" | "auto" | ScreenAudioTrackInitConfig = "disable",
): Promise<[LocalVideoTrack, LocalAudioTrack] | LocalVideoTrack> {
  checkObject(config, "config");
  const audioWanted = withAudio !== "disable";
  const audioRequired = withAudio === "enable" || typeof withAudio === "object";
  if (typeof withAudio === "string" && !["enable", "disable", "auto"].includes(withAudio)) {
    throw new AgoraRTCError("INVALID_PARAMS", 'withAudio must be "enable", "disable", "auto" or a ScreenAudioTrackInitConfig');
  }
  if (typeof navigator === "undefined" || !navigator.mediaDevices?.getDisplayMedia) {
    throw new AgoraRTCError("NOT_SUPPORTED", "this browser cannot share the screen (no getDisplayMedia)");
  }
  const encoder = screenEncoderConfig(config.encoderConfig);
  const video: MediaTrackConstraints & Record<string, unknown> = { ...videoConstraints(encoder) };
  if (config.displaySurface) video.displaySurface = config.displaySurface;
  const options: DisplayMediaStreamOptions & Record<string, unknown> = { video, audio: audioWanted };
  if (config.selfBrowserSurface) options.selfBrowserSurface = config.selfBrowserSurface;
  if (config.surfaceSwitching) options.surfaceSwitching = config.surfaceSwitching;
  if (config.systemAudio) options.systemAudio = config.systemAudio;
  if (config.preferCurrentTab !== undefined) options.preferCurrentTab = config.preferCurrentTab;
  let stream: MediaStream;
  try {
    stream = await navigator.mediaDevices.getDisplayMedia(options);
  } catch (error) {
    throw fromMediaError(error);
  }
  const videoTrack = new ScreenVideoTrack(
    stream.getVideoTracks()[0]!,
    encoder,
    "screen",
    config.optimizationMode ?? "detail",
  );
  if (!audioWanted) return videoTrack;
  const audio = stream.getAudioTracks()[0];
  if (!audio) {
    if (audioRequired) {
      videoTrack.close();
      throw new AgoraRTCError("SHARE_AUDIO_NOT_ALLOWED", "audio was requested but the user did not share any");
    }
    return videoTrack;
  }
  return [videoTrack, new LocalAudioTrack(audio, audioEncoderConfig(undefined), "screen-audio")];
}

export async function createBufferSourceAudioTrack(config: BufferSourceAudioTrackInitConfig): Promise<BufferSourceAudioTrack> {
  if (typeof config !== "object" || config === null || !("source" in config)) {
    throw new AgoraRTCError("INVALID_PARAMS", "config.source is required");
  }
  const encoder = audioEncoderConfig(config.encoderConfig);
  const buffer = await loadAudioBuffer(config.source);
  return new BufferSourceAudioTrack(config.source, buffer, encoder);
}

export function createCustomAudioTrack(config: CustomAudioTrackInitConfig): LocalAudioTrack {
  const track = config?.mediaStreamTrack;
  if (typeof MediaStreamTrack === "undefined" || !(track instanceof MediaStreamTrack) || track.kind !== "audio") {
    throw new AgoraRTCError("INVALID_PARAMS", "config.mediaStreamTrack must be an audio MediaStreamTrack");
  }
  return new LocalAudioTrack(track, audioEncoderConfig(config.encoderConfig), "custom-audio");
}

export function createCustomVideoTrack(config: CustomVideoTrackInitConfig): LocalVideoTrack {
  const track = config?.mediaStreamTrack;
  if (typeof MediaStreamTrack === "undefined" || !(track instanceof MediaStreamTrack) || track.kind !== "video") {
    throw new AgoraRTCError("INVALID_PARAMS", "config.mediaStreamTrack must be a video MediaStreamTrack");
  }
  const encoder: VideoEncoderConfiguration = {};
  if (config.width !== undefined) encoder.width = config.width;
  if (config.height !== undefined) encoder.height = config.height;
  if (config.frameRate !== undefined) encoder.frameRate = config.frameRate;
  if (config.bitrateMin !== undefined) encoder.bitrateMin = config.bitrateMin;
  if (config.bitrateMax !== undefined) encoder.bitrateMax = config.bitrateMax;
  return new LocalVideoTrack(track, cameraEncoderConfig(encoder), "custom-video", config.optimizationMode);
}

/** WebRTC and (unless `needMediaDevices` is false) getUserMedia must exist. */
export function checkSystemRequirements(needMediaDevices = true): boolean {
  if (typeof RTCPeerConnection === "undefined" || typeof WebSocket === "undefined") return false;
  if (needMediaDevices && (typeof navigator === "undefined" || !navigator.mediaDevices?.getUserMedia)) return false;
  return true;
}

/** Codecs read from a receive-only offer, as Agora does. */
export async function getSupportedCodec(): Promise<{ video: string[]; audio: string[] }> {
  if (typeof RTCPeerConnection === "undefined") {
    throw new AgoraRTCError("NOT_SUPPORTED", "this browser has no WebRTC (RTCPeerConnection)");
  }
  const pc = new RTCPeerConnection();
  try {
    pc.addTransceiver("audio", { direction: "recvonly" });
    pc.addTransceiver("video", { direction: "recvonly" });
    const offer = await pc.createOffer();
    const names = (kind: string) => {
      const section = (offer.sdp ?? "").split("m=").find((m) => m.startsWith(kind)) ?? "";
      const found = new Set<string>();
      for (const match of section.matchAll(/a=rtpmap:\d+ ([\w-]+)\//g)) found.add(match[1]!.toUpperCase());
      return found;
    };
    const video = ["VP8", "VP9", "AV1", "H264", "H265"].filter((c) => names("video").has(c));
    const audio = ["OPUS", "PCMU", "PCMA", "G722"].filter((c) => names("audio").has(c));
    return { video, audio };
  } finally {
    pc.close();
  }
}

let logUpload = false;

/** The AgoraRTC object: every API above, its events, and the callback slots. */
class AgoraRTCObject extends EventEmitter {
  readonly VERSION = VERSION;
  readonly STOA_VERSION = STOA_VERSION;
  readonly AgoraRTCErrorCode = AgoraRTCErrorCode;
  readonly ERROR_CATALOG = ERROR_CATALOG;
  readonly AgoraRTCError = AgoraRTCError;
  readonly ConnectionDisconnectedReason = ConnectionDisconnectedReason;
  readonly RemoteStreamType = RemoteStreamType;
  readonly AudienceLatencyLevelType = AudienceLatencyLevelType;
  onCameraChanged?: (info: DeviceInfo) => void;
  onMicrophoneChanged?: (info: DeviceInfo) => void;
  onPlaybackDeviceChanged?: (info: DeviceInfo) => void;
  onAutoplayFailed?: () => void;
  onAudioAutoplayFailed?: () => void;
  createClient = createClient;
  createMicrophoneAudioTrack = createMicrophoneAudioTrack;
  createCameraVideoTrack = createCameraVideoTrack;
  createMicrophoneAndCameraTracks = createMicrophoneAndCameraTracks;
  createScreenVideoTrack = createScreenVideoTrack;
  createBufferSourceAudioTrack = createBufferSourceAudioTrack;
  createCustomAudioTrack = createCustomAudioTrack;
  createCustomVideoTrack = createCustomVideoTrack;
  getDevices = getDevices;
  getCameras = getCameras;
  getMicrophones = getMicrophones;
  getPlaybackDevices = getPlaybackDevices;
  checkSystemRequirements = checkSystemRequirements;
  getSupportedCodec = getSupportedCodec;
  setParameter = setParameter;
  getParameter = getParameter;

  constructor() {
    super();
    const forward = (event: string, slot: () => ((...args: never[]) => void) | undefined) => {
      sdkEvents.on(event, (...args: unknown[]) => {
        this.emit(event, ...args);
        (slot() as ((...a: unknown[]) => void) | undefined)?.(...args);
      });
    };
    forward("camera-changed", () => this.onCameraChanged);
    forward("microphone-changed", () => this.onMicrophoneChanged);
    forward("playback-device-changed", () => this.onPlaybackDeviceChanged);
    forward("autoplay-failed", () => this.onAutoplayFailed);
    sdkEvents.on("autoplay-failed", () => this.onAudioAutoplayFailed?.());
  }

  setLogLevel(level: number): void {
    setLogLevel(level);
  }

  /** Stoa keeps logs local: log upload is accepted and does nothing. */
  enableLogUpload(): void {
    logUpload = true;
    log.debug("log upload is not part of Stoa; logs stay in the console");
  }

  disableLogUpload(): void {
    logUpload = false;
  }

  get isLogUploadEnabled(): boolean {
    return logUpload;
  }

  setArea(): void {
    // Areas select Agora's data centres; a Stoa server is wherever it runs.
  }

  resumeAudioContext(): void {
    void new AudioContext().resume().catch(() => undefined);
  }
}

const AgoraRTC = new AgoraRTCObject();
watchDevices();

export { AgoraRTCClient, AgoraRTCError, AgoraRTCErrorCode, ERROR_CATALOG, getCameras, getDevices, getMicrophones, getPlaybackDevices, setParameter, getParameter };
export default AgoraRTC;

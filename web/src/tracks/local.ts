// Local tracks: a captured (or app-given) MediaStreamTrack with Agora's switches, players and encoder settings.

import { LevelMeter, audioContext } from "../audio";
import { AgoraRTCError, fromMediaError } from "../errors";
import { EventEmitter } from "../events";
import { log } from "../config";
import { maxBitrateBps, maxFramerate, videoConstraints } from "../presets";
import type {
  AudioEncoderConfiguration,
  LocalAudioTrackStats,
  LocalVideoTrackStats,
  OptimizationMode,
  VideoEncoderConfiguration,
  VideoFacingModeEnum,
  VideoPlayerConfig,
} from "../types";
import { AudioPlayer, VideoPlayer, frameData, resolveElement } from "./player";
import { cameraEncoderConfig } from "../presets";

/** What the client gives a track while it is published. */
export interface PublishLink {
  transceiver: RTCRtpTransceiver;
  /** muted / enabled changed: tell the server. */
  stateChanged(track: LocalTrack): Promise<void>;
  /** The track was closed: unpublish it. */
  closed(track: LocalTrack): void;
  /** When set, the client decides what the sender sends (several audio tracks mixed into one). */
  refreshSender?: () => Promise<void>;
}

let trackCounter = 0;
function newTrackId(prefix: string): string {
  trackCounter += 1;
  const random = Math.random().toString(36).slice(2, 10);
  return `track-${prefix}-${random}${trackCounter}`;
}

export function emptyLocalAudioStats(): LocalAudioTrackStats {
  return {
    sendVolumeLevel: 0, sendBitrate: 0, sendBytes: 0, sendPackets: 0, sendPacketsLost: 0, sendJitterMs: 0,
    sendRttMs: 0, currentPacketLossRate: 0,
  };
}

export function emptyLocalVideoStats(): LocalVideoTrackStats {
  return {
    sendBytes: 0, sendPackets: 0, sendPacketsLost: 0, sendJitterMs: 0, sendRttMs: 0, sendResolutionHeight: 0,
    sendResolutionWidth: 0, captureResolutionHeight: 0, captureResolutionWidth: 0, sendBitrate: 0,
    targetSendBitrate: 0, totalDuration: 0, totalFreezeTime: 0, currentPacketLossRate: 0,
  };
}

export abstract class LocalTrack extends EventEmitter {
  abstract readonly trackMediaType: "audio" | "video";
  protected mediaTrack: MediaStreamTrack;
  protected readonly trackId: string;
  private mutedState = false;
  private enabledState = true;
  /** While true, setEnabled(false) stops the capture device (microphone, camera), as Agora does. */
  protected readonly releasesDeviceWhenDisabled: boolean = false;
  isClosed = false;
  link: PublishLink | undefined;
  /** Set by the client: the last stats it read for this track. */
  statsSource: (() => LocalAudioTrackStats | LocalVideoTrackStats) | undefined;

  constructor(track: MediaStreamTrack, prefix: string) {
    super();
    this.mediaTrack = track;
    this.trackId = newTrackId(prefix);
    this.watchEnded(track);
  }

  get muted(): boolean {
    return this.mutedState;
  }

  get enabled(): boolean {
    return this.enabledState;
  }

  abstract get isPlaying(): boolean;
  abstract play(element?: string | HTMLElement, config?: VideoPlayerConfig): void;
  abstract stop(): void;
  /** Re-creates the capture after setEnabled(true) when the device was released. */
  protected async recapture(): Promise<MediaStreamTrack> {
    return this.mediaTrack;
  }
  protected abstract trackReplaced(track: MediaStreamTrack): void;

  getTrackId(): string {
    return this.trackId;
  }

  getMediaStreamTrack(): MediaStreamTrack {
    return this.mediaTrack;
  }

  getRTCRtpTransceiver(): RTCRtpTransceiver | undefined {
    return this.link?.transceiver;
  }

  getTrackLabel(): string {
    return this.mediaTrack.label;
  }

  /** What goes to the publisher transport: the captured track unless a subclass processes it. */
  sendingTrack(): MediaStreamTrack | null {
    if (!this.enabledState) return null;
    return this.mediaTrack;
  }

  async setEnabled(enabled: boolean): Promise<void> {
    if (typeof enabled !== "boolean") throw new AgoraRTCError("INVALID_PARAMS", "enabled must be a boolean");
    if (enabled === this.enabledState) return;
    if (enabled) {
      if (this.releasesDeviceWhenDisabled && this.mediaTrack.readyState === "ended") {
        await this.replaceMediaTrack(await this.recapture(), false);
      }
      this.mediaTrack.enabled = !this.mutedState;
      this.enabledState = true;
    } else {
      this.enabledState = false;
      if (this.releasesDeviceWhenDisabled) this.mediaTrack.stop();
      else this.mediaTrack.enabled = false;
    }
    await this.updateSender();
    await this.link?.stateChanged(this);
  }

  async setMuted(muted: boolean): Promise<void> {
    if (typeof muted !== "boolean") throw new AgoraRTCError("INVALID_PARAMS", "muted must be a boolean");
    if (muted === this.mutedState) return;
    this.mutedState = muted;
    // Muting keeps the capture but sends silence / black frames.
    this.mediaTrack.enabled = this.enabledState && !muted;
    await this.link?.stateChanged(this);
  }

  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.stop();
    this.mediaTrack.stop();
    this.link?.closed(this);
    this.link = undefined;
  }

  /** Swaps the captured track, on the sender too when published. */
  protected async replaceMediaTrack(track: MediaStreamTrack, stopOld: boolean): Promise<void> {
    const old = this.mediaTrack;
    if (old === track) return;
    track.enabled = this.enabledState && !this.mutedState;
    this.mediaTrack = track;
    this.watchEnded(track);
    if (stopOld) old.stop();
    this.trackReplaced(track);
    await this.updateSender();
    this.emit("track-updated", track);
  }

  /** Points the published sender at sendingTrack(). */
  async updateSender(): Promise<void> {
    if (this.link?.refreshSender) return this.link.refreshSender();
    const sender = this.link?.transceiver.sender;
    if (!sender) return;
    try {
      await sender.replaceTrack(this.sendingTrack());
    } catch (error) {
      throw new AgoraRTCError("SENDER_REPLACE_FAILED", `cannot replace the sent track: ${String(error)}`);
    }
  }

  private watchEnded(track: MediaStreamTrack): void {
    track.addEventListener("ended", () => {
      if (track === this.mediaTrack && this.enabledState && !this.isClosed) this.emit("track-ended");
    });
  }
}

export class LocalAudioTrack extends LocalTrack {
  readonly trackMediaType = "audio" as const;
  protected encoderConfig: AudioEncoderConfiguration;
  private player: AudioPlayer | undefined;
  private readonly meter = new LevelMeter();
  private volume = 100;
  private gainChain: { gain: GainNode; source: MediaStreamAudioSourceNode; output: MediaStreamTrack } | undefined;
  private frameCallback: { processor: ScriptProcessorNode; source: MediaStreamAudioSourceNode } | undefined;

  constructor(track: MediaStreamTrack, encoderConfig: AudioEncoderConfiguration, prefix = "audio") {
    super(track, prefix);
    this.encoderConfig = encoderConfig;
  }

  get isPlaying(): boolean {
    return this.player !== undefined;
  }

  /** Local audio plays through an <audio> element (the app hears its own microphone). */
  play(): void {
    this.player?.destroy();
    this.player = new AudioPlayer(this.sendingTrack() ?? this.mediaTrack, 100);
  }

  stop(): void {
    this.player?.destroy();
    this.player = undefined;
  }

  /** 0..1000, 100 the original: applied to what is sent, through a WebAudio gain. */
  setVolume(volume: number): void {
    if (typeof volume !== "number" || !(volume >= 0 && volume <= 1000)) {
      throw new AgoraRTCError("INVALID_PARAMS", "volume must be a number in [0, 1000]");
    }
    this.volume = volume;
    if (volume !== 100 && !this.gainChain) this.buildGainChain();
    if (this.gainChain) this.gainChain.gain.gain.value = volume / 100;
    void this.updateSender().catch(() => undefined);
  }

  getVolumeLevel(): number {
    return this.meter.level(this.gainChain?.output ?? this.mediaTrack);
  }

  override sendingTrack(): MediaStreamTrack | null {
    if (!this.enabled) return null;
    return this.gainChain?.output ?? this.mediaTrack;
  }

  async setPlaybackDevice(_deviceId: string): Promise<void> {
    // No effect since Agora 4.7 for local tracks.
  }

  setAudioFrameCallback(callback: null | ((buffer: AudioBuffer) => void), frameSize = 4096): void {
    this.frameCallback?.processor.disconnect();
    this.frameCallback?.source.disconnect();
    this.frameCallback = undefined;
    if (!callback) return;
    const ctx = audioContext();
    const source = ctx.createMediaStreamSource(new MediaStream([this.mediaTrack]));
    const processor = ctx.createScriptProcessor(frameSize, 1, 1);
    processor.onaudioprocess = (event) => callback(event.inputBuffer);
    source.connect(processor);
    processor.connect(ctx.destination);
    this.frameCallback = { processor, source };
  }

  getStats(): LocalAudioTrackStats {
    return (this.statsSource?.() as LocalAudioTrackStats | undefined) ?? emptyLocalAudioStats();
  }

  getEncoderConfiguration(): AudioEncoderConfiguration {
    return { ...this.encoderConfig };
  }

  protected trackReplaced(track: MediaStreamTrack): void {
    this.player?.setTrack(track);
    if (this.gainChain) this.buildGainChain();
  }

  override close(): void {
    super.close();
    this.meter.dispose();
    this.gainChain?.source.disconnect();
    this.gainChain?.output.stop();
    this.setAudioFrameCallback(null);
  }

  private buildGainChain(): void {
    this.gainChain?.source.disconnect();
    const ctx = audioContext();
    const source = ctx.createMediaStreamSource(new MediaStream([this.mediaTrack]));
    const gain = ctx.createGain();
    gain.gain.value = this.volume / 100;
    const destination = ctx.createMediaStreamDestination();
    source.connect(gain).connect(destination);
    const output = destination.stream.getAudioTracks()[0]!;
    this.gainChain = { gain, source, output };
  }
}

/** getUserMedia, with the browser's failures mapped to Agora's codes. */
export async function getUserMedia(constraints: MediaStreamConstraints): Promise<MediaStream> {
  if (typeof window !== "undefined" && window.isSecureContext === false) {
    throw new AgoraRTCError("WEB_SECURITY_RESTRICT", "media capture needs a secure context (https or localhost)");
  }
  if (typeof navigator === "undefined" || !navigator.mediaDevices?.getUserMedia) {
    throw new AgoraRTCError("NOT_SUPPORTED", "this browser cannot capture media (no navigator.mediaDevices.getUserMedia)");
  }
  try {
    return await navigator.mediaDevices.getUserMedia(constraints);
  } catch (error) {
    throw fromMediaError(error);
  }
}

export function microphoneConstraints(
  config: { AEC?: boolean; AGC?: boolean; ANS?: boolean; microphoneId?: string },
  encoder: AudioEncoderConfiguration,
): MediaTrackConstraints {
  const constraints: MediaTrackConstraints = {};
  if (config.microphoneId !== undefined) constraints.deviceId = { exact: config.microphoneId };
  if (config.AEC !== undefined) constraints.echoCancellation = config.AEC;
  if (config.AGC !== undefined) constraints.autoGainControl = config.AGC;
  if (config.ANS !== undefined) constraints.noiseSuppression = config.ANS;
  if (encoder.sampleRate !== undefined) constraints.sampleRate = encoder.sampleRate;
  if (encoder.stereo) constraints.channelCount = 2;
  return constraints;
}

export class MicrophoneAudioTrack extends LocalAudioTrack {
  protected override readonly releasesDeviceWhenDisabled = true;

  constructor(
    track: MediaStreamTrack,
    encoderConfig: AudioEncoderConfiguration,
    private constraints: MediaTrackConstraints,
  ) {
    super(track, encoderConfig, "mic");
  }

  async setDevice(deviceId: string): Promise<void> {
    if (typeof deviceId !== "string" || !deviceId) throw new AgoraRTCError("INVALID_PARAMS", "deviceId must be a string");
    const constraints = { ...this.constraints, deviceId: { exact: deviceId } };
    if (!this.enabled) {
      this.constraints = constraints;
      return;
    }
    const stream = await getUserMedia({ audio: constraints });
    this.constraints = constraints;
    await this.replaceMediaTrack(stream.getAudioTracks()[0]!, true);
  }

  protected override async recapture(): Promise<MediaStreamTrack> {
    const stream = await getUserMedia({ audio: this.constraints });
    return stream.getAudioTracks()[0]!;
  }
}

export class LocalVideoTrack extends LocalTrack {
  readonly trackMediaType = "video" as const;
  protected encoderConfig: VideoEncoderConfiguration;
  private player: VideoPlayer | undefined;
  protected optimizationMode: OptimizationMode | undefined;

  constructor(track: MediaStreamTrack, encoderConfig: VideoEncoderConfiguration, prefix = "video", mode?: OptimizationMode) {
    super(track, prefix);
    this.encoderConfig = encoderConfig;
    if (mode) this.applyOptimizationMode(mode);
  }

  get isPlaying(): boolean {
    return this.player !== undefined;
  }

  /** Renders into the element; local video is mirrored by default, as in Agora. */
  play(element: string | HTMLElement, config: VideoPlayerConfig = {}): void {
    const container = resolveElement(element);
    this.player?.destroy();
    this.player = new VideoPlayer(container, this.mediaTrack, this.trackId, config, config.mirror ?? this.mirrorByDefault());
  }

  protected mirrorByDefault(): boolean {
    return true;
  }

  stop(): void {
    this.player?.destroy();
    this.player = undefined;
  }

  getStats(): LocalVideoTrackStats {
    return (this.statsSource?.() as LocalVideoTrackStats | undefined) ?? emptyLocalVideoStats();
  }

  getCurrentFrameData(): ImageData {
    return frameData(this.player?.video);
  }

  /** The encoder settings in force, and the sender parameters that carry them. */
  getEncoderConfiguration(): VideoEncoderConfiguration {
    return { ...this.encoderConfig };
  }

  async setEncoderConfiguration(config: VideoEncoderConfiguration | string): Promise<void> {
    const checked = cameraEncoderConfig(config);
    try {
      await this.mediaTrack.applyConstraints(videoConstraints(checked));
    } catch (error) {
      throw fromMediaError(error);
    }
    this.encoderConfig = checked;
    await this.applySenderParameters();
  }

  async setOptimizationMode(mode: OptimizationMode): Promise<void> {
    if (!["motion", "detail", "balanced"].includes(mode)) {
      throw new AgoraRTCError("INVALID_PARAMS", 'mode must be "motion", "detail" or "balanced"');
    }
    this.applyOptimizationMode(mode);
    await this.applySenderParameters();
  }

  async replaceTrack(track: MediaStreamTrack, stopOldTrack: boolean): Promise<void> {
    if (!(track instanceof MediaStreamTrack) || track.kind !== "video") {
      throw new AgoraRTCError("INVALID_PARAMS", "replaceTrack needs a video MediaStreamTrack");
    }
    await this.replaceMediaTrack(track, stopOldTrack);
  }

  /** Bitrate and frame-rate caps on the published sender. */
  async applySenderParameters(): Promise<void> {
    const sender = this.link?.transceiver.sender;
    if (!sender) return;
    const parameters = sender.getParameters();
    if (!parameters.encodings || parameters.encodings.length === 0) return;
    const bitrate = maxBitrateBps(this.encoderConfig);
    const framerate = maxFramerate(this.encoderConfig);
    for (const encoding of parameters.encodings) {
      if (bitrate !== undefined) encoding.maxBitrate = bitrate;
      if (framerate !== undefined) encoding.maxFramerate = framerate;
      if (this.encoderConfig.scaleResolutionDownBy !== undefined) {
        encoding.scaleResolutionDownBy = this.encoderConfig.scaleResolutionDownBy;
      }
    }
    if (this.optimizationMode) {
      const preference: Record<OptimizationMode, RTCDegradationPreference> = {
        motion: "maintain-framerate",
        detail: "maintain-resolution",
        balanced: "balanced",
      };
      (parameters as RTCRtpSendParameters & { degradationPreference?: RTCDegradationPreference }).degradationPreference =
        preference[this.optimizationMode];
    }
    try {
      await sender.setParameters(parameters);
    } catch (error) {
      log.warn("setParameters failed", error);
      throw new AgoraRTCError("SET_ENCODING_PARAMETER_ERROR", String(error));
    }
  }

  protected trackReplaced(track: MediaStreamTrack): void {
    this.player?.setTrack(track);
    if (this.optimizationMode) this.applyOptimizationMode(this.optimizationMode);
  }

  private applyOptimizationMode(mode: OptimizationMode): void {
    this.optimizationMode = mode;
    this.mediaTrack.contentHint = mode === "motion" ? "motion" : mode === "detail" ? "detail" : "";
  }
}

export class CameraVideoTrack extends LocalVideoTrack {
  protected override readonly releasesDeviceWhenDisabled = true;

  constructor(
    track: MediaStreamTrack,
    encoderConfig: VideoEncoderConfiguration,
    private constraints: MediaTrackConstraints,
    mode?: OptimizationMode,
  ) {
    super(track, encoderConfig, "cam", mode);
  }

  async setDevice(device: string | { facingMode: VideoFacingModeEnum } | { deviceId: string }): Promise<void> {
    const constraints: MediaTrackConstraints = { ...this.constraints };
    delete constraints.deviceId;
    delete constraints.facingMode;
    if (typeof device === "string") constraints.deviceId = { exact: device };
    else if (device && "deviceId" in device && typeof device.deviceId === "string") {
      constraints.deviceId = { exact: device.deviceId };
    } else if (device && "facingMode" in device) constraints.facingMode = { exact: device.facingMode };
    else throw new AgoraRTCError("INVALID_PARAMS", "setDevice needs a device id or {facingMode} / {deviceId}");
    if (!this.enabled) {
      this.constraints = constraints;
      return;
    }
    // Release the current camera first: many cameras cannot be opened twice.
    this.mediaTrack.stop();
    const stream = await getUserMedia({ video: constraints });
    this.constraints = constraints;
    await this.replaceMediaTrack(stream.getVideoTracks()[0]!, true);
  }

  override async setEncoderConfiguration(config: VideoEncoderConfiguration | string): Promise<void> {
    await super.setEncoderConfiguration(config);
    this.constraints = { ...this.constraints, ...videoConstraints(this.encoderConfig) };
  }

  protected override async recapture(): Promise<MediaStreamTrack> {
    const stream = await getUserMedia({ video: this.constraints });
    return stream.getVideoTracks()[0]!;
  }
}

/** Screen tracks are not mirrored. */
export class ScreenVideoTrack extends LocalVideoTrack {
  protected override mirrorByDefault(): boolean {
    return false;
  }
}

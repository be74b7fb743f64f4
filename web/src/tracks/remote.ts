// Remote tracks: what a subscription receives on the subscriber transport.

import { LevelMeter } from "../audio";
import { EventEmitter } from "../events";
import type { RemoteAudioTrackStats, RemoteVideoTrackStats, UID, VideoPlayerConfig } from "../types";
import { AudioPlayer, VideoPlayer, frameData, resolveElement } from "./player";

export function emptyRemoteAudioStats(): RemoteAudioTrackStats {
  return {
    transportDelay: 0, end2EndDelay: 0, receiveBitrate: 0, receiveLevel: 0, receiveBytes: 0, receiveDelay: 0,
    receivePackets: 0, receivePacketsLost: 0, receivePacketsDiscarded: 0, packetLossRate: 0,
    currentPacketLossRate: 0, totalDuration: 0, totalFreezeTime: 0, freezeRate: 0, publishDuration: 0,
  };
}

export function emptyRemoteVideoStats(): RemoteVideoTrackStats {
  return {
    transportDelay: 0, end2EndDelay: 0, receiveBitrate: 0, receiveDelay: 0, receiveBytes: 0, receivePackets: 0,
    receivePacketsLost: 0, packetLossRate: 0, currentPacketLossRate: 0, receiveResolutionHeight: 0,
    receiveResolutionWidth: 0, totalDuration: 0, totalFreezeTime: 0, freezeRate: 0, publishDuration: 0,
  };
}

let remoteCounter = 0;

export abstract class RemoteTrack extends EventEmitter {
  abstract readonly trackMediaType: "audio" | "video";
  protected readonly trackId: string;
  protected firstFrameReported = false;
  statsSource: (() => RemoteAudioTrackStats | RemoteVideoTrackStats | undefined) | undefined;

  constructor(
    protected mediaTrack: MediaStreamTrack,
    private readonly userId: UID,
    private transceiver: RTCRtpTransceiver | undefined,
  ) {
    super();
    remoteCounter += 1;
    this.trackId = `track-${mediaTrack.kind}-${userId}-${remoteCounter}`;
  }

  abstract get isPlaying(): boolean;
  abstract play(element?: string | HTMLElement, config?: VideoPlayerConfig): void;
  abstract stop(): void;
  protected abstract retarget(track: MediaStreamTrack): void;
  abstract getStats(): RemoteAudioTrackStats | RemoteVideoTrackStats;

  getUserId(): UID {
    return this.userId;
  }

  getTrackId(): string {
    return this.trackId;
  }

  getMediaStreamTrack(): MediaStreamTrack {
    return this.mediaTrack;
  }

  getRTCRtpTransceiver(): RTCRtpTransceiver | undefined {
    return this.transceiver;
  }

  /** A re-subscription (after reconnection) delivers on another transceiver. */
  rebind(track: MediaStreamTrack, transceiver: RTCRtpTransceiver): void {
    this.transceiver = transceiver;
    if (track === this.mediaTrack) return;
    this.mediaTrack = track;
    this.retarget(track);
    this.emit("track-updated", track);
    this.emit("transceiver-updated", transceiver);
  }

  protected reportFirstFrame(): void {
    if (this.firstFrameReported) return;
    this.firstFrameReported = true;
    this.emit("first-frame-decoded");
  }
}

export class RemoteAudioTrack extends RemoteTrack {
  readonly trackMediaType = "audio" as const;
  private player: AudioPlayer | undefined;
  private volume = 100;
  private readonly meter = new LevelMeter();

  get isPlaying(): boolean {
    return this.player !== undefined;
  }

  play(): void {
    this.player?.destroy();
    this.player = new AudioPlayer(this.mediaTrack, this.volume);
    this.player.audio.addEventListener("playing", () => this.reportFirstFrame(), { once: true });
  }

  stop(): void {
    this.player?.destroy();
    this.player = undefined;
  }

  setVolume(volume: number): void {
    this.volume = Math.max(0, Math.min(100, Number(volume) || 0));
    this.player?.setVolume(this.volume);
  }

  getVolume(): number {
    return this.volume;
  }

  getVolumeLevel(): number {
    return this.meter.level(this.mediaTrack);
  }

  async setPlaybackDevice(deviceId: string): Promise<void> {
    const audio = this.player?.audio as (HTMLAudioElement & { setSinkId?: (id: string) => Promise<void> }) | undefined;
    if (audio?.setSinkId) await audio.setSinkId(deviceId);
  }

  getStats(): RemoteAudioTrackStats {
    return (this.statsSource?.() as RemoteAudioTrackStats | undefined) ?? emptyRemoteAudioStats();
  }

  protected retarget(track: MediaStreamTrack): void {
    this.player?.setTrack(track);
  }
}

export class RemoteVideoTrack extends RemoteTrack {
  readonly trackMediaType = "video" as const;
  private player: VideoPlayer | undefined;

  get isPlaying(): boolean {
    return this.player !== undefined;
  }

  /** Renders into the element; remote video is not mirrored unless asked. */
  play(element: string | HTMLElement, config: VideoPlayerConfig = {}): void {
    const container = resolveElement(element);
    this.player?.destroy();
    this.player = new VideoPlayer(container, this.mediaTrack, this.trackId, config, config.mirror ?? false);
    this.watchFirstFrame(this.player.video);
  }

  stop(): void {
    this.player?.destroy();
    this.player = undefined;
  }

  getStats(): RemoteVideoTrackStats {
    return (this.statsSource?.() as RemoteVideoTrackStats | undefined) ?? emptyRemoteVideoStats();
  }

  getCurrentFrameData(): ImageData {
    return frameData(this.player?.video);
  }

  protected retarget(track: MediaStreamTrack): void {
    this.player?.setTrack(track);
  }

  private watchFirstFrame(video: HTMLVideoElement): void {
    const withCallback = video as HTMLVideoElement & {
      requestVideoFrameCallback?: (cb: () => void) => number;
    };
    if (withCallback.requestVideoFrameCallback) {
      withCallback.requestVideoFrameCallback(() => this.reportFirstFrame());
    } else {
      video.addEventListener("loadeddata", () => this.reportFirstFrame(), { once: true });
    }
  }
}

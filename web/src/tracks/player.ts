// Rendering tracks into the page: a <video> in the app's container, or a detached <audio> element.

import { AgoraRTCError } from "../errors";
import { reportAutoplayFailed } from "../global";
import type { VideoPlayerConfig } from "../types";

export function resolveElement(element: string | HTMLElement): HTMLElement {
  const found = typeof element === "string" ? document.getElementById(element) : element;
  if (!(found instanceof HTMLElement)) {
    throw new AgoraRTCError("INVALID_PARAMS", `no element ${typeof element === "string" ? `with id "${element}"` : "given"}`);
  }
  return found;
}

export class VideoPlayer {
  readonly video: HTMLVideoElement;
  private readonly wrapper: HTMLDivElement;

  constructor(container: HTMLElement, track: MediaStreamTrack, trackId: string, config: VideoPlayerConfig, mirror: boolean) {
    this.wrapper = document.createElement("div");
    this.wrapper.id = `agora-video-player-${trackId}`;
    this.video = document.createElement("video");
    this.video.id = `video_${trackId}`;
    this.video.className = "agora_video_player";
    this.video.playsInline = true;
    this.video.autoplay = true;
    this.video.muted = true;
    this.video.setAttribute("playsinline", "");
    if (!config.noStyle) {
      this.wrapper.style.cssText = "width:100%;height:100%;position:relative;overflow:hidden;background-color:black";
      this.video.style.cssText = `width:100%;height:100%;position:absolute;left:0;top:0;object-fit:${config.fit ?? "cover"}`;
      if (mirror) this.video.style.transform = "rotateY(180deg)";
    }
    this.video.srcObject = new MediaStream([track]);
    this.wrapper.appendChild(this.video);
    container.appendChild(this.wrapper);
    void this.video.play().catch(() => undefined);
  }

  get container(): HTMLElement | null {
    return this.wrapper.parentElement;
  }

  setTrack(track: MediaStreamTrack): void {
    this.video.srcObject = new MediaStream([track]);
    void this.video.play().catch(() => undefined);
  }

  destroy(): void {
    this.video.srcObject = null;
    this.wrapper.remove();
  }
}

export class AudioPlayer {
  readonly audio: HTMLAudioElement;

  constructor(track: MediaStreamTrack, volume: number) {
    this.audio = document.createElement("audio");
    this.audio.autoplay = true;
    this.audio.srcObject = new MediaStream([track]);
    this.setVolume(volume);
    this.audio.play().catch((error: unknown) => {
      if ((error as { name?: string }).name === "NotAllowedError") reportAutoplayFailed();
    });
  }

  setTrack(track: MediaStreamTrack): void {
    this.audio.srcObject = new MediaStream([track]);
    void this.audio.play().catch(() => undefined);
  }

  /** 0..100 maps to the element's 0..1; above 100 is capped (an element cannot amplify). */
  setVolume(volume: number): void {
    this.audio.volume = Math.max(0, Math.min(1, volume / 100));
  }

  destroy(): void {
    this.audio.pause();
    this.audio.srcObject = null;
  }
}

/** The current frame of a playing video element as ImageData (an empty 0x0 image when nothing plays). */
export function frameData(video: HTMLVideoElement | undefined): ImageData {
  const width = video?.videoWidth ?? 0;
  const height = video?.videoHeight ?? 0;
  if (!video || !width || !height) return new ImageData(1, 1);
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext("2d");
  if (!ctx) return new ImageData(1, 1);
  ctx.drawImage(video, 0, 0, width, height);
  return ctx.getImageData(0, 0, width, height);
}

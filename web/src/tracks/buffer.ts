// IBufferSourceAudioTrack: an audio file (URL, File or AudioBuffer) played through WebAudio into a sent track.

import { audioContext } from "../audio";
import { AgoraRTCError } from "../errors";
import type { AudioEncoderConfiguration, AudioSourceState } from "../types";
import { LocalAudioTrack } from "./local";

/** Loads and decodes the source, with Agora's codes for each failure. */
export async function loadAudioBuffer(source: string | File | AudioBuffer): Promise<AudioBuffer> {
  if (typeof AudioBuffer !== "undefined" && source instanceof AudioBuffer) return source;
  let bytes: ArrayBuffer;
  if (typeof source === "string") {
    let response: Response;
    try {
      response = await fetch(source);
    } catch (error) {
      throw new AgoraRTCError("FETCH_AUDIO_FILE_FAILED", `cannot fetch ${source}: ${String(error)}`);
    }
    if (!response.ok) {
      throw new AgoraRTCError("FETCH_AUDIO_FILE_FAILED", `fetching ${source} answered HTTP ${response.status}`);
    }
    try {
      bytes = await response.arrayBuffer();
    } catch (error) {
      throw new AgoraRTCError("FETCH_AUDIO_FILE_FAILED", `reading ${source} failed: ${String(error)}`);
    }
  } else if (typeof File !== "undefined" && source instanceof File) {
    try {
      bytes = await source.arrayBuffer();
    } catch (error) {
      throw new AgoraRTCError("READ_LOCAL_AUDIO_FILE_ERROR", `cannot read ${source.name}: ${String(error)}`);
    }
  } else {
    throw new AgoraRTCError("INVALID_PARAMS", "source must be a URL, a File or an AudioBuffer");
  }
  try {
    return await audioContext().decodeAudioData(bytes);
  } catch (error) {
    throw new AgoraRTCError("DECODE_AUDIO_FILE_FAILED", `the audio data cannot be decoded: ${String(error)}`);
  }
}

export class BufferSourceAudioTrack extends LocalAudioTrack {
  readonly source: string | File | AudioBuffer | null;
  private readonly buffer: AudioBuffer;
  private readonly gain: GainNode;
  /** Reads the file's own output: a meter on the sent track would need a second trip through the graph. */
  private readonly analyser: AnalyserNode;
  private readonly samples: Float32Array<ArrayBuffer>;
  private node: AudioBufferSourceNode | undefined;
  private state: AudioSourceState = "stopped";
  private speed = 100;
  /** Where in the file playback is, as of `anchorAt` (context time) when playing. */
  private offset = 0;
  private anchorAt = 0;
  private loop = false;
  private cyclesLeft = 1;

  constructor(source: string | File | AudioBuffer, buffer: AudioBuffer, encoderConfig: AudioEncoderConfiguration) {
    const ctx = audioContext();
    const gain = ctx.createGain();
    const destination = ctx.createMediaStreamDestination();
    gain.connect(destination);
    super(destination.stream.getAudioTracks()[0]!, encoderConfig, "buffer");
    this.source = source;
    this.buffer = buffer;
    this.gain = gain;
    this.analyser = ctx.createAnalyser();
    this.analyser.fftSize = 1024;
    this.samples = new Float32Array(this.analyser.fftSize);
    gain.connect(this.analyser);
  }

  override getVolumeLevel(): number {
    if (this.state !== "playing") return 0;
    this.analyser.getFloatTimeDomainData(this.samples);
    let sum = 0;
    for (const s of this.samples) sum += s * s;
    return Math.min(1, Math.sqrt(sum / this.samples.length) / 0.707);
  }

  get currentState(): AudioSourceState {
    return this.state;
  }

  get duration(): number {
    return this.buffer.duration;
  }

  get playbackSpeed(): number {
    return this.speed;
  }

  getCurrentTime(): number {
    if (this.state !== "playing") return this.offset;
    const elapsed = (audioContext().currentTime - this.anchorAt) * (this.speed / 100);
    const position = this.offset + elapsed;
    return this.loop ? position % this.buffer.duration : Math.min(position, this.buffer.duration);
  }

  startProcessAudioBuffer(options: { cycle?: number; loop?: boolean; startPlayTime?: number } = {}): void {
    this.loop = options.loop ?? false;
    this.cyclesLeft = Math.max(1, Math.floor(options.cycle ?? 1));
    this.startAt(Math.max(0, Math.min(options.startPlayTime ?? 0, this.buffer.duration)));
  }

  pauseProcessAudioBuffer(): void {
    if (this.state !== "playing") return;
    this.offset = this.getCurrentTime();
    this.halt();
    this.setState("paused");
  }

  resumeProcessAudioBuffer(): void {
    if (this.state !== "paused") return;
    this.startAt(this.offset);
  }

  stopProcessAudioBuffer(): void {
    if (this.state === "stopped") return;
    this.halt();
    this.offset = 0;
    this.setState("stopped");
  }

  seekAudioBuffer(time: number): void {
    if (typeof time !== "number" || time < 0 || time > this.buffer.duration) {
      throw new AgoraRTCError("INVALID_PARAMS", `time must be in [0, ${this.buffer.duration}] seconds`);
    }
    if (this.state === "playing") this.startAt(time);
    else this.offset = time;
  }

  /** 50..400, 100 is normal speed. */
  setAudioBufferPlaybackSpeed(speed: number): void {
    if (typeof speed !== "number" || !Number.isInteger(speed) || speed < 50 || speed > 400) {
      throw new AgoraRTCError("INVALID_PARAMS", "speed must be an integer in [50, 400]");
    }
    const position = this.getCurrentTime();
    this.speed = speed;
    if (this.state === "playing") this.startAt(position);
  }

  override close(): void {
    this.halt();
    super.close();
  }

  private startAt(position: number): void {
    this.halt();
    const ctx = audioContext();
    const node = ctx.createBufferSource();
    node.buffer = this.buffer;
    node.loop = this.loop;
    node.playbackRate.value = this.speed / 100;
    node.connect(this.gain);
    node.onended = () => {
      if (this.node !== node) return;
      this.cyclesLeft -= 1;
      if (this.cyclesLeft > 0) {
        this.startAt(0);
        return;
      }
      this.node = undefined;
      this.offset = 0;
      this.setState("stopped");
    };
    this.node = node;
    this.offset = position;
    this.anchorAt = ctx.currentTime;
    node.start(0, position);
    this.setState("playing");
  }

  private halt(): void {
    const node = this.node;
    this.node = undefined;
    if (node) {
      node.onended = null;
      try {
        node.stop();
      } catch {
        // Never started.
      }
      node.disconnect();
    }
  }

  private setState(state: AudioSourceState): void {
    if (state === this.state) return;
    this.state = state;
    this.emit("source-state-change", state);
  }
}

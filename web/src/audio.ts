// One shared AudioContext for level meters, volume and buffer sources.

let context: AudioContext | undefined;

export function audioContext(): AudioContext {
  if (!context) context = new AudioContext();
  if (context.state === "suspended") void context.resume().catch(() => undefined);
  return context;
}

/** Reads the level (0..1, RMS scaled as Agora's getVolumeLevel) of a MediaStreamTrack through an analyser. */
export class LevelMeter {
  private source: MediaStreamAudioSourceNode | undefined;
  private analyser: AnalyserNode | undefined;
  private track: MediaStreamTrack | undefined;
  private samples: Float32Array<ArrayBuffer> | undefined;

  level(track: MediaStreamTrack): number {
    if (track.readyState === "ended") return 0;
    if (this.track !== track) this.attach(track);
    if (!this.analyser || !this.samples) return 0;
    this.analyser.getFloatTimeDomainData(this.samples);
    let sum = 0;
    for (const s of this.samples) sum += s * s;
    const rms = Math.sqrt(sum / this.samples.length);
    // Full-scale sine has an RMS of 0.707; Agora's level reaches 1 around there.
    return Math.min(1, rms / 0.707);
  }

  private attach(track: MediaStreamTrack): void {
    this.dispose();
    const ctx = audioContext();
    this.track = track;
    this.source = ctx.createMediaStreamSource(new MediaStream([track]));
    this.analyser = ctx.createAnalyser();
    this.analyser.fftSize = 1024;
    this.samples = new Float32Array(this.analyser.fftSize);
    this.source.connect(this.analyser);
  }

  dispose(): void {
    this.source?.disconnect();
    this.analyser?.disconnect();
    this.source = this.analyser = this.track = undefined;
  }
}

// Agora's client "exception" event: a media problem that lasts, reported once with its code, and its recovery
// reported with code + 2000 (1001 -> 3001, 2001 -> 4001). Pure: fed one sample per second from the stats.

export interface ExceptionEvent {
  code: number;
  msg: string;
  uid: number | string;
}

/** What one stats sample says about one party (the local uid for sending, a remote uid for receiving). */
export interface MediaSample {
  uid: number | string;
  /** Sending video: frames captured and sent per second. */
  captureFrameRate?: number;
  sendFrameRate?: number;
  /** Sending audio: the input level, 0..1. */
  sendAudioLevel?: number;
  sendAudioBitrate?: number;
  /** Receiving video: bytes arrive but nothing decodes. */
  receiveVideoBitrate?: number;
  decodeFrameRate?: number;
  /** Receiving audio: bytes arrive but the level stays at zero. */
  receiveAudioBitrate?: number;
  receiveAudioLevel?: number;
}

const CONDITIONS: { code: number; msg: string; holds: (s: MediaSample) => boolean | undefined }[] = [
  { code: 1001, msg: "FRAMERATE_INPUT_TOO_LOW", holds: (s) => s.captureFrameRate !== undefined && s.captureFrameRate < 1 },
  {
    code: 1002,
    msg: "FRAMERATE_SENT_TOO_LOW",
    holds: (s) => s.sendFrameRate !== undefined && (s.captureFrameRate ?? 0) >= 1 && s.sendFrameRate < 1,
  },
  { code: 2001, msg: "AUDIO_INPUT_LEVEL_TOO_LOW", holds: (s) => s.sendAudioLevel !== undefined && s.sendAudioLevel <= 0 },
  { code: 2003, msg: "SEND_AUDIO_BITRATE_TOO_LOW", holds: (s) => s.sendAudioBitrate !== undefined && s.sendAudioBitrate <= 0 },
  {
    code: 1005,
    msg: "RECV_VIDEO_DECODE_FAILED",
    holds: (s) => (s.receiveVideoBitrate ?? 0) > 0 && s.decodeFrameRate !== undefined && s.decodeFrameRate <= 0,
  },
  {
    code: 2002,
    msg: "AUDIO_OUTPUT_LEVEL_TOO_LOW",
    holds: (s) => (s.receiveAudioBitrate ?? 0) > 0 && s.receiveAudioLevel !== undefined && s.receiveAudioLevel <= 0,
  },
];

/** A condition must hold this many samples in a row to be reported, and be gone as many to recover. */
export const SUSTAIN_SAMPLES = 3;

export class ExceptionMonitor {
  private readonly counts = new Map<string, number>();
  private readonly active = new Set<string>();

  /** Feeds the samples of one stats round; returns the exceptions and recoveries to emit. */
  sample(samples: MediaSample[]): ExceptionEvent[] {
    const out: ExceptionEvent[] = [];
    for (const s of samples) {
      for (const condition of CONDITIONS) {
        const holds = condition.holds(s);
        if (holds === undefined) continue;
        const key = `${condition.code}:${s.uid}`;
        const isActive = this.active.has(key);
        // Counts how long the state has differed from what was last reported.
        const differs = holds !== isActive;
        const count = differs ? (this.counts.get(key) ?? 0) + 1 : 0;
        this.counts.set(key, count);
        if (count < SUSTAIN_SAMPLES) continue;
        this.counts.set(key, 0);
        if (holds) {
          this.active.add(key);
          out.push({ code: condition.code, msg: condition.msg, uid: s.uid });
        } else {
          this.active.delete(key);
          out.push({ code: condition.code + 2000, msg: `${condition.msg}_RECOVER`, uid: s.uid });
        }
      }
    }
    return out;
  }

  reset(): void {
    this.counts.clear();
    this.active.clear();
  }
}

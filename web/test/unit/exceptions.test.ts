import { describe, expect, it } from "vitest";
import { ExceptionMonitor, SUSTAIN_SAMPLES } from "../../src/exceptions";

describe("exception events", () => {
  it("reports a lasting problem once and its recovery with code + 2000", () => {
    const monitor = new ExceptionMonitor();
    const silent = { uid: 7, sendAudioLevel: 0 };
    const loud = { uid: 7, sendAudioLevel: 0.4 };
    for (let i = 1; i < SUSTAIN_SAMPLES; i++) expect(monitor.sample([silent])).toEqual([]);
    expect(monitor.sample([silent])).toEqual([{ code: 2001, msg: "AUDIO_INPUT_LEVEL_TOO_LOW", uid: 7 }]);
    expect(monitor.sample([silent])).toEqual([]);
    expect(monitor.sample([loud])).toEqual([]);
    expect(monitor.sample([silent])).toEqual([]);
    for (let i = 1; i < SUSTAIN_SAMPLES; i++) expect(monitor.sample([loud])).toEqual([]);
    expect(monitor.sample([loud])).toEqual([{ code: 4001, msg: "AUDIO_INPUT_LEVEL_TOO_LOW_RECOVER", uid: 7 }]);
  });

  it("tells decode failures of remote video apart from a sender that stopped", () => {
    const monitor = new ExceptionMonitor();
    const stuck = { uid: "amy", receiveVideoBitrate: 300000, decodeFrameRate: 0 };
    const stopped = { uid: "bob", receiveVideoBitrate: 0, decodeFrameRate: 0 };
    let events: unknown[] = [];
    for (let i = 0; i < SUSTAIN_SAMPLES; i++) events = monitor.sample([stuck, stopped]);
    expect(events).toEqual([{ code: 1005, msg: "RECV_VIDEO_DECODE_FAILED", uid: "amy" }]);
  });

  it("ignores what a sample does not measure", () => {
    const monitor = new ExceptionMonitor();
    for (let i = 0; i < 10; i++) expect(monitor.sample([{ uid: 1 }])).toEqual([]);
  });
});

import { describe, expect, it } from "vitest";
import {
  bitrate,
  downlinkSample,
  localAudioStats,
  qualityOf,
  remoteVideoStats,
  transportSummary,
  uplinkSample,
  type StatsEntry,
} from "../../src/stats";
import { deviceChanges } from "../../src/devices";
import { disconnectReasonOf } from "../../src/client";
import { AgoraRTCError } from "../../src/errors";
import type { DeviceInfo } from "../../src/types";

describe("stats from getStats", () => {
  const report: StatsEntry[] = [
    { id: "T", type: "transport", selectedCandidatePairId: "CP2" },
    { id: "CP1", type: "candidate-pair", state: "succeeded", bytesSent: 1, bytesReceived: 1 },
    { id: "CP2", type: "candidate-pair", state: "succeeded", bytesSent: 5000, bytesReceived: 9000, currentRoundTripTime: 0.012, availableOutgoingBitrate: 800000 },
    { id: "C1", type: "codec", mimeType: "video/VP8" },
    { id: "C2", type: "codec", mimeType: "audio/opus" },
    { id: "O1", type: "outbound-rtp", kind: "audio", bytesSent: 4000, packetsSent: 100, codecId: "C2" },
    { id: "R1", type: "remote-inbound-rtp", localId: "O1", packetsLost: 2, jitter: 0.004, roundTripTime: 0.01, fractionLost: 0.02 },
    {
      id: "I1", type: "inbound-rtp", kind: "video", trackIdentifier: "tv", bytesReceived: 20000, packetsReceived: 90,
      packetsLost: 10, frameWidth: 640, frameHeight: 480, framesPerSecond: 15, codecId: "C1", jitterBufferDelay: 3, jitterBufferEmittedCount: 100,
    },
  ];

  it("reads the selected candidate pair", () => {
    expect(transportSummary(report)).toEqual({ sentBytes: 5000, receivedBytes: 9000, rttMs: 12, availableOutgoingKbps: 800 });
  });

  it("computes bitrates from two snapshots", () => {
    expect(bitrate(2000, 1000, 1000)).toBe(8000);
    expect(bitrate(2000, undefined, 1000)).toBe(0);
    expect(bitrate(500, 1000, 1000)).toBe(0);
  });

  it("fills LocalAudioTrackStats with Agora's field names", () => {
    const first = localAudioStats(report, undefined, 1000, 0.5)!;
    expect(first.stats).toMatchObject({
      codecType: "opus", sendBytes: 4000, sendPackets: 100, sendPacketsLost: 2, sendJitterMs: 4, sendRttMs: 10,
      sendVolumeLevel: 16384, sendBitrate: 0,
    });
    const second = localAudioStats(report.map((e) => (e.id === "O1" ? { ...e, bytesSent: 6000 } : e)), first.snapshot, 2000, 0)!;
    expect(second.stats.sendBitrate).toBe(16000);
  });

  it("fills RemoteVideoTrackStats for the subscribed track", () => {
    const read = remoteVideoStats(report, "tv", undefined, 5000, 0, 20)!;
    expect(read.stats).toMatchObject({
      codecType: "VP8", receiveBytes: 20000, receivePackets: 90, receivePacketsLost: 10, packetLossRate: 0.1,
      receiveResolutionWidth: 640, receiveResolutionHeight: 480, decodeFrameRate: 15, receiveDelay: 30, transportDelay: 10, totalDuration: 5,
    });
    expect(remoteVideoStats(report, "other", undefined, 0, 0, 0)).toBeUndefined();
  });
});

describe("network quality", () => {
  const link = (lossRate: number, rttMs: number, jitterMs = 0) => ({ lossRate, rttMs, jitterMs });

  it("rates a link on Agora's 1 (excellent) to 6 (down) scale by its worst measure", () => {
    expect(qualityOf(undefined)).toBe(0);
    expect(qualityOf(link(0, 2))).toBe(1);
    expect(qualityOf(link(0.02, 20))).toBe(2);
    expect(qualityOf(link(0, 150))).toBe(2);
    expect(qualityOf(link(0, 20, 60))).toBe(3);
    expect(qualityOf(link(0.1, 20))).toBe(4);
    expect(qualityOf(link(0, 1000))).toBe(5);
    expect(qualityOf(link(0.4, 20))).toBe(5);
    expect(qualityOf(link(0.6, 20))).toBe(6);
  });

  it("takes the uplink from the SFU's receiver reports, or the signalling round trip when nothing is sent", () => {
    const reports: StatsEntry[] = [
      { id: "RA", type: "remote-inbound-rtp", kind: "audio", fractionLost: 0.01, roundTripTime: 0.03, jitter: 0.002 },
      { id: "RV", type: "remote-inbound-rtp", kind: "video", fractionLost: 0.05, roundTripTime: 0.02, jitter: 0.004 },
    ];
    expect(uplinkSample(reports, 5)).toEqual({ lossRate: 0.05, rttMs: 30, jitterMs: 4 });
    expect(uplinkSample([], 7)).toEqual({ lossRate: 0, rttMs: 7, jitterMs: 0 });
    expect(uplinkSample([], undefined)).toBeUndefined();
  });

  it("takes the downlink's loss over the interval across inbound streams", () => {
    const round = (receivedA: number, lostA: number, receivedV: number, lostV: number): StatsEntry[] => [
      { id: "T", type: "transport", selectedCandidatePairId: "CP" },
      { id: "CP", type: "candidate-pair", state: "succeeded", currentRoundTripTime: 0.04 },
      { id: "IA", type: "inbound-rtp", kind: "audio", packetsReceived: receivedA, packetsLost: lostA, jitter: 0.003 },
      { id: "IV", type: "inbound-rtp", kind: "video", packetsReceived: receivedV, packetsLost: lostV, jitter: 0.012 },
    ];
    const first = downlinkSample(round(100, 0, 300, 10), undefined, 9);
    expect(first.sample).toEqual({ lossRate: 0, rttMs: 40, jitterMs: 12 });
    const second = downlinkSample(round(150, 0, 440, 20), first.totals, 9);
    expect(second.sample!.lossRate).toBeCloseTo(10 / 200);
    expect(qualityOf(second.sample)).toBe(3);
    // A new subscriber transport restarts the counters: no loss is made up from the drop.
    expect(downlinkSample(round(5, 0, 5, 0), second.totals, 9).sample!.lossRate).toBe(0);
    // Nothing received yet: the signalling round trip alone.
    expect(downlinkSample([], undefined, 9).sample).toEqual({ lossRate: 0, rttMs: 9, jitterMs: 0 });
    expect(downlinkSample([], undefined, undefined).sample).toBeUndefined();
  });
});

describe("device changes", () => {
  const device = (kind: MediaDeviceKind, deviceId: string) => ({ kind, deviceId, label: deviceId, groupId: "" }) as MediaDeviceInfo;

  it("reports added devices as ACTIVE and removed ones as INACTIVE, per kind", () => {
    const known = new Map<string, DeviceInfo>();
    deviceChanges(known, [device("videoinput", "cam1"), device("audioinput", "mic1")], 1);
    const changes = deviceChanges(known, [device("videoinput", "cam1"), device("audiooutput", "spk")], 2);
    expect(changes.map((c) => `${c.event}:${c.info.state}:${c.info.device.deviceId}`)).toEqual([
      "playback-device-changed:ACTIVE:spk",
      "microphone-changed:INACTIVE:mic1",
    ]);
  });
});

describe("disconnect reasons", () => {
  it("maps join failures to ConnectionDisconnectedReason", () => {
    expect(disconnectReasonOf(new AgoraRTCError("UID_CONFLICT"))).toBe("UID_CONFLICT");
    expect(disconnectReasonOf(new AgoraRTCError("CAN_NOT_GET_GATEWAY_SERVER", "x", { code: 2010013 }))).toBe("TOKEN_EXPIRE");
    expect(disconnectReasonOf(new AgoraRTCError("CAN_NOT_GET_GATEWAY_SERVER", "x", { code: 2010005 }))).toBe("SERVER_ERROR");
    expect(disconnectReasonOf(new AgoraRTCError("WS_ERR"))).toBe("NETWORK_ERROR");
    expect(disconnectReasonOf(new Error("x"))).toBe("NETWORK_ERROR");
  });
});

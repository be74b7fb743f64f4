// Agora's stats from RTCPeerConnection.getStats(): pure functions over report entries, so they test without a
// browser. Bitrates come from the difference between two snapshots.

import type {
  LocalAudioTrackStats,
  LocalVideoTrackStats,
  RemoteAudioTrackStats,
  RemoteVideoTrackStats,
} from "./types";

export type StatsEntry = Record<string, unknown> & { id: string; type: string; timestamp?: number };

const num = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) ? v : 0);

function byId(entries: StatsEntry[]): Map<string, StatsEntry> {
  return new Map(entries.map((e) => [e.id, e]));
}

function codecName(entries: Map<string, StatsEntry>, codecId: unknown): string | undefined {
  const codec = typeof codecId === "string" ? entries.get(codecId) : undefined;
  const mime = typeof codec?.mimeType === "string" ? codec.mimeType : undefined;
  return mime?.split("/")[1];
}

/** Bits per second between two byte counters taken `ms` apart. */
export function bitrate(bytesNow: number, bytesBefore: number | undefined, ms: number): number {
  if (bytesBefore === undefined || ms <= 0 || bytesNow < bytesBefore) return 0;
  return Math.round(((bytesNow - bytesBefore) * 8 * 1000) / ms);
}

export interface TransportSummary {
  sentBytes: number;
  receivedBytes: number;
  rttMs: number;
  availableOutgoingKbps: number;
}

/** The selected candidate pair's counters. */
export function transportSummary(entries: StatsEntry[]): TransportSummary {
  const transport = entries.find((e) => e.type === "transport" && typeof e.selectedCandidatePairId === "string");
  const pairs = entries.filter((e) => e.type === "candidate-pair");
  const pair =
    pairs.find((e) => e.id === transport?.selectedCandidatePairId) ??
    pairs.find((e) => e.nominated === true && e.state === "succeeded") ??
    pairs.find((e) => e.state === "succeeded");
  return {
    sentBytes: num(pair?.bytesSent),
    receivedBytes: num(pair?.bytesReceived),
    rttMs: Math.round(num(pair?.currentRoundTripTime) * 1000),
    availableOutgoingKbps: Math.round(num(pair?.availableOutgoingBitrate) / 1000),
  };
}

export interface OutboundSnapshot {
  bytes: number;
  at: number;
}

function remoteInboundFor(entries: StatsEntry[], outbound: StatsEntry): StatsEntry | undefined {
  return entries.find((e) => e.type === "remote-inbound-rtp" && e.localId === outbound.id);
}

export function localAudioStats(
  entries: StatsEntry[],
  previous: OutboundSnapshot | undefined,
  now: number,
  level: number,
): { stats: LocalAudioTrackStats; snapshot: OutboundSnapshot } | undefined {
  const outbound = entries.find((e) => e.type === "outbound-rtp" && e.kind === "audio");
  if (!outbound) return undefined;
  const all = byId(entries);
  const remote = remoteInboundFor(entries, outbound);
  const bytes = num(outbound.bytesSent);
  const codec = codecName(all, outbound.codecId)?.toLowerCase();
  const stats: LocalAudioTrackStats = {
    sendVolumeLevel: Math.round(level * 32767),
    sendBitrate: bitrate(bytes, previous?.bytes, now - (previous?.at ?? now)),
    sendBytes: bytes,
    sendPackets: num(outbound.packetsSent),
    sendPacketsLost: num(remote?.packetsLost),
    sendJitterMs: Math.round(num(remote?.jitter) * 1000),
    sendRttMs: Math.round(num(remote?.roundTripTime) * 1000),
    currentPacketLossRate: num(remote?.fractionLost),
  };
  if (codec === "opus") stats.codecType = "opus";
  return { stats, snapshot: { bytes, at: now } };
}

export function localVideoStats(
  entries: StatsEntry[],
  previous: OutboundSnapshot | undefined,
  now: number,
  capture: { width: number; height: number; frameRate: number },
  targetKbps: number,
  startedAt: number,
): { stats: LocalVideoTrackStats; snapshot: OutboundSnapshot } | undefined {
  const outbound = entries.find((e) => e.type === "outbound-rtp" && e.kind === "video");
  if (!outbound) return undefined;
  const all = byId(entries);
  const remote = remoteInboundFor(entries, outbound);
  const bytes = num(outbound.bytesSent);
  const codec = codecName(all, outbound.codecId)?.toUpperCase();
  const framesEncoded = num(outbound.framesEncoded);
  const stats: LocalVideoTrackStats = {
    sendBytes: bytes,
    sendFrameRate: num(outbound.framesPerSecond),
    captureFrameRate: capture.frameRate,
    sendPackets: num(outbound.packetsSent),
    sendPacketsLost: num(remote?.packetsLost),
    sendJitterMs: Math.round(num(remote?.jitter) * 1000),
    sendRttMs: Math.round(num(remote?.roundTripTime) * 1000),
    sendResolutionHeight: num(outbound.frameHeight),
    sendResolutionWidth: num(outbound.frameWidth),
    captureResolutionHeight: capture.height,
    captureResolutionWidth: capture.width,
    encodeDelay: framesEncoded > 0 ? Math.round((num(outbound.totalEncodeTime) / framesEncoded) * 1000) : 0,
    sendBitrate: bitrate(bytes, previous?.bytes, now - (previous?.at ?? now)),
    targetSendBitrate: Math.round(targetKbps * 1000),
    totalDuration: Math.round((now - startedAt) / 1000),
    totalFreezeTime: 0,
    currentPacketLossRate: num(remote?.fractionLost),
  };
  if (codec === "H264" || codec === "VP8" || codec === "VP9" || codec === "AV1" || codec === "H265") stats.codecType = codec;
  return { stats, snapshot: { bytes, at: now } };
}

export interface InboundSnapshot {
  bytes: number;
  packets: number;
  lost: number;
  at: number;
}

function inboundCommon(inbound: StatsEntry, previous: InboundSnapshot | undefined, now: number, since: number) {
  const bytes = num(inbound.bytesReceived);
  const packets = num(inbound.packetsReceived);
  const lost = Math.max(0, num(inbound.packetsLost));
  const dPackets = packets - (previous?.packets ?? packets);
  const dLost = lost - (previous?.lost ?? lost);
  const jitterBuffer = num(inbound.jitterBufferEmittedCount)
    ? (num(inbound.jitterBufferDelay) / num(inbound.jitterBufferEmittedCount)) * 1000
    : 0;
  return {
    snapshot: { bytes, packets, lost, at: now },
    receiveBitrate: bitrate(bytes, previous?.bytes, now - (previous?.at ?? now)),
    receiveBytes: bytes,
    receivePackets: packets,
    receivePacketsLost: lost,
    packetLossRate: packets + lost > 0 ? lost / (packets + lost) : 0,
    currentPacketLossRate: dPackets + dLost > 0 ? dLost / (dPackets + dLost) : 0,
    receiveDelay: Math.round(jitterBuffer),
    totalDuration: Math.round((now - since) / 1000),
    totalFreezeTime: Math.round(num(inbound.totalFreezesDuration)),
  };
}

export function remoteAudioStats(
  entries: StatsEntry[],
  trackIdentifier: string,
  previous: InboundSnapshot | undefined,
  now: number,
  since: number,
  rttMs: number,
): { stats: RemoteAudioTrackStats; snapshot: InboundSnapshot } | undefined {
  const inbound = entries.find(
    (e) => e.type === "inbound-rtp" && e.kind === "audio" && e.trackIdentifier === trackIdentifier,
  );
  if (!inbound) return undefined;
  const common = inboundCommon(inbound, previous, now, since);
  const codec = codecName(byId(entries), inbound.codecId)?.toLowerCase();
  const stats: RemoteAudioTrackStats = {
    transportDelay: Math.round(rttMs / 2),
    end2EndDelay: Math.round(rttMs / 2 + common.receiveDelay),
    receiveBitrate: common.receiveBitrate,
    receiveLevel: Math.round(num(inbound.audioLevel) * 32767),
    receiveBytes: common.receiveBytes,
    receiveDelay: common.receiveDelay,
    receivePackets: common.receivePackets,
    receivePacketsLost: common.receivePacketsLost,
    receivePacketsDiscarded: num(inbound.packetsDiscarded),
    packetLossRate: common.packetLossRate,
    currentPacketLossRate: common.currentPacketLossRate,
    totalDuration: common.totalDuration,
    totalFreezeTime: common.totalFreezeTime,
    freezeRate: 0,
    publishDuration: common.totalDuration,
  };
  if (codec === "opus") stats.codecType = "opus";
  return { stats, snapshot: common.snapshot };
}

export function remoteVideoStats(
  entries: StatsEntry[],
  trackIdentifier: string,
  previous: InboundSnapshot | undefined,
  now: number,
  since: number,
  rttMs: number,
): { stats: RemoteVideoTrackStats; snapshot: InboundSnapshot } | undefined {
  const inbound = entries.find(
    (e) => e.type === "inbound-rtp" && e.kind === "video" && e.trackIdentifier === trackIdentifier,
  );
  if (!inbound) return undefined;
  const common = inboundCommon(inbound, previous, now, since);
  const codec = codecName(byId(entries), inbound.codecId)?.toUpperCase();
  const duration = Math.max(1, common.totalDuration);
  const stats: RemoteVideoTrackStats = {
    transportDelay: Math.round(rttMs / 2),
    end2EndDelay: Math.round(rttMs / 2 + common.receiveDelay),
    receiveBitrate: common.receiveBitrate,
    receiveDelay: common.receiveDelay,
    receiveBytes: common.receiveBytes,
    decodeFrameRate: num(inbound.framesPerSecond),
    receiveFrameRate: num(inbound.framesPerSecond),
    renderFrameRate: num(inbound.framesPerSecond),
    receivePackets: common.receivePackets,
    receivePacketsLost: common.receivePacketsLost,
    packetLossRate: common.packetLossRate,
    currentPacketLossRate: common.currentPacketLossRate,
    receiveResolutionHeight: num(inbound.frameHeight),
    receiveResolutionWidth: num(inbound.frameWidth),
    totalDuration: common.totalDuration,
    totalFreezeTime: common.totalFreezeTime,
    freezeRate: Math.min(1, common.totalFreezeTime / duration),
    publishDuration: common.totalDuration,
  };
  if (codec === "H264" || codec === "VP8" || codec === "VP9" || codec === "AV1" || codec === "H265") stats.codecType = codec;
  return { stats, snapshot: common.snapshot };
}

/** Agora's network quality scale: 0 unknown, 1 excellent, 2 good, 3 poor, 4 bad, 5 very bad, 6 down. */
export type QualityLevel = 0 | 1 | 2 | 3 | 4 | 5 | 6;

/** One direction of the link over the last interval: loss as a fraction (0 to 1), round trip and jitter in ms. */
export interface LinkSample {
  lossRate: number;
  rttMs: number;
  jitterMs: number;
}

/**
 * The worst level any of loss, round trip or jitter reaches. The steps follow what people hear and see: under 1 %
 * loss and 100 ms round trip nothing shows; from 3 % and 200 ms video stutters now and then; from 8 % and 400 ms
 * conversation suffers; past 50 % loss almost nothing gets through.
 */
export function qualityOf(sample: LinkSample | undefined): QualityLevel {
  if (!sample) return 0;
  const { lossRate, rttMs, jitterMs } = sample;
  if (lossRate >= 0.5) return 6;
  const steps: [loss: number, rtt: number, jitter: number][] = [
    [0.01, 100, 30],
    [0.03, 200, 50],
    [0.08, 400, 100],
    [0.15, 800, 200],
    [0.3, 1600, 400],
  ];
  for (const [index, [loss, rtt, jitter]] of steps.entries()) {
    if (lossRate < loss && rttMs < rtt && jitterMs < jitter) return (index + 1) as QualityLevel;
  }
  return 5;
}

/**
 * The uplink as the SFU sees what this client sends: the worst of the published tracks' RTCP receiver reports
 * (remote-inbound-rtp), or just `fallbackRttMs` (the signalling round trip) when nothing is published.
 */
export function uplinkSample(publisher: StatsEntry[], fallbackRttMs: number | undefined): LinkSample | undefined {
  const reports = publisher.filter((e) => e.type === "remote-inbound-rtp" && typeof e.roundTripTime === "number");
  if (reports.length === 0) return fallbackRttMs === undefined ? undefined : { lossRate: 0, rttMs: fallbackRttMs, jitterMs: 0 };
  return {
    lossRate: Math.max(...reports.map((e) => Math.max(0, num(e.fractionLost)))),
    rttMs: Math.max(...reports.map((e) => num(e.roundTripTime) * 1000)),
    jitterMs: Math.max(...reports.map((e) => num(e.jitter) * 1000)),
  };
}

/** Counters of the subscriber transport's inbound streams, for loss over an interval. */
export interface InboundTotals {
  received: number;
  lost: number;
}

/**
 * The downlink from what this client receives: loss since `previous` over all inbound streams, the worst jitter and
 * the transport's round trip (or `fallbackRttMs`, the signalling round trip, when nothing is received yet).
 */
export function downlinkSample(
  subscriber: StatsEntry[],
  previous: InboundTotals | undefined,
  fallbackRttMs: number | undefined,
): { sample: LinkSample | undefined; totals: InboundTotals } {
  const inbound = subscriber.filter((e) => e.type === "inbound-rtp");
  const totals = {
    received: inbound.reduce((sum, e) => sum + num(e.packetsReceived), 0),
    lost: inbound.reduce((sum, e) => sum + Math.max(0, num(e.packetsLost)), 0),
  };
  const rttMs = transportSummary(subscriber).rttMs || fallbackRttMs;
  if (rttMs === undefined) return { sample: undefined, totals };
  // Counters restart with a new subscriber transport (after a reconnection): such an interval counts no loss.
  const received = Math.max(0, totals.received - (previous?.received ?? totals.received));
  const lost = Math.max(0, totals.lost - (previous?.lost ?? totals.lost));
  const lossRate = received + lost > 0 && lost > 0 ? lost / (received + lost) : 0;
  const jitterMs = Math.max(0, ...inbound.map((e) => num(e.jitter) * 1000));
  return { sample: { lossRate, rttMs, jitterMs }, totals };
}

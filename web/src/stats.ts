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

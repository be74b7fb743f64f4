// The two WebRTC transports of a client, as the server expects them (docs/protocol.md): the publisher transport,
// where the client offers its sendonly tracks, and the subscriber transport, where the server offers one sendonly
// m-line per subscribed remote track. The server is ICE-lite with one host candidate in its SDP, so there is no
// trickle: Chromium's connectivity checks reach it and it answers.

import { AgoraRTCError } from "./errors";
import type { MediaType } from "./generated/protocol";
import type { SDK_CODEC } from "./types";

export function ensureWebRTC(): void {
  if (typeof RTCPeerConnection === "undefined") {
    throw new AgoraRTCError("NOT_SUPPORTED", "this browser has no WebRTC (RTCPeerConnection)");
  }
}

const MIME: Record<SDK_CODEC, string> = {
  vp8: "video/VP8",
  vp9: "video/VP9",
  h264: "video/H264",
  av1: "video/AV1",
  h265: "video/H265",
};

/**
 * The video codecs offered, the chosen one first. Only that codec (all its profiles) and the repair formats stay
 * when the browser has it: it keeps the offer well below the server's 16 KiB frame limit and makes the SFU pick it.
 */
export function preferredCodecs(
  codecs: RTCRtpCodec[],
  codec: SDK_CODEC,
): RTCRtpCodec[] {
  const mime = MIME[codec].toLowerCase();
  const chosen = codecs.filter((c) => c.mimeType.toLowerCase() === mime);
  const repair = codecs.filter((c) => /\/(rtx|red|ulpfec|flexfec-03)$/i.test(c.mimeType));
  if (chosen.length === 0) {
    // The browser lacks it (Agora falls back to vp8 for vp9): keep VP8 first.
    const vp8 = codecs.filter((c) => c.mimeType.toLowerCase() === "video/vp8");
    return [...vp8, ...repair];
  }
  return [...chosen, ...repair];
}

function setVideoCodec(transceiver: RTCRtpTransceiver, codec: SDK_CODEC): void {
  const capabilities = typeof RTCRtpReceiver !== "undefined" ? RTCRtpReceiver.getCapabilities?.("video") : null;
  if (!capabilities || typeof transceiver.setCodecPreferences !== "function") return;
  try {
    transceiver.setCodecPreferences(preferredCodecs(capabilities.codecs, codec));
  } catch {
    // Some browsers refuse preferences on send-only transceivers; the SFU then picks from the full list.
  }
}

/** The publisher transport: at most one audio and one video transceiver, reused across unpublish / publish. */
export class PublisherTransport {
  readonly pc: RTCPeerConnection;
  private readonly transceivers = new Map<MediaType, RTCRtpTransceiver>();

  constructor(private readonly codec: SDK_CODEC) {
    ensureWebRTC();
    this.pc = new RTCPeerConnection({ bundlePolicy: "max-bundle", rtcpMuxPolicy: "require" });
  }

  transceiver(mediaType: MediaType): RTCRtpTransceiver | undefined {
    return this.transceivers.get(mediaType);
  }

  /** The transceiver that sends `track` (created on first use). */
  attach(mediaType: MediaType, track: MediaStreamTrack | null): RTCRtpTransceiver {
    let transceiver = this.transceivers.get(mediaType);
    if (!transceiver) {
      transceiver = this.pc.addTransceiver(track ?? mediaType, { direction: "sendonly" });
      if (mediaType === "video") setVideoCodec(transceiver, this.codec);
      this.transceivers.set(mediaType, transceiver);
    } else {
      transceiver.direction = "sendonly";
      void transceiver.sender.replaceTrack(track);
    }
    return transceiver;
  }

  /** Stops sending on a media type; the next offer marks its m-line inactive so the SFU ends the publication. */
  detach(mediaType: MediaType): void {
    const transceiver = this.transceivers.get(mediaType);
    if (!transceiver) return;
    transceiver.direction = "inactive";
    void transceiver.sender.replaceTrack(null);
  }

  /** The next offer; with `iceRestart`, new ICE credentials for a path that was lost. */
  async offer(iceRestart = false): Promise<string> {
    try {
      const offer = await this.pc.createOffer({ iceRestart });
      await this.pc.setLocalDescription(offer);
      return offer.sdp ?? "";
    } catch (error) {
      throw new AgoraRTCError("CREATE_OFFER_FAILED", String(error));
    }
  }

  async answer(sdp: string): Promise<void> {
    try {
      await this.pc.setRemoteDescription({ type: "answer", sdp });
    } catch (error) {
      throw new AgoraRTCError("SET_ANSWER_FAILED", String(error));
    }
  }

  /** Undo a local offer the server refused, so the next publish can offer again. */
  async rollback(): Promise<void> {
    if (this.pc.signalingState === "have-local-offer") {
      await this.pc.setLocalDescription({ type: "rollback" }).catch(() => undefined);
    }
  }

  close(): void {
    this.pc.close();
    this.transceivers.clear();
  }
}

/**
 * Makes every m-line's msid track id unique by suffixing its mid. The server names a new m-line after its publisher
 * and kind (`stoa-<n> stoa-<n>-video`), so a re-published track's new m-line can repeat the msid of the one being
 * parked in the same offer, and Chromium refuses such an offer ("Duplicate a=msid lines detected"). Tracks are found
 * by mid anyway, and a given mid always gets the same msid.
 */
export function uniqueMsids(sdp: string): string {
  const eol = sdp.includes("\r\n") ? "\r\n" : "\n";
  const sections = sdp.split(`${eol}m=`);
  return sections
    .map((section, index) => {
      if (index === 0) return section;
      const mid = /^a=mid:(\S+)$/m.exec(section)?.[1];
      if (!mid) return section;
      return section
        .split(eol)
        .map((line) => {
          const msid = /^a=msid:(\S+) (\S+)$/.exec(line);
          if (msid) return `a=msid:${msid[1]} ${msid[2]}-${mid}`;
          const ssrc = /^(a=ssrc:\d+ msid:\S+) (\S+)$/.exec(line);
          if (ssrc) return `${ssrc[1]} ${ssrc[2]}-${mid}`;
          return line;
        })
        .join(eol);
    })
    .join(`${eol}m=`);
}

/** The subscriber transport: answers the server's offers and finds the m-line each subscription got. */
export class SubscriberTransport {
  readonly pc: RTCPeerConnection;
  /** mid -> the subscription it carries. */
  private readonly owners = new Map<string, string>();

  constructor() {
    ensureWebRTC();
    this.pc = new RTCPeerConnection({ bundlePolicy: "max-bundle", rtcpMuxPolicy: "require" });
  }

  /**
   * Applies the server's offer and returns the answer, plus the transceiver that is new for `key` (a receiving
   * m-line of `mediaType` that no live subscription owns; the server reuses stopped m-lines).
   */
  async accept(offer: string, mediaType: MediaType, key: string): Promise<{ answer: string; transceiver?: RTCRtpTransceiver }> {
    try {
      await this.pc.setRemoteDescription({ type: "offer", sdp: uniqueMsids(offer) });
      const answer = await this.pc.createAnswer();
      await this.pc.setLocalDescription(answer);
      const fresh = this.pc
        .getTransceivers()
        .filter(
          (t) =>
            t.mid !== null &&
            t.receiver.track.kind === mediaType &&
            !this.owners.has(t.mid) &&
            (t.currentDirection === "recvonly" || t.currentDirection === "sendrecv"),
        );
      const transceiver = fresh[fresh.length - 1];
      if (transceiver?.mid) this.owners.set(transceiver.mid, key);
      return transceiver ? { answer: answer.sdp ?? "", transceiver } : { answer: answer.sdp ?? "" };
    } catch (error) {
      throw new AgoraRTCError("EXCHANGE_SDP_FAILED", `cannot answer the subscriber offer: ${String(error)}`);
    }
  }

  /** Applies a server offer that restarts ICE (nothing else changes) and returns the answer. */
  async acceptRestart(offer: string): Promise<string> {
    try {
      await this.pc.setRemoteDescription({ type: "offer", sdp: uniqueMsids(offer) });
      const answer = await this.pc.createAnswer();
      await this.pc.setLocalDescription(answer);
      return answer.sdp ?? "";
    } catch (error) {
      throw new AgoraRTCError("EXCHANGE_SDP_FAILED", `cannot answer the ICE restart offer: ${String(error)}`);
    }
  }

  /** The subscription `key` is over: its m-line may be reused by the server. */
  release(key: string): void {
    for (const [mid, owner] of this.owners) if (owner === key) this.owners.delete(mid);
  }

  close(): void {
    this.pc.close();
    this.owners.clear();
  }
}

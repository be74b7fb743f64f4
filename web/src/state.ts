// The sans-IO core of the client: connection states and the remote users as the server's frames describe them.
// It turns frames into the events the app sees; the IO shell (client.ts) feeds it and emits what it returns.

import { AgoraRTCError } from "./errors";
import type { Joined, MediaType, ServerFrame, TrackState, UserInfoMessage, UserLeftReason } from "./generated/protocol";
import type { ConnectionDisconnectedReasonValue, ConnectionState, NetworkQuality } from "./types";

export type CoreEvent =
  | { kind: "user-joined"; uid: number }
  | { kind: "user-left"; uid: number; reason: UserLeftReason }
  | { kind: "user-published"; uid: number; mediaType: MediaType }
  | { kind: "user-unpublished"; uid: number; mediaType: MediaType }
  | { kind: "user-info-updated"; uid: number; msg: UserInfoMessage }
  | { kind: "token-privilege-will-expire" }
  | { kind: "token-privilege-did-expire" }
  | { kind: "disconnected"; reason: ConnectionDisconnectedReasonValue };

export interface RemoteUserState {
  uid: number;
  account?: string;
  /** Published tracks as the server last described them, muted and disabled ones included. */
  tracks: Map<MediaType, TrackState>;
  /** The media types announced to the app as available (`hasAudio` / `hasVideo`). */
  announced: Set<MediaType>;
  /** The user's own rating of its link, as it last reported it (`getRemoteNetworkQuality`). */
  quality?: NetworkQuality;
}

export function available(track: TrackState | undefined): boolean {
  return track !== undefined && (track.enabled ?? true) && !(track.muted ?? false);
}

export function hasMedia(user: RemoteUserState, mediaType: MediaType): boolean {
  return user.announced.has(mediaType);
}

const MEDIA: MediaType[] = ["audio", "video"];

function userFrom(info: { uid: number; account?: string; tracks?: TrackState[] }): RemoteUserState {
  const user: RemoteUserState = { uid: info.uid, tracks: new Map(), announced: new Set() };
  if (info.account !== undefined) user.account = info.account;
  for (const track of info.tracks ?? []) {
    user.tracks.set(track.media_type, { ...track });
    if (available(track)) user.announced.add(track.media_type);
  }
  return user;
}

/** Which transitions the client makes; anything else is a bug in the shell and is refused. */
const TRANSITIONS: Record<ConnectionState, ConnectionState[]> = {
  DISCONNECTED: ["CONNECTING"],
  CONNECTING: ["CONNECTED", "DISCONNECTED", "DISCONNECTING"],
  CONNECTED: ["RECONNECTING", "DISCONNECTING", "DISCONNECTED"],
  RECONNECTING: ["CONNECTED", "DISCONNECTING", "DISCONNECTED"],
  DISCONNECTING: ["DISCONNECTED"],
};

export interface StateChange {
  current: ConnectionState;
  previous: ConnectionState;
  reason?: ConnectionDisconnectedReasonValue;
}

export class ClientCore {
  state: ConnectionState = "DISCONNECTED";
  readonly users = new Map<number, RemoteUserState>();

  /** Moves to `next`; null when already there. Refuses impossible transitions with INVALID_OPERATION. */
  transition(next: ConnectionState, reason?: ConnectionDisconnectedReasonValue): StateChange | null {
    if (next === this.state) return null;
    if (!TRANSITIONS[this.state].includes(next)) {
      throw new AgoraRTCError("INVALID_OPERATION", `cannot go from ${this.state} to ${next}`);
    }
    const change: StateChange = { current: next, previous: this.state };
    if (next === "DISCONNECTED") {
      change.reason = reason ?? "LEAVE";
      this.users.clear();
    }
    this.state = next;
    return change;
  }

  /**
   * A `joined` reply. After a first join every user is new; after a rejoin (or a fresh join that re-entered the
   * channel) only the difference is reported: users gone leave with `Quit`, tracks that changed are
   * (un)published.
   */
  joined(joined: Joined): CoreEvent[] {
    const events: CoreEvent[] = [];
    const seen = new Set<number>();
    for (const info of joined.users) {
      seen.add(info.uid);
      const fresh = userFrom(info);
      const known = this.users.get(info.uid);
      if (!known) {
        this.users.set(info.uid, fresh);
        events.push({ kind: "user-joined", uid: info.uid });
        for (const mediaType of MEDIA) {
          if (hasMedia(fresh, mediaType)) events.push({ kind: "user-published", uid: info.uid, mediaType });
        }
        continue;
      }
      for (const mediaType of MEDIA) {
        const before = hasMedia(known, mediaType);
        const after = hasMedia(fresh, mediaType);
        if (before && !after) events.push({ kind: "user-unpublished", uid: info.uid, mediaType });
        if (!before && after) events.push({ kind: "user-published", uid: info.uid, mediaType });
      }
      known.tracks = fresh.tracks;
      known.announced = fresh.announced;
    }
    for (const uid of [...this.users.keys()]) {
      if (!seen.has(uid)) {
        this.users.delete(uid);
        events.push({ kind: "user-left", uid, reason: "Quit" });
      }
    }
    return events;
  }

  /** A server push. Pushes about unknown users are ignored, as in the Rust SDK. */
  push(frame: ServerFrame): CoreEvent[] {
    switch (frame.type) {
      case "user_joined": {
        if (this.users.has(frame.uid)) return [];
        this.users.set(frame.uid, userFrom({ ...frame, tracks: [] }));
        return [{ kind: "user-joined", uid: frame.uid }];
      }
      case "user_left": {
        if (!this.users.delete(frame.uid)) return [];
        return [{ kind: "user-left", uid: frame.uid, reason: frame.reason }];
      }
      case "user_published": {
        const user = this.users.get(frame.uid);
        if (!user) return [];
        user.tracks.set(frame.media_type, { media_type: frame.media_type, muted: false, enabled: true });
        if (user.announced.has(frame.media_type)) return [];
        user.announced.add(frame.media_type);
        return [{ kind: "user-published", uid: frame.uid, mediaType: frame.media_type }];
      }
      case "user_unpublished": {
        const user = this.users.get(frame.uid);
        if (!user) return [];
        // Still available means it was not muted or disabled first: it is unpublished.
        if (available(user.tracks.get(frame.media_type))) user.tracks.delete(frame.media_type);
        if (!user.announced.delete(frame.media_type)) return [];
        return [{ kind: "user-unpublished", uid: frame.uid, mediaType: frame.media_type }];
      }
      case "user_info_updated": {
        const user = this.users.get(frame.uid);
        if (!user) return [];
        // Remember why a track becomes unavailable: a muted or disabled track keeps its subscriptions on the
        // server, an unpublished one does not. The server sends this before the user_unpublished it explains.
        const action = frame.msg.split("-")[0];
        const mediaType: MediaType = frame.msg.endsWith("audio") ? "audio" : "video";
        const track = user.tracks.get(mediaType) ?? { media_type: mediaType, muted: false, enabled: true };
        if (frame.msg.includes("mute")) track.muted = action === "mute";
        else track.enabled = action === "enable";
        user.tracks.set(mediaType, track);
        return [{ kind: "user-info-updated", uid: frame.uid, msg: frame.msg }];
      }
      case "user_network_quality": {
        const user = this.users.get(frame.uid);
        if (user) user.quality = { uplinkNetworkQuality: frame.uplink, downlinkNetworkQuality: frame.downlink };
        return [];
      }
      case "token_privilege_will_expire":
        return [{ kind: "token-privilege-will-expire" }];
      case "token_privilege_did_expire":
        return [{ kind: "token-privilege-did-expire" }];
      case "disconnected":
        return [{ kind: "disconnected", reason: frame.reason }];
      default:
        return [];
    }
  }
}

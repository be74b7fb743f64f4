// Generated from crates/proto by crates/proto/tests/ts_types.rs: do not edit by hand.
// Regenerate with `STOA_BLESS=1 cargo test -p stoa-proto --test ts_types`.
// The signalling protocol (crates/proto/src/signal.rs, docs/protocol.md): JSON text frames over one WebSocket.

/** Largest text frame the server reads. */
export const MAX_FRAME_BYTES = 16384;

/** Channel profile, Agora's `mode`. */
export type Mode = "rtc" | "live";

/** A user's role; always `host` in `rtc` mode. */
export type ClientRole = "host" | "audience";

/** `audio` or `video`, the Web SDK's `mediaType`. */
export type MediaType = "audio" | "video";

/** Why a remote user left (the `user-left` reason). */
export type UserLeftReason = "Quit" | "ServerTimeOut" | "BecomeAudience";

/** Why a connection went to DISCONNECTED (`ConnectionDisconnectedReason`). */
export type DisconnectReason = "LEAVE" | "NETWORK_ERROR" | "SERVER_ERROR" | "UID_BANNED" | "IP_BANNED" | "CHANNEL_BANNED" | "TOKEN_EXPIRE" | "UID_CONFLICT";

/** The `msg` of the `user-info-updated` event. */
export type UserInfoMessage = "mute-audio" | "unmute-audio" | "mute-video" | "unmute-video" | "enable-local-audio" | "disable-local-audio" | "enable-local-video" | "disable-local-video";

/** A published track and its switches; available to others while enabled and not muted. */
export interface TrackState {
  enabled?: boolean;
  media_type: MediaType;
  muted?: boolean;
}

/** A user as others see it. */
export interface UserInfo {
  account?: string;
  tracks?: TrackState[];
  uid: number;
}

/** The fields of a `join` frame. */
export interface JoinRequest {
  app_id: string;
  channel: string;
  codec?: string;
  mode?: Mode;
  role?: ClientRole;
  token?: string | null;
  uid?: number | string | null;
}

/** The fields of a `joined` reply. */
export interface Joined {
  account?: string;
  keepalive_ms: number;
  resume_token: string;
  role: ClientRole;
  session_id: string;
  session_timeout_ms: number;
  uid: number;
  users: UserInfo[];
}

/** `POST /api/v1/gateway` body. */
export interface GatewayRequest {
  app_id: string;
  channel: string;
  role?: ClientRole;
  token?: string | null;
  uid?: number | string | null;
}

/** `POST /api/v1/gateway` answer. */
export interface GatewayResponse {
  signalling_url: string;
  uid?: number;
}

/** An error as the server sends it: `message` is the detail alone. */
export interface WireError {
  code: string;
  message: string;
  data?: unknown;
}

/** One frame from client to server; `id` is echoed in the reply. */
export type ClientFrame =
  | { type: "join"; id?: number; app_id: string; channel: string; codec?: string; mode: Mode; role: ClientRole; token: string | null; uid: number | string | null; }
  | { type: "rejoin"; id?: number; resume_token: string; session_id: string; }
  | { type: "leave"; id?: number; }
  | { type: "set_client_role"; id?: number; role: ClientRole; }
  | { type: "renew_token"; id?: number; token: string; }
  | { type: "ping"; id?: number; }
  | { type: "publish"; id?: number; offer: string; tracks: TrackState[]; }
  | { type: "unpublish"; id?: number; media_types: MediaType[]; }
  | { type: "set_track_state"; id?: number; enabled: boolean; media_type: MediaType; muted: boolean; }
  | { type: "subscribe"; id?: number; media_type: MediaType; uid: number; }
  | { type: "unsubscribe"; id?: number; media_type: MediaType; uid: number; }
  | { type: "subscriber_answer"; id?: number; answer: string; }
  | { type: "network_quality"; id?: number; downlink: 0 | 1 | 2 | 3 | 4 | 5 | 6; uplink: 0 | 1 | 2 | 3 | 4 | 5 | 6; }
  | { type: "restart_publisher_ice"; id?: number; offer: string; }
  | { type: "restart_subscriber_ice"; id?: number; }
;

/** One frame from server to client. */
export type ServerFrame =
  | { type: "joined"; account?: string; id: number | null; keepalive_ms: number; resume_token: string; role: ClientRole; session_id: string; session_timeout_ms: number; uid: number; users: UserInfo[]; }
  | { type: "ok"; id: number; }
  | { type: "error"; error: WireError; id?: number; }
  | { type: "user_joined"; account?: string; tracks?: TrackState[]; uid: number; }
  | { type: "published"; answer: string; id: number | null; }
  | { type: "subscribed"; id: number | null; offer: string; }
  | { type: "user_published"; media_type: MediaType; uid: number; }
  | { type: "user_unpublished"; media_type: MediaType; uid: number; }
  | { type: "user_info_updated"; msg: UserInfoMessage; uid: number; }
  | { type: "user_left"; reason: UserLeftReason; uid: number; }
  | { type: "user_network_quality"; downlink: 0 | 1 | 2 | 3 | 4 | 5 | 6; uid: number; uplink: 0 | 1 | 2 | 3 | 4 | 5 | 6; }
  | { type: "token_privilege_will_expire"; expires_at: number; }
  | { type: "token_privilege_did_expire"; }
  | { type: "disconnected"; reason: DisconnectReason; }
;

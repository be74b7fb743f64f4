import { AgoraRTCError } from "./errors";
import type { ClientConfig, ClientRole, SDK_AUDIO_CODEC, SDK_CODEC, SDK_MODE, UID } from "./types";

const CODECS: SDK_CODEC[] = ["vp8", "vp9", "av1", "h264", "h265"];
const MODES: SDK_MODE[] = ["rtc", "live", "p2p"];
const AUDIO_CODECS: SDK_AUDIO_CODEC[] = ["opus", "pcmu", "pcma", "g722"];
const ROLES: ClientRole[] = ["host", "audience"];

/** What createClient keeps after checking the config as agora-rtc-sdk-ng 4.24.8 does. */
export interface CheckedClientConfig {
  codec: SDK_CODEC;
  audioCodec: SDK_AUDIO_CODEC;
  mode: SDK_MODE;
  role: ClientRole;
}

function oneOf<T extends string>(name: string, value: unknown, allowed: T[]): T {
  if (typeof value !== "string" || !allowed.includes(value as T)) {
    throw new AgoraRTCError("INVALID_PARAMS", `${name} can only be set as ${JSON.stringify(allowed)}`);
  }
  return value as T;
}

/**
 * createClient's checks: codec, mode and audioCodec from Agora's lists, else INVALID_PARAMS; with no config the
 * default is `{codec: "vp8", audioCodec: "opus", mode: "rtc"}`. In rtc (and p2p) mode the role is always host;
 * in live mode it is `config.role || "audience"`.
 */
export function checkClientConfig(config?: Partial<ClientConfig>): CheckedClientConfig {
  const c = config ?? { codec: "vp8", mode: "rtc" };
  if (typeof c !== "object" || c === null) throw new AgoraRTCError("INVALID_PARAMS", "config must be an object");
  const codec = oneOf("config.codec", c.codec, CODECS);
  const mode = oneOf("config.mode", c.mode, MODES);
  const audioCodec = c.audioCodec === undefined ? "opus" : oneOf("config.audioCodec", c.audioCodec, AUDIO_CODECS);
  if (c.role !== undefined) oneOf("config.role", c.role, ROLES);
  const role: ClientRole = mode === "live" ? (c.role ?? "audience") : "host";
  return { codec, audioCodec, mode, role };
}

export function checkRole(role: unknown): ClientRole {
  return oneOf("role", role, ROLES);
}

const latin1 = (s: string) => [...s].every((c) => c.charCodeAt(0) <= 0xff);

/** App ids are 1..2047 characters with char codes up to 255. */
export function checkAppId(appid: unknown): string {
  if (typeof appid !== "string" || appid.length < 1 || appid.length > 2047 || !latin1(appid)) {
    throw new AgoraRTCError("INVALID_PARAMS", `invalid app id ${JSON.stringify(appid)}: 1 to 2047 characters`);
  }
  return appid;
}

const CHANNEL = /^[a-zA-Z0-9 !#$%&()+\-:;<=.>?@[\]^_{}|~,]{1,64}$/;

export function checkChannelName(channel: unknown): string {
  if (typeof channel !== "string" || !CHANNEL.test(channel)) {
    throw new AgoraRTCError(
      "INVALID_PARAMS",
      `invalid channel name ${JSON.stringify(channel)}: 1 to 64 characters of a-z, A-Z, 0-9, space and !#$%&()+-:;<=.>?@[]^_{}|~,`,
    );
  }
  return channel;
}

/** Tokens are null or 1..2047 characters with char codes up to 255; a falsy non-null token is an error. */
export function checkToken(token: unknown): string | null {
  if (token === null) return null;
  if (!token) {
    throw new AgoraRTCError(
      "INVALID_PARAMS",
      `Invalid token: ${String(token)}. If you don not use token, set it to null`,
    );
  }
  if (typeof token !== "string" || token.length > 2047 || !latin1(token)) {
    throw new AgoraRTCError("INVALID_PARAMS", "invalid token: 1 to 2047 characters with char codes up to 255");
  }
  return token;
}

/** A uid is an integer 0..4294967295 (0 or null: the server assigns one) or a string of 1..255 characters. */
export function checkUid(uid: unknown): UID | null {
  if (uid === null || uid === undefined) return null;
  if (typeof uid === "number") {
    if (!Number.isInteger(uid) || uid < 0 || uid > 4294967295) {
      throw new AgoraRTCError("INVALID_PARAMS", `invalid uid ${uid}: a number uid must be an integer in [0, 4294967295]`);
    }
    return uid === 0 ? null : uid;
  }
  if (typeof uid === "string") {
    if (uid.length < 1 || uid.length > 255 || !latin1(uid)) {
      throw new AgoraRTCError("INVALID_PARAMS", `invalid string uid ${JSON.stringify(uid)}: 1 to 255 characters`);
    }
    return uid;
  }
  throw new AgoraRTCError("INVALID_PARAMS", `invalid uid ${String(uid)}: a number, a string or null`);
}

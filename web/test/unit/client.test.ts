// The client's IO shell against a scripted server: fetch and WebSocket are replaced by fakes that answer like
// stoa serve (docs/protocol.md), so discovery, join, events, reconnection and leave run without a browser.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AgoraRTCClient } from "../../src/client";
import { setParameter } from "../../src/config";
import { AgoraRTCError } from "../../src/errors";

type Frame = Record<string, unknown> & { type: string; id?: number | null };

class FakeServer {
  sockets: FakeWebSocket[] = [];
  received: Frame[] = [];
  gatewayAnswers: { status: number; body: unknown }[] = [];
  gatewayCalls = 0;
  forgetSessions = false;
  refuseSockets = false;
  users: unknown[] = [];
  session = 1;
  /** Drops the socket instead of answering the next frame of this type. */
  dropOn: string | undefined;

  reply(socket: FakeWebSocket, frame: Frame): void {
    this.received.push(frame);
    const id = frame.id ?? null;
    if (frame.type === this.dropOn) {
      this.dropOn = undefined;
      socket.close(1006);
      return;
    }
    switch (frame.type) {
      case "join": {
        const uid = typeof frame.uid === "number" ? frame.uid : 4242;
        const joined: Frame = {
          type: "joined", id, uid, role: frame.role ?? "host", session_id: `s${this.session}`, resume_token: "r",
          keepalive_ms: 50, session_timeout_ms: 2000, users: this.users,
        };
        if (typeof frame.uid === "string") joined.account = frame.uid;
        socket.push(joined);
        break;
      }
      case "rejoin":
        if (this.forgetSessions) {
          socket.push({ type: "error", id, error: { code: "INVALID_OPERATION", message: "session expired or unknown: join again" } });
          this.session += 1;
        } else {
          socket.push({ type: "joined", id, uid: 4242, role: "host", session_id: frame.session_id, resume_token: "r", keepalive_ms: 50, session_timeout_ms: 2000, users: this.users });
        }
        break;
      case "subscribe":
        socket.push({ type: "error", id, error: { code: "REMOTE_USER_IS_NOT_PUBLISHED", message: "user is not published: uid 3 has no audio track" } });
        break;
      default:
        if (id !== null) socket.push({ type: "ok", id });
    }
  }
}

let server: FakeServer;

class FakeWebSocket {
  static readonly OPEN = 1;
  readyState = 0;
  onopen: (() => void) | null = null;
  onmessage: ((e: { data: string }) => void) | null = null;
  onclose: ((e: { code: number; reason: string }) => void) | null = null;
  onerror: (() => void) | null = null;

  constructor(readonly url: string) {
    server.sockets.push(this);
    setTimeout(() => {
      if (server.refuseSockets) {
        this.readyState = 3;
        this.onerror?.();
        return;
      }
      this.readyState = 1;
      this.onopen?.();
    }, 1);
  }

  send(text: string): void {
    const frame = JSON.parse(text) as Frame;
    setTimeout(() => server.reply(this, frame), 1);
  }

  push(frame: unknown): void {
    if (this.readyState === 1) this.onmessage?.({ data: JSON.stringify(frame) });
  }

  close(code = 1000): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    setTimeout(() => this.onclose?.({ code, reason: "" }), 1);
  }
}

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(check: () => boolean, what: string, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await wait(5);
  }
}

const fast = { timeout: 5, timeoutFactor: 1.5, maxRetryCount: 3, maxRetryTimeout: 20 };

function newClient(): { client: AgoraRTCClient; log: string[] } {
  const client = new AgoraRTCClient({ codec: "vp8", mode: "rtc", httpRetryConfig: fast, websocketRetryConfig: { ...fast, maxRetryCount: 50 } });
  const log: string[] = [];
  client.on("connection-state-change", (cur: string, prev: string, reason?: string) => log.push(`${prev}->${cur}${reason ? `(${reason})` : ""}`));
  for (const name of ["user-joined", "user-left", "user-published", "user-unpublished", "user-info-updated"]) {
    client.on(name, (user: { uid: unknown } | number, arg?: string) => log.push(`${name}:${typeof user === "object" ? user.uid : user}${arg ? `:${arg}` : ""}`));
  }
  for (const name of ["token-privilege-will-expire", "token-privilege-did-expire"]) client.on(name, () => log.push(name));
  return { client, log };
}

beforeEach(() => {
  server = new FakeServer();
  setParameter("SERVER_URL", "http://stoa.test/");
  const g = globalThis as Record<string, unknown>;
  g.WebSocket = FakeWebSocket;
  g.RTCPeerConnection = class {
    close(): void {}
  };
  g.fetch = async (url: string, init: { body: string }) => {
    server.gatewayCalls += 1;
    expect(url).toBe("http://stoa.test/api/v1/gateway");
    server.received.push({ type: "gateway", ...(JSON.parse(init.body) as object) });
    const answer = server.gatewayAnswers.shift() ?? { status: 200, body: { signalling_url: "ws://stoa.test/ws" } };
    return new Response(JSON.stringify(answer.body), { status: answer.status });
  };
});

afterEach(() => {
  for (const socket of server.sockets) socket.readyState = 3;
});

describe("join", () => {
  it("discovers, joins and announces the users already there", async () => {
    server.users = [{ uid: 7, tracks: [{ media_type: "video", muted: false, enabled: true }] }, { uid: 8, account: "amy" }];
    const { client, log } = newClient();
    expect(await client.join("a".repeat(32), "lobby", null, null)).toBe(4242);
    expect(client.connectionState).toBe("CONNECTED");
    expect(log).toEqual(["DISCONNECTED->CONNECTING", "CONNECTING->CONNECTED", "user-joined:7", "user-published:7:video", "user-joined:amy"]);
    expect(client.remoteUsers.map((u) => [u.uid, u.hasAudio, u.hasVideo])).toEqual([[7, false, true], ["amy", false, false]]);
    expect(server.received[1]).toMatchObject({ type: "join", channel: "lobby", token: null, uid: null, mode: "rtc", role: "host", codec: "vp8" });
    await client.leave();
  });

  it("resolves a string uid as the string", async () => {
    const { client } = newClient();
    expect(await client.join("a".repeat(32), "lobby", null, "alice")).toBe("alice");
    expect(client.uid).toBe("alice");
    await client.leave();
  });

  it("retries discovery only while the server says retry", async () => {
    server.gatewayAnswers = [
      { status: 503, body: { code: "INVALID_UINT_UID_FROM_STRING_UID", message: "store busy", data: { retry: true } } },
      { status: 200, body: { signalling_url: "ws://stoa.test/ws" } },
    ];
    const { client } = newClient();
    await client.join("a".repeat(32), "lobby", null, 5);
    expect(server.gatewayCalls).toBe(2);
    await client.leave();

    server.gatewayAnswers = [
      { status: 403, body: { code: "CAN_NOT_GET_GATEWAY_SERVER", message: "invalid vendor key, can not find appid", data: { code: 2010005, retry: false } } },
    ];
    const other = newClient();
    const error = await other.client.join("b".repeat(32), "lobby", null, 5).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AgoraRTCError);
    expect((error as AgoraRTCError).message).toBe("AgoraRTCError CAN_NOT_GET_GATEWAY_SERVER: invalid vendor key, can not find appid");
    expect(server.gatewayCalls).toBe(3);
    expect(other.log).toEqual(["DISCONNECTED->CONNECTING", "CONNECTING->DISCONNECTED(SERVER_ERROR)"]);
  });

  it("gives up discovery after the retry budget with CAN_NOT_GET_GATEWAY_SERVER", async () => {
    server.gatewayAnswers = Array.from({ length: 10 }, () => ({ status: 502, body: "bad gateway" }));
    const { client } = newClient();
    const error = (await client.join("a".repeat(32), "lobby", null, 5).catch((e: unknown) => e)) as AgoraRTCError;
    expect(error.code).toBe("CAN_NOT_GET_GATEWAY_SERVER");
    expect(error.message).toMatch(/no gateway after 4 attempts/);
    expect(server.gatewayCalls).toBe(4);
  });

  it("checks arguments and state before any request", async () => {
    const { client } = newClient();
    await expect(client.join("a".repeat(32), "bad/name", null)).rejects.toMatchObject({ code: "INVALID_PARAMS" });
    await expect(client.join("a".repeat(32), "lobby", "")).rejects.toMatchObject({ code: "INVALID_PARAMS" });
    await expect(client.publish([])).rejects.toMatchObject({ code: "INVALID_OPERATION", message: "AgoraRTCError INVALID_OPERATION: Can't publish stream, haven't joined yet!" });
    await expect(client.subscribe(1, "audio")).rejects.toMatchObject({ code: "INVALID_OPERATION" });
    await expect(client.renewToken("t")).rejects.toMatchObject({ code: "INVALID_OPERATION" });
    expect(server.gatewayCalls).toBe(0);
    await client.join("a".repeat(32), "lobby", null, 1);
    await expect(client.join("a".repeat(32), "lobby", null, 1)).rejects.toMatchObject({ code: "INVALID_OPERATION" });
    await expect(client.publish([{} as never])).rejects.toMatchObject({ code: "INVALID_PARAMS" });
    await expect(client.subscribe(99, "audio")).rejects.toMatchObject({ code: "INVALID_REMOTE_USER" });
    await client.leave();
  });
});

describe("roles", () => {
  it("joins live mode as audience, refuses publishing, and switches to host", async () => {
    const client = new AgoraRTCClient({ codec: "vp8", mode: "live" });
    expect(client.role).toBe("audience");
    await client.join("a".repeat(32), "stage", null, 2);
    expect(server.received.find((f) => f.type === "join")).toMatchObject({ mode: "live", role: "audience" });
    await expect(client.publish([])).rejects.toThrowError("AgoraRTCError INVALID_OPERATION: audience can not publish stream");
    await client.setClientRole("host");
    expect(server.received.at(-1)).toMatchObject({ type: "set_client_role", role: "host" });
    expect(client.role).toBe("host");
    await expect(client.setClientRole("boss" as never)).rejects.toMatchObject({ code: "INVALID_PARAMS" });
    await client.leave();
  });
});

describe("events and subscriptions", () => {
  it("turns pushes into Agora's events and refuses subscribing to what is not published", async () => {
    const { client, log } = newClient();
    await client.join("a".repeat(32), "lobby", null, 1);
    const socket = server.sockets.at(-1)!;
    socket.push({ type: "user_joined", uid: 3 });
    await expect(client.subscribe(3, "video")).rejects.toMatchObject({ code: "REMOTE_USER_IS_NOT_PUBLISHED" });
    socket.push({ type: "user_published", uid: 3, media_type: "audio" });
    socket.push({ type: "user_info_updated", uid: 3, msg: "mute-audio" });
    socket.push({ type: "user_unpublished", uid: 3, media_type: "audio" });
    socket.push({ type: "token_privilege_will_expire", expires_at: 1 });
    socket.push({ type: "user_left", uid: 3, reason: "ServerTimeOut" });
    expect(log.slice(2)).toEqual([
      "user-joined:3", "user-published:3:audio", "user-info-updated:3:mute-audio", "user-unpublished:3:audio",
      "token-privilege-will-expire", "user-left:3:ServerTimeOut",
    ]);
    expect(client.remoteUsers).toEqual([]);
    await client.leave();
  });

  it("massSubscribe reports each item's outcome instead of failing as a whole", async () => {
    server.users = [{ uid: 3, tracks: [{ media_type: "audio" }] }];
    const { client } = newClient();
    await client.join("a".repeat(32), "lobby", null, 1);
    const user = client.remoteUsers[0]!;
    const results = await client.massSubscribe([
      { user, mediaType: "audio" },
      { user, mediaType: "video" },
    ]);
    expect(results.map((r) => [r.mediaType, r.track, r.error?.code])).toEqual([
      ["audio", undefined, "REMOTE_USER_IS_NOT_PUBLISHED"],
      ["video", undefined, "REMOTE_USER_IS_NOT_PUBLISHED"],
    ]);
    expect(server.received.filter((f) => f.type === "subscribe")).toHaveLength(1);
    await client.massUnsubscribe([{ user, mediaType: "audio" }]);
    expect(server.received.at(-1)).toMatchObject({ type: "unsubscribe", uid: 3, media_type: "audio" });
    await client.leave();
  });

  it("ends in DISCONNECTED with TOKEN_EXPIRE when the token expires", async () => {
    const { client, log } = newClient();
    await client.join("a".repeat(32), "lobby", null, 1);
    const socket = server.sockets.at(-1)!;
    socket.push({ type: "token_privilege_did_expire" });
    socket.push({ type: "disconnected", reason: "TOKEN_EXPIRE" });
    socket.close();
    await wait(20);
    expect(log.slice(-2)).toEqual(["token-privilege-did-expire", "CONNECTED->DISCONNECTED(TOKEN_EXPIRE)"]);
    expect(client.connectionState).toBe("DISCONNECTED");
    expect(server.sockets).toHaveLength(1);
  });
});

describe("reconnection", () => {
  it("resumes the session after a dropped socket, retrying while the server is unreachable", async () => {
    const { client, log } = newClient();
    await client.join("a".repeat(32), "lobby", null, null);
    server.refuseSockets = true;
    server.sockets.at(-1)!.close(1006);
    await until(() => server.sockets.length >= 3, "two refused attempts");
    server.refuseSockets = false;
    await until(() => client.connectionState === "CONNECTED" && log.length > 3, "reconnection");
    expect(log).toEqual(["DISCONNECTED->CONNECTING", "CONNECTING->CONNECTED", "CONNECTED->RECONNECTING", "RECONNECTING->CONNECTED"]);
    expect(server.received.filter((f) => f.type === "rejoin").at(-1)).toMatchObject({ session_id: "s1", resume_token: "r" });
    expect(server.gatewayCalls).toBe(1);
    await client.leave();
  });

  it("joins again with the same uid when the server forgot the session, reporting who left meanwhile", async () => {
    server.users = [{ uid: 7 }];
    const { client, log } = newClient();
    await client.join("a".repeat(32), "lobby", null, null);
    server.forgetSessions = true;
    server.users = [];
    server.sockets.at(-1)!.close(1006);
    await until(() => client.connectionState === "CONNECTED" && log.includes("RECONNECTING->CONNECTED"), "a fresh join");
    const joins = server.received.filter((f) => f.type === "join");
    expect(joins).toHaveLength(2);
    expect(joins[1]).toMatchObject({ uid: 4242, channel: "lobby" });
    expect(log).toContain("user-left:7:Quit");
    expect(client.uid).toBe(4242);
    await client.leave();
  });

  it("sends a media request again when the link drops under it", async () => {
    server.users = [{ uid: 3, tracks: [{ media_type: "audio" }] }];
    const { client, log } = newClient();
    await client.join("a".repeat(32), "lobby", null, 1);
    server.dropOn = "subscribe";
    const error = (await client.subscribe(3, "audio").catch((e: unknown) => e)) as AgoraRTCError;
    expect(server.received.filter((f) => f.type === "subscribe")).toHaveLength(2);
    expect(log).toContain("RECONNECTING->CONNECTED");
    expect(error.code).toBe("REMOTE_USER_IS_NOT_PUBLISHED");
    await client.leave();
  });

  it("re-enters with the renewed token", async () => {
    const { client } = newClient();
    await client.join("a".repeat(32), "lobby", "007old", 9);
    await expect(client.renewToken("")).rejects.toMatchObject({ code: "INVALID_PARAMS" });
    await client.renewToken("007new");
    expect(server.received.at(-1)).toMatchObject({ type: "renew_token", token: "007new" });
    server.forgetSessions = true;
    server.sockets.at(-1)!.close(1006);
    await until(() => server.received.filter((f) => f.type === "join").length === 2, "a fresh join");
    expect(server.received.filter((f) => f.type === "join")[1]).toMatchObject({ token: "007new", uid: 9 });
    await client.leave();
  });

  it("leave while reconnecting stops the attempts", async () => {
    const { client, log } = newClient();
    await client.join("a".repeat(32), "lobby", null, 1);
    server.refuseSockets = true;
    server.sockets.at(-1)!.close(1006);
    await until(() => client.connectionState === "RECONNECTING", "RECONNECTING");
    await client.leave();
    const attempts = server.sockets.length;
    await wait(100);
    expect(server.sockets.length).toBe(attempts);
    expect(log.slice(-2)).toEqual(["RECONNECTING->DISCONNECTING", "DISCONNECTING->DISCONNECTED(LEAVE)"]);
  });
});

describe("leave", () => {
  it("sends leave and goes DISCONNECTED with LEAVE", async () => {
    const { client, log } = newClient();
    await client.join("a".repeat(32), "lobby", null, 1);
    await client.leave();
    expect(server.received.at(-1)?.type).toBe("leave");
    expect(log.slice(-2)).toEqual(["CONNECTED->DISCONNECTING", "DISCONNECTING->DISCONNECTED(LEAVE)"]);
    expect(client.uid).toBeUndefined();
    await client.leave();
  });
});

import { describe, expect, it } from "vitest";
import { ClientCore, type CoreEvent } from "../../src/state";
import type { Joined } from "../../src/generated/protocol";

function joined(users: Joined["users"], session = "s1"): Joined {
  return { uid: 9, role: "host", session_id: session, resume_token: "r", keepalive_ms: 3000, session_timeout_ms: 20000, users };
}

const kinds = (events: CoreEvent[]) => events.map((e) => ("uid" in e ? `${e.kind}:${e.uid}${"mediaType" in e ? `:${e.mediaType}` : ""}` : e.kind));

describe("connection states", () => {
  it("follows join, reconnect and leave, with a reason only for DISCONNECTED", () => {
    const core = new ClientCore();
    expect(core.transition("CONNECTING")).toEqual({ current: "CONNECTING", previous: "DISCONNECTED" });
    expect(core.transition("CONNECTED")).toEqual({ current: "CONNECTED", previous: "CONNECTING" });
    expect(core.transition("CONNECTED")).toBeNull();
    expect(core.transition("RECONNECTING")?.current).toBe("RECONNECTING");
    expect(core.transition("CONNECTED")?.previous).toBe("RECONNECTING");
    expect(core.transition("DISCONNECTING")?.current).toBe("DISCONNECTING");
    expect(core.transition("DISCONNECTED")).toEqual({ current: "DISCONNECTED", previous: "DISCONNECTING", reason: "LEAVE" });
  });

  it("refuses impossible transitions with INVALID_OPERATION", () => {
    const core = new ClientCore();
    expect(() => core.transition("CONNECTED")).toThrowError(/AgoraRTCError INVALID_OPERATION/);
    core.transition("CONNECTING");
    expect(() => core.transition("RECONNECTING")).toThrowError(/INVALID_OPERATION/);
  });

  it("forgets remote users on DISCONNECTED and carries the reason", () => {
    const core = new ClientCore();
    core.transition("CONNECTING");
    core.transition("CONNECTED");
    core.joined(joined([{ uid: 1 }]));
    expect(core.transition("DISCONNECTED", "TOKEN_EXPIRE")?.reason).toBe("TOKEN_EXPIRE");
    expect(core.users.size).toBe(0);
  });
});

describe("remote users", () => {
  it("announces users already in the channel and their available tracks after a join", () => {
    const core = new ClientCore();
    const events = core.joined(
      joined([
        { uid: 1, tracks: [{ media_type: "audio", muted: false, enabled: true }, { media_type: "video", muted: true, enabled: true }] },
        { uid: 2, account: "amy" },
      ]),
    );
    expect(kinds(events)).toEqual(["user-joined:1", "user-published:1:audio", "user-joined:2"]);
    expect(core.users.get(2)?.account).toBe("amy");
  });

  it("reports only the difference after a rejoin", () => {
    const core = new ClientCore();
    core.joined(joined([{ uid: 1, tracks: [{ media_type: "audio" }] }, { uid: 2 }]));
    const events = core.joined(joined([{ uid: 1, tracks: [{ media_type: "video" }] }, { uid: 3 }]));
    expect(kinds(events)).toEqual([
      "user-unpublished:1:audio",
      "user-published:1:video",
      "user-joined:3",
      "user-left:2",
    ]);
    expect(events.find((e) => e.kind === "user-left")).toMatchObject({ reason: "Quit" });
  });

  it("turns pushes into events and ignores unknown users", () => {
    const core = new ClientCore();
    expect(kinds(core.push({ type: "user_joined", uid: 5 }))).toEqual(["user-joined:5"]);
    expect(core.push({ type: "user_joined", uid: 5 })).toEqual([]);
    expect(kinds(core.push({ type: "user_published", uid: 5, media_type: "video" }))).toEqual(["user-published:5:video"]);
    expect(core.push({ type: "user_published", uid: 5, media_type: "video" })).toEqual([]);
    expect(core.push({ type: "user_published", uid: 77, media_type: "video" })).toEqual([]);
    expect(core.push({ type: "user_info_updated", uid: 77, msg: "mute-audio" })).toEqual([]);
    expect(kinds(core.push({ type: "user_left", uid: 5, reason: "ServerTimeOut" }))).toEqual(["user-left:5"]);
    expect(core.push({ type: "user_left", uid: 5, reason: "Quit" })).toEqual([]);
  });

  it("keeps a muted track (its subscriptions live on) but forgets an unpublished one", () => {
    const core = new ClientCore();
    core.push({ type: "user_joined", uid: 5 });
    core.push({ type: "user_published", uid: 5, media_type: "audio" });
    core.push({ type: "user_published", uid: 5, media_type: "video" });
    core.push({ type: "user_info_updated", uid: 5, msg: "mute-audio" });
    expect(kinds(core.push({ type: "user_unpublished", uid: 5, media_type: "audio" }))).toEqual(["user-unpublished:5:audio"]);
    expect(core.users.get(5)?.tracks.get("audio")).toMatchObject({ muted: true });
    expect(kinds(core.push({ type: "user_unpublished", uid: 5, media_type: "video" }))).toEqual(["user-unpublished:5:video"]);
    expect(core.users.get(5)?.tracks.has("video")).toBe(false);
    core.push({ type: "user_info_updated", uid: 5, msg: "unmute-audio" });
    expect(kinds(core.push({ type: "user_published", uid: 5, media_type: "audio" }))).toEqual(["user-published:5:audio"]);
    core.push({ type: "user_info_updated", uid: 5, msg: "disable-local-audio" });
    expect(core.users.get(5)?.tracks.get("audio")).toMatchObject({ enabled: false });
  });

  it("passes token and disconnect pushes through", () => {
    const core = new ClientCore();
    expect(core.push({ type: "token_privilege_will_expire", expires_at: 1 })).toEqual([{ kind: "token-privilege-will-expire" }]);
    expect(core.push({ type: "token_privilege_did_expire" })).toEqual([{ kind: "token-privilege-did-expire" }]);
    expect(core.push({ type: "disconnected", reason: "TOKEN_EXPIRE" })).toEqual([{ kind: "disconnected", reason: "TOKEN_EXPIRE" }]);
  });
});

describe("remote network quality", () => {
  it("keeps each known user's last rating, without events, and forgets it when the user leaves", () => {
    const core = new ClientCore();
    core.transition("CONNECTING");
    core.transition("CONNECTED");
    core.joined(joined([{ uid: 1 }]));
    expect(core.push({ type: "user_network_quality", uid: 1, uplink: 2, downlink: 1 })).toEqual([]);
    expect(core.users.get(1)?.quality).toEqual({ uplinkNetworkQuality: 2, downlinkNetworkQuality: 1 });
    core.push({ type: "user_network_quality", uid: 7, uplink: 6, downlink: 6 });
    expect(core.users.has(7)).toBe(false);
    core.push({ type: "user_left", uid: 1, reason: "Quit" });
    core.push({ type: "user_joined", uid: 1 });
    expect(core.users.get(1)?.quality).toBeUndefined();
  });
});

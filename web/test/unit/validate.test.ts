import { describe, expect, it } from "vitest";
import { AgoraRTCError } from "../../src/errors";
import { checkAppId, checkChannelName, checkClientConfig, checkToken, checkUid } from "../../src/validate";

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (error) {
    expect(error).toBeInstanceOf(AgoraRTCError);
    return (error as AgoraRTCError).code;
  }
  return undefined;
}

describe("createClient config", () => {
  it("defaults to vp8, opus, rtc, host", () => {
    expect(checkClientConfig()).toEqual({ codec: "vp8", audioCodec: "opus", mode: "rtc", role: "host" });
  });

  it("forces host in rtc mode and defaults to audience in live mode", () => {
    expect(checkClientConfig({ codec: "h264", mode: "rtc", role: "audience" }).role).toBe("host");
    expect(checkClientConfig({ codec: "vp9", mode: "live" }).role).toBe("audience");
    expect(checkClientConfig({ codec: "vp9", mode: "live", role: "host" }).role).toBe("host");
  });

  it("refuses unknown codecs, modes, audio codecs and roles with INVALID_PARAMS and Agora's message", () => {
    expect(() => checkClientConfig({ codec: "mpeg2" as never, mode: "rtc" })).toThrowError(
      'AgoraRTCError INVALID_PARAMS: config.codec can only be set as ["vp8","vp9","av1","h264","h265"]',
    );
    expect(codeOf(() => checkClientConfig({ codec: "vp8", mode: "broadcast" as never }))).toBe("INVALID_PARAMS");
    expect(codeOf(() => checkClientConfig({ codec: "vp8", mode: "rtc", audioCodec: "aac" as never }))).toBe("INVALID_PARAMS");
    expect(codeOf(() => checkClientConfig({ codec: "vp8", mode: "live", role: "king" as never }))).toBe("INVALID_PARAMS");
  });
});

describe("join arguments", () => {
  it("checks channel names like Agora", () => {
    expect(checkChannelName("lobby 1!")).toBe("lobby 1!");
    expect(codeOf(() => checkChannelName("a/b"))).toBe("INVALID_PARAMS");
    expect(codeOf(() => checkChannelName(""))).toBe("INVALID_PARAMS");
    expect(codeOf(() => checkChannelName("x".repeat(65)))).toBe("INVALID_PARAMS");
  });

  it("checks app ids and tokens", () => {
    expect(codeOf(() => checkAppId(""))).toBe("INVALID_PARAMS");
    expect(checkToken(null)).toBeNull();
    expect(() => checkToken("")).toThrowError(/If you don not use token, set it to null/);
    expect(codeOf(() => checkToken("x".repeat(2048)))).toBe("INVALID_PARAMS");
    expect(checkToken("007abc")).toBe("007abc");
  });

  it("accepts number, string and null uids; 0 means the server assigns one", () => {
    expect(checkUid(null)).toBeNull();
    expect(checkUid(undefined)).toBeNull();
    expect(checkUid(0)).toBeNull();
    expect(checkUid(4294967295)).toBe(4294967295);
    expect(checkUid("alice")).toBe("alice");
    for (const bad of [-1, 1.5, 4294967296, "", "x".repeat(256), {}]) {
      expect(codeOf(() => checkUid(bad))).toBe("INVALID_PARAMS");
    }
  });
});

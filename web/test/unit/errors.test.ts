import { describe, expect, it } from "vitest";
import { AgoraRTCError, AgoraRTCErrorCode, ERROR_CATALOG, fromMediaError, fromWire } from "../../src/errors";

describe("AgoraRTCError", () => {
  it("has Agora's name, message, code, data and toString", () => {
    const error = new AgoraRTCError("INVALID_PARAMS", "bad channel", { retry: false });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe("AgoraRTCException");
    expect(error.message).toBe("AgoraRTCError INVALID_PARAMS: bad channel");
    expect(error.code).toBe("INVALID_PARAMS");
    expect(error.toString()).toBe('AgoraRTCError INVALID_PARAMS: bad channel\ndata: {"retry":false}');
    expect(new AgoraRTCError("TIMEOUT").toString()).toBe("AgoraRTCError TIMEOUT: ");
    expect(error.info.description.length).toBeGreaterThan(0);
  });

  it("has all 96 codes with the catalog's advice, and keeps Agora's typo", () => {
    expect(Object.keys(AgoraRTCErrorCode)).toHaveLength(96);
    expect(Object.keys(ERROR_CATALOG)).toHaveLength(96);
    expect(AgoraRTCErrorCode.CROSS_CHANNEL_FAILED_JOIN_SRC).toBe("CROSS_CHANNEL_FAILED_JOIN_SEC");
    for (const value of Object.values(AgoraRTCErrorCode)) expect(ERROR_CATALOG[value].advice).toBeTruthy();
  });

  it("raises the server's errors with the same code and detail", () => {
    const error = fromWire({ code: "UID_CONFLICT", message: 'uid 1001 is already in channel "lobby"' });
    expect(error.code).toBe("UID_CONFLICT");
    expect(error.message).toBe('AgoraRTCError UID_CONFLICT: uid 1001 is already in channel "lobby"');
    expect(fromWire({ code: "NOPE", message: "x" }).code).toBe("UNEXPECTED_RESPONSE");
  });
});

describe("browser media errors", () => {
  const named = (name: string, extra: Record<string, unknown> = {}) => Object.assign({ name, message: "m" }, extra);

  it("maps getUserMedia failures as Agora does", () => {
    expect(fromMediaError(named("NotAllowedError")).code).toBe("PERMISSION_DENIED");
    expect(fromMediaError(named("NotFoundError")).code).toBe("DEVICE_NOT_FOUND");
    expect(fromMediaError(named("OverconstrainedError", { constraint: "width" })).code).toBe("CONSTRAINT_NOT_SATISFIED");
    expect(fromMediaError(named("OverconstrainedError", { constraint: "deviceId" })).code).toBe("DEVICE_NOT_FOUND");
    expect(fromMediaError(named("NotReadableError")).code).toBe("NOT_READABLE");
    expect(fromMediaError(named("TypeError")).code).toBe("MEDIA_OPTION_INVALID");
    expect(fromMediaError(named("Weird")).code).toBe("UNEXPECTED_ERROR");
    const own = new AgoraRTCError("TIMEOUT");
    expect(fromMediaError(own)).toBe(own);
  });
});

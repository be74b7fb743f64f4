// Browser capabilities missing or refused, mapped to Agora's codes, with the browser objects stubbed.
import { afterEach, describe, expect, it } from "vitest";
import AgoraRTC from "../../src/index";

const g = globalThis as Record<string, unknown>;
const saved = { window: g.window, navigator: Object.getOwnPropertyDescriptor(globalThis, "navigator"), pc: g.RTCPeerConnection };

function setNavigator(value: unknown): void {
  Object.defineProperty(globalThis, "navigator", { value, configurable: true, writable: true });
}

afterEach(() => {
  g.window = saved.window;
  if (saved.navigator) Object.defineProperty(globalThis, "navigator", saved.navigator);
  else delete g.navigator;
  g.RTCPeerConnection = saved.pc;
});

describe("capture errors", () => {
  it("is WEB_SECURITY_RESTRICT outside a secure context", async () => {
    g.window = { isSecureContext: false };
    await expect(AgoraRTC.createMicrophoneAudioTrack()).rejects.toMatchObject({ code: "WEB_SECURITY_RESTRICT" });
  });

  it("is NOT_SUPPORTED without getUserMedia", async () => {
    g.window = { isSecureContext: true };
    setNavigator({});
    await expect(AgoraRTC.createCameraVideoTrack()).rejects.toMatchObject({ code: "NOT_SUPPORTED" });
  });

  it("maps the browser's refusal and missing devices", async () => {
    g.window = { isSecureContext: true };
    const fail = (name: string, constraint?: string) =>
      setNavigator({ mediaDevices: { getUserMedia: async () => Promise.reject(Object.assign(new Error("no"), { name, constraint })) } });
    fail("NotAllowedError");
    await expect(AgoraRTC.createMicrophoneAndCameraTracks()).rejects.toMatchObject({ code: "PERMISSION_DENIED" });
    fail("OverconstrainedError", "deviceId");
    await expect(AgoraRTC.createCameraVideoTrack({ cameraId: "nope" })).rejects.toMatchObject({ code: "DEVICE_NOT_FOUND" });
    fail("OverconstrainedError", "width");
    await expect(AgoraRTC.createCameraVideoTrack({ encoderConfig: { width: { exact: 9999 } } })).rejects.toMatchObject({
      code: "CONSTRAINT_NOT_SATISFIED",
    });
  });

  it("checks options before asking the browser", async () => {
    await expect(AgoraRTC.createCameraVideoTrack({ encoderConfig: "481p" })).rejects.toMatchObject({ code: "INVALID_PARAMS" });
    await expect(AgoraRTC.createMicrophoneAudioTrack({ encoderConfig: "loud" })).rejects.toMatchObject({ code: "INVALID_PARAMS" });
    expect(() => AgoraRTC.createCustomVideoTrack({ mediaStreamTrack: {} as MediaStreamTrack })).toThrowError(/INVALID_PARAMS/);
  });

  it("is ENUMERATE_DEVICES_FAILED when the device list fails", async () => {
    setNavigator({ mediaDevices: { enumerateDevices: async () => Promise.reject(new Error("broken")) } });
    await expect(AgoraRTC.getCameras(true)).rejects.toMatchObject({ code: "ENUMERATE_DEVICES_FAILED" });
  });

  it("is NOT_SUPPORTED to join without WebRTC, and checkSystemRequirements says so", async () => {
    delete g.RTCPeerConnection;
    expect(AgoraRTC.checkSystemRequirements()).toBe(false);
    const client = AgoraRTC.createClient({ mode: "rtc", codec: "vp8" });
    await expect(client.join("a".repeat(32), "lobby", null)).rejects.toMatchObject({ code: "NOT_SUPPORTED" });
    expect(client.connectionState).toBe("DISCONNECTED");
  });
});

describe("the AgoraRTC object", () => {
  it("has Agora's version, enums and no-op log upload", () => {
    expect(AgoraRTC.VERSION).toBe("4.24.8");
    expect(AgoraRTC.ConnectionDisconnectedReason.TOKEN_EXPIRE).toBe("TOKEN_EXPIRE");
    expect(AgoraRTC.AgoraRTCErrorCode.UID_CONFLICT).toBe("UID_CONFLICT");
    AgoraRTC.enableLogUpload();
    AgoraRTC.disableLogUpload();
    AgoraRTC.setLogLevel(4);
    expect(() => AgoraRTC.createClient({ mode: "rtc", codec: "mpeg" as never })).toThrowError(/INVALID_PARAMS/);
  });

  it("forwards device changes to AgoraRTC.on and the onCameraChanged slot", async () => {
    const { sdkEvents } = await import("../../src/global");
    const seen: string[] = [];
    AgoraRTC.onCameraChanged = (info) => seen.push(`slot:${info.state}`);
    AgoraRTC.on("camera-changed", (info: { state: string }) => seen.push(`event:${info.state}`));
    sdkEvents.emit("camera-changed", { state: "ACTIVE" });
    expect(seen).toEqual(["event:ACTIVE", "slot:ACTIVE"]);
  });
});

// Device lists and change events (camera-changed, microphone-changed, playback-device-changed).

import { AgoraRTCError } from "./errors";
import { sdkEvents } from "./global";
import type { DeviceInfo } from "./types";

async function enumerate(): Promise<MediaDeviceInfo[]> {
  if (typeof navigator === "undefined" || !navigator.mediaDevices?.enumerateDevices) {
    throw new AgoraRTCError("NOT_SUPPORTED", "this browser cannot list media devices");
  }
  try {
    return await navigator.mediaDevices.enumerateDevices();
  } catch (error) {
    throw new AgoraRTCError("ENUMERATE_DEVICES_FAILED", String(error));
  }
}

/** Agora asks for permission first (labels are empty without it) unless skipPermissionCheck is true. */
async function ensureLabels(kinds: MediaDeviceKind[], skipPermissionCheck: boolean): Promise<void> {
  if (skipPermissionCheck) return;
  const devices = await enumerate();
  const unlabeled = devices.filter((d) => kinds.includes(d.kind) && !d.label);
  if (unlabeled.length === 0) return;
  const wantAudio = unlabeled.some((d) => d.kind === "audioinput" || d.kind === "audiooutput");
  const wantVideo = unlabeled.some((d) => d.kind === "videoinput");
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: wantAudio, video: wantVideo });
    stream.getTracks().forEach((t) => t.stop());
  } catch {
    // No permission: list the devices without labels, as the browser gives them.
  }
}

export async function getDevices(skipPermissionCheck = false): Promise<MediaDeviceInfo[]> {
  await ensureLabels(["audioinput", "videoinput", "audiooutput"], skipPermissionCheck);
  return enumerate();
}

export async function getCameras(skipPermissionCheck = false): Promise<MediaDeviceInfo[]> {
  await ensureLabels(["videoinput"], skipPermissionCheck);
  return (await enumerate()).filter((d) => d.kind === "videoinput");
}

export async function getMicrophones(skipPermissionCheck = false): Promise<MediaDeviceInfo[]> {
  await ensureLabels(["audioinput"], skipPermissionCheck);
  return (await enumerate()).filter((d) => d.kind === "audioinput");
}

export async function getPlaybackDevices(skipPermissionCheck = false): Promise<MediaDeviceInfo[]> {
  await ensureLabels(["audiooutput"], skipPermissionCheck);
  return (await enumerate()).filter((d) => d.kind === "audiooutput");
}

const EVENT_OF: Record<MediaDeviceKind, string> = {
  videoinput: "camera-changed",
  audioinput: "microphone-changed",
  audiooutput: "playback-device-changed",
};

/** The difference between two device lists as Agora's DeviceInfo events. */
export function deviceChanges(
  before: Map<string, DeviceInfo>,
  now: MediaDeviceInfo[],
  at: number,
): { event: string; info: DeviceInfo }[] {
  const changes: { event: string; info: DeviceInfo }[] = [];
  const seen = new Set<string>();
  for (const device of now) {
    const key = `${device.kind}:${device.deviceId}`;
    seen.add(key);
    if (!before.has(key)) {
      const info: DeviceInfo = { initAt: at, updateAt: at, state: "ACTIVE", device };
      before.set(key, info);
      changes.push({ event: EVENT_OF[device.kind], info });
    }
  }
  for (const [key, info] of before) {
    if (!seen.has(key)) {
      before.delete(key);
      changes.push({ event: EVENT_OF[info.device.kind], info: { ...info, updateAt: at, state: "INACTIVE" } });
    }
  }
  return changes;
}

let watching = false;

/** Starts watching devicechange once, when the SDK loads in a browser. */
export function watchDevices(): void {
  if (watching || typeof navigator === "undefined" || !navigator.mediaDevices?.addEventListener) return;
  watching = true;
  const known = new Map<string, DeviceInfo>();
  let primed = false;
  const refresh = async () => {
    let devices: MediaDeviceInfo[];
    try {
      devices = await navigator.mediaDevices.enumerateDevices();
    } catch {
      return;
    }
    const changes = deviceChanges(known, devices, Date.now());
    if (!primed) {
      primed = true;
      return;
    }
    for (const { event, info } of changes) sdkEvents.emit(event, info);
  };
  void refresh();
  navigator.mediaDevices.addEventListener("devicechange", () => void refresh());
}

import { EventEmitter } from "./events";

/** The AgoraRTC object's own events (autoplay-failed, camera-changed, ...); index.ts forwards them to the slots. */
export const sdkEvents = new EventEmitter();

let autoplayReported = false;

/** Agora fires autoplay-failed once until the next user gesture. */
export function reportAutoplayFailed(): void {
  if (autoplayReported) return;
  autoplayReported = true;
  sdkEvents.emit("autoplay-failed");
  if (typeof document !== "undefined") {
    const reset = () => {
      autoplayReported = false;
    };
    document.addEventListener("click", reset, { once: true, capture: true });
    document.addEventListener("keydown", reset, { once: true, capture: true });
  }
}

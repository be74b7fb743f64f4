// The browser-global entry: `window.AgoraRTC` is the AgoraRTC object itself, as with Agora's script tag.
import AgoraRTC from "./index";

(globalThis as Record<string, unknown>).AgoraRTC = AgoraRTC;

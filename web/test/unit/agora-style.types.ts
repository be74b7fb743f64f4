// Type-checked by `npm run typecheck` (never run): code written the way agora-rtc-sdk-ng apps are must compile
// against the published declarations, dist/stoa-rtc.d.ts.
import AgoraRTC, {
  AgoraRTCError,
  type IAgoraRTCClient,
  type IAgoraRTCRemoteUser,
  type ICameraVideoTrack,
  type IMicrophoneAudioTrack,
  type ILocalVideoTrack,
  type ILocalAudioTrack,
  type UID,
} from "../../dist/stoa-rtc";

export async function agoraStyleCall(appid: string, channel: string, token: string | null, uid: UID | null): Promise<void> {
  const client: IAgoraRTCClient = AgoraRTC.createClient({ mode: "rtc", codec: "vp8" });
  client.on("user-published", async (user: IAgoraRTCRemoteUser, mediaType: "audio" | "video") => {
    if (mediaType === "video") {
      const track = await client.subscribe(user, mediaType);
      track.play("remote");
      const stats = track.getStats();
      console.log(stats.receiveResolutionWidth, stats.decodeFrameRate);
    } else {
      const track = await client.subscribe(user, "audio");
      track.play();
      track.setVolume(50);
    }
  });
  client.on("connection-state-change", (cur: string, prev: string, reason?: string) => console.log(cur, prev, reason));
  const myUid: UID = await client.join(appid, channel, token || null, uid || null);
  const [mic, cam]: [IMicrophoneAudioTrack, ICameraVideoTrack] = await AgoraRTC.createMicrophoneAndCameraTracks(
    { encoderConfig: "music_standard" },
    { encoderConfig: "720p_2" },
  );
  cam.play("local", { mirror: true, fit: "contain" });
  await client.publish([mic, cam]);
  await cam.setEncoderConfiguration({ width: 640, height: { ideal: 480, max: 720 }, bitrateMax: 800 });
  await cam.setDevice({ facingMode: "user" });
  await mic.setMuted(true);
  console.log(myUid, mic.getVolumeLevel(), client.getRTCStats().RTT, client.getLocalVideoStats().sendBitrate);
  const screen: [ILocalVideoTrack, ILocalAudioTrack] = await AgoraRTC.createScreenVideoTrack({ encoderConfig: "1080p_2" }, "enable");
  const onlyVideo: ILocalVideoTrack = await AgoraRTC.createScreenVideoTrack({}, "disable");
  const file = await AgoraRTC.createBufferSourceAudioTrack({ source: "https://example.com/a.mp3" });
  file.startProcessAudioBuffer({ loop: true });
  file.on("source-state-change", (state: string) => console.log(state, file.currentState, file.duration));
  console.log(screen, onlyVideo);
  try {
    await client.subscribe(12345, "video");
  } catch (error) {
    if (error instanceof AgoraRTCError && error.code === AgoraRTC.AgoraRTCErrorCode.INVALID_REMOTE_USER) {
      console.log(error.message, error.info.advice);
    }
  }
  AgoraRTC.onAutoplayFailed = () => console.log("click to play");
  AgoraRTC.setParameter("SERVER_URL", "https://stoa.example.com:8443");
  await client.leave();
}

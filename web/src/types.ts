// Stoa Web SDK public types: the interface names and signatures of agora-rtc-sdk-ng 4.x (IAgoraRTC,
// IAgoraRTCClient, ILocalVideoTrack, ...), for everything Stoa implements. This file is self-contained: the build
// turns it into dist/stoa-rtc.d.ts.

export type UID = number | string;
export type SDK_CODEC = "vp8" | "h264" | "vp9" | "av1" | "h265";
export type SDK_AUDIO_CODEC = "opus" | "pcma" | "pcmu" | "g722";
export type SDK_MODE = "rtc" | "live" | "p2p";
export type ClientRole = "host" | "audience";
export type ConnectionState = "DISCONNECTED" | "CONNECTING" | "RECONNECTING" | "CONNECTED" | "DISCONNECTING";
export type ConnectionDisconnectedReasonValue =
  | "LEAVE" | "NETWORK_ERROR" | "SERVER_ERROR" | "UID_BANNED" | "IP_BANNED" | "CHANNEL_BANNED" | "TOKEN_EXPIRE"
  | "UID_CONFLICT" | "FALLBACK";
export type AudioSourceState = "stopped" | "playing" | "paused";
export type VideoFacingModeEnum = "user" | "environment";
export type OptimizationMode = "motion" | "detail" | "balanced";
export type VideoEncoderConfigurationPreset = string;
export type ScreenEncoderConfigurationPreset = string;
export type AudioEncoderConfigurationPreset = string;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Listener = (...args: any[]) => void;

export interface AudienceLatencyLevelTypeOptions {
  level: 1 | 2 | 3;
  delay?: number;
}
export type ClientRoleOptions = AudienceLatencyLevelTypeOptions;

export interface RetryConfiguration {
  timeout: number;
  timeoutFactor: number;
  maxRetryCount: number;
  maxRetryTimeout: number;
}

export interface ClientConfig {
  codec: SDK_CODEC;
  audioCodec?: SDK_AUDIO_CODEC;
  mode: SDK_MODE;
  role?: ClientRole;
  clientRoleOptions?: ClientRoleOptions;
  httpRetryConfig?: RetryConfiguration;
  websocketRetryConfig?: RetryConfiguration;
}

export interface ConstrainLong {
  min?: number;
  max?: number;
  ideal?: number;
  exact?: number;
}

export interface VideoEncoderConfiguration {
  width?: number | ConstrainLong;
  height?: number | ConstrainLong;
  frameRate?: number | ConstrainLong;
  bitrateMin?: number;
  bitrateMax?: number;
  scaleResolutionDownBy?: number;
}

export interface AudioEncoderConfiguration {
  sampleRate?: number;
  sampleSize?: number;
  stereo?: boolean;
  bitrate?: number;
}

export interface AudioTrackInitConfig {
  AEC?: boolean;
  AGC?: boolean;
  ANS?: boolean;
}

export interface MicrophoneAudioTrackInitConfig extends AudioTrackInitConfig {
  encoderConfig?: AudioEncoderConfiguration | AudioEncoderConfigurationPreset;
  microphoneId?: string;
}

export interface CameraVideoTrackInitConfig {
  encoderConfig?: VideoEncoderConfiguration | VideoEncoderConfigurationPreset;
  facingMode?: VideoFacingModeEnum;
  cameraId?: string;
  optimizationMode?: OptimizationMode;
}

export interface CustomAudioTrackInitConfig {
  mediaStreamTrack: MediaStreamTrack;
  encoderConfig?: AudioEncoderConfiguration | AudioEncoderConfigurationPreset;
}

export interface CustomVideoTrackInitConfig {
  mediaStreamTrack: MediaStreamTrack;
  width?: number | ConstrainLong;
  height?: number | ConstrainLong;
  frameRate?: number | ConstrainLong;
  bitrateMin?: number;
  bitrateMax?: number;
  optimizationMode?: OptimizationMode;
}

export interface BufferSourceAudioTrackInitConfig {
  source: File | string | AudioBuffer;
  cacheOnlineFile?: boolean;
  encoderConfig?: AudioEncoderConfiguration | AudioEncoderConfigurationPreset;
}

export interface ScreenVideoTrackInitConfig {
  encoderConfig?: VideoEncoderConfiguration | ScreenEncoderConfigurationPreset;
  screenSourceType?: "screen" | "window" | "application";
  optimizationMode?: OptimizationMode;
  displaySurface?: "browser" | "window" | "monitor";
  selfBrowserSurface?: "include" | "exclude";
  surfaceSwitching?: "include" | "exclude";
  systemAudio?: "include" | "exclude";
  preferCurrentTab?: boolean;
}

export interface ScreenAudioTrackInitConfig extends AudioTrackInitConfig {
  suppressLocalAudioPlayback?: boolean;
}

export interface VideoPlayerConfig {
  mirror?: boolean;
  fit?: "cover" | "contain" | "fill";
  noStyle?: boolean;
}

export interface DeviceInfo {
  updateAt: number;
  initAt: number;
  state: "ACTIVE" | "INACTIVE";
  device: MediaDeviceInfo;
}

export interface AgoraRTCStats {
  Duration: number;
  RecvBitrate: number;
  RecvBytes: number;
  SendBitrate: number;
  SendBytes: number;
  UserCount: number;
  RTT: number;
  OutgoingAvailableBandwidth: number;
}

export interface LocalAudioTrackStats {
  codecType?: "opus" | "aac" | "PCMU" | "PCMA" | "G722";
  sendVolumeLevel: number;
  sendBitrate: number;
  sendBytes: number;
  sendPackets: number;
  sendPacketsLost: number;
  sendJitterMs: number;
  sendRttMs: number;
  currentPacketLossRate: number;
}

export interface LocalVideoTrackStats {
  codecType?: "H264" | "H265" | "VP8" | "VP9" | "AV1X" | "AV1";
  sendBytes: number;
  sendFrameRate?: number;
  captureFrameRate?: number;
  sendPackets: number;
  sendPacketsLost: number;
  sendJitterMs: number;
  sendRttMs: number;
  sendResolutionHeight: number;
  sendResolutionWidth: number;
  captureResolutionHeight: number;
  captureResolutionWidth: number;
  encodeDelay?: number;
  sendBitrate: number;
  targetSendBitrate: number;
  totalDuration: number;
  totalFreezeTime: number;
  currentPacketLossRate: number;
}

export interface RemoteAudioTrackStats {
  transportDelay: number;
  codecType?: "opus" | "aac" | "PCMU" | "PCMA" | "G722";
  end2EndDelay: number;
  receiveBitrate: number;
  receiveLevel: number;
  receiveBytes: number;
  receiveDelay: number;
  receivePackets: number;
  receivePacketsLost: number;
  receivePacketsDiscarded: number;
  packetLossRate: number;
  currentPacketLossRate: number;
  totalDuration: number;
  totalFreezeTime: number;
  freezeRate: number;
  publishDuration: number;
}

export interface RemoteVideoTrackStats {
  transportDelay: number;
  codecType?: "H264" | "H265" | "VP8" | "VP9" | "AV1X" | "AV1";
  end2EndDelay: number;
  receiveBitrate: number;
  receiveDelay: number;
  receiveBytes: number;
  decodeFrameRate?: number;
  receiveFrameRate?: number;
  renderFrameRate?: number;
  receivePackets: number;
  receivePacketsLost: number;
  packetLossRate: number;
  currentPacketLossRate: number;
  receiveResolutionHeight: number;
  receiveResolutionWidth: number;
  totalDuration: number;
  totalFreezeTime: number;
  freezeRate: number;
  publishDuration: number;
}

export interface NetworkQuality {
  uplinkNetworkQuality: 0 | 1 | 2 | 3 | 4 | 5 | 6;
  downlinkNetworkQuality: 0 | 1 | 2 | 3 | 4 | 5 | 6;
}

export interface IEventEmitter {
  on(event: string, listener: Listener): void;
  once(event: string, listener: Listener): void;
  off(event: string, listener: Listener): void;
  removeAllListeners(event?: string): void;
  getListeners(event: string): Function[];
}

export interface ITrack extends IEventEmitter {
  readonly trackMediaType: "audio" | "video";
  readonly isPlaying: boolean;
  getTrackId(): string;
  getMediaStreamTrack(): MediaStreamTrack;
  getRTCRtpTransceiver(): RTCRtpTransceiver | undefined;
  play(element?: string | HTMLElement): void;
  stop(): void;
}

export interface ILocalTrack extends ITrack {
  readonly muted: boolean;
  readonly enabled: boolean;
  setEnabled(enabled: boolean): Promise<void>;
  setMuted(muted: boolean): Promise<void>;
  getStats(): LocalVideoTrackStats | LocalAudioTrackStats;
  getTrackLabel(): string;
  close(): void;
}

export interface ILocalAudioTrack extends ILocalTrack {
  setVolume(volume: number): void;
  getVolumeLevel(): number;
  setPlaybackDevice(deviceId: string): Promise<void>;
  setAudioFrameCallback(callback: null | ((buffer: AudioBuffer) => void), frameSize?: number): void;
  play(): void;
  getStats(): LocalAudioTrackStats;
}

export interface IMicrophoneAudioTrack extends ILocalAudioTrack {
  setDevice(deviceId: string): Promise<void>;
}

export interface IBufferSourceAudioTrack extends ILocalAudioTrack {
  readonly source: string | File | AudioBuffer | null;
  readonly currentState: AudioSourceState;
  readonly duration: number;
  readonly playbackSpeed: number;
  getCurrentTime(): number;
  startProcessAudioBuffer(options?: { cycle?: number; loop?: boolean; startPlayTime?: number }): void;
  pauseProcessAudioBuffer(): void;
  resumeProcessAudioBuffer(): void;
  stopProcessAudioBuffer(): void;
  seekAudioBuffer(time: number): void;
  setAudioBufferPlaybackSpeed(speed: number): void;
}

export interface ILocalVideoTrack extends ILocalTrack {
  play(element: string | HTMLElement, config?: VideoPlayerConfig): void;
  getStats(): LocalVideoTrackStats;
  setOptimizationMode(mode: OptimizationMode): Promise<void>;
  setEncoderConfiguration(config: VideoEncoderConfiguration | VideoEncoderConfigurationPreset): Promise<void>;
  replaceTrack(track: MediaStreamTrack, stopOldTrack: boolean): Promise<void>;
  getCurrentFrameData(): ImageData;
}

export interface ICameraVideoTrack extends ILocalVideoTrack {
  setDevice(deviceId: string | { facingMode: VideoFacingModeEnum } | { deviceId: string }): Promise<void>;
}

export interface IRemoteTrack extends ITrack {
  getUserId(): UID;
  getStats(): RemoteAudioTrackStats | RemoteVideoTrackStats;
}

export interface IRemoteAudioTrack extends IRemoteTrack {
  play(): void;
  setVolume(volume: number): void;
  getVolumeLevel(): number;
  setPlaybackDevice(deviceId: string): Promise<void>;
  getStats(): RemoteAudioTrackStats;
}

export interface IRemoteVideoTrack extends IRemoteTrack {
  play(element: string | HTMLElement, config?: VideoPlayerConfig): void;
  getStats(): RemoteVideoTrackStats;
  getCurrentFrameData(): ImageData;
}

export interface IAgoraRTCRemoteUser {
  uid: UID;
  hasAudio: boolean;
  hasVideo: boolean;
  audioTrack?: IRemoteAudioTrack;
  videoTrack?: IRemoteVideoTrack;
}

export interface IAgoraRTCError extends Error {
  readonly code: string;
  readonly message: string;
  readonly data?: unknown;
  readonly name: string;
  toString(): string;
}

export interface IAgoraRTCClient extends IEventEmitter {
  readonly connectionState: ConnectionState;
  readonly remoteUsers: IAgoraRTCRemoteUser[];
  readonly localTracks: ILocalTrack[];
  readonly uid?: UID;
  readonly channelName?: string;
  readonly mode: SDK_MODE;
  readonly role: ClientRole;
  join(
    appid: string,
    channel: string,
    token: string | null,
    uid?: UID | null,
    options?: { autoSubscribe?: boolean },
  ): Promise<UID>;
  leave(): Promise<void>;
  publish(tracks: ILocalTrack | ILocalTrack[]): Promise<void>;
  unpublish(tracks?: ILocalTrack | ILocalTrack[]): Promise<void>;
  subscribe(user: IAgoraRTCRemoteUser | UID, mediaType: "video"): Promise<IRemoteVideoTrack>;
  subscribe(user: IAgoraRTCRemoteUser | UID, mediaType: "audio"): Promise<IRemoteAudioTrack>;
  subscribe(user: IAgoraRTCRemoteUser | UID, mediaType: "video" | "audio"): Promise<IRemoteTrack>;
  massSubscribe(
    subscribeList: { user: IAgoraRTCRemoteUser; mediaType: "audio" | "video" }[],
  ): Promise<{ user: IAgoraRTCRemoteUser; mediaType: "audio" | "video"; track?: IRemoteTrack; error?: IAgoraRTCError }[]>;
  unsubscribe(user: IAgoraRTCRemoteUser | UID, mediaType?: "video" | "audio"): Promise<void>;
  massUnsubscribe(unsubscribeList: { user: IAgoraRTCRemoteUser; mediaType?: "audio" | "video" }[]): Promise<void>;
  setClientRole(role: ClientRole, options?: ClientRoleOptions): Promise<void>;
  renewToken(token: string): Promise<void>;
  getRTCStats(): AgoraRTCStats;
  getLocalAudioStats(): LocalAudioTrackStats;
  getLocalVideoStats(): LocalVideoTrackStats;
  getRemoteAudioStats(): { [uid: string]: RemoteAudioTrackStats };
  getRemoteVideoStats(): { [uid: string]: RemoteVideoTrackStats };
  getRemoteNetworkQuality(): { [uid: string]: NetworkQuality };
  enableAudioVolumeIndicator(): void;
}

export interface IAgoraRTC extends IEventEmitter {
  readonly VERSION: string;
  createClient(config?: ClientConfig): IAgoraRTCClient;
  createMicrophoneAudioTrack(config?: MicrophoneAudioTrackInitConfig): Promise<IMicrophoneAudioTrack>;
  createCameraVideoTrack(config?: CameraVideoTrackInitConfig): Promise<ICameraVideoTrack>;
  createMicrophoneAndCameraTracks(
    audioConfig?: MicrophoneAudioTrackInitConfig,
    videoConfig?: CameraVideoTrackInitConfig,
  ): Promise<[IMicrophoneAudioTrack, ICameraVideoTrack]>;
  createScreenVideoTrack(config: ScreenVideoTrackInitConfig, withAudio: "enable"): Promise<[ILocalVideoTrack, ILocalAudioTrack]>;
  createScreenVideoTrack(config: ScreenVideoTrackInitConfig, withAudio: "disable"): Promise<ILocalVideoTrack>;
  createScreenVideoTrack(
    config: ScreenVideoTrackInitConfig,
    withAudio?: "enable" | "disable" | "auto" | ScreenAudioTrackInitConfig,
  ): Promise<[ILocalVideoTrack, ILocalAudioTrack] | ILocalVideoTrack>;
  createBufferSourceAudioTrack(config: BufferSourceAudioTrackInitConfig): Promise<IBufferSourceAudioTrack>;
  createCustomAudioTrack(config: CustomAudioTrackInitConfig): ILocalAudioTrack;
  createCustomVideoTrack(config: CustomVideoTrackInitConfig): ILocalVideoTrack;
  getDevices(skipPermissionCheck?: boolean): Promise<MediaDeviceInfo[]>;
  getMicrophones(skipPermissionCheck?: boolean): Promise<MediaDeviceInfo[]>;
  getCameras(skipPermissionCheck?: boolean): Promise<MediaDeviceInfo[]>;
  getPlaybackDevices(skipPermissionCheck?: boolean): Promise<MediaDeviceInfo[]>;
  checkSystemRequirements(): boolean;
  getSupportedCodec(): Promise<{ video: string[]; audio: string[] }>;
  setLogLevel(level: number): void;
  enableLogUpload(): void;
  disableLogUpload(): void;
  /** Stoa: `setParameter("SERVER_URL", "https://host:port")` points the SDK at another Stoa server. */
  setParameter(key: string, value: unknown): void;
  getParameter(key: string): unknown;
  onCameraChanged?: (info: DeviceInfo) => void;
  onMicrophoneChanged?: (info: DeviceInfo) => void;
  onPlaybackDeviceChanged?: (info: DeviceInfo) => void;
  onAutoplayFailed?: () => void;
  onAudioAutoplayFailed?: () => void;
}

/** Stoa Web SDK (agora-rtc-sdk-ng 4.x compatible). Apache-2.0. Built from web/src: do not edit. */
// Types of agora-rtc-sdk-ng 4.x as Stoa implements them. The same file serves the UMD build (global AgoraRTC)
// and the ES module (default export).

/** The wire value of an AgoraRTCErrorCode member. */
export type AgoraRTCErrorCodeValue =
  | "UNEXPECTED_ERROR"
  | "UNEXPECTED_RESPONSE"
  | "PB_ERROR"
  | "TIMEOUT"
  | "INVALID_PARAMS"
  | "NOT_READABLE"
  | "NOT_SUPPORTED"
  | "INVALID_OPERATION"
  | "OPERATION_ABORTED"
  | "WEB_SECURITY_RESTRICT"
  | "EXCHANGE_SDP_FAILED"
  | "ADD_CANDIDATE_FAILED"
  | "DATACHANNEL_FAILED"
  | "NETWORK_ERROR"
  | "NETWORK_TIMEOUT"
  | "NETWORK_RESPONSE_ERROR"
  | "API_INVOKE_TIMEOUT"
  | "ENUMERATE_DEVICES_FAILED"
  | "DEVICE_NOT_FOUND"
  | "ELECTRON_IS_NULL"
  | "ELECTRON_DESKTOP_CAPTURER_GET_SOURCES_ERROR"
  | "CHROME_PLUGIN_NO_RESPONSE"
  | "CHROME_PLUGIN_NOT_INSTALL"
  | "MEDIA_OPTION_INVALID"
  | "PERMISSION_DENIED"
  | "CONSTRAINT_NOT_SATISFIED"
  | "TRACK_IS_DISABLED"
  | "GET_VIDEO_ELEMENT_VISIBLE_ERROR"
  | "SHARE_AUDIO_NOT_ALLOWED"
  | "LOW_STREAM_ENCODING_ERROR"
  | "SET_ENCODING_PARAMETER_ERROR"
  | "TRACK_STATE_UNREACHABLE"
  | "INVALID_UINT_UID_FROM_STRING_UID"
  | "CAN_NOT_GET_PROXY_SERVER"
  | "CAN_NOT_GET_GATEWAY_SERVER"
  | "VOID_GATEWAY_ADDRESS"
  | "UID_CONFLICT"
  | "MULTI_UNILBS_RESPONSE_ERROR"
  | "UPDATE_TICKET_FAILED"
  | "TOKEN_EXPIRE"
  | "INVALID_LOCAL_TRACK"
  | "INVALID_TRACK"
  | "SENDER_NOT_FOUND"
  | "CREATE_OFFER_FAILED"
  | "SET_ANSWER_FAILED"
  | "ICE_FAILED"
  | "PC_CLOSED"
  | "SENDER_REPLACE_FAILED"
  | "GET_LOCAL_CAPABILITIES_FAILED"
  | "GET_LOCAL_CONNECTION_PARAMS_FAILED"
  | "SUBSCRIBE_FAILED"
  | "UNSUBSCRIBE_FAILED"
  | "GATEWAY_P2P_LOST"
  | "NO_ICE_CANDIDATE"
  | "CAN_NOT_PUBLISH_MULTIPLE_VIDEO_TRACKS"
  | "EXIST_DISABLED_VIDEO_TRACK"
  | "INVALID_REMOTE_USER"
  | "REMOTE_USER_IS_NOT_PUBLISHED"
  | "CUSTOM_REPORT_SEND_FAILED"
  | "CUSTOM_REPORT_FREQUENCY_TOO_HIGH"
  | "FETCH_AUDIO_FILE_FAILED"
  | "READ_LOCAL_AUDIO_FILE_ERROR"
  | "DECODE_AUDIO_FILE_FAILED"
  | "WS_ABORT"
  | "WS_DISCONNECT"
  | "WS_ERR"
  | "EXTERNAL_SIGNAL_ABORT"
  | "LIVE_STREAMING_TASK_CONFLICT"
  | "LIVE_STREAMING_INVALID_ARGUMENT"
  | "LIVE_STREAMING_INTERNAL_SERVER_ERROR"
  | "LIVE_STREAMING_PUBLISH_STREAM_NOT_AUTHORIZED"
  | "LIVE_STREAMING_TRANSCODING_NOT_SUPPORTED"
  | "LIVE_STREAMING_CDN_ERROR"
  | "LIVE_STREAMING_INVALID_RAW_STREAM"
  | "LIVE_STREAMING_WARN_STREAM_NUM_REACH_LIMIT"
  | "LIVE_STREAMING_WARN_FAILED_LOAD_IMAGE"
  | "LIVE_STREAMING_WARN_FREQUENT_REQUEST"
  | "WEBGL_INTERNAL_ERROR"
  | "BEAUTY_PROCESSOR_INTERNAL_ERROR"
  | "CROSS_CHANNEL_WAIT_STATUS_ERROR"
  | "CROSS_CHANNEL_FAILED_JOIN_SEC"
  | "CROSS_CHANNEL_FAILED_JOIN_DEST"
  | "CROSS_CHANNEL_FAILED_PACKET_SENT_TO_DEST"
  | "CROSS_CHANNEL_SERVER_ERROR_RESPONSE"
  | "METADATA_OUT_OF_RANGE"
  | "LOCAL_AEC_ERROR"
  | "INVALID_PLUGIN"
  | "DISCONNECT_P2P"
  | "CONVERTING_IMAGEDATA_TO_BLOB_FAILED"
  | "CONVERTING_VIDEO_FRAME_TO_BLOB_FAILED"
  | "INIT_DATACHANNEL_TIMEOUT"
  | "CREATE_DATACHANNEL_ERROR"
  | "DATACHANNEL_CONNECTION_TIMEOUT"
  | "PROHIBITED_OPERATION"
  | "IMAGE_MODERATION_UPLOAD_FAILED"
  | "P2P_MESSAGE_FAILED";

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

/** AgoraRTCErrorCode: member name to value (CROSS_CHANNEL_FAILED_JOIN_SRC keeps Agora's value "...SEC"). */
export declare const AgoraRTCErrorCode: {
  readonly UNEXPECTED_ERROR: "UNEXPECTED_ERROR";
  readonly UNEXPECTED_RESPONSE: "UNEXPECTED_RESPONSE";
  readonly PB_ERROR: "PB_ERROR";
  readonly TIMEOUT: "TIMEOUT";
  readonly INVALID_PARAMS: "INVALID_PARAMS";
  readonly NOT_READABLE: "NOT_READABLE";
  readonly NOT_SUPPORTED: "NOT_SUPPORTED";
  readonly INVALID_OPERATION: "INVALID_OPERATION";
  readonly OPERATION_ABORTED: "OPERATION_ABORTED";
  readonly WEB_SECURITY_RESTRICT: "WEB_SECURITY_RESTRICT";
  readonly EXCHANGE_SDP_FAILED: "EXCHANGE_SDP_FAILED";
  readonly ADD_CANDIDATE_FAILED: "ADD_CANDIDATE_FAILED";
  readonly DATACHANNEL_FAILED: "DATACHANNEL_FAILED";
  readonly NETWORK_ERROR: "NETWORK_ERROR";
  readonly NETWORK_TIMEOUT: "NETWORK_TIMEOUT";
  readonly NETWORK_RESPONSE_ERROR: "NETWORK_RESPONSE_ERROR";
  readonly API_INVOKE_TIMEOUT: "API_INVOKE_TIMEOUT";
  readonly ENUMERATE_DEVICES_FAILED: "ENUMERATE_DEVICES_FAILED";
  readonly DEVICE_NOT_FOUND: "DEVICE_NOT_FOUND";
  readonly ELECTRON_IS_NULL: "ELECTRON_IS_NULL";
  readonly ELECTRON_DESKTOP_CAPTURER_GET_SOURCES_ERROR: "ELECTRON_DESKTOP_CAPTURER_GET_SOURCES_ERROR";
  readonly CHROME_PLUGIN_NO_RESPONSE: "CHROME_PLUGIN_NO_RESPONSE";
  readonly CHROME_PLUGIN_NOT_INSTALL: "CHROME_PLUGIN_NOT_INSTALL";
  readonly MEDIA_OPTION_INVALID: "MEDIA_OPTION_INVALID";
  readonly PERMISSION_DENIED: "PERMISSION_DENIED";
  readonly CONSTRAINT_NOT_SATISFIED: "CONSTRAINT_NOT_SATISFIED";
  readonly TRACK_IS_DISABLED: "TRACK_IS_DISABLED";
  readonly GET_VIDEO_ELEMENT_VISIBLE_ERROR: "GET_VIDEO_ELEMENT_VISIBLE_ERROR";
  readonly SHARE_AUDIO_NOT_ALLOWED: "SHARE_AUDIO_NOT_ALLOWED";
  readonly LOW_STREAM_ENCODING_ERROR: "LOW_STREAM_ENCODING_ERROR";
  readonly SET_ENCODING_PARAMETER_ERROR: "SET_ENCODING_PARAMETER_ERROR";
  readonly TRACK_STATE_UNREACHABLE: "TRACK_STATE_UNREACHABLE";
  readonly INVALID_UINT_UID_FROM_STRING_UID: "INVALID_UINT_UID_FROM_STRING_UID";
  readonly CAN_NOT_GET_PROXY_SERVER: "CAN_NOT_GET_PROXY_SERVER";
  readonly CAN_NOT_GET_GATEWAY_SERVER: "CAN_NOT_GET_GATEWAY_SERVER";
  readonly VOID_GATEWAY_ADDRESS: "VOID_GATEWAY_ADDRESS";
  readonly UID_CONFLICT: "UID_CONFLICT";
  readonly MULTI_UNILBS_RESPONSE_ERROR: "MULTI_UNILBS_RESPONSE_ERROR";
  readonly UPDATE_TICKET_FAILED: "UPDATE_TICKET_FAILED";
  readonly TOKEN_EXPIRE: "TOKEN_EXPIRE";
  readonly INVALID_LOCAL_TRACK: "INVALID_LOCAL_TRACK";
  readonly INVALID_TRACK: "INVALID_TRACK";
  readonly SENDER_NOT_FOUND: "SENDER_NOT_FOUND";
  readonly CREATE_OFFER_FAILED: "CREATE_OFFER_FAILED";
  readonly SET_ANSWER_FAILED: "SET_ANSWER_FAILED";
  readonly ICE_FAILED: "ICE_FAILED";
  readonly PC_CLOSED: "PC_CLOSED";
  readonly SENDER_REPLACE_FAILED: "SENDER_REPLACE_FAILED";
  readonly GET_LOCAL_CAPABILITIES_FAILED: "GET_LOCAL_CAPABILITIES_FAILED";
  readonly GET_LOCAL_CONNECTION_PARAMS_FAILED: "GET_LOCAL_CONNECTION_PARAMS_FAILED";
  readonly SUBSCRIBE_FAILED: "SUBSCRIBE_FAILED";
  readonly UNSUBSCRIBE_FAILED: "UNSUBSCRIBE_FAILED";
  readonly GATEWAY_P2P_LOST: "GATEWAY_P2P_LOST";
  readonly NO_ICE_CANDIDATE: "NO_ICE_CANDIDATE";
  readonly CAN_NOT_PUBLISH_MULTIPLE_VIDEO_TRACKS: "CAN_NOT_PUBLISH_MULTIPLE_VIDEO_TRACKS";
  readonly EXIST_DISABLED_VIDEO_TRACK: "EXIST_DISABLED_VIDEO_TRACK";
  readonly INVALID_REMOTE_USER: "INVALID_REMOTE_USER";
  readonly REMOTE_USER_IS_NOT_PUBLISHED: "REMOTE_USER_IS_NOT_PUBLISHED";
  readonly CUSTOM_REPORT_SEND_FAILED: "CUSTOM_REPORT_SEND_FAILED";
  readonly CUSTOM_REPORT_FREQUENCY_TOO_HIGH: "CUSTOM_REPORT_FREQUENCY_TOO_HIGH";
  readonly FETCH_AUDIO_FILE_FAILED: "FETCH_AUDIO_FILE_FAILED";
  readonly READ_LOCAL_AUDIO_FILE_ERROR: "READ_LOCAL_AUDIO_FILE_ERROR";
  readonly DECODE_AUDIO_FILE_FAILED: "DECODE_AUDIO_FILE_FAILED";
  readonly WS_ABORT: "WS_ABORT";
  readonly WS_DISCONNECT: "WS_DISCONNECT";
  readonly WS_ERR: "WS_ERR";
  readonly EXTERNAL_SIGNAL_ABORT: "EXTERNAL_SIGNAL_ABORT";
  readonly LIVE_STREAMING_TASK_CONFLICT: "LIVE_STREAMING_TASK_CONFLICT";
  readonly LIVE_STREAMING_INVALID_ARGUMENT: "LIVE_STREAMING_INVALID_ARGUMENT";
  readonly LIVE_STREAMING_INTERNAL_SERVER_ERROR: "LIVE_STREAMING_INTERNAL_SERVER_ERROR";
  readonly LIVE_STREAMING_PUBLISH_STREAM_NOT_AUTHORIZED: "LIVE_STREAMING_PUBLISH_STREAM_NOT_AUTHORIZED";
  readonly LIVE_STREAMING_TRANSCODING_NOT_SUPPORTED: "LIVE_STREAMING_TRANSCODING_NOT_SUPPORTED";
  readonly LIVE_STREAMING_CDN_ERROR: "LIVE_STREAMING_CDN_ERROR";
  readonly LIVE_STREAMING_INVALID_RAW_STREAM: "LIVE_STREAMING_INVALID_RAW_STREAM";
  readonly LIVE_STREAMING_WARN_STREAM_NUM_REACH_LIMIT: "LIVE_STREAMING_WARN_STREAM_NUM_REACH_LIMIT";
  readonly LIVE_STREAMING_WARN_FAILED_LOAD_IMAGE: "LIVE_STREAMING_WARN_FAILED_LOAD_IMAGE";
  readonly LIVE_STREAMING_WARN_FREQUENT_REQUEST: "LIVE_STREAMING_WARN_FREQUENT_REQUEST";
  readonly WEBGL_INTERNAL_ERROR: "WEBGL_INTERNAL_ERROR";
  readonly BEAUTY_PROCESSOR_INTERNAL_ERROR: "BEAUTY_PROCESSOR_INTERNAL_ERROR";
  readonly CROSS_CHANNEL_WAIT_STATUS_ERROR: "CROSS_CHANNEL_WAIT_STATUS_ERROR";
  readonly CROSS_CHANNEL_FAILED_JOIN_SRC: "CROSS_CHANNEL_FAILED_JOIN_SEC";
  readonly CROSS_CHANNEL_FAILED_JOIN_DEST: "CROSS_CHANNEL_FAILED_JOIN_DEST";
  readonly CROSS_CHANNEL_FAILED_PACKET_SENT_TO_DEST: "CROSS_CHANNEL_FAILED_PACKET_SENT_TO_DEST";
  readonly CROSS_CHANNEL_SERVER_ERROR_RESPONSE: "CROSS_CHANNEL_SERVER_ERROR_RESPONSE";
  readonly METADATA_OUT_OF_RANGE: "METADATA_OUT_OF_RANGE";
  readonly LOCAL_AEC_ERROR: "LOCAL_AEC_ERROR";
  readonly INVALID_PLUGIN: "INVALID_PLUGIN";
  readonly DISCONNECT_P2P: "DISCONNECT_P2P";
  readonly CONVERTING_IMAGEDATA_TO_BLOB_FAILED: "CONVERTING_IMAGEDATA_TO_BLOB_FAILED";
  readonly CONVERTING_VIDEO_FRAME_TO_BLOB_FAILED: "CONVERTING_VIDEO_FRAME_TO_BLOB_FAILED";
  readonly INIT_DATACHANNEL_TIMEOUT: "INIT_DATACHANNEL_TIMEOUT";
  readonly CREATE_DATACHANNEL_ERROR: "CREATE_DATACHANNEL_ERROR";
  readonly DATACHANNEL_CONNECTION_TIMEOUT: "DATACHANNEL_CONNECTION_TIMEOUT";
  readonly PROHIBITED_OPERATION: "PROHIBITED_OPERATION";
  readonly IMAGE_MODERATION_UPLOAD_FAILED: "IMAGE_MODERATION_UPLOAD_FAILED";
  readonly P2P_MESSAGE_FAILED: "P2P_MESSAGE_FAILED";
};
export type AgoraRTCErrorCode = AgoraRTCErrorCodeValue;

/** AgoraRTCError: name "AgoraRTCException", message "AgoraRTCError CODE: detail". */
export declare class AgoraRTCError extends Error implements IAgoraRTCError {
  readonly name: "AgoraRTCException";
  readonly code: AgoraRTCErrorCodeValue;
  readonly data?: unknown;
  constructor(code: AgoraRTCErrorCodeValue, message?: string, data?: unknown);
  toString(): string;
  print(level?: "error" | "warning"): this;
  throw(): never;
  /** Stoa: the catalog's description and handling advice for this code. */
  readonly info: ErrorCodeInfo;
}

export interface ErrorCodeInfo {
  description: string;
  advice: string;
  category: string;
  raised: "now" | "planned" | "never";
}

export declare const ConnectionDisconnectedReason: { readonly [K in ConnectionDisconnectedReasonValue]: K };
export declare const VERSION: string;

/** The AgoraRTC object, with Stoa's extras (the error catalog). */
export interface IStoaRTC extends IAgoraRTC {
  readonly STOA_VERSION: string;
  readonly AgoraRTCErrorCode: typeof AgoraRTCErrorCode;
  readonly AgoraRTCError: typeof AgoraRTCError;
  readonly ERROR_CATALOG: Record<AgoraRTCErrorCodeValue, ErrorCodeInfo>;
  readonly ConnectionDisconnectedReason: typeof ConnectionDisconnectedReason;
}

declare const AgoraRTC: IStoaRTC;
export default AgoraRTC;

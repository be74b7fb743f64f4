// IAgoraRTCClient over Stoa: discovery, the signalling socket, the two WebRTC transports, reconnection and stats.
// Decisions about users and states live in the sans-IO ClientCore (state.ts); this file does the IO.

import { serverUrl, log } from "./config";
import { AgoraRTCError, fromWire } from "./errors";
import { EventEmitter } from "./events";
import type { GatewayResponse, Joined, MediaType, ServerFrame } from "./generated/protocol";
import { HTTP_RETRY, WEBSOCKET_RETRY, mayRetry, retryDelay } from "./retry";
import { SignallingSocket, type Outgoing } from "./signalling";
import { audioContext } from "./audio";
import { ExceptionMonitor, type MediaSample } from "./exceptions";
import { ClientCore, hasMedia, type CoreEvent } from "./state";
import {
  downlinkSample,
  localAudioStats,
  localVideoStats,
  qualityOf,
  remoteAudioStats,
  remoteVideoStats,
  transportSummary,
  uplinkSample,
  type InboundSnapshot,
  type InboundTotals,
  type OutboundSnapshot,
  type StatsEntry,
} from "./stats";
import { LocalAudioTrack, LocalTrack, LocalVideoTrack, emptyLocalAudioStats, emptyLocalVideoStats } from "./tracks/local";
import { RemoteAudioTrack, RemoteTrack, RemoteVideoTrack } from "./tracks/remote";
import { PublisherTransport, SubscriberTransport, ensureWebRTC } from "./transport";
import type {
  AgoraRTCStats,
  ClientConfig,
  ClientRole,
  ClientRoleOptions,
  ConnectionDisconnectedReasonValue,
  ConnectionState,
  IAgoraRTCRemoteUser,
  ILocalTrack,
  LocalAudioTrackStats,
  LocalVideoTrackStats,
  NetworkQuality,
  RemoteAudioTrackStats,
  RemoteVideoTrackStats,
  RetryConfiguration,
  SDK_MODE,
  UID,
} from "./types";
import { checkAppId, checkChannelName, checkClientConfig, checkRole, checkToken, checkUid, type CheckedClientConfig } from "./validate";

const LEAVE_TIMEOUT_MS = 3000;
const STATS_INTERVAL_MS = 1000;
/** How long a transport may stay "disconnected" before its ICE is restarted ("failed" restarts at once). */
const ICE_RESTART_GRACE_MS = 2000;
/** Between ICE restarts of a transport that is not back yet. */
const ICE_RESTART_RETRY_MS = 5000;

/** IAgoraRTCRemoteUser: `hasAudio` / `hasVideo` follow the server; tracks show only while available. */
export class RemoteUser implements IAgoraRTCRemoteUser {
  _audioTrack: RemoteAudioTrack | undefined;
  _videoTrack: RemoteVideoTrack | undefined;
  _hasAudio = false;
  _hasVideo = false;

  constructor(
    readonly uid: UID,
    readonly _uintid: number,
  ) {}

  get hasAudio(): boolean {
    return this._hasAudio;
  }

  get hasVideo(): boolean {
    return this._hasVideo;
  }

  get audioTrack(): RemoteAudioTrack | undefined {
    return this._hasAudio ? this._audioTrack : undefined;
  }

  get videoTrack(): RemoteVideoTrack | undefined {
    return this._hasVideo ? this._videoTrack : undefined;
  }
}

interface JoinParams {
  appId: string;
  channel: string;
  token: string | null;
  uid: UID | null;
}

interface Session {
  url: string;
  joined: Joined;
  params: JoinParams;
  joinedAt: number;
}

interface Subscription {
  uid: number;
  mediaType: MediaType;
  track: RemoteTrack;
  since: number;
  snapshot?: InboundSnapshot;
  stats?: RemoteAudioTrackStats | RemoteVideoTrackStats;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class AgoraRTCClient extends EventEmitter {
  readonly codec: CheckedClientConfig["codec"];
  readonly audioCodec: CheckedClientConfig["audioCodec"];
  readonly mode: SDK_MODE;
  private currentRole: ClientRole;
  private readonly core = new ClientCore();
  private readonly httpRetry: RetryConfiguration;
  private readonly websocketRetry: RetryConfiguration;
  private socket: SignallingSocket | undefined;
  private session: Session | undefined;
  private publisher: PublisherTransport | undefined;
  private subscriber: SubscriberTransport | undefined;
  private readonly published = new Map<MediaType, LocalTrack>();
  /** Audio tracks published after the first one: mixed with it into the one audio sender, as Agora mixes them. */
  private readonly mixedAudio: LocalTrack[] = [];
  private audioMix: { destination: MediaStreamAudioDestinationNode; sources: MediaStreamAudioSourceNode[] } | undefined;
  private readonly users = new Map<number, RemoteUser>();
  private readonly subscriptions = new Map<string, Subscription>();
  /** Media negotiations one at a time: the server allows one subscriber offer in flight, and offers chain. */
  private mediaQueue: Promise<unknown> = Promise.resolve();
  private keepaliveTimer: ReturnType<typeof setInterval> | undefined;
  private statsTimer: ReturnType<typeof setInterval> | undefined;
  private volumeTimer: ReturnType<typeof setInterval> | undefined;
  /** Bumped on leave and every new session; stale async work compares it and stops. */
  private generation = 0;
  private localStats: {
    audio?: { stats: LocalAudioTrackStats; snapshot: OutboundSnapshot };
    video?: { stats: LocalVideoTrackStats; snapshot: OutboundSnapshot };
  } = {};
  private rtcStats: AgoraRTCStats = emptyRtcStats();
  private rtcSnapshot: { sent: number; received: number; at: number } | undefined;
  /** Transports whose media path is lost, with the uids told `media-reconnect-start`. */
  private readonly mediaOutages = new Map<RTCPeerConnection, UID[]>();
  /** The next ICE restart of each transport whose path is lost. */
  private readonly iceRestarts = new Map<RTCPeerConnection, ReturnType<typeof setTimeout>>();
  /** The last signalling ping's round trip: the link's delay when no media flows to measure it. */
  private pingRttMs: number | undefined;
  private inboundTotals: InboundTotals | undefined;
  private networkQuality: NetworkQuality = unknownQuality();
  private statsRounds = 0;
  private isStringUid = false;
  private readonly exceptions = new ExceptionMonitor();
  /** The microphone's total energy at the last stats round, to tell silence from sound between rounds. */
  private lastAudioEnergy: number | undefined;

  constructor(config?: ClientConfig) {
    super();
    const checked = checkClientConfig(config);
    this.codec = checked.codec;
    this.audioCodec = checked.audioCodec;
    this.mode = checked.mode;
    this.currentRole = checked.role;
    this.httpRetry = { ...HTTP_RETRY, ...config?.httpRetryConfig };
    this.websocketRetry = { ...WEBSOCKET_RETRY, ...config?.websocketRetryConfig };
  }

  get connectionState(): ConnectionState {
    return this.core.state;
  }

  get role(): ClientRole {
    return this.currentRole;
  }

  get uid(): UID | undefined {
    const joined = this.session?.joined;
    if (!joined) return undefined;
    return this.isStringUid ? (joined.account ?? joined.uid) : joined.uid;
  }

  get channelName(): string | undefined {
    return this.session?.params.channel;
  }

  get remoteUsers(): IAgoraRTCRemoteUser[] {
    return [...this.users.values()];
  }

  get localTracks(): ILocalTrack[] {
    return [...this.published.values(), ...this.mixedAudio] as unknown as ILocalTrack[];
  }

  // ---------------------------------------------------------------------------------------------------- join

  async join(
    appid: string,
    channel: string,
    token: string | null,
    uid?: UID | null,
    _options?: { autoSubscribe?: boolean },
  ): Promise<UID> {
    const params: JoinParams = {
      appId: checkAppId(appid),
      channel: checkChannelName(channel),
      token: checkToken(token),
      uid: checkUid(uid),
    };
    if (this.core.state !== "DISCONNECTED") {
      throw new AgoraRTCError("INVALID_OPERATION", "Client already in connecting/connected state");
    }
    ensureWebRTC();
    const generation = ++this.generation;
    this.setState("CONNECTING");
    this.isStringUid = typeof params.uid === "string";
    try {
      const gateway = await this.discover(params, generation);
      const { socket, joined } = await this.firstJoin(gateway.signalling_url, params, generation);
      if (generation !== this.generation) {
        socket.close();
        throw new AgoraRTCError("OPERATION_ABORTED", "join was cancelled by leave");
      }
      this.socket = socket;
      this.session = { url: gateway.signalling_url, joined, params, joinedAt: Date.now() };
      if (joined.role !== this.currentRole && this.mode === "live") this.currentRole = joined.role;
      this.setState("CONNECTED");
      this.applyCore(this.core.joined(joined));
      this.startTimers();
      return this.uid!;
    } catch (error) {
      if (generation === this.generation && this.connectionState === "CONNECTING") {
        this.setState("DISCONNECTED", disconnectReasonOf(error));
      }
      throw error instanceof AgoraRTCError ? error : new AgoraRTCError("UNEXPECTED_ERROR", String(error));
    }
  }

  /** POST /api/v1/gateway, retried as the Rust SDK does: only transport failures and refusals marked retry. */
  private async discover(params: JoinParams, generation: number): Promise<GatewayResponse> {
    const url = `${serverUrl()}/api/v1/gateway`;
    const body = JSON.stringify({
      app_id: params.appId,
      channel: params.channel,
      token: params.token,
      uid: params.uid,
      role: this.currentRole,
    });
    for (let retries = 0; ; retries++) {
      let failure = new AgoraRTCError("NETWORK_ERROR", "no answer from the gateway");
      let response: Response | undefined;
      let text = "";
      try {
        response = await fetchWithTimeout(url, { method: "POST", headers: { "content-type": "application/json" }, body });
        text = await response.text();
      } catch (error) {
        failure = error instanceof AgoraRTCError ? error : new AgoraRTCError("NETWORK_ERROR", String(error));
      }
      if (response) {
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = undefined;
        }
        if (response.ok) {
          const answer = parsed as GatewayResponse | undefined;
          if (answer && typeof answer.signalling_url === "string") return answer;
          failure = new AgoraRTCError("NETWORK_RESPONSE_ERROR", `unreadable gateway answer: ${text.slice(0, 200)}`);
        } else if (parsed && typeof (parsed as { code?: unknown }).code === "string") {
          // A refusal: final unless the server says the same request may pass later.
          const refusal = fromWire(parsed as { code: string; message?: string; data?: unknown });
          if ((refusal.data as { retry?: unknown } | undefined)?.retry !== true) throw refusal;
          failure = refusal;
        } else {
          failure = new AgoraRTCError("NETWORK_RESPONSE_ERROR", `gateway answered HTTP ${response.status}`);
        }
      }
      if (generation !== this.generation) throw new AgoraRTCError("OPERATION_ABORTED", "join was cancelled by leave");
      if (!mayRetry(this.httpRetry, retries)) {
        throw new AgoraRTCError(
          "CAN_NOT_GET_GATEWAY_SERVER",
          `no gateway after ${retries + 1} attempts: ${failure.message}`,
          { retry: true, cause: failure.code },
        );
      }
      log.info(`gateway attempt ${retries + 1} failed (${failure.message}); retrying`);
      await sleep(retryDelay(this.httpRetry, retries));
    }
  }

  private joinFrame(params: JoinParams): Outgoing {
    return {
      type: "join",
      app_id: params.appId,
      channel: params.channel,
      token: params.token,
      uid: params.uid,
      mode: this.mode === "live" ? "live" : "rtc",
      role: this.currentRole,
      codec: this.codec,
    };
  }

  private async firstJoin(
    url: string,
    params: JoinParams,
    generation: number,
  ): Promise<{ socket: SignallingSocket; joined: Joined }> {
    for (let retries = 0; ; retries++) {
      let socket: SignallingSocket | undefined;
      try {
        socket = await SignallingSocket.open(url, this.socketHandlers());
        const reply = await socket.request<"joined">(this.joinFrame(params));
        return { socket, joined: reply };
      } catch (error) {
        socket?.close();
        const link = error instanceof AgoraRTCError && ["WS_ERR", "WS_ABORT", "WS_DISCONNECT", "NETWORK_TIMEOUT"].includes(error.code);
        if (!link || !mayRetry(this.httpRetry, retries) || generation !== this.generation) throw error;
        await sleep(retryDelay(this.httpRetry, retries));
      }
    }
  }

  private socketHandlers() {
    return {
      onPush: (frame: ServerFrame) => this.onPush(frame),
      onDrop: (reason: string) => this.onDrop(reason),
      onStrayError: (error: AgoraRTCError) => log.warn("server complaint", error.message),
    };
  }

  // ---------------------------------------------------------------------------------------------------- events

  private setState(next: ConnectionState, reason?: ConnectionDisconnectedReasonValue): void {
    const change = this.core.transition(next, reason);
    if (!change) return;
    if (change.current === "DISCONNECTED") {
      this.emit("connection-state-change", change.current, change.previous, change.reason);
    } else {
      this.emit("connection-state-change", change.current, change.previous);
    }
  }

  private remoteUser(uid: number): RemoteUser {
    let user = this.users.get(uid);
    if (!user) {
      const state = this.core.users.get(uid);
      user = new RemoteUser(state?.account ?? uid, uid);
      this.users.set(uid, user);
    }
    return user;
  }

  private applyCore(events: CoreEvent[]): void {
    for (const event of events) {
      switch (event.kind) {
        case "user-joined":
          this.emit("user-joined", this.remoteUser(event.uid));
          break;
        case "user-left": {
          const user = this.users.get(event.uid);
          if (!user) break;
          for (const mediaType of ["audio", "video"] as const) this.dropSubscription(event.uid, mediaType);
          user._hasAudio = user._hasVideo = false;
          this.users.delete(event.uid);
          this.emit("user-left", user, event.reason);
          break;
        }
        case "user-published": {
          const user = this.remoteUser(event.uid);
          if (event.mediaType === "audio") user._hasAudio = true;
          else user._hasVideo = true;
          this.emit("user-published", user, event.mediaType);
          break;
        }
        case "user-unpublished": {
          const user = this.remoteUser(event.uid);
          if (event.mediaType === "audio") user._hasAudio = false;
          else user._hasVideo = false;
          // A muted or disabled track keeps its subscription on the server; an unpublished one loses it.
          if (!this.core.users.get(event.uid)?.tracks.has(event.mediaType)) {
            this.dropSubscription(event.uid, event.mediaType);
          }
          this.emit("user-unpublished", user, event.mediaType);
          break;
        }
        case "user-info-updated": {
          const user = this.users.get(event.uid);
          this.emit("user-info-updated", user?.uid ?? event.uid, event.msg);
          break;
        }
        case "token-privilege-will-expire":
          this.emit("token-privilege-will-expire");
          break;
        case "token-privilege-did-expire":
          this.emit("token-privilege-did-expire");
          break;
        case "disconnected":
          this.endSession(event.reason);
          break;
      }
    }
  }

  private onPush(frame: ServerFrame): void {
    this.applyCore(this.core.push(frame));
  }

  // ---------------------------------------------------------------------------------------------------- leave

  async leave(): Promise<void> {
    if (this.core.state === "DISCONNECTED" || this.core.state === "DISCONNECTING") {
      this.generation++;
      return;
    }
    const wasConnecting = this.core.state === "CONNECTING";
    this.generation++;
    this.setState("DISCONNECTING");
    const socket = this.socket;
    if (socket?.open && !wasConnecting) {
      await Promise.race([socket.request<"ok">({ type: "leave" }).catch(() => undefined), sleep(LEAVE_TIMEOUT_MS)]);
    }
    this.teardown();
    this.setState("DISCONNECTED", "LEAVE");
  }

  /** Ends the session from the server's side (token expiry) or a failed reconnection. */
  private endSession(reason: ConnectionDisconnectedReasonValue): void {
    if (this.core.state === "DISCONNECTED") return;
    this.generation++;
    this.teardown();
    if (this.core.state === "CONNECTING" || this.core.state === "DISCONNECTING") {
      this.setState("DISCONNECTED", reason);
    } else {
      this.setState("DISCONNECTED", reason);
    }
  }

  private teardown(): void {
    clearInterval(this.keepaliveTimer);
    clearInterval(this.statsTimer);
    this.keepaliveTimer = this.statsTimer = undefined;
    this.socket?.close();
    this.socket = undefined;
    for (const track of [...this.published.values(), ...this.mixedAudio]) track.link = undefined;
    this.published.clear();
    this.mixedAudio.length = 0;
    this.disposeAudioMix();
    for (const subscription of this.subscriptions.values()) subscription.track.stop();
    this.subscriptions.clear();
    this.users.clear();
    this.publisher?.close();
    this.subscriber?.close();
    this.publisher = this.subscriber = undefined;
    this.session = undefined;
    this.localStats = {};
    this.rtcStats = emptyRtcStats();
    this.pingRttMs = undefined;
    this.inboundTotals = undefined;
    this.networkQuality = unknownQuality();
    this.statsRounds = 0;
    this.rtcSnapshot = undefined;
    this.mediaOutages.clear();
    for (const pc of [...this.iceRestarts.keys()]) this.cancelIceRestart(pc);
    this.mediaQueue = Promise.resolve();
    this.exceptions.reset();
    this.lastAudioEnergy = undefined;
  }

  // ---------------------------------------------------------------------------------------------------- keepalive and reconnection

  private startTimers(): void {
    const joined = this.session!.joined;
    const keepalive = Math.min(Math.max(joined.keepalive_ms, 100), 60000);
    // Declare the link dead well before the server would end the session, so a rejoin still finds it.
    const linkTimeout = Math.min(Math.max(joined.session_timeout_ms / 2, 200), 10000);
    clearInterval(this.keepaliveTimer);
    this.keepaliveTimer = setInterval(() => {
      const socket = this.socket;
      if (!socket || this.core.state !== "CONNECTED") return;
      if (Date.now() - socket.lastHeard > linkTimeout) {
        log.info(`nothing heard from the server for ${linkTimeout} ms: reconnecting`);
        socket.breakLink();
        return;
      }
      const sentAt = performance.now();
      socket
        .request<"ok">({ type: "ping" })
        .then(() => {
          this.pingRttMs = Math.round(performance.now() - sentAt);
        })
        .catch(() => undefined);
    }, keepalive);
    clearInterval(this.statsTimer);
    this.statsTimer = setInterval(() => void this.collectStats(), STATS_INTERVAL_MS);
  }

  private onDrop(reason: string): void {
    if (this.core.state !== "CONNECTED") return;
    log.info(`signalling link dropped (${reason}): reconnecting`);
    this.socket = undefined;
    this.setState("RECONNECTING");
    void this.reconnect(this.generation);
  }

  /** Test hook: drops the signalling WebSocket as a network failure would. */
  _dropSignallingLink(): void {
    this.socket?.breakLink();
  }

  /** RECONNECTING until the session is resumed, or re-entered with a fresh join when the server forgot it. */
  private async reconnect(generation: number): Promise<void> {
    const session = this.session!;
    for (let retries = 0; ; retries++) {
      if (generation !== this.generation) return;
      let socket: SignallingSocket | undefined;
      try {
        socket = await SignallingSocket.open(session.url, this.socketHandlers());
        let joined: Joined;
        try {
          joined = await socket.request<"joined">({
            type: "rejoin",
            session_id: session.joined.session_id,
            resume_token: session.joined.resume_token,
          });
        } catch (error) {
          if (!(error instanceof AgoraRTCError) || error.code !== "INVALID_OPERATION") throw error;
          // The server ended the session: enter again as the same user.
          const params = { ...session.params, uid: session.params.uid ?? session.joined.uid };
          try {
            joined = await socket.request<"joined">(this.joinFrame(params));
          } catch (refused) {
            if (refused instanceof AgoraRTCError && !isLinkError(refused)) {
              log.warn("cannot re-enter the channel", refused.message);
              socket.close();
              if (generation === this.generation) this.endSession(disconnectReasonOf(refused));
              return;
            }
            throw refused;
          }
        }
        if (generation !== this.generation) {
          socket.close();
          return;
        }
        const fresh = joined.session_id !== session.joined.session_id;
        this.socket = socket;
        session.joined = joined;
        // A new session on the server has none of the old one's media: drop the dead transports first, so the
        // app never sees CONNECTED with media that cannot come back.
        const lost = fresh ? this.dropTransports() : undefined;
        this.setState("CONNECTED");
        this.applyCore(this.core.joined(joined));
        this.startTimers();
        if (lost) await this.restoreMedia(lost, generation);
        return;
      } catch (error) {
        socket?.close();
        if (!mayRetry(this.websocketRetry, retries)) {
          log.warn("reconnection gave up", error);
          if (generation === this.generation) this.endSession("NETWORK_ERROR");
          return;
        }
        await sleep(retryDelay(this.websocketRetry, retries));
      }
    }
  }

  /** Closes both transports and returns what they carried, to publish and subscribe again. */
  private dropTransports(): { tracks: LocalTrack[]; subscriptions: Subscription[] } {
    const tracks = [...this.published.values(), ...this.mixedAudio];
    const subscriptions = [...this.subscriptions.values()];
    this.publisher?.close();
    this.subscriber?.close();
    this.publisher = this.subscriber = undefined;
    // The restore that follows reports its own media-reconnect-start / -end.
    this.mediaOutages.clear();
    for (const pc of [...this.iceRestarts.keys()]) this.cancelIceRestart(pc);
    this.published.clear();
    this.mixedAudio.length = 0;
    this.disposeAudioMix();
    for (const track of tracks) track.link = undefined;
    this.subscriptions.clear();
    this.mediaQueue = Promise.resolve();
    return { tracks, subscriptions };
  }

  /** Publishes and subscribes again what the lost session carried (media-reconnect-start / -end around each). */
  private async restoreMedia(
    { tracks, subscriptions }: { tracks: LocalTrack[]; subscriptions: Subscription[] },
    generation: number,
  ): Promise<void> {
    const localUid = this.uid!;
    if (tracks.length > 0) {
      this.emit("media-reconnect-start", localUid);
      try {
        await this.publishTracks(tracks as unknown as ILocalTrack[], true);
      } catch (error) {
        log.warn("re-publishing after reconnection failed", error);
      }
      this.emit("media-reconnect-end", localUid);
    }
    for (const old of subscriptions) {
      if (generation !== this.generation) return;
      const user = this.users.get(old.uid);
      const state = this.core.users.get(old.uid);
      if (!user || !state || !hasMedia(state, old.mediaType)) {
        old.track.stop();
        continue;
      }
      this.emit("media-reconnect-start", user.uid);
      try {
        await this.subscribeOne(user, old.mediaType, old.track);
      } catch (error) {
        log.warn("re-subscribing after reconnection failed", error);
      }
      this.emit("media-reconnect-end", user.uid);
    }
  }

  // ---------------------------------------------------------------------------------------------------- publish

  private inMediaQueue<T>(work: () => Promise<T>): Promise<T> {
    const run = this.mediaQueue.then(work, work);
    this.mediaQueue = run.catch(() => undefined);
    return run;
  }

  async publish(tracks: ILocalTrack | ILocalTrack[]): Promise<void> {
    return this.publishTracks(tracks, false);
  }

  /** `restoring`: re-publishing after a lost session, where a track the app disabled stays published disabled. */
  private async publishTracks(tracks: ILocalTrack | ILocalTrack[], restoring: boolean): Promise<void> {
    if (this.core.state !== "CONNECTED" || !this.socket) {
      throw new AgoraRTCError("INVALID_OPERATION", "Can't publish stream, haven't joined yet!");
    }
    if (this.mode === "live" && this.currentRole === "audience") {
      throw new AgoraRTCError("INVALID_OPERATION", "audience can not publish stream");
    }
    const list = (Array.isArray(tracks) ? tracks : [tracks]) as unknown[];
    if (list.length === 0) throw new AgoraRTCError("INVALID_PARAMS", "param list is empty");
    const locals: LocalTrack[] = [];
    for (const item of list) {
      if (!(item instanceof LocalTrack)) throw new AgoraRTCError("INVALID_PARAMS", "parameter is not local track");
      if (item.isClosed) throw new AgoraRTCError("INVALID_LOCAL_TRACK", `track ${item.getTrackId()} is closed`);
      if (!item.enabled && !restoring) throw new AgoraRTCError("TRACK_IS_DISABLED", `track ${item.getTrackId()} is disabled: enable it before publishing`);
      if (!locals.includes(item)) locals.push(item);
    }
    const fresh = locals.filter((t) => this.published.get(t.trackMediaType) !== t && !this.mixedAudio.includes(t));
    const videos = fresh.filter((t) => t.trackMediaType === "video");
    if (videos.length > 1 || (videos.length === 1 && this.published.has("video"))) {
      throw new AgoraRTCError("CAN_NOT_PUBLISH_MULTIPLE_VIDEO_TRACKS", "a client publishes at most one video track");
    }
    // The first audio track gets the audio sender; more audio tracks are mixed into it.
    const audios = fresh.filter((t) => t.trackMediaType === "audio");
    const extras = this.published.has("audio") ? audios : audios.slice(1);
    const direct = fresh.filter((t) => !extras.includes(t));
    if (fresh.length === 0) return;
    const generation = this.generation;
    await this.inMediaQueue(async () => {
      if (generation !== this.generation || !this.socket) {
        throw new AgoraRTCError("INVALID_OPERATION", "Can't publish stream, haven't joined yet!");
      }
      if (direct.length > 0 && !(await this.publishDirect(direct, generation))) return;
      if (extras.length > 0) {
        const primary = this.published.get("audio");
        if (!primary?.link) throw new AgoraRTCError("INVALID_OPERATION", "no published audio track to mix with");
        for (const track of extras) {
          this.mixedAudio.push(track);
          this.linkTrack(track, primary.link.transceiver, true);
        }
        await this.refreshAudio();
        await this.sendAudioState();
      }
    });
  }

  /** Publishes tracks on their own senders; false when a lost session's reconnection took them over. */
  private async publishDirect(fresh: LocalTrack[], generation: number): Promise<boolean> {
    this.publisher ??= this.watchTransport(new PublisherTransport(this.codec));
    const publisher = this.publisher;
    for (const track of fresh) {
      const transceiver = publisher.attach(track.trackMediaType, track.sendingTrack());
      this.linkTrack(track, transceiver);
    }
    try {
      const offer = await publisher.offer();
      const reply = await this.overLink(generation, (socket) =>
        socket.request<"published">({
          type: "publish",
          tracks: fresh.map((t) => ({ media_type: t.trackMediaType, muted: t.muted, enabled: t.enabled })),
          offer,
        }),
      );
      // The server forgot the session while this waited: the reconnection re-published these tracks.
      if (this.publisher !== publisher) return false;
      await publisher.answer(reply.answer);
    } catch (error) {
      if (this.publisher !== publisher && this.generation === generation) return false;
      await publisher.rollback();
      for (const track of fresh) {
        publisher.detach(track.trackMediaType);
        this.published.delete(track.trackMediaType);
        track.link = undefined;
      }
      throw error;
    }
    for (const track of fresh) {
      if (track instanceof LocalVideoTrack) await track.applySenderParameters().catch(() => undefined);
    }
    return true;
  }

  /** The audio sender sends the first audio track, or the mix of all of them when there are several. */
  private async refreshAudio(): Promise<void> {
    const primary = this.published.get("audio");
    const sender = primary?.link?.transceiver.sender;
    if (!primary || !sender) return;
    let track: MediaStreamTrack | null;
    if (this.mixedAudio.length === 0) {
      this.disposeAudioMix();
      track = primary.sendingTrack();
    } else {
      const ctx = audioContext();
      const mix = (this.audioMix ??= { destination: ctx.createMediaStreamDestination(), sources: [] });
      for (const source of mix.sources) source.disconnect();
      mix.sources = [];
      for (const member of [primary, ...this.mixedAudio]) {
        const sending = member.sendingTrack();
        if (!sending) continue;
        const source = ctx.createMediaStreamSource(new MediaStream([sending]));
        source.connect(mix.destination);
        mix.sources.push(source);
      }
      track = mix.destination.stream.getAudioTracks()[0] ?? null;
    }
    try {
      await sender.replaceTrack(track);
    } catch (error) {
      throw new AgoraRTCError("SENDER_REPLACE_FAILED", `cannot replace the sent audio: ${String(error)}`);
    }
  }

  private disposeAudioMix(): void {
    for (const source of this.audioMix?.sources ?? []) source.disconnect();
    this.audioMix = undefined;
  }

  /** The published audio as others see it: muted when every mixed track is, enabled when any is. */
  private async sendAudioState(): Promise<void> {
    const primary = this.published.get("audio");
    if (!primary || !this.socket || this.core.state !== "CONNECTED") return;
    const all = [primary, ...this.mixedAudio];
    await this.socket.request<"ok">({
      type: "set_track_state",
      media_type: "audio",
      muted: all.every((t) => t.muted),
      enabled: all.some((t) => t.enabled),
    });
  }

  private linkTrack(track: LocalTrack, transceiver: RTCRtpTransceiver, mixed = false): void {
    if (!mixed) this.published.set(track.trackMediaType, track);
    const isAudio = track.trackMediaType === "audio";
    track.link = {
      transceiver,
      ...(isAudio ? { refreshSender: () => this.refreshAudio() } : {}),
      stateChanged: async (changed) => {
        if (isAudio) {
          if (this.published.get("audio") === changed || this.mixedAudio.includes(changed)) await this.sendAudioState();
          return;
        }
        if (this.published.get(changed.trackMediaType) !== changed || !this.socket) return;
        await this.socket.request<"ok">({
          type: "set_track_state",
          media_type: changed.trackMediaType,
          muted: changed.muted,
          enabled: changed.enabled,
        });
      },
      closed: (closed) => {
        if (this.published.get(closed.trackMediaType) === closed || this.mixedAudio.includes(closed)) {
          void this.unpublish(closed as unknown as ILocalTrack).catch(() => undefined);
        }
      },
    };
    track.statsSource = () =>
      track.trackMediaType === "audio"
        ? (this.localStats.audio?.stats ?? emptyLocalAudioStats())
        : (this.localStats.video?.stats ?? emptyLocalVideoStats());
  }

  async unpublish(tracks?: ILocalTrack | ILocalTrack[]): Promise<void> {
    const list = (
      tracks === undefined ? [...this.published.values(), ...this.mixedAudio] : Array.isArray(tracks) ? tracks : [tracks]
    ) as unknown[];
    const mediaTypes: MediaType[] = [];
    let mixChanged = false;
    for (const item of list) {
      if (!(item instanceof LocalTrack)) throw new AgoraRTCError("INVALID_PARAMS", "parameter is not local track");
      const mixedAt = this.mixedAudio.indexOf(item);
      if (mixedAt >= 0) {
        this.mixedAudio.splice(mixedAt, 1);
        item.link = undefined;
        mixChanged = true;
        continue;
      }
      if (this.published.get(item.trackMediaType) !== item) continue;
      if (item.trackMediaType === "audio" && this.mixedAudio.length > 0) {
        // Another mixed track takes over the audio sender; others see no change of publication.
        this.published.set("audio", this.mixedAudio.shift()!);
        item.link = undefined;
        mixChanged = true;
        continue;
      }
      this.published.delete(item.trackMediaType);
      item.link = undefined;
      this.publisher?.detach(item.trackMediaType);
      mediaTypes.push(item.trackMediaType);
    }
    if (mixChanged && !mediaTypes.includes("audio")) {
      await this.refreshAudio();
      await this.sendAudioState();
    }
    if (mediaTypes.length === 0 || !this.socket || this.core.state !== "CONNECTED") return;
    await this.socket.request<"ok">({ type: "unpublish", media_types: mediaTypes });
  }

  // ---------------------------------------------------------------------------------------------------- subscribe

  private resolveUser(user: IAgoraRTCRemoteUser | UID): RemoteUser {
    let found: RemoteUser | undefined;
    if (user instanceof RemoteUser) found = this.users.get(user._uintid);
    else if (typeof user === "object" && user !== null && "uid" in user) found = this.findUser(user.uid);
    else found = this.findUser(user as UID);
    if (!found) throw new AgoraRTCError("INVALID_REMOTE_USER", "user is not in the channel");
    return found;
  }

  private findUser(uid: UID): RemoteUser | undefined {
    if (typeof uid === "number") return this.users.get(uid);
    for (const user of this.users.values()) if (user.uid === uid) return user;
    const asNumber = Number(uid);
    return Number.isInteger(asNumber) ? this.users.get(asNumber) : undefined;
  }

  subscribe(user: IAgoraRTCRemoteUser | UID, mediaType: "video"): Promise<RemoteVideoTrack>;
  subscribe(user: IAgoraRTCRemoteUser | UID, mediaType: "audio"): Promise<RemoteAudioTrack>;
  subscribe(user: IAgoraRTCRemoteUser | UID, mediaType: "audio" | "video"): Promise<RemoteTrack>;
  async subscribe(user: IAgoraRTCRemoteUser | UID, mediaType: "audio" | "video"): Promise<RemoteTrack> {
    if (this.core.state !== "CONNECTED" || !this.socket) {
      throw new AgoraRTCError("INVALID_OPERATION", "Can't subscribe stream, not joined");
    }
    if (mediaType !== "audio" && mediaType !== "video") {
      throw new AgoraRTCError("INVALID_PARAMS", 'mediaType must be "audio" or "video"');
    }
    const remote = this.resolveUser(user);
    const state = this.core.users.get(remote._uintid);
    if (!state || !hasMedia(state, mediaType)) {
      throw new AgoraRTCError(
        "REMOTE_USER_IS_NOT_PUBLISHED",
        `user is not published: uid ${remote.uid} has no ${mediaType} track`,
      );
    }
    const existing = this.subscriptions.get(subscriptionKey(remote._uintid, mediaType));
    if (existing) return existing.track;
    return this.subscribeOne(remote, mediaType);
  }

  private subscribeOne(remote: RemoteUser, mediaType: MediaType, reuse?: RemoteTrack): Promise<RemoteTrack> {
    const generation = this.generation;
    const key = subscriptionKey(remote._uintid, mediaType);
    return this.inMediaQueue(async () => {
      const existing = this.subscriptions.get(key);
      if (existing) return existing.track;
      if (generation !== this.generation || !this.socket) {
        throw new AgoraRTCError("INVALID_OPERATION", "Can't subscribe stream, not joined");
      }
      const subscriber = (this.subscriber ??= this.watchTransport(new SubscriberTransport()));
      // Each request survives a dropped link: it is sent again once the session is resumed. If the server forgot
      // the session meanwhile, the subscription starts over on the new transport.
      const reply = await this.overLink(generation, (socket) =>
        socket.request<"subscribed" | "ok">({ type: "subscribe", uid: remote._uintid, media_type: mediaType }),
      );
      if (this.subscriber !== subscriber) return this.subscribeAgain(remote, mediaType, reuse, generation);
      let transceiver: RTCRtpTransceiver | undefined;
      if (reply.type === "subscribed") {
        const accepted = await subscriber.accept(reply.offer, mediaType, key);
        await this.overLink(generation, (socket) => socket.request<"ok">({ type: "subscriber_answer", answer: accepted.answer }));
        if (this.subscriber !== subscriber) return this.subscribeAgain(remote, mediaType, reuse, generation);
        transceiver = accepted.transceiver;
      }
      if (!transceiver) {
        throw new AgoraRTCError("SUBSCRIBE_FAILED", `the server's offer has no new ${mediaType} m-line for uid ${remote.uid}`);
      }
      const mediaTrack = transceiver.receiver.track;
      let track: RemoteTrack;
      if (reuse) {
        reuse.rebind(mediaTrack, transceiver);
        track = reuse;
      } else {
        track = mediaType === "audio"
          ? new RemoteAudioTrack(mediaTrack, remote.uid, transceiver)
          : new RemoteVideoTrack(mediaTrack, remote.uid, transceiver);
      }
      const subscription: Subscription = { uid: remote._uintid, mediaType, track, since: Date.now() };
      track.statsSource = () => subscription.stats;
      this.subscriptions.set(key, subscription);
      if (track instanceof RemoteAudioTrack) remote._audioTrack = track;
      else if (track instanceof RemoteVideoTrack) remote._videoTrack = track;
      return track;
    });
  }

  /**
   * Agora's `peerconnection-state-change` (current, previous), from either transport, and `media-reconnect-start`
   * / `-end` around a lost media path: when a connected transport goes "disconnected" or "failed" (ICE consent
   * lapsed), for the users whose media it carries (the local uid for the publisher, each subscribed user for the
   * subscriber), and again when it is "connected".
   */
  private watchTransport<T extends PublisherTransport | SubscriberTransport>(transport: T): T {
    let previous: RTCPeerConnectionState = "new";
    const pc = transport.pc;
    pc.addEventListener?.("connectionstatechange", () => {
      const current = pc.connectionState;
      if (current === previous) return;
      this.emit("peerconnection-state-change", current, previous);
      previous = current;
      if (current === "connected") {
        this.cancelIceRestart(pc);
        const uids = this.mediaOutages.get(pc);
        this.mediaOutages.delete(pc);
        for (const uid of uids ?? []) this.emit("media-reconnect-end", uid);
      } else if (current === "disconnected" || current === "failed") {
        if (!this.mediaOutages.has(pc)) {
          const uids = this.usersCarriedBy(transport);
          this.mediaOutages.set(pc, uids);
          for (const uid of uids) this.emit("media-reconnect-start", uid);
        }
        this.scheduleIceRestart(transport, current === "failed" ? 0 : ICE_RESTART_GRACE_MS);
      }
    });
    return transport;
  }

  private cancelIceRestart(pc: RTCPeerConnection): void {
    clearTimeout(this.iceRestarts.get(pc));
    this.iceRestarts.delete(pc);
  }

  private scheduleIceRestart(transport: PublisherTransport | SubscriberTransport, delayMs: number): void {
    this.cancelIceRestart(transport.pc);
    const generation = this.generation;
    this.iceRestarts.set(
      transport.pc,
      setTimeout(() => void this.restartIce(transport, generation), delayMs),
    );
  }

  /**
   * Gives a transport whose path is lost new ICE credentials (a network change leaves the old candidate pair dead
   * for good), one SDP round over signalling, and tries again later until it is connected. Only while the session
   * is up: a lost session rebuilds the transports itself.
   */
  private async restartIce(transport: PublisherTransport | SubscriberTransport, generation: number): Promise<void> {
    const pc = transport.pc;
    this.iceRestarts.delete(pc);
    const current = transport === this.publisher || transport === this.subscriber;
    if (generation !== this.generation || !current || pc.connectionState === "connected") return;
    if (this.core.state === "CONNECTED") {
      try {
        await this.inMediaQueue(async () => {
          if (transport !== this.publisher && transport !== this.subscriber) return;
          if (transport instanceof PublisherTransport) {
            const offer = await transport.offer(true);
            try {
              const reply = await this.overLink(generation, (socket) =>
                socket.request<"published">({ type: "restart_publisher_ice", offer }),
              );
              await transport.answer(reply.answer);
            } catch (error) {
              await transport.rollback();
              throw error;
            }
          } else {
            const reply = await this.overLink(generation, (socket) =>
              socket.request<"subscribed">({ type: "restart_subscriber_ice" }),
            );
            const answer = await transport.acceptRestart(reply.offer);
            await this.overLink(generation, (socket) => socket.request<"ok">({ type: "subscriber_answer", answer }));
          }
        });
        log.info(`ICE restarted on the ${transport instanceof PublisherTransport ? "publisher" : "subscriber"} transport`);
      } catch (error) {
        log.warn("ICE restart failed", error);
      }
    }
    const stillCurrent = transport === this.publisher || transport === this.subscriber;
    // Read again: the state changed while the restart was negotiated (TypeScript keeps the earlier narrowing).
    const state = pc.connectionState as RTCPeerConnectionState;
    if (generation === this.generation && stillCurrent && state !== "connected" && state !== "closed") {
      this.scheduleIceRestart(transport, ICE_RESTART_RETRY_MS);
    }
  }

  /** The uids whose media a transport carries: the local user's, or the subscribed remote users'. */
  private usersCarriedBy(transport: PublisherTransport | SubscriberTransport): UID[] {
    if (transport instanceof PublisherTransport) return this.uid !== undefined && this.published.size > 0 ? [this.uid] : [];
    const uids = new Set<UID>();
    for (const subscription of this.subscriptions.values()) {
      const user = this.users.get(subscription.uid);
      if (user) uids.add(user.uid);
    }
    return [...uids];
  }

  /** A subscription cut short by a lost session, made again on the new session's transport. */
  private async subscribeAgain(
    remote: RemoteUser,
    mediaType: MediaType,
    reuse: RemoteTrack | undefined,
    generation: number,
  ): Promise<RemoteTrack> {
    if (generation !== this.generation) throw new AgoraRTCError("OPERATION_ABORTED", "the client left");
    const state = this.core.users.get(remote._uintid);
    if (!state || !hasMedia(state, mediaType)) {
      throw new AgoraRTCError("REMOTE_USER_IS_NOT_PUBLISHED", `user is not published: uid ${remote.uid} has no ${mediaType} track`);
    }
    // The transports changed only because dropTransports() started a new media queue, so this queues behind the
    // reconnection's own work, not behind the attempt that calls it.
    return this.subscribeOne(remote, mediaType, reuse);
  }

  /**
   * Runs a signalling request; when the link drops under it, waits for the reconnection and sends it again (at most
   * three times). Fails when the client leaves or ends DISCONNECTED meanwhile.
   */
  private async overLink<T>(generation: number, send: (socket: SignallingSocket) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const socket = this.socket;
      try {
        if (!socket) throw new AgoraRTCError("WS_DISCONNECT", "the signalling link is down");
        return await send(socket);
      } catch (error) {
        if (!(error instanceof AgoraRTCError) || !isLinkError(error) || attempt >= 3) throw error;
        while (this.core.state !== "CONNECTED" || !this.socket || this.socket === socket) {
          if (generation !== this.generation || this.core.state === "DISCONNECTED") throw error;
          if (this.core.state === "CONNECTED" && this.socket === socket && socket?.open) break;
          await sleep(20);
        }
      }
    }
  }

  async massSubscribe(
    list: { user: IAgoraRTCRemoteUser; mediaType: "audio" | "video" }[],
  ): Promise<{ user: IAgoraRTCRemoteUser; mediaType: "audio" | "video"; track?: RemoteTrack; error?: AgoraRTCError }[]> {
    if (!Array.isArray(list)) throw new AgoraRTCError("INVALID_PARAMS", "massSubscribe needs a list");
    return Promise.all(
      list.map(async ({ user, mediaType }) => {
        try {
          return { user, mediaType, track: await this.subscribe(user, mediaType) };
        } catch (error) {
          const rtcError = error instanceof AgoraRTCError ? error : new AgoraRTCError("SUBSCRIBE_FAILED", String(error));
          return { user, mediaType, error: rtcError };
        }
      }),
    );
  }

  private dropSubscription(uid: number, mediaType: MediaType): Subscription | undefined {
    const key = subscriptionKey(uid, mediaType);
    const subscription = this.subscriptions.get(key);
    if (!subscription) return undefined;
    subscription.track.stop();
    this.subscriptions.delete(key);
    this.subscriber?.release(key);
    const user = this.users.get(uid);
    if (user && mediaType === "audio") user._audioTrack = undefined;
    if (user && mediaType === "video") user._videoTrack = undefined;
    return subscription;
  }

  async unsubscribe(user: IAgoraRTCRemoteUser | UID, mediaType?: "audio" | "video"): Promise<void> {
    if (this.core.state !== "CONNECTED" || !this.socket) {
      throw new AgoraRTCError("INVALID_OPERATION", "Can't unsubscribe stream, not joined");
    }
    const remote = this.resolveUser(user);
    const types: MediaType[] = mediaType === undefined ? ["audio", "video"] : [mediaType];
    for (const type of types) {
      const dropped = this.dropSubscription(remote._uintid, type);
      if (dropped || mediaType !== undefined) {
        await this.socket.request<"ok">({ type: "unsubscribe", uid: remote._uintid, media_type: type });
      }
    }
  }

  async massUnsubscribe(list: { user: IAgoraRTCRemoteUser; mediaType?: "audio" | "video" }[]): Promise<void> {
    await Promise.all(list.map(({ user, mediaType }) => this.unsubscribe(user, mediaType)));
  }

  // ---------------------------------------------------------------------------------------------------- role and token

  async setClientRole(role: ClientRole, _options?: ClientRoleOptions): Promise<void> {
    const checked = checkRole(role);
    if (this.mode !== "live") return;
    if (checked === "audience" && this.published.size > 0) {
      throw new AgoraRTCError("INVALID_OPERATION", "can not set client role to audience while publishing: unpublish first");
    }
    if (this.core.state === "CONNECTED" && this.socket) {
      await this.socket.request<"ok">({ type: "set_client_role", role: checked });
    }
    this.currentRole = checked;
    if (this.session) this.session.joined.role = checked;
  }

  async renewToken(token: string): Promise<void> {
    if (typeof token !== "string" || token.length < 1 || token.length > 2047) {
      throw new AgoraRTCError("INVALID_PARAMS", "token must be 1 to 2047 characters");
    }
    if (!this.session || !this.socket || this.core.state === "DISCONNECTED") {
      throw new AgoraRTCError("INVALID_OPERATION", "renewToken needs a joined client");
    }
    await this.socket.request<"ok">({ type: "renew_token", token });
    this.session.params.token = token;
  }

  // ---------------------------------------------------------------------------------------------------- stats

  private async collectStats(): Promise<void> {
    const now = Date.now();
    const [pub, sub] = await Promise.all([reportOf(this.publisher?.pc), reportOf(this.subscriber?.pc)]);
    const pubSummary = transportSummary(pub);
    const subSummary = transportSummary(sub);
    const sent = pubSummary.sentBytes + subSummary.sentBytes;
    const received = pubSummary.receivedBytes + subSummary.receivedBytes;
    const previous = this.rtcSnapshot;
    const elapsed = previous ? now - previous.at : 0;
    this.rtcStats = {
      Duration: this.session ? Math.round((now - this.session.joinedAt) / 1000) : 0,
      RecvBitrate: previous && elapsed > 0 ? Math.max(0, Math.round(((received - previous.received) * 8000) / elapsed)) : 0,
      RecvBytes: received,
      SendBitrate: previous && elapsed > 0 ? Math.max(0, Math.round(((sent - previous.sent) * 8000) / elapsed)) : 0,
      SendBytes: sent,
      UserCount: this.users.size + (this.session ? 1 : 0),
      RTT: pubSummary.rttMs || subSummary.rttMs,
      OutgoingAvailableBandwidth: pubSummary.availableOutgoingKbps,
    };
    this.rtcSnapshot = { sent, received, at: now };
    const audio = this.published.get("audio");
    if (audio instanceof LocalAudioTrack) {
      const level = audio.getVolumeLevel();
      this.localStats.audio = localAudioStats(pub, this.localStats.audio?.snapshot, now, level) ?? this.localStats.audio;
    }
    const video = this.published.get("video");
    if (video instanceof LocalVideoTrack) {
      const settings = video.getMediaStreamTrack().getSettings();
      const capture = { width: settings.width ?? 0, height: settings.height ?? 0, frameRate: settings.frameRate ?? 0 };
      const target = video.getEncoderConfiguration().bitrateMax ?? 0;
      const startedAt = this.session?.joinedAt ?? now;
      this.localStats.video =
        localVideoStats(pub, this.localStats.video?.snapshot, now, capture, target, startedAt) ?? this.localStats.video;
    }
    this.detectExceptions(pub);
    this.rateNetwork(pub, sub);
    const rtt = subSummary.rttMs || pubSummary.rttMs;
    for (const subscription of this.subscriptions.values()) {
      const id = subscription.track.getMediaStreamTrack().id;
      const read = subscription.mediaType === "audio"
        ? remoteAudioStats(sub, id, subscription.snapshot, now, subscription.since, rtt)
        : remoteVideoStats(sub, id, subscription.snapshot, now, subscription.since, rtt);
      if (read) {
        subscription.stats = read.stats;
        subscription.snapshot = read.snapshot;
      }
    }
  }

  /** Rates both directions from this round's stats; "network-quality" every other round (2 s), as Agora. */
  private rateNetwork(pub: StatsEntry[], sub: StatsEntry[]): void {
    if (this.core.state === "RECONNECTING") {
      this.networkQuality = { uplinkNetworkQuality: 6, downlinkNetworkQuality: 6 };
    } else if (this.core.state === "CONNECTED") {
      const down = downlinkSample(sub, this.inboundTotals, this.pingRttMs);
      this.inboundTotals = down.totals;
      this.networkQuality = {
        uplinkNetworkQuality: qualityOf(uplinkSample(pub, this.pingRttMs)),
        downlinkNetworkQuality: qualityOf(down.sample),
      };
    } else {
      return;
    }
    if (++this.statsRounds % 2 !== 0) return;
    this.emit("network-quality", { ...this.networkQuality });
    // Others read it with getRemoteNetworkQuality; the server relays a host's rating to everyone who sees it.
    if (this.core.state === "CONNECTED" && this.currentRole === "host") {
      const { uplinkNetworkQuality: uplink, downlinkNetworkQuality: downlink } = this.networkQuality;
      this.socket?.send({ type: "network_quality", uplink, downlink });
    }
  }

  /** Feeds the exception monitor from this round's stats; only what is live and measurable is sampled. */
  private detectExceptions(pub: StatsEntry[]): void {
    const samples: MediaSample[] = [];
    const localUid = this.uid;
    const video = this.published.get("video");
    const audio = this.published.get("audio");
    if (localUid !== undefined) {
      const local: MediaSample = { uid: localUid };
      const videoStats = this.localStats.video?.stats;
      if (video && video.enabled && !video.muted && videoStats && videoStats.sendBytes > 0) {
        local.captureFrameRate = videoStats.captureFrameRate ?? 0;
        local.sendFrameRate = videoStats.sendFrameRate ?? 0;
      }
      const source = pub.find((e) => e.type === "media-source" && e.kind === "audio");
      const energy = typeof source?.totalAudioEnergy === "number" ? source.totalAudioEnergy : undefined;
      if (audio && audio.enabled && !audio.muted && energy !== undefined && this.lastAudioEnergy !== undefined) {
        local.sendAudioLevel = energy - this.lastAudioEnergy > 1e-9 ? 1 : 0;
        local.sendAudioBitrate = this.localStats.audio?.stats.sendBitrate;
      }
      this.lastAudioEnergy = energy;
      samples.push(local);
    }
    for (const subscription of this.subscriptions.values()) {
      const stats = subscription.stats;
      const user = this.users.get(subscription.uid);
      if (!stats || !user) continue;
      if (subscription.mediaType === "video" && "decodeFrameRate" in stats) {
        samples.push({ uid: user.uid, receiveVideoBitrate: stats.receiveBitrate, decodeFrameRate: stats.decodeFrameRate ?? 0 });
      } else if (subscription.mediaType === "audio" && "receiveLevel" in stats && subscription.track.isPlaying) {
        samples.push({ uid: user.uid, receiveAudioBitrate: stats.receiveBitrate, receiveAudioLevel: stats.receiveLevel });
      }
    }
    for (const event of this.exceptions.sample(samples)) this.emit("exception", event);
  }

  getRTCStats(): AgoraRTCStats {
    return { ...this.rtcStats };
  }

  getLocalAudioStats(): LocalAudioTrackStats {
    return { ...(this.localStats.audio?.stats ?? emptyLocalAudioStats()) };
  }

  getLocalVideoStats(): LocalVideoTrackStats {
    return { ...(this.localStats.video?.stats ?? emptyLocalVideoStats()) };
  }

  getRemoteAudioStats(): { [uid: string]: RemoteAudioTrackStats } {
    return this.remoteStats("audio") as { [uid: string]: RemoteAudioTrackStats };
  }

  getRemoteVideoStats(): { [uid: string]: RemoteVideoTrackStats } {
    return this.remoteStats("video") as { [uid: string]: RemoteVideoTrackStats };
  }

  private remoteStats(mediaType: MediaType): Record<string, RemoteAudioTrackStats | RemoteVideoTrackStats> {
    const out: Record<string, RemoteAudioTrackStats | RemoteVideoTrackStats> = {};
    for (const subscription of this.subscriptions.values()) {
      if (subscription.mediaType !== mediaType) continue;
      const stats = subscription.track.getStats();
      out[String(this.users.get(subscription.uid)?.uid ?? subscription.uid)] = stats;
    }
    return out;
  }

  /** Each remote user's own rating of its link, relayed by the server every 2 s; 0 until the user reports one. */
  getRemoteNetworkQuality(): { [uid: string]: NetworkQuality } {
    const out: { [uid: string]: NetworkQuality } = {};
    for (const [uint, user] of this.users) out[String(user.uid)] = { ...(this.core.users.get(uint)?.quality ?? unknownQuality()) };
    return out;
  }

  /** The local link's quality as of the last stats round (every second); 0 before it is measured. */
  getNetworkQuality(): NetworkQuality {
    return { ...this.networkQuality };
  }

  /** "volume-indicator" every 2 s while connected, across joins, as in Agora; calling it again restarts it. */
  enableAudioVolumeIndicator(): void {
    clearInterval(this.volumeTimer);
    this.volumeTimer = setInterval(() => {
      if (this.core.state !== "CONNECTED") return;
      const result: { level: number; uid: UID }[] = [];
      const audio = this.published.get("audio");
      if (audio instanceof LocalAudioTrack && this.uid !== undefined) {
        result.push({ level: Math.round(audio.getVolumeLevel() * 100), uid: this.uid });
      }
      for (const subscription of this.subscriptions.values()) {
        if (subscription.track instanceof RemoteAudioTrack) {
          result.push({ level: Math.round(subscription.track.getVolumeLevel() * 100), uid: subscription.track.getUserId() });
        }
      }
      this.emit("volume-indicator", result);
    }, 2000);
  }
}

function subscriptionKey(uid: number, mediaType: MediaType): string {
  return `${uid}:${mediaType}`;
}

function unknownQuality(): NetworkQuality {
  return { uplinkNetworkQuality: 0, downlinkNetworkQuality: 0 };
}

function emptyRtcStats(): AgoraRTCStats {
  return { Duration: 0, RecvBitrate: 0, RecvBytes: 0, SendBitrate: 0, SendBytes: 0, UserCount: 0, RTT: 0, OutgoingAvailableBandwidth: 0 };
}

async function reportOf(pc: RTCPeerConnection | undefined): Promise<StatsEntry[]> {
  if (!pc || pc.connectionState === "closed") return [];
  try {
    const report = await pc.getStats();
    const entries: StatsEntry[] = [];
    report.forEach((entry: StatsEntry) => entries.push(entry));
    return entries;
  } catch {
    return [];
  }
}

function isLinkError(error: AgoraRTCError): boolean {
  return ["WS_ERR", "WS_ABORT", "WS_DISCONNECT", "NETWORK_TIMEOUT"].includes(error.code);
}

/** The DISCONNECTED reason for a failed join or re-entry. */
export function disconnectReasonOf(error: unknown): ConnectionDisconnectedReasonValue {
  if (!(error instanceof AgoraRTCError)) return "NETWORK_ERROR";
  switch (error.code) {
    case "UID_CONFLICT":
      return "UID_CONFLICT";
    case "TOKEN_EXPIRE":
      return "TOKEN_EXPIRE";
    case "CAN_NOT_GET_GATEWAY_SERVER": {
      const apCode = (error.data as { code?: unknown } | undefined)?.code;
      return apCode === 2010013 ? "TOKEN_EXPIRE" : "SERVER_ERROR";
    }
    case "WS_ERR":
    case "WS_ABORT":
    case "WS_DISCONNECT":
    case "NETWORK_ERROR":
    case "NETWORK_TIMEOUT":
      return "NETWORK_ERROR";
    default:
      return "SERVER_ERROR";
  }
}

async function fetchWithTimeout(url: string, init: RequestInit): Promise<Response> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 5000);
  try {
    return await fetch(url, { ...init, signal: controller.signal });
  } catch (error) {
    if ((error as { name?: string }).name === "AbortError") {
      throw new AgoraRTCError("NETWORK_TIMEOUT", `gateway request timed out: ${url}`);
    }
    throw new AgoraRTCError("NETWORK_ERROR", `gateway request failed: ${String(error)}`);
  } finally {
    clearTimeout(timer);
  }
}

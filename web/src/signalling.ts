// The signalling socket: one WebSocket carrying JSON frames, requests matched to replies by id.

import { AgoraRTCError, fromWire } from "./errors";
import type { ClientFrame, ServerFrame } from "./generated/protocol";

/** Agora's HTTP_CONNECT_TIMEOUT: one connection attempt. */
export const CONNECT_TIMEOUT_MS = 5000;
/** Agora's SIGNAL_REQUEST_TIMEOUT. */
export const REQUEST_TIMEOUT_MS = 10000;

type Reply = Extract<ServerFrame, { type: "joined" | "ok" | "published" | "subscribed" }>;
type Push = Exclude<ServerFrame, { type: "joined" | "ok" | "published" | "subscribed" | "error" }>;

// Distributive omit keeps each variant of the union.
type WithoutId<T> = T extends unknown ? Omit<T, "id"> : never;
export type Outgoing = WithoutId<ClientFrame>;

interface Pending {
  resolve: (frame: Reply) => void;
  reject: (error: AgoraRTCError) => void;
  timer: ReturnType<typeof setTimeout>;
}

export interface SocketHandlers {
  onPush(frame: Push): void;
  /** The socket closed or broke; not called after close(). */
  onDrop(reason: string): void;
  /** An error frame with no id (a complaint about a frame that could not be read, or a rate limit). */
  onStrayError(error: AgoraRTCError): void;
}

export class SignallingSocket {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;
  lastHeard = Date.now();

  private constructor(
    private readonly ws: WebSocket,
    private handlers: SocketHandlers,
  ) {
    ws.onmessage = (event) => this.receive(event.data);
    ws.onclose = (event) => this.dropped(`socket closed (${event.code}${event.reason ? ` ${event.reason}` : ""})`);
    ws.onerror = () => this.dropped("socket error");
  }

  /** Opens a socket; fails with WS_ERR when it does not open within CONNECT_TIMEOUT_MS. */
  static open(url: string, handlers: SocketHandlers): Promise<SignallingSocket> {
    return new Promise((resolve, reject) => {
      let ws: WebSocket;
      try {
        ws = new WebSocket(url);
      } catch (error) {
        reject(new AgoraRTCError("WS_ERR", `cannot open ${url}: ${String(error)}`));
        return;
      }
      const timer = setTimeout(() => {
        ws.close();
        reject(new AgoraRTCError("WS_ERR", `no connection to ${url} within ${CONNECT_TIMEOUT_MS} ms`));
      }, CONNECT_TIMEOUT_MS);
      ws.onopen = () => {
        clearTimeout(timer);
        resolve(new SignallingSocket(ws, handlers));
      };
      ws.onerror = ws.onclose = () => {
        clearTimeout(timer);
        reject(new AgoraRTCError("WS_ERR", `cannot connect to ${url}`));
      };
    });
  }

  setHandlers(handlers: SocketHandlers): void {
    this.handlers = handlers;
  }

  get open(): boolean {
    return !this.closed && this.ws.readyState === WebSocket.OPEN;
  }

  /** Sends a request and waits for its reply; an `error` reply rejects with the server's catalog code. */
  request<T extends Reply["type"]>(frame: Outgoing, timeoutMs = REQUEST_TIMEOUT_MS): Promise<Extract<Reply, { type: T }>> {
    if (!this.open) return Promise.reject(new AgoraRTCError("WS_DISCONNECT", "the signalling link is down"));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new AgoraRTCError("NETWORK_TIMEOUT", `no reply to ${frame.type} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve: resolve as (f: Reply) => void, reject, timer });
      this.ws.send(JSON.stringify({ id, ...frame }));
    });
  }

  /** Sends a frame without waiting for a reply (no id: the server sends no `ok`). */
  send(frame: Outgoing): void {
    if (this.open) this.ws.send(JSON.stringify(frame));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.failPending(new AgoraRTCError("WS_ABORT", "the signalling link was closed during the request"));
    try {
      this.ws.close(1000);
    } catch {
      // Already closing.
    }
  }

  /** Closes without a close handshake, as a network drop would (used by tests through the client). */
  breakLink(): void {
    this.ws.close(4000, "dropped by the client");
  }

  private receive(data: unknown): void {
    this.lastHeard = Date.now();
    if (typeof data !== "string") return;
    let frame: ServerFrame;
    try {
      frame = JSON.parse(data) as ServerFrame;
    } catch {
      return;
    }
    switch (frame.type) {
      case "joined":
      case "ok":
      case "published":
      case "subscribed":
        this.settle(frame.id, (p) => p.resolve(frame));
        return;
      case "error": {
        const error = fromWire(frame.error);
        if (frame.id === undefined || !this.pending.has(frame.id)) this.handlers.onStrayError(error);
        else this.settle(frame.id, (p) => p.reject(error));
        return;
      }
      default:
        this.handlers.onPush(frame);
    }
  }

  private settle(id: number | null | undefined, action: (p: Pending) => void): void {
    if (id === null || id === undefined) return;
    const pending = this.pending.get(id);
    if (!pending) return;
    this.pending.delete(id);
    clearTimeout(pending.timer);
    action(pending);
  }

  private failPending(error: AgoraRTCError): void {
    for (const pending of this.pending.values()) {
      clearTimeout(pending.timer);
      pending.reject(error);
    }
    this.pending.clear();
  }

  private dropped(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.failPending(new AgoraRTCError("WS_ABORT", `the signalling link dropped during the request: ${reason}`));
    this.handlers.onDrop(reason);
  }
}

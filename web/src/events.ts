/** Agora's EventEmitter: on / once / off / removeAllListeners / getListeners, plus emit. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Listener = (...args: any[]) => void;

export class EventEmitter {
  private readonly listeners = new Map<string, Listener[]>();

  on(event: string, listener: Listener): void {
    const list = this.listeners.get(event) ?? [];
    list.push(listener);
    this.listeners.set(event, list);
  }

  addListener(event: string, listener: Listener): void {
    this.on(event, listener);
  }

  once(event: string, listener: Listener): void {
    const wrapper: Listener = (...args) => {
      this.off(event, wrapper);
      listener(...args);
    };
    (wrapper as { original?: Listener }).original = listener;
    this.on(event, wrapper);
  }

  off(event: string, listener: Listener): void {
    const list = this.listeners.get(event);
    if (!list) return;
    const index = list.findIndex((l) => l === listener || (l as { original?: Listener }).original === listener);
    if (index >= 0) list.splice(index, 1);
  }

  removeAllListeners(event?: string): void {
    if (event === undefined) this.listeners.clear();
    else this.listeners.delete(event);
  }

  getListeners(event: string): Function[] {
    return (this.listeners.get(event) ?? []).map((l) => (l as { original?: Listener }).original ?? l);
  }

  /** Calls every listener; one listener throwing does not stop the others (Agora's safeEmit). */
  emit(event: string, ...args: unknown[]): void {
    for (const listener of [...(this.listeners.get(event) ?? [])]) {
      try {
        listener(...args);
      } catch (error) {
        console.error(`[stoa] "${event}" listener threw`, error);
      }
    }
  }

  safeEmit(event: string, ...args: unknown[]): void {
    this.emit(event, ...args);
  }
}

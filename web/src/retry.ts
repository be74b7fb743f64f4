import type { RetryConfiguration } from "./types";

/** Agora's default RetryConfiguration: 500 ms, x1.5 per retry, waits capped at 10 s. */
export const DEFAULT_RETRY: RetryConfiguration = {
  timeout: 500,
  timeoutFactor: 1.5,
  maxRetryCount: Infinity,
  maxRetryTimeout: 10000,
};

/** Discovery retries 6 times, as the Rust SDK does; the WebSocket retries forever while reconnecting. */
export const HTTP_RETRY: RetryConfiguration = { ...DEFAULT_RETRY, maxRetryCount: 6 };
export const WEBSOCKET_RETRY: RetryConfiguration = { ...DEFAULT_RETRY };

/** The wait before retry `n` (0-based): `timeout * timeoutFactor^n`, capped at `maxRetryTimeout`. */
export function retryDelay(config: RetryConfiguration, retry: number): number {
  const factor = Math.min(Math.max(config.timeoutFactor, 0) ** Math.min(retry, 64), 1e6);
  return Math.min(config.timeout * factor, config.maxRetryTimeout);
}

export function mayRetry(config: RetryConfiguration, retriesDone: number): boolean {
  return retriesDone < config.maxRetryCount;
}

// SDK-wide settings: where the Stoa server is, log level, and Agora's setParameter keys.

declare const __STOA_FORMAT__: string | undefined;

/** The URL of the bundle itself, read while it is being evaluated: the default server is the one that served it. */
function ownScriptUrl(): string | undefined {
  const format = typeof __STOA_FORMAT__ === "string" ? __STOA_FORMAT__ : "esm";
  if (format === "esm") {
    try {
      return import.meta.url;
    } catch {
      return undefined;
    }
  }
  const script = typeof document !== "undefined" ? document.currentScript : null;
  return script instanceof HTMLScriptElement ? script.src : undefined;
}

function originOf(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    const parsed = new URL(url);
    return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.origin : undefined;
  } catch {
    return undefined;
  }
}

const scriptOrigin = originOf(ownScriptUrl());
const parameters = new Map<string, unknown>();

export function setParameter(key: string, value: unknown): void {
  parameters.set(key, value);
}

export function getParameter(key: string): unknown {
  if (key === "SERVER_URL") return serverUrl();
  return parameters.get(key);
}

/**
 * The Stoa server's base URL (`http(s)://host:port`, no trailing slash): `setParameter("SERVER_URL", ...)` when set,
 * else the origin that served this bundle, else the page's origin.
 */
export function serverUrl(): string {
  const configured = parameters.get("SERVER_URL");
  if (typeof configured === "string" && configured) return configured.replace(/\/+$/, "");
  if (scriptOrigin) return scriptOrigin;
  if (typeof location !== "undefined" && /^https?:$/.test(location.protocol)) return location.origin;
  return "http://127.0.0.1:8080";
}

/** 0 DEBUG, 1 INFO, 2 WARNING, 3 ERROR, 4 NONE. */
let logLevel = 1;

export function setLogLevel(level: number): void {
  if (Number.isInteger(level) && level >= 0 && level <= 4) logLevel = level;
}

export const log = {
  debug: (...args: unknown[]) => logLevel <= 0 && console.debug("[stoa]", ...args),
  info: (...args: unknown[]) => logLevel <= 1 && console.info("[stoa]", ...args),
  warn: (...args: unknown[]) => logLevel <= 2 && console.warn("[stoa]", ...args),
  error: (...args: unknown[]) => logLevel <= 3 && console.error("[stoa]", ...args),
};

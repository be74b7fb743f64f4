import { AgoraRTCErrorCode, ERROR_CATALOG, type AgoraRTCErrorCodeValue, type ErrorCodeInfo } from "./generated/errors";

export { AgoraRTCErrorCode, ERROR_CATALOG };
export type { AgoraRTCErrorCodeValue, ErrorCodeInfo };

/** Agora's `AgoraRTCError`: name "AgoraRTCException", message "AgoraRTCError CODE: detail", `code`, `data`. */
export class AgoraRTCError extends Error {
  override readonly name = "AgoraRTCException";
  readonly code: AgoraRTCErrorCodeValue;
  readonly data?: unknown;

  constructor(code: AgoraRTCErrorCodeValue, message = "", data?: unknown) {
    super(`AgoraRTCError ${code}: ${message}`);
    this.code = code;
    if (data !== undefined) this.data = data;
  }

  override toString(): string {
    return this.data === undefined ? this.message : `${this.message}\ndata: ${JSON.stringify(this.data)}`;
  }

  print(level: "error" | "warning" = "error"): this {
    (level === "error" ? console.error : console.warn)(this.toString());
    return this;
  }

  throw(): never {
    this.print("error");
    throw this;
  }

  /** The catalog's description and handling advice for this code. */
  get info(): ErrorCodeInfo {
    return ERROR_CATALOG[this.code];
  }
}

const CODES = new Set<string>(Object.values(AgoraRTCErrorCode));

export function isErrorCode(value: unknown): value is AgoraRTCErrorCodeValue {
  return typeof value === "string" && CODES.has(value);
}

/** An error the server sent (`{code, message, data}`), as the AgoraRTCError the app sees. */
export function fromWire(error: { code: string; message?: string; data?: unknown }): AgoraRTCError {
  const code = isErrorCode(error.code) ? error.code : "UNEXPECTED_RESPONSE";
  const detail = isErrorCode(error.code) ? (error.message ?? "") : `${error.code}: ${error.message ?? ""}`;
  return new AgoraRTCError(code, detail, error.data);
}

/**
 * A getUserMedia / getDisplayMedia failure mapped the way Agora maps it: NotAllowedError -> PERMISSION_DENIED,
 * NotFoundError -> DEVICE_NOT_FOUND, OverconstrainedError -> CONSTRAINT_NOT_SATISFIED (DEVICE_NOT_FOUND when the
 * constraint that failed is the device id), NotReadableError -> NOT_READABLE, TypeError -> MEDIA_OPTION_INVALID.
 */
export function fromMediaError(error: unknown): AgoraRTCError {
  if (error instanceof AgoraRTCError) return error;
  const name = (error as { name?: string } | null)?.name ?? "";
  const message = (error as { message?: string } | null)?.message ?? String(error);
  const constraint = (error as { constraint?: string } | null)?.constraint;
  const detail = `${name}: ${message}`;
  switch (name) {
    case "NotAllowedError":
    case "PermissionDeniedError":
    case "SecurityError":
      return new AgoraRTCError("PERMISSION_DENIED", detail);
    case "NotFoundError":
    case "DevicesNotFoundError":
      return new AgoraRTCError("DEVICE_NOT_FOUND", detail);
    case "OverconstrainedError":
    case "ConstraintNotSatisfiedError":
      return constraint === "deviceId"
        ? new AgoraRTCError("DEVICE_NOT_FOUND", `no device matches the given device id (${detail})`)
        : new AgoraRTCError("CONSTRAINT_NOT_SATISFIED", `${detail}${constraint ? ` (constraint ${constraint})` : ""}`);
    case "NotReadableError":
    case "TrackStartError":
      return new AgoraRTCError("NOT_READABLE", detail);
    case "TypeError":
      return new AgoraRTCError("MEDIA_OPTION_INVALID", detail);
    case "AbortError":
      return new AgoraRTCError("OPERATION_ABORTED", detail);
    default:
      return new AgoraRTCError("UNEXPECTED_ERROR", detail);
  }
}

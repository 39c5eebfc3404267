/**
 * @module errors
 * The one error type every storage destination throws. Callers branch on `code`,
 * never on provider-specific exceptions; `message` names the destination and never a secret.
 */

export const STORAGE_ERROR_CODES = [
  "AUTH",
  "NOT_FOUND",
  "UNREACHABLE",
  "INVALID_CONFIG",
  "INVALID_KEY",
  "QUOTA_EXCEEDED",
  "CONFLICT",
  "INTERRUPTED",
  "UNKNOWN",
] as const;

export type StorageErrorCode = (typeof STORAGE_ERROR_CODES)[number];

export class StorageError extends Error {
  override readonly name = "StorageError";
  readonly code: StorageErrorCode;
  /** Display name of the destination (`s3://bucket/prefix`, `file:///backups`), never with credentials. */
  readonly destination: string;
  /**
   * Set by a provider when another attempt may succeed (throttling, a 5xx, a dropped connection).
   * The destination layer retries only these; everything else is permanent.
   */
  readonly transient: boolean;

  constructor(code: StorageErrorCode, destination: string, message: string, options?: { cause?: unknown; transient?: boolean }) {
    super(`${destination}: ${message}`, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.destination = destination;
    this.transient = options?.transient ?? false;
  }

  /** The message without the leading `<destination>: `. */
  get detail(): string {
    const prefix = `${this.destination}: `;
    return this.message.startsWith(prefix) ? this.message.slice(prefix.length) : this.message;
  }

  /** The same error under another destination's name (a wrapper reporting its inner destination's failure). */
  relabel(destination: string): StorageError {
    if (destination === this.destination) return this;
    return new StorageError(this.code, destination, this.detail, { cause: this, transient: this.transient });
  }

  static is(error: unknown, code?: StorageErrorCode): error is StorageError {
    return error instanceof StorageError && (code === undefined || error.code === code);
  }
}

/**
 * Replaces every occurrence of each secret in `text` with `***`.
 * Used on messages that quote server answers or URLs, which may echo credentials back.
 */
export function redact(text: string, secrets: ReadonlyArray<string | undefined | null>): string {
  let out = text;
  for (const secret of secrets) {
    if (secret && secret.length >= 3) out = out.split(secret).join("***");
  }
  // user:password@ in any URL
  return out.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^/\s:@]+):[^@\s/]+@/gi, "$1:***@");
}

/** True for errors that mean "the network did not answer", across Node, undici and SDK shapes. */
export function isNetworkError(error: unknown): boolean {
  const codes = new Set([
    "ECONNREFUSED",
    "ECONNRESET",
    "ENOTFOUND",
    "EAI_AGAIN",
    "ETIMEDOUT",
    "EHOSTUNREACH",
    "ENETUNREACH",
    "EPIPE",
    "UND_ERR_SOCKET",
    "UND_ERR_CONNECT_TIMEOUT",
  ]);
  let current: unknown = error;
  for (let depth = 0; current && depth < 5; depth++) {
    const e = current as { code?: unknown; errno?: unknown; name?: unknown; cause?: unknown };
    if (typeof e.code === "string" && codes.has(e.code)) return true;
    if (typeof e.errno === "string" && codes.has(e.errno)) return true;
    if (e.name === "TimeoutError") return true;
    current = e.cause;
  }
  return false;
}

/** True when the error comes from an AbortSignal having fired. */
export function isAbortError(error: unknown): boolean {
  const e = error as { name?: unknown; code?: unknown } | null;
  return !!e && (e.name === "AbortError" || e.code === "ABORT_ERR");
}

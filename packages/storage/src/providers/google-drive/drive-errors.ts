/**
 * @module providers/google-drive/drive-errors
 * Reads Drive's error answers (`{ error: { code, message, errors: [{ reason }] } }` for the API,
 * `{ error, error_description }` for the token endpoint) and maps them to `StorageError` codes.
 * Server text is redacted before it reaches a message; the raw HTTP error (whose config holds the
 * bearer token and the token request body) is never kept as a cause.
 */
import { isNetworkError, redact, StorageError } from "../../errors.ts";
import { isTransientNetworkError, isTransientStatus } from "../../layer/retry.ts";

interface ErrorShape {
  status?: unknown;
  code?: unknown;
  message?: unknown;
  response?: { status?: number; data?: unknown };
}

export function driveStatus(error: unknown): number | undefined {
  const e = error as ErrorShape | null;
  const status = e?.response?.status ?? e?.status;
  return typeof status === "number" ? status : undefined;
}

function body(error: unknown): Record<string, unknown> | undefined {
  const data = (error as ErrorShape | null)?.response?.data;
  if (data && typeof data === "object" && !Buffer.isBuffer(data) && typeof (data as { pipe?: unknown }).pipe !== "function") {
    return data as Record<string, unknown>;
  }
  if (typeof data === "string") {
    try {
      return JSON.parse(data) as Record<string, unknown>;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** The first `errors[].reason` of an API error (`storageQuotaExceeded`, `rateLimitExceeded`, `notFound`…). */
export function driveReason(error: unknown): string | undefined {
  const apiError = body(error)?.error;
  if (apiError && typeof apiError === "object") {
    const errors = (apiError as { errors?: Array<{ reason?: unknown }> }).errors;
    const reason = errors?.[0]?.reason;
    if (typeof reason === "string") return reason;
  }
  return undefined;
}

/** The OAuth error code of a token endpoint answer (`invalid_grant`, `invalid_client`…). */
export function oauthError(error: unknown): string | undefined {
  const e = body(error)?.error;
  return typeof e === "string" ? e : undefined;
}

/** The server's human text, if any. */
function serverText(error: unknown): string | undefined {
  const b = body(error);
  const apiError = b?.error;
  if (apiError && typeof apiError === "object" && typeof (apiError as { message?: unknown }).message === "string") {
    return (apiError as { message: string }).message;
  }
  if (typeof b?.error_description === "string") return b.error_description;
  if (typeof apiError === "string") return apiError;
  return undefined;
}

export interface ErrorContext {
  /** Display name of the destination. */
  readonly destination: string;
  /** What was being done: "upload of a/b.bin", "list of a/". */
  readonly what: string;
  /** Values to strip from any quoted server text. */
  readonly secrets: string[];
  /** Set when the identity is a service account (for the storage-quota hint). */
  readonly serviceAccountEmail?: string;
  /** The caller's signal: when it fired, the error is an interruption, not a timeout. */
  readonly signal?: AbortSignal;
  /** API root, for "cannot reach" messages. */
  readonly rootUrl: string;
}

export function toStorageError(error: unknown, ctx: ErrorContext): StorageError {
  if (error instanceof StorageError) return error;
  const fail = (code: StorageError["code"], message: string) =>
    new StorageError(code, ctx.destination, `${ctx.what}: ${redact(message, ctx.secrets)}`);
  if (ctx.signal?.aborted) return fail("INTERRUPTED", "aborted; nothing was stored");
  const status = driveStatus(error);
  const reason = driveReason(error);
  const text = serverText(error);
  const quoted = text ? ` (Google said: ${text})` : "";
  const oauth = oauthError(error);
  if (oauth === "invalid_grant" || oauth === "invalid_client" || oauth === "unauthorized_client" || status === 401) {
    return fail(
      "AUTH",
      `Google refused the credentials${quoted}; check the service account key or the OAuth client id, secret and refresh token`,
    );
  }
  if (status === 403 && (reason === "storageQuotaExceeded" || reason === "quotaExceeded")) {
    const hint = ctx.serviceAccountEmail
      ? `; service accounts have no Drive storage of their own, so a folder merely shared with one cannot hold files: use a folder in a shared drive with ${ctx.serviceAccountEmail} as a member, set GOOGLE_DRIVE_IMPERSONATE to a Workspace user (domain-wide delegation), or use an OAuth refresh token`
      : "; free space in the Drive account or raise its quota";
    return fail("QUOTA_EXCEEDED", `the Drive storage quota is exceeded${quoted}${hint}`);
  }
  if (status === 429 || (status === 403 && (reason === "rateLimitExceeded" || reason === "userRateLimitExceeded"))) {
    return fail("UNREACHABLE", `Google Drive kept rate-limiting the requests (HTTP ${status})${quoted}; try again later`);
  }
  if (status === 403) {
    return fail(
      "AUTH",
      `permission denied (HTTP 403${reason ? `, ${reason}` : ""})${quoted}; in a shared drive, make ${ctx.serviceAccountEmail ?? "the account"} a Content manager or Manager of the drive; in a personal Drive, share the folder with it as an editor`,
    );
  }
  if (status === 404) return fail("NOT_FOUND", `not found${quoted}`);
  if (status !== undefined && status >= 500) {
    return fail("UNREACHABLE", `Google Drive answered HTTP ${status}${quoted}; try again later`);
  }
  if (status !== undefined) return fail("UNKNOWN", `Google Drive answered HTTP ${status}${quoted}`);
  if (isNetworkError(error) || isTimeout(error)) {
    return fail(
      "UNREACHABLE",
      `cannot reach Google Drive at ${origin(ctx.rootUrl)} (${networkCode(error)}); check the network and rootUrl/tokenUrl`,
    );
  }
  if (isKeyError(error)) {
    return fail("AUTH", "the service account private key cannot sign a token; download a new key for the service account");
  }
  const message = error instanceof Error ? error.message : String(error);
  return fail("UNKNOWN", message);
}

/** A request timed out (our own timeouts abort through an AbortSignal without the caller's signal firing). */
function isTimeout(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; current && depth < 5; depth++) {
    const e = current as { name?: unknown; type?: unknown; cause?: unknown };
    if (e.name === "AbortError" || e.name === "TimeoutError" || e.type === "aborted") return true;
    if (/socket hang up|network|fetch failed/i.test(String((current as Error).message))) return true;
    current = e.cause;
  }
  return false;
}

function networkCode(error: unknown): string {
  let current: unknown = error;
  for (let depth = 0; current && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string" && /^[A-Z_]+$/.test(code)) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return "no answer";
}

function isKeyError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && code.startsWith("ERR_OSSL");
}

function origin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
}

const RATE_LIMIT_REASONS = new Set(["rateLimitExceeded", "userRateLimitExceeded"]);

/**
 * Which Drive answers are worth another attempt, as Google's Drive guide asks: 429, 403 rate limits,
 * 5xx, and a connection dropped mid-request (a refused one means the host is down: fail fast).
 */
export function isRetryable(error: unknown): boolean {
  const status = driveStatus(error);
  if (status !== undefined)
    return isTransientStatus(status) || (status === 403 && RATE_LIMIT_REASONS.has(driveReason(error) ?? ""));
  return isTransientNetworkError(error);
}

/** Drive's Retry-After, in milliseconds. */
export function retryAfterMs(error: unknown): number | undefined {
  const headers = (error as { response?: { headers?: unknown } })?.response?.headers;
  let value: string | null | undefined;
  if (headers instanceof Headers) value = headers.get("retry-after");
  else if (headers && typeof headers === "object") value = (headers as Record<string, string>)["retry-after"];
  const seconds = value ? Number(value) : Number.NaN;
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
}

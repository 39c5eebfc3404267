/**
 * @module providers/nextcloud/errors
 * Turns what the `webdav` client (and node-fetch under it) throws into a `StorageError` with a code
 * and a message that names the destination and says what to do, never the password.
 */
import { isAbortError, isNetworkError, redact, StorageError, type StorageErrorCode } from "../../errors.ts";
import { isTransientNetworkError, isTransientStatus } from "../../layer/retry.ts";
import type { NextcloudConfig } from "./config.ts";

/** HTTP status of a `webdav` client error, when the server answered. */
export function httpStatus(error: unknown): number | undefined {
  const status = (error as { status?: unknown } | null)?.status;
  return typeof status === "number" ? status : undefined;
}

export interface ErrorContext {
  readonly config: NextcloudConfig;
  readonly destination: string;
  /** The caller's signal: when it fired, any failure is an interruption. */
  readonly signal?: AbortSignal | undefined;
  /** Set when the per-request timeout fired (not the caller's signal). */
  readonly timedOut?: boolean;
  /** The error the source stream failed with, if it did. */
  readonly sourceError?: unknown;
}

function authHint(config: NextcloudConfig): string {
  return config.mode === "nextcloud"
    ? "check the user name and NEXTCLOUD_PASSWORD; use an app password (Nextcloud: Settings > Security > Devices & sessions), not the account password"
    : "check WEBDAV_USERNAME and WEBDAV_PASSWORD";
}

/**
 * Maps `error` raised while doing `what` (e.g. `upload of a/b.bin`) to a `StorageError`.
 * `notFound` overrides the message for 404/409, which mean different things per operation.
 */
export function mapDavError(error: unknown, what: string, ctx: ErrorContext, notFound?: string): StorageError {
  if (error instanceof StorageError) return error;
  const secrets = [ctx.config.password];
  const transient = isTransientDavError(error);
  const make = (code: StorageErrorCode, message: string) =>
    new StorageError(code, ctx.destination, redact(`${what}: ${message}`, secrets), { cause: error, transient });
  if (ctx.signal?.aborted) return make("INTERRUPTED", "aborted");
  if (ctx.sourceError !== undefined) {
    const reason = ctx.sourceError instanceof Error ? ctx.sourceError.message : String(ctx.sourceError);
    return make("INTERRUPTED", `the source stream failed (${reason}); nothing was kept`);
  }
  if (ctx.timedOut) return make("UNREACHABLE", `the server did not answer in time (${hostOf(ctx.config)})`);
  const status = httpStatus(error);
  if (status !== undefined) {
    switch (status) {
      case 401:
      case 403:
        return make("AUTH", `the server refused the credentials (HTTP ${status}): ${authHint(ctx.config)}`);
      case 404:
      case 409:
        return make("NOT_FOUND", notFound ?? `not found (HTTP ${status})`);
      case 412:
      case 423:
        return make(
          "CONFLICT",
          `the server reports a conflict (HTTP ${status}${status === 423 ? ", the file is locked" : ""}); retry later`,
        );
      case 411:
        return make("UNKNOWN", "the server requires a Content-Length (HTTP 411); use mode 'nextcloud' for Nextcloud servers");
      case 507:
        return make("QUOTA_EXCEEDED", "the server has not enough free space or the user's quota is exhausted (HTTP 507)");
      default:
        return make("UNKNOWN", `the server answered HTTP ${status}`);
    }
  }
  if (isAbortError(error)) return make("INTERRUPTED", "aborted");
  if (isNetworkError(error)) {
    const code = (error as { code?: string }).code;
    return make(
      "UNREACHABLE",
      `cannot reach ${hostOf(ctx.config)}${code ? ` (${code})` : ""}; check the server URL and that the server is up`,
    );
  }
  return make("UNKNOWN", error instanceof Error ? error.message : String(error));
}

/**
 * Worth another attempt: 423 Locked (Nextcloud holds the file while it assembles or scans it; rclone
 * retries it too), 408/425/429 and 5xx, and a connection that broke mid-request.
 */
export function isTransientDavError(error: unknown): boolean {
  const status = httpStatus(error);
  if (status !== undefined) return status === 423 || isTransientStatus(status);
  return !isAbortError(error) && isTransientNetworkError(error);
}

function hostOf(config: NextcloudConfig): string {
  try {
    return new URL(config.serverUrl).host;
  } catch {
    return "the server";
  }
}

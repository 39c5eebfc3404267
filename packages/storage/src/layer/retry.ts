/**
 * @module layer/retry
 * The one retry policy of the storage layer: exponential backoff with full jitter (capped), an
 * optional server-given Retry-After, and a classifier that decides what is worth another attempt.
 * Anything the classifier does not call transient is permanent and fails at once (restic's
 * `backoff.Permanent`, the other way round: permanent unless proven transient).
 *
 * Used by the destination layer for whole idempotent operations, and by providers for the pieces of a
 * streamed upload that they can replay (an S3 part from its spool file, a Nextcloud or Drive chunk from
 * memory): `retry(() => send(freshBody()))`, so a retried write always sends its body again from the start.
 */

export interface RetryPolicy {
  /** Attempts after the first one. 0 disables retries. */
  readonly maxRetries: number;
  /** Ceiling of the first delay; the ceiling doubles each attempt. */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

/** Google's and AWS's guidance: start around a quarter second, never wait more than a few seconds at a time. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxRetries: 4, baseDelayMs: 250, maxDelayMs: 16_000 };

export interface RetryOptions {
  readonly policy: RetryPolicy;
  /** True only for errors worth another attempt (throttling, 5xx, a dropped connection). */
  readonly isTransient: (error: unknown) => boolean;
  /** Stops waiting and retrying; the last error is thrown. */
  readonly signal?: AbortSignal | undefined;
  /** A server-given wait (Retry-After), in milliseconds. */
  readonly retryAfterMs?: (error: unknown) => number | undefined;
}

/**
 * Delay before retry number `attempt` (0-based): uniformly random between half and all of
 * `min(maxDelay, base × 2^attempt)`, or the server's Retry-After (capped at maxDelay).
 */
export function backoffDelay(attempt: number, policy: RetryPolicy, retryAfterMs?: number): number {
  if (retryAfterMs !== undefined) return Math.min(Math.max(0, retryAfterMs), policy.maxDelayMs);
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}

/** Waits `ms`; rejects with the signal's reason as soon as it fires. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Runs `attempt` until it succeeds, fails with an error that is not transient, the retries run out, or
 * the signal fires. `attempt` receives the attempt number (0 for the first) and must rebuild any body
 * it sends: a stream consumed by a failed attempt cannot be sent again.
 */
export async function retry<T>(attempt: (n: number) => Promise<T>, options: RetryOptions): Promise<T> {
  for (let n = 0; ; n++) {
    try {
      return await attempt(n);
    } catch (error) {
      if (n >= options.policy.maxRetries || options.signal?.aborted || !options.isTransient(error)) throw error;
      await sleep(backoffDelay(n, options.policy, options.retryAfterMs?.(error)), options.signal).catch(() => {
        throw error;
      });
    }
  }
}

/** HTTP answers that mean "try again": timeouts, too early, throttling, and the server's own failures. */
export function isTransientStatus(status: number | undefined): boolean {
  return status === 408 || status === 425 || status === 429 || (status !== undefined && status >= 500 && status <= 599);
}

/**
 * A connection that broke mid-request is transient; one that was refused or whose host is unknown means
 * the server is down or misconfigured: failing fast says so sooner than minutes of retries.
 */
const TRANSIENT_NETWORK_CODES = new Set(["ECONNRESET", "EPIPE", "ETIMEDOUT", "UND_ERR_SOCKET", "ECONNABORTED"]);

export function isTransientNetworkError(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; current && depth < 5; depth++) {
    const e = current as { code?: unknown; errno?: unknown; message?: unknown; cause?: unknown };
    if (typeof e.code === "string" && TRANSIENT_NETWORK_CODES.has(e.code)) return true;
    if (typeof e.errno === "string" && TRANSIENT_NETWORK_CODES.has(e.errno)) return true;
    if (typeof e.message === "string" && /socket hang up/i.test(e.message)) return true;
    current = e.cause;
  }
  return false;
}

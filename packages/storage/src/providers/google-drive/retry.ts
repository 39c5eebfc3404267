/**
 * @module providers/google-drive/retry
 * Which Drive answers are worth retrying, and exponential backoff with jitter between attempts,
 * as Google's Drive guide asks (429, 403 rate limits, 5xx). Everything else fails at once.
 */
import { driveReason, driveStatus } from "./drive-errors.ts";

const RATE_LIMIT_REASONS = new Set(["rateLimitExceeded", "userRateLimitExceeded"]);
/** A dropped connection mid-request is transient; a refused one means the host is down: fail fast. */
const TRANSIENT_NETWORK_CODES = new Set(["ECONNRESET", "EPIPE", "UND_ERR_SOCKET"]);

export function isRetryable(error: unknown): boolean {
  const status = driveStatus(error);
  if (status === 429 || (status !== undefined && status >= 500 && status <= 599)) return true;
  if (status === 403 && RATE_LIMIT_REASONS.has(driveReason(error) ?? "")) return true;
  if (status !== undefined) return false;
  return hasCode(error, TRANSIENT_NETWORK_CODES) || /socket hang up/i.test(String((error as Error)?.message));
}

function hasCode(error: unknown, codes: Set<string>): boolean {
  let current: unknown = error;
  for (let depth = 0; current && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string" && codes.has(code)) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

export interface RetryPolicy {
  readonly maxRetries: number;
  /** First delay; doubles each attempt. */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  readonly signal?: AbortSignal;
}

export const DEFAULT_BASE_DELAY_MS = 250;
export const DEFAULT_MAX_DELAY_MS = 16_000;

/** Delay before retry number `attempt` (0-based): full jitter over an exponential ceiling, or Retry-After. */
export function backoffDelay(attempt: number, policy: RetryPolicy, error?: unknown): number {
  const retryAfter = retryAfterMs(error);
  if (retryAfter !== undefined) return Math.min(retryAfter, policy.maxDelayMs);
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}

function retryAfterMs(error: unknown): number | undefined {
  const headers = (error as { response?: { headers?: unknown } })?.response?.headers;
  let value: string | null | undefined;
  if (headers instanceof Headers) value = headers.get("retry-after");
  else if (headers && typeof headers === "object") value = (headers as Record<string, string>)["retry-after"];
  const seconds = value ? Number(value) : Number.NaN;
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
}

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

/** Runs `attempt` until it succeeds, fails with a non-retryable error, or retries run out. */
export async function withRetry<T>(attempt: (n: number) => Promise<T>, policy: RetryPolicy): Promise<T> {
  for (let n = 0; ; n++) {
    try {
      return await attempt(n);
    } catch (error) {
      if (n >= policy.maxRetries || !isRetryable(error) || policy.signal?.aborted) throw error;
      await sleep(backoffDelay(n, policy, error), policy.signal);
    }
  }
}

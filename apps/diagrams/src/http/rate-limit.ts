/**
 * @module http/rate-limit
 * Request rate limits (rate-limiter-flexible): in this process by default, in Redis when REDIS_URL
 * is set so that several service processes share one count. Three budgets:
 *  - `anonymous`: every request without a token, per client IP (a diff costs more points than a
 *    read: it parses two documents);
 *  - `authIp` and `authEmail`: `POST /auth/login` and `POST /auth/signup`, per client IP and per
 *    email, checked before the password hash (one scrypt each) is computed.
 * An exhausted budget answers 429 RATE_LIMITED with `Retry-After`. When Redis is unreachable the
 * limits fall back to the in-process counters (the "insurance" limiter) rather than failing requests.
 */
import type { Context } from "hono";
import type { Redis } from "ioredis";
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from "rate-limiter-flexible";
import { ApiError } from "../errors.ts";

export interface RateRule {
  /** Points a key may spend per window (a plain request costs 1). */
  readonly points: number;
  readonly windowSeconds: number;
}

export type RateBucket = "anonymous" | "authIp" | "authEmail";

export type RateLimitConfig = Readonly<Record<RateBucket, RateRule>>;

export const DEFAULT_RATE_LIMITS: RateLimitConfig = {
  anonymous: { points: 300, windowSeconds: 60 },
  authIp: { points: 20, windowSeconds: 60 },
  authEmail: { points: 10, windowSeconds: 600 },
};

/** Points an anonymous diff costs (it parses two documents; a read costs 1). */
export const ANONYMOUS_DIFF_POINTS = 10;

export interface RateLimiter {
  /** Spends `points` of `key`'s budget in `bucket`; throws 429 RATE_LIMITED when it is exhausted. */
  consume(bucket: RateBucket, key: string, points?: number): Promise<void>;
}

const MESSAGES: Record<RateBucket, string> = {
  anonymous: "too many requests without a token from your address; sign in, or wait",
  authIp: "too many sign-in or sign-up attempts from your address",
  authEmail: "too many sign-in or sign-up attempts for this email",
};

export function rateLimited(bucket: RateBucket, retryAfterSeconds: number): ApiError {
  const seconds = Math.max(1, Math.ceil(retryAfterSeconds));
  return new ApiError(
    429,
    "RATE_LIMITED",
    `${MESSAGES[bucket]}; retry in ${seconds} seconds`,
    { retry_after: seconds },
    { headers: { "Retry-After": String(seconds) } },
  );
}

/** Limits kept in this process, or in Redis (with in-process insurance) when `redis` is given. */
export function createRateLimiter(config: RateLimitConfig = DEFAULT_RATE_LIMITS, redis?: Redis): RateLimiter {
  const limiters = Object.fromEntries(
    (Object.keys(config) as RateBucket[]).map((bucket) => {
      const { points, windowSeconds: duration } = config[bucket];
      const memory = new RateLimiterMemory({ points, duration, keyPrefix: `stowage:rl:${bucket}` });
      const limiter = redis
        ? new RateLimiterRedis({
            storeClient: redis,
            points,
            duration,
            keyPrefix: `stowage:rl:${bucket}`,
            insuranceLimiter: memory,
            rejectIfRedisNotReady: true,
          })
        : memory;
      return [bucket, limiter];
    }),
  ) as Record<RateBucket, RateLimiterMemory | RateLimiterRedis>;

  return {
    async consume(bucket, key, points = 1) {
      try {
        await limiters[bucket].consume(key, points);
      } catch (rejection) {
        if (rejection instanceof RateLimiterRes) throw rateLimited(bucket, rejection.msBeforeNext / 1000);
        throw rejection;
      }
    },
  };
}

/**
 * The client's address: the socket's peer, or with `trustProxy` the last `X-Forwarded-For` hop (the
 * address the trusted reverse proxy saw; earlier hops are the client's own claims). "unknown" when
 * neither exists (in-process requests).
 */
export function clientIp(c: Context, trustProxy: boolean): string {
  if (trustProxy) {
    const hops = (c.req.header("x-forwarded-for") ?? "")
      .split(",")
      .map((h) => h.trim())
      .filter(Boolean);
    const last = hops[hops.length - 1];
    if (last) return last;
  }
  const env = c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined;
  return env?.incoming?.socket?.remoteAddress ?? "unknown";
}

/**
 * @module cache/redis-store
 * The shared cache store on Redis (ioredis): values as binary strings with `SET … EX`, keys under a
 * `stowage:diagrams:` prefix. Commands fail fast while Redis is unreachable (no offline queue) so
 * a request never waits on the cache; the Cache wrapper counts a failure as a miss.
 */
import { Redis } from "ioredis";
import type { CacheStore } from "./cache.ts";

export const REDIS_KEY_PREFIX = "stowage:diagrams:";

export async function redisStore(url: string): Promise<CacheStore> {
  const redis = new Redis(url, {
    keyPrefix: REDIS_KEY_PREFIX,
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 5_000,
  });
  redis.on("error", () => {
    // Reported per command through the Cache wrapper; without a listener ioredis logs to stderr.
  });
  await redis.connect();
  return {
    kind: "redis",
    async get(key) {
      return redis.getBuffer(key);
    },
    async set(key, value, ttlSeconds) {
      await redis.set(key, value, "EX", Math.max(1, Math.round(ttlSeconds)));
    },
    async delete(key) {
      await redis.del(key);
    },
    async close() {
      redis.disconnect();
    },
  };
}

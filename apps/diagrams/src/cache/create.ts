/**
 * @module cache/create
 * The cache from configuration: Redis when `REDIS_URL` is set, the in-process LRU otherwise.
 */
import { Cache } from "./cache.ts";
import { memoryStore } from "./memory-store.ts";
import { redisStore } from "./redis-store.ts";

export async function createCache(options: {
  redisUrl?: string | undefined;
  maxBytes: number;
  onError?: (error: unknown) => void;
}): Promise<Cache> {
  const store = options.redisUrl ? await redisStore(options.redisUrl) : memoryStore(options.maxBytes);
  return new Cache(store, options.onError);
}

/**
 * @module cache/memory-store
 * The in-process cache store: lru-cache bounded by total bytes, each entry with its own TTL.
 */
import { LRUCache } from "lru-cache";
import type { CacheStore } from "./cache.ts";

export function memoryStore(maxBytes: number): CacheStore {
  const lru = new LRUCache<string, Buffer>({
    maxSize: maxBytes,
    sizeCalculation: (value, key) => value.length + key.length + 64,
    ttlAutopurge: false,
  });
  return {
    kind: "memory",
    async get(key) {
      return lru.get(key) ?? null;
    },
    async set(key, value, ttlSeconds) {
      lru.set(key, value, { ttl: ttlSeconds * 1000 });
    },
    async delete(key) {
      lru.delete(key);
    },
    async close() {
      lru.clear();
    },
  };
}

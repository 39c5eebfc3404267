/**
 * @module bpmn/diff-cache
 * Diffs cached by (diagram, from version, to version). A version's content never changes once
 * written (a save or a restore writes a new number), so a diff of two numbers is immutable and can be
 * kept until evicted. Only the payload is cached: who may read it is decided by the database on every
 * request, before the cache is consulted. The default is an in-process LRU bounded by size; the
 * shared cache of part 2 (src/cache, Redis when configured) can stand in through this interface.
 */
import { LRUCache } from "lru-cache";
import type { DiagramDiff } from "./diff.ts";

export interface DiffCache {
  get(key: string): Promise<DiagramDiff | undefined>;
  set(key: string, diff: DiagramDiff): Promise<void>;
}

export const diffCacheKey = (diagramId: string, from: number, to: number): string => `diff:${diagramId}:${from}:${to}`;

/** In-process LRU of diffs, at most `maxBytes` of JSON in total. */
export function memoryDiffCache(maxBytes = 32 * 1024 * 1024): DiffCache {
  const lru = new LRUCache<string, DiagramDiff>({
    maxSize: maxBytes,
    sizeCalculation: (diff) => Math.max(1, JSON.stringify(diff).length),
  });
  return {
    async get(key) {
      return lru.get(key);
    },
    async set(key, diff) {
      lru.set(key, diff);
    },
  };
}

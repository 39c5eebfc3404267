/**
 * @module cache/diff-cache
 * The core's DiffCache (bpmn/diff-cache.ts) on the shared cache: diffs go to Redis when REDIS_URL
 * is set, so every service process reuses them, and count in /metrics under `diff`.
 */

import type { DiagramDiff } from "../bpmn/diff.ts";
import type { DiffCache } from "../bpmn/diff-cache.ts";
import type { Cache } from "./cache.ts";

export function sharedDiffCache(cache: Cache): DiffCache {
  return {
    async get(key) {
      const bytes = await cache.get("diff", key);
      return bytes ? (JSON.parse(bytes.toString("utf8")) as DiagramDiff) : undefined;
    },
    async set(key, diff) {
      await cache.set("diff", key, Buffer.from(JSON.stringify(diff), "utf8"));
    },
  };
}

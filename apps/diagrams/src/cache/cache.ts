/**
 * @module cache/cache
 * The service's shared cache of heavy, immutable payloads (version XML, rendered exports and
 * thumbnails, diffs) and of users' unsaved drafts. Permission is never decided here: every request
 * asks the database first and only then reads the cache. Keys are namespaced (`xml`, `render`,
 * `diff`, `draft`); hits and misses are counted per namespace for `GET /metrics`.
 *
 * Two stores behind one interface: Redis when `REDIS_URL` is set (shared by every service process),
 * otherwise an in-process LRU bounded by bytes, with a TTL per entry.
 */

export type CacheNamespace = "xml" | "render" | "diff" | "draft";

/** A byte store with per-entry TTL; implementations: memory (LRU) and Redis. */
export interface CacheStore {
  readonly kind: "memory" | "redis";
  get(key: string): Promise<Buffer | null>;
  set(key: string, value: Buffer, ttlSeconds: number): Promise<void>;
  delete(key: string): Promise<void>;
  close(): Promise<void>;
}

export interface CacheStats {
  hits: number;
  misses: number;
}

/** Default TTLs: the seed's cache keeps things 5 to 60 minutes. */
export const DEFAULT_TTL_SECONDS: Record<CacheNamespace, number> = {
  xml: 60 * 60,
  render: 60 * 60,
  diff: 60 * 60,
  draft: 60 * 60,
};

/** Payloads above this size are not cached (they would evict many useful entries). */
const MAX_ENTRY_BYTES = 8 * 1024 * 1024;

export class Cache {
  private readonly stats = new Map<CacheNamespace, CacheStats>();

  constructor(
    readonly store: CacheStore,
    private readonly onError: (error: unknown) => void = () => {},
  ) {}

  get kind(): CacheStore["kind"] {
    return this.store.kind;
  }

  private count(ns: CacheNamespace, hit: boolean): void {
    let s = this.stats.get(ns);
    if (!s) {
      s = { hits: 0, misses: 0 };
      this.stats.set(ns, s);
    }
    if (hit) s.hits++;
    else s.misses++;
  }

  /** The cached value, or null. A cache that fails (Redis down) counts as a miss, never as an error. */
  async get(ns: CacheNamespace, key: string): Promise<Buffer | null> {
    try {
      const value = await this.store.get(`${ns}:${key}`);
      this.count(ns, value !== null);
      return value;
    } catch (error) {
      this.onError(error);
      this.count(ns, false);
      return null;
    }
  }

  async set(ns: CacheNamespace, key: string, value: Buffer, ttlSeconds = DEFAULT_TTL_SECONDS[ns]): Promise<void> {
    if (value.length > MAX_ENTRY_BYTES) return;
    try {
      await this.store.set(`${ns}:${key}`, value, ttlSeconds);
    } catch (error) {
      this.onError(error);
    }
  }

  async delete(ns: CacheNamespace, key: string): Promise<void> {
    try {
      await this.store.delete(`${ns}:${key}`);
    } catch (error) {
      this.onError(error);
    }
  }

  /** `load` on a miss, then cached. */
  async getOrLoad(ns: CacheNamespace, key: string, load: () => Promise<Buffer>, ttlSeconds?: number): Promise<Buffer> {
    const cached = await this.get(ns, key);
    if (cached) return cached;
    const value = await load();
    await this.set(ns, key, value, ttlSeconds);
    return value;
  }

  snapshot(): Record<string, CacheStats> {
    return Object.fromEntries([...this.stats].map(([ns, s]) => [ns, { ...s }]));
  }

  close(): Promise<void> {
    return this.store.close();
  }
}

/**
 * @module objects/config
 * Configuration of object storage, exports and the cache, read from the environment with zod so a
 * bad value fails at start-up naming the variable. Kept apart from config.ts (the core service's
 * settings) so the object layer can be configured, and tested, on its own.
 */
import path from "node:path";
import { z } from "zod";

const EnvSchema = z.object({
  DIAGRAMS_STORAGE_URL: z.string().min(1).optional(),
  DIAGRAMS_PUBLIC_STORAGE_URL: z.string().min(1).optional(),
  OBJECT_SIGNING_KEY: z.string().min(32, "OBJECT_SIGNING_KEY must be at least 32 characters").optional(),
  SIGNED_URL_TTL_SECONDS: z.coerce
    .number()
    .int()
    .min(1)
    .max(7 * 24 * 3600)
    .default(3600),
  CHROMIUM_PATH: z.string().min(1).default("/usr/bin/chromium"),
  EXPORT_CONCURRENCY: z.coerce.number().int().min(1).max(16).default(2),
  EXPORT_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(30_000),
  THUMBNAIL_DEBOUNCE_MS: z.coerce.number().int().min(0).max(600_000).default(2_000),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, "REDIS_URL must start with redis:// or rediss://")
    .optional(),
  CACHE_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(1024 * 1024)
    .default(64 * 1024 * 1024),
  BACKUP_DEBOUNCE_MS: z.coerce
    .number()
    .int()
    .min(0)
    .max(24 * 3600_000)
    .default(5 * 60_000),
  BACKUP_CHECK_INTERVAL_MS: z.coerce
    .number()
    .int()
    .min(0)
    .max(24 * 3600_000)
    .default(60_000),
});

export interface ObjectsConfig {
  /** Destination URL of the storage layer holding both buckets (as `public/` and `private/` prefixes). */
  readonly storageUrl: string;
  /** A separate destination for the public bucket (e.g. one behind a CDN); a prefix of storageUrl when unset. */
  readonly publicStorageUrl: string | undefined;
  /** HMAC key of signed URLs; generated into the data folder when unset. */
  readonly signingKey: string | undefined;
  readonly signedUrlTtlSeconds: number;
  readonly chromiumPath: string;
  readonly exportConcurrency: number;
  readonly exportTimeoutMs: number;
  readonly thumbnailDebounceMs: number;
  readonly redisUrl: string | undefined;
  readonly cacheMaxBytes: number;
  /** ENTERPRISE backups after changes: at most one per project per this many ms. */
  readonly backupDebounceMs: number;
  /** How often due automatic backups are looked for (0: never, e.g. tests that tick by hand). */
  readonly backupIntervalMs: number;
  readonly dataDir: string;
}

export function loadObjectsConfig(dataDir: string, env: NodeJS.ProcessEnv = process.env): ObjectsConfig {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    throw new Error(`invalid environment: ${issues}`);
  }
  const e = parsed.data;
  return {
    storageUrl: e.DIAGRAMS_STORAGE_URL ?? `file://${path.join(dataDir, "objects")}`,
    publicStorageUrl: e.DIAGRAMS_PUBLIC_STORAGE_URL,
    signingKey: e.OBJECT_SIGNING_KEY,
    signedUrlTtlSeconds: e.SIGNED_URL_TTL_SECONDS,
    chromiumPath: e.CHROMIUM_PATH,
    exportConcurrency: e.EXPORT_CONCURRENCY,
    exportTimeoutMs: e.EXPORT_TIMEOUT_MS,
    thumbnailDebounceMs: e.THUMBNAIL_DEBOUNCE_MS,
    redisUrl: e.REDIS_URL,
    cacheMaxBytes: e.CACHE_MAX_BYTES,
    backupDebounceMs: e.BACKUP_DEBOUNCE_MS,
    backupIntervalMs: e.BACKUP_CHECK_INTERVAL_MS,
    dataDir,
  };
}

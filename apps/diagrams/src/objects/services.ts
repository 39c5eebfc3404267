/**
 * @module objects/services
 * Everything of part 2 built once from configuration: the buckets, the URL signer, the object store,
 * the cache, the renderer (one warm Chromium), exports, thumbnails, project backups; plus the
 * periodic sweep of orphaned objects. `close()` stops them in order.
 */
import type { Logger } from "pino";
import type { Cache } from "../cache/cache.ts";
import { createCache } from "../cache/create.ts";
import type { Database } from "../db/database.ts";
import { ExportService } from "../exports/export-service.ts";
import { DiagramRenderer } from "../exports/renderer.ts";
import { ThumbnailService } from "../exports/thumbnails.ts";
import { BackupScheduler } from "./backup-scheduler.ts";
import { type Buckets, closeBuckets, openBuckets } from "./buckets.ts";
import type { ObjectsConfig } from "./config.ts";
import { loadOrCreateSigningKey, UrlSigner } from "./signing.ts";
import { ObjectStore } from "./store.ts";

export interface ObjectServices {
  readonly config: ObjectsConfig;
  readonly db: Database;
  readonly buckets: Buckets;
  readonly signer: UrlSigner;
  readonly store: ObjectStore;
  readonly cache: Cache;
  readonly renderer: DiagramRenderer;
  readonly exports: ExportService;
  readonly thumbnails: ThumbnailService;
  readonly backups: BackupScheduler;
  close(): Promise<void>;
}

const SWEEP_INTERVAL_MS = 60_000;

export async function createObjectServices(
  config: ObjectsConfig,
  db: Database,
  logger: Logger,
  baseUrl = "",
): Promise<ObjectServices> {
  const buckets = await openBuckets(config.storageUrl, config.publicStorageUrl);
  const signer = new UrlSigner(config.signingKey ?? (await loadOrCreateSigningKey(config.dataDir)), config.signedUrlTtlSeconds);
  const store = new ObjectStore(db, buckets, signer, baseUrl);
  let cache: Cache;
  try {
    cache = await createCache({
      redisUrl: config.redisUrl,
      maxBytes: config.cacheMaxBytes,
      onError: (error) => logger.warn({ err: error }, "cache unavailable; reading from the database"),
    });
  } catch (error) {
    await closeBuckets(buckets);
    throw new Error(`cannot connect to Redis at REDIS_URL: ${(error as Error).message}`, { cause: error });
  }
  const renderer = new DiagramRenderer({
    executablePath: config.chromiumPath,
    concurrency: config.exportConcurrency,
    timeoutMs: config.exportTimeoutMs,
  });
  if (!(await renderer.available())) {
    logger.warn(
      { chromium: config.chromiumPath },
      "Chromium not found: PNG/SVG/PDF exports and thumbnails are off (install chromium or set CHROMIUM_PATH)",
    );
  }
  const exports = new ExportService(db, store, cache, renderer);
  const thumbnails = new ThumbnailService(db, store, cache, renderer, logger, config.thumbnailDebounceMs);
  const backups = new BackupScheduler(db, store, logger, config.backupDebounceMs);
  if (config.backupIntervalMs > 0) backups.start(config.backupIntervalMs);
  const sweep = () => store.sweep().catch((error: unknown) => logger.warn({ err: error }, "object sweep failed; retrying later"));
  const sweeper = setInterval(sweep, SWEEP_INTERVAL_MS);
  sweeper.unref();
  return {
    config,
    db,
    buckets,
    signer,
    store,
    cache,
    renderer,
    exports,
    thumbnails,
    backups,
    close: async () => {
      clearInterval(sweeper);
      backups.close();
      thumbnails.close();
      await renderer.close();
      await cache.close();
      await closeBuckets(buckets);
    },
  };
}

/**
 * @module server
 * Starts the service: configuration from the environment, the database (embedded PGlite in the data
 * folder unless DATABASE_URL is set; migrations applied), the token service (JWT_SECRET, JWKS_URL, or
 * a secret generated once into the data folder), the app, and an HTTP listener. Stops cleanly on
 * SIGINT/SIGTERM. `startServer` is also what tests and the benchmark use.
 */
import { serve } from "@hono/node-server";
import { Redis } from "ioredis";
import pino, { type Logger } from "pino";
import { createApp, routeGroups } from "./app.ts";
import { loadOrCreateSecret } from "./auth/secret.ts";
import { createTokenService } from "./auth/tokens.ts";
import { type BpmnWork, createBpmnPool, defaultBpmnThreads, inThreadBpmn } from "./bpmn/pool.ts";
import { sharedDiffCache } from "./cache/diff-cache.ts";
import { loadConfig, type ServiceConfig } from "./config.ts";
import { createDatabase } from "./db/create-database.ts";
import type { Database } from "./db/database.ts";
import { createRateLimiter } from "./http/rate-limit.ts";
import { apiPrefixesOf, withWebApp } from "./http/web-app.ts";
import { loadObjectsConfig } from "./objects/config.ts";
import { createObjectServices, type ObjectServices } from "./objects/services.ts";
import { objectRouteGroups, withObjectHooks } from "./objects/wiring.ts";

export interface RunningServer {
  readonly url: string;
  readonly port: number;
  readonly db: Database;
  close(): Promise<void>;
}

export async function startServer(config: ServiceConfig, logger: Logger): Promise<RunningServer> {
  const { db, migrations } = await createDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    poolSize: config.databasePoolSize,
  });
  if (migrations.applied.length) logger.info({ applied: migrations.applied }, "migrations applied");
  const threads = config.validationThreads ?? defaultBpmnThreads();
  const bpmn: BpmnWork =
    threads > 0
      ? createBpmnPool({ threads, maxQueue: config.bpmnMaxQueue, maxElements: config.maxDiagramElements })
      : inThreadBpmn(config.maxDiagramElements);
  const redis = config.redisUrl
    ? new Redis(config.redisUrl, { lazyConnect: false, maxRetriesPerRequest: 1, enableOfflineQueue: false })
    : undefined;
  redis?.on("error", (err) => logger.warn({ err: err.message }, "redis unavailable; rate limits fall back to this process"));
  const closeRedis = async () => {
    if (redis) await redis.quit().catch(() => redis.disconnect());
  };
  let objects: ObjectServices | undefined;
  try {
    // Part 2: buckets, signed URLs, exports/thumbnails (Chromium), cache, uploads, project backups.
    objects = await createObjectServices(loadObjectsConfig(config.dataDir), db, logger, config.publicUrl ?? "");
    let secret = config.jwtSecret;
    // Local accounts: always with the generated secret; with JWT_SECRET only when asked for.
    let localSignup = config.jwtSecret !== undefined && config.localSignup === true;
    if (!secret && !config.jwksUrl) {
      const generated = await loadOrCreateSecret(config.dataDir);
      secret = generated.secret;
      localSignup = config.localSignup !== false;
      logger.info(
        { file: generated.file, created: generated.created },
        "signing tokens with the generated secret kept in the data folder (set JWT_SECRET or JWKS_URL to use your own)",
      );
    }
    const tokens = createTokenService({ secret, jwksUrl: config.jwksUrl, issuer: config.jwtIssuer, localSignup });
    const extraGroups = objectRouteGroups(objects);
    const app = createApp(
      {
        db,
        tokens,
        logger,
        maxDiagramBytes: config.maxDiagramBytes,
        publicUrl: config.publicUrl,
        bpmn,
        rateLimiter: createRateLimiter(config.rateLimits, redis),
        trustProxy: config.trustProxy,
        diffCache: sharedDiffCache(objects.cache),
        externalTokens: config.jwtSecret !== undefined || config.jwksUrl !== undefined,
      },
      extraGroups,
    );
    // The web app at `/` (web/dist), never in front of an API route: every group's prefix stays the API's.
    const apiPrefixes = apiPrefixesOf([...routeGroups, ...extraGroups]);
    const fetch = withWebApp(withObjectHooks(app.fetch, objects), { apiPrefixes, publicUrl: config.publicUrl });
    const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
      const s = serve({ fetch, port: config.port, hostname: config.host }, () => resolve(s));
      s.once("error", reject);
    });
    const address = server.address();
    const port = typeof address === "object" && address ? address.port : config.port;
    const url = `http://${config.host ?? "127.0.0.1"}:${port}`;
    logger.info({ url, database: db.kind }, "stowage-diagrams listening");
    return {
      url,
      port,
      db,
      close: async () => {
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await objects?.close();
        await bpmn.close();
        await closeRedis();
        await db.close();
      },
    };
  } catch (error) {
    await objects?.close();
    await bpmn.close();
    await closeRedis();
    await db.close();
    throw error;
  }
}

/** The `stowage-diagrams` command: bin/stowage-diagrams.js calls this. */
export async function main(): Promise<void> {
  let config: ServiceConfig;
  try {
    config = loadConfig();
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    process.exit(2);
  }
  const logger = pino({ level: config.logLevel, redact: ["req.headers.authorization", "*.password", "*.access_token"] });
  const running = await startServer(config, logger);
  const stop = async (signal: string) => {
    logger.info({ signal }, "stopping");
    await running.close();
    process.exit(0);
  };
  process.once("SIGINT", () => void stop("SIGINT"));
  process.once("SIGTERM", () => void stop("SIGTERM"));
}

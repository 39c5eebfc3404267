/**
 * @module server/server
 * Starts `stowage serve`: configuration, metadata (migrations on open), the secret key, crash
 * recovery, the default destination from the environment, the job runner, the download cleanup
 * timer and the HTTP listener. `startServer` is what the CLI, the tests and the benchmark call.
 */
import { randomUUID } from "node:crypto";
import { mkdir } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { hostname } from "node:os";
import { join } from "node:path";
import { serve } from "@hono/node-server";
import { TOOL_VERSION } from "@stowage/backup-core";
import { BrowserDownloadDestination, destinationFromEnv } from "@stowage/storage";
import pino, { type Logger } from "pino";
import { createApp, type RouteModule } from "./app.ts";
import { AuditLog } from "./audit.ts";
import { LoginLimiter } from "./auth/rate-limit.ts";
import { loadConfig, type ServerConfig } from "./config.ts";
import type { Services } from "./context.ts";
import { KEY_FILE_NAME, loadSecretKey } from "./crypto/key.ts";
import { openMetadataStore } from "./db/open.ts";
import type { MetadataStore } from "./db/store.ts";
import { type JobQueue, jobQueueFor } from "./jobs/queue.ts";
import { recoverInterrupted, watchInterrupted } from "./jobs/recovery.ts";
import { JobRunner } from "./jobs/runner.ts";
import { createScheduling, type Scheduling, type SchedulingOptions } from "./schedules/index.ts";
import { type BackupDeps, BackupService, hasMigrationHistory } from "./services/backups.ts";
import { DestinationService } from "./services/destinations.ts";
import { ProjectService } from "./services/projects.ts";
import { RestoreService } from "./services/restores.ts";

export interface StartOptions {
  /** Environment to read the configuration from (default process.env). */
  readonly env?: NodeJS.ProcessEnv;
  readonly config?: Partial<ServerConfig>;
  /** Where the JSON log lines go (default stdout); tests collect them to check that no secret is logged. */
  readonly logStream?: pino.DestinationStream;
  /** Route modules added before the web UI fallback (issue 12: schedules, alerts, notifications). */
  readonly routes?: readonly RouteModule[];
  /** Called with the services before the listener opens (issue 12: start the scheduler). */
  readonly onServices?: (services: Services) => void | Promise<void>;
  /** The scheduler, alerts and notifications (issue 12): injected clock, retry and delivery settings for tests. */
  readonly scheduling?: SchedulingOptions;
}

export interface RunningServer {
  readonly url: string;
  readonly port: number;
  readonly services: Services;
  readonly scheduling: Scheduling;
  close(): Promise<void>;
}

const CLEANUP_INTERVAL_MS = 60_000;

/** Log redaction: header and field names that may carry a secret. */
const REDACT = [
  "req.headers.authorization",
  "req.headers.cookie",
  "*.password",
  "*.databaseUrl",
  "*.targetDatabaseUrl",
  "*.secretAccessKey",
  "*.token",
  "*.config",
  "*.passphrase",
];

export async function startServer(options: StartOptions = {}): Promise<RunningServer> {
  const env = options.env ?? process.env;
  const config: ServerConfig = { ...loadConfig(env), ...options.config };
  const log: Logger = pino(
    { level: config.logLevel, redact: { paths: REDACT, censor: "***" }, base: { service: "stowage" } },
    options.logStream ?? pino.destination(1),
  );
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  const stagingDir = join(config.dataDir, "staging");
  await mkdir(join(stagingDir, "downloads"), { recursive: true, mode: 0o700 });

  const store: MetadataStore = await openMetadataStore(config.databaseUrl);
  const instanceId = `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  let jobs: JobRunner | undefined;
  let queue: JobQueue | undefined;
  let scheduling: Scheduling | undefined;
  let cleanupTimer: NodeJS.Timeout | undefined;
  let stopWatch: (() => void) | undefined;
  try {
    queue = jobQueueFor(config.databaseUrl, { concurrency: config.backupConcurrency, log });
    await queue.start();
    const key = await loadSecretKey({ envKey: config.secretKey, keyFile: join(config.dataDir, KEY_FILE_NAME), store });
    if (key.created) log.info({ keyFile: key.source }, "created a new secret key file; back it up with the data folder");
    const audit = new AuditLog(store, log);
    jobs = new JobRunner(config.backupConcurrency, log);
    const downloads = new BrowserDownloadDestination({
      stagingPath: join(stagingDir, "downloads"),
      ttlSeconds: config.downloadTtlSeconds,
      urlPrefix: "/api/backup/download/",
    });
    const destinations = new DestinationService(store, key.box, audit);
    const projects = new ProjectService(store, key.box, audit);
    const deps: BackupDeps = {
      store,
      box: key.box,
      log,
      jobs,
      projects,
      destinations,
      downloads,
      audit,
      stagingDir,
      hasMigrationHistory,
      queue,
      instanceId,
    };
    const backups = new BackupService(deps);
    const restores = new RestoreService(deps, backups);
    const services: Services = {
      config,
      store,
      box: key.box,
      log,
      audit,
      jobs,
      queue,
      instanceId,
      destinations,
      projects,
      backups,
      restores,
      downloads,
      loginLimiter: new LoginLimiter(),
      version: TOOL_VERSION,
    };

    const recovered = await recoverInterrupted(deps, { shared: queue.shared, staleMs: config.staleMs, atStart: true });
    if (recovered.backups || recovered.restores) log.warn(recovered, "marked jobs interrupted by the last stop as failed");
    const defaultEnv = { ...env, LOCAL_STORAGE_PATH: env.LOCAL_STORAGE_PATH || join(config.dataDir, "backups") };
    const spec = destinationFromEnv(defaultEnv);
    if (spec.type === "local_mapped")
      await mkdir((spec.config as { basePath: string }).basePath, { recursive: true, mode: 0o700 });
    const created = await destinations.ensureDefault(spec).catch((error: Error) => {
      log.warn({ err: error.message }, "the default destination from the environment was not created");
      return undefined;
    });
    if (created) log.info({ type: created.type }, "created the default storage destination from the environment");

    scheduling = createScheduling(services, env, options.scheduling);
    await options.onServices?.(services);
    const app = createApp(services, [...scheduling.routes, ...(options.routes ?? [])]);
    const scheduler = scheduling.scheduler;
    await queue.listen({
      backup: (id) => backups.runHere(id),
      scheduledRun: (message) => scheduler.runQueued(message),
    });
    stopWatch = watchInterrupted(deps, { shared: queue.shared, heartbeatMs: config.heartbeatMs, staleMs: config.staleMs });
    await scheduling.start();
    cleanupTimer = setInterval(() => {
      void downloads.cleanupExpired().catch((error) => log.warn({ err: error }, "download cleanup failed"));
      void store.sessions.deleteExpired(new Date()).catch(() => {});
    }, CLEANUP_INTERVAL_MS);
    cleanupTimer.unref();

    const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
      const s = serve({ fetch: app.fetch, port: config.port, hostname: config.host }, () => resolve(s));
      s.once("error", reject);
    });
    const address = server.address() as AddressInfo;
    const host = config.host === "0.0.0.0" || config.host === "::" ? "localhost" : config.host;
    const url = `http://${host.includes(":") ? `[${host}]` : host}:${address.port}`;
    log.info(
      {
        url,
        metadata: store.dialect,
        queue: queue.shared ? "pg-boss" : "in-process",
        instanceId,
        concurrency: config.backupConcurrency,
      },
      "stowage serve is listening",
    );

    let closed = false;
    return {
      url,
      port: address.port,
      services,
      scheduling,
      async close() {
        if (closed) return;
        closed = true;
        clearInterval(cleanupTimer);
        stopWatch?.();
        await queue?.stopTaking();
        await scheduling?.stop();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
        });
        await jobs?.stop();
        await scheduling?.drain();
        await queue?.close();
        await store.close();
      },
    };
  } catch (error) {
    clearInterval(cleanupTimer);
    stopWatch?.();
    await queue?.stopTaking().catch(() => {});
    await scheduling?.stop();
    await jobs?.stop();
    await queue?.close().catch(() => {});
    await store.close();
    throw error;
  }
}

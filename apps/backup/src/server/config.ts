/**
 * @module server/config
 * `stowage serve` configuration from the environment (the seed's names where it has them), validated
 * once at start; a bad value stops the server with a message naming the variable.
 */
import { resolve } from "node:path";
import { z } from "zod";
import { parseInterval } from "./alerts/health.ts";
import { ServerError } from "./errors.ts";

export interface ServerConfig {
  readonly port: number;
  readonly host: string;
  readonly dataDir: string;
  /** Metadata database: `file:<path>` (SQLite, default `<data dir>/app.db`). */
  readonly databaseUrl: string;
  readonly backupConcurrency: number;
  readonly secretKey: string | undefined;
  /** Browser-download link lifetime. */
  readonly downloadTtlSeconds: number;
  readonly sessionTtlHours: number;
  /** Send cookies with `Secure` (behind HTTPS). Default: when the request came over HTTPS. */
  readonly cookieSecure: boolean | "auto";
  /** Folder of the built web UI (`index.html`), served at `/` when present. */
  readonly webDir: string;
  readonly logLevel: string;
  /** Max JSON body size for API requests. */
  readonly maxJsonBytes: number;
  /** How often running jobs write their heartbeat (`JOB_HEARTBEAT_INTERVAL`, default 30 s). */
  readonly heartbeatMs: number;
  /**
   * A running job whose server wrote no heartbeat for this long is failed by another server
   * (`JOB_STALE_AFTER`, default 3 × the heartbeat interval; PostgreSQL metadata only).
   */
  readonly staleMs: number;
}

const schema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default("127.0.0.1"),
  STOWAGE_DATA_DIR: z.string().min(1).default("./data"),
  DATABASE_URL: z.string().min(1).optional(),
  BACKUP_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(2),
  STOWAGE_SECRET_KEY: z.string().min(1).optional(),
  BROWSER_DOWNLOAD_TTL_SECONDS: z.coerce.number().int().positive().default(3600),
  SESSION_TTL_HOURS: z.coerce.number().positive().default(12),
  STOWAGE_COOKIE_SECURE: z.enum(["auto", "true", "false", "1", "0"]).default("auto"),
  STOWAGE_WEB_DIR: z.string().min(1).optional(),
  JOB_HEARTBEAT_INTERVAL: z.string().optional(),
  JOB_STALE_AFTER: z.string().optional(),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
});

const DEFAULT_WEB_DIR = new URL("../../web/dist", import.meta.url).pathname;

export function loadConfig(env: NodeJS.ProcessEnv = process.env): ServerConfig {
  // Empty variables (compose's `FOO=`) mean "not set".
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = schema.safeParse(cleaned);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ServerError("CONFIG", `${issue.path.join(".")}: ${issue.message}`);
  }
  const e = parsed.data;
  const dataDir = resolve(e.STOWAGE_DATA_DIR);
  let heartbeatMs: number;
  let staleMs: number;
  try {
    heartbeatMs = parseInterval(e.JOB_HEARTBEAT_INTERVAL, 30_000, "JOB_HEARTBEAT_INTERVAL");
    staleMs = parseInterval(e.JOB_STALE_AFTER, 3 * heartbeatMs, "JOB_STALE_AFTER");
  } catch (error) {
    throw new ServerError("CONFIG", (error as Error).message);
  }
  if (staleMs <= heartbeatMs) {
    throw new ServerError("CONFIG", "JOB_STALE_AFTER: must be longer than JOB_HEARTBEAT_INTERVAL (3 times is a good margin)");
  }
  return {
    port: e.PORT,
    host: e.HOST,
    dataDir,
    databaseUrl: e.DATABASE_URL ?? `file:${resolve(dataDir, "app.db")}`,
    backupConcurrency: e.BACKUP_CONCURRENCY,
    secretKey: e.STOWAGE_SECRET_KEY,
    downloadTtlSeconds: e.BROWSER_DOWNLOAD_TTL_SECONDS,
    sessionTtlHours: e.SESSION_TTL_HOURS,
    cookieSecure:
      e.STOWAGE_COOKIE_SECURE === "auto" ? "auto" : e.STOWAGE_COOKIE_SECURE === "true" || e.STOWAGE_COOKIE_SECURE === "1",
    webDir: e.STOWAGE_WEB_DIR ? resolve(e.STOWAGE_WEB_DIR) : DEFAULT_WEB_DIR,
    logLevel: e.LOG_LEVEL,
    maxJsonBytes: 1024 * 1024,
    heartbeatMs,
    staleMs,
  };
}

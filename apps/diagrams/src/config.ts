/**
 * @module config
 * The service's configuration, read once from the environment and validated with zod so a bad value
 * fails at start-up with the variable's name, not later in a request.
 */
import path from "node:path";
import { z } from "zod";

export const DEFAULT_MAX_DIAGRAM_BYTES = 5 * 1024 * 1024;

const EnvSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3100),
  HOST: z.string().min(1).optional(),
  DATABASE_URL: z.string().min(1).optional(),
  DATABASE_POOL_SIZE: z.coerce.number().int().positive().max(500).optional(),
  VALIDATION_THREADS: z.coerce.number().int().min(0).max(64).optional(),
  DIAGRAMS_DATA_DIR: z.string().min(1).optional(),
  JWT_SECRET: z.string().min(32, "JWT_SECRET must be at least 32 characters").optional(),
  JWKS_URL: z.url().optional(),
  JWT_ISSUER: z.string().min(1).optional(),
  MAX_DIAGRAM_BYTES: z.coerce.number().int().positive().default(DEFAULT_MAX_DIAGRAM_BYTES),
  PUBLIC_URL: z.string().min(1).optional(),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
});

export interface ServiceConfig {
  /** TCP port; 0 picks a free one. */
  readonly port: number;
  readonly host: string | undefined;
  /** PostgreSQL / Supabase connection string; undefined means embedded PGlite in `dataDir`. */
  readonly databaseUrl: string | undefined;
  /** PostgreSQL connection pool size (the adapter's default when undefined). */
  readonly databasePoolSize: number | undefined;
  /**
   * Worker threads parsing BPMN documents (0 = in the request thread); undefined = the default
   * (every core but one, 1 to 4).
   */
  readonly validationThreads: number | undefined;
  /** Folder of the embedded database and the generated JWT secret. */
  readonly dataDir: string;
  readonly jwtSecret: string | undefined;
  readonly jwksUrl: string | undefined;
  /** Issuer put in (and, when set, required of) tokens. */
  readonly jwtIssuer: string | undefined;
  readonly maxDiagramBytes: number;
  /** Base URL used to build thumbnail URLs; relative URLs when absent. */
  readonly publicUrl: string | undefined;
  readonly logLevel: string;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/** Reads the configuration from `env` (defaults to `process.env`). Throws ConfigError naming the bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): ServiceConfig {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    throw new ConfigError(`invalid environment: ${issues}`);
  }
  const e = parsed.data;
  if (e.JWT_SECRET && e.JWKS_URL) {
    throw new ConfigError("set JWT_SECRET or JWKS_URL, not both");
  }
  return {
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    databasePoolSize: e.DATABASE_POOL_SIZE,
    validationThreads: e.VALIDATION_THREADS,
    dataDir: path.resolve(cwd, e.DIAGRAMS_DATA_DIR ?? path.join("data", "diagrams")),
    jwtSecret: e.JWT_SECRET,
    jwksUrl: e.JWKS_URL,
    jwtIssuer: e.JWT_ISSUER,
    maxDiagramBytes: e.MAX_DIAGRAM_BYTES,
    publicUrl: e.PUBLIC_URL?.replace(/\/+$/, ""),
    logLevel: e.LOG_LEVEL,
  };
}

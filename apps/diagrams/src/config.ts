/**
 * @module config
 * The service's configuration, read once from the environment and validated with zod so a bad value
 * fails at start-up with the variable's name, not later in a request.
 */
import path from "node:path";
import { z } from "zod";
import { DEFAULT_MAX_DIAGRAM_ELEMENTS } from "./bpmn/element-count.ts";
import { DEFAULT_RATE_LIMITS, type RateLimitConfig } from "./http/rate-limit.ts";

export const DEFAULT_MAX_DIAGRAM_BYTES = 5 * 1024 * 1024;

const Flag = z.enum(["true", "false", "1", "0"]).transform((v) => v === "true" || v === "1");

/** JWKS keys decide who is signed in: fetched over https only (plain http on loopback, for tests). */
export function isAllowedJwksUrl(raw: string): boolean {
  const url = new URL(raw);
  if (url.protocol === "https:") return true;
  const host = url.hostname.replace(/^\[|\]$/g, "");
  return url.protocol === "http:" && (host === "localhost" || host === "::1" || /^127(\.\d{1,3}){3}$/.test(host));
}

const EnvSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3100),
  HOST: z.string().min(1).optional(),
  DATABASE_URL: z.string().min(1).optional(),
  DATABASE_POOL_SIZE: z.coerce.number().int().positive().max(500).optional(),
  VALIDATION_THREADS: z.coerce.number().int().min(0).max(64).optional(),
  DIAGRAMS_DATA_DIR: z.string().min(1).optional(),
  JWT_SECRET: z.string().min(32, "JWT_SECRET must be at least 32 characters").optional(),
  JWKS_URL: z
    .url()
    .refine(isAllowedJwksUrl, "JWKS_URL must be an https:// URL (http:// only for localhost / 127.0.0.1 / ::1)")
    .optional(),
  LOCAL_SIGNUP: Flag.optional(),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, "REDIS_URL must start with redis:// or rediss://")
    .optional(),
  TRUST_PROXY: Flag.default(false),
  MAX_DIAGRAM_ELEMENTS: z.coerce.number().int().positive().default(DEFAULT_MAX_DIAGRAM_ELEMENTS),
  BPMN_MAX_QUEUE: z.coerce.number().int().min(0).max(10_000).optional(),
  AUTH_RATE_LIMIT_PER_IP: z.coerce.number().int().positive().default(DEFAULT_RATE_LIMITS.authIp.points),
  AUTH_RATE_LIMIT_PER_EMAIL: z.coerce.number().int().positive().default(DEFAULT_RATE_LIMITS.authEmail.points),
  ANON_RATE_LIMIT: z.coerce.number().int().positive().default(DEFAULT_RATE_LIMITS.anonymous.points),
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
  /** Documents with more XML elements are refused (422 TOO_MANY_ELEMENTS). */
  readonly maxDiagramElements: number;
  /** Tasks that may wait for a BPMN worker thread (503 beyond); undefined = 8 per thread. */
  readonly bpmnMaxQueue: number | undefined;
  /**
   * Local sign-up/sign-in (POST /auth/signup, /auth/login): on with the generated secret; with
   * JWT_SECRET only when LOCAL_SIGNUP=true (that secret may be Supabase's, valid project-wide); never
   * with JWKS_URL.
   */
  readonly localSignup: boolean | undefined;
  /** Redis for shared rate limits (and part 2's cache); in-process when undefined. */
  readonly redisUrl: string | undefined;
  /** Client address from X-Forwarded-For (only behind a reverse proxy that sets it). */
  readonly trustProxy: boolean;
  readonly rateLimits: RateLimitConfig;
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
  if (e.JWKS_URL && e.LOCAL_SIGNUP) {
    throw new ConfigError("LOCAL_SIGNUP=true needs a signing secret: with JWKS_URL tokens come from another issuer");
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
    maxDiagramElements: e.MAX_DIAGRAM_ELEMENTS,
    bpmnMaxQueue: e.BPMN_MAX_QUEUE,
    localSignup: e.LOCAL_SIGNUP,
    redisUrl: e.REDIS_URL,
    trustProxy: e.TRUST_PROXY,
    rateLimits: {
      anonymous: { ...DEFAULT_RATE_LIMITS.anonymous, points: e.ANON_RATE_LIMIT },
      authIp: { ...DEFAULT_RATE_LIMITS.authIp, points: e.AUTH_RATE_LIMIT_PER_IP },
      authEmail: { ...DEFAULT_RATE_LIMITS.authEmail, points: e.AUTH_RATE_LIMIT_PER_EMAIL },
    },
    publicUrl: e.PUBLIC_URL?.replace(/\/+$/, ""),
    logLevel: e.LOG_LEVEL,
  };
}

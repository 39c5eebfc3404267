/**
 * @module test/api/harness
 * What the API tests share: a fresh, uniquely named PostgreSQL database per test file (dropped
 * after), or an embedded PGlite in a temp folder; the app built on it; and a small client that calls
 * the app through `app.request()` with a bearer token.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { gunzipSync, inflateSync } from "node:zlib";
import pg from "pg";
import pino from "pino";
import { type AppDeps, createApp } from "../../src/app.ts";
import { createTokenService, type TokenService } from "../../src/auth/tokens.ts";
import { createDatabase } from "../../src/db/create-database.ts";
import type { Database } from "../../src/db/database.ts";
import { createRateLimiter, type RateLimitConfig } from "../../src/http/rate-limit.ts";

export const PG_URL = process.env.STOWAGE_TEST_PG_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";
export const TEST_SECRET = "test-secret-for-the-diagram-api-0123456789abcdef";

export interface Harness {
  readonly db: Database;
  readonly tokens: TokenService;
  readonly app: ReturnType<typeof createApp>;
  /** Connection string of the test database (PostgreSQL only). */
  readonly databaseUrl: string | undefined;
  close(): Promise<void>;
}

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

/** Budgets so large that only the rate-limit tests (which pass their own) ever reach them. */
export const UNLIMITED_RATES: RateLimitConfig = {
  anonymous: { points: 1_000_000, windowSeconds: 60 },
  authIp: { points: 1_000_000, windowSeconds: 60 },
  authEmail: { points: 1_000_000, windowSeconds: 60 },
};

/** Options of the app under test; anything of AppDeps may be overridden. */
export type HarnessOptions = Partial<Omit<AppDeps, "db" | "tokens">> & { localSignup?: boolean };

export async function createPgHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const name = `stowage_diagrams_api_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const databaseUrl = withDatabase(PG_URL, name);
  const { db } = await createDatabase({ databaseUrl, poolSize: 20 });
  const h = build(db, databaseUrl, opts);
  return {
    ...h,
    close: async () => {
      await db.close();
      const a = new pg.Client({ connectionString: PG_URL });
      await a.connect();
      await a.query(`drop database if exists ${name} with (force)`);
      await a.end();
    },
  };
}

export async function createPgliteHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const dir = await mkdtemp(path.join(tmpdir(), "stowage-diagrams-pglite-"));
  const { db } = await createDatabase({ dataDir: dir });
  const h = build(db, undefined, opts);
  return {
    ...h,
    close: async () => {
      await db.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function build(db: Database, databaseUrl: string | undefined, opts: HarnessOptions) {
  const { localSignup = true, ...deps } = opts;
  const tokens = createTokenService({ secret: TEST_SECRET, localSignup });
  const app = createApp({
    logger: pino({ level: "silent" }),
    maxDiagramBytes: 5 * 1024 * 1024,
    rateLimiter: createRateLimiter(UNLIMITED_RATES),
    trustProxy: true,
    ...deps,
    db,
    tokens,
  });
  return { db, tokens, app, databaseUrl };
}

export interface CallOptions {
  token?: string | undefined;
  json?: unknown;
  body?: string | FormData | Uint8Array;
  headers?: Record<string, string>;
}

export interface CallResult {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: test convenience over many response shapes
  body: any;
  text: string;
  headers: Headers;
}

export async function call(h: Harness, method: string, url: string, opts: CallOptions = {}): Promise<CallResult> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let body = opts.body;
  if (opts.json !== undefined) {
    headers["content-type"] = "application/json";
    body = JSON.stringify(opts.json);
  }
  const res = await h.app.request(url, { method, headers, body });
  // app.request() does not undo Content-Encoding the way a client would.
  const raw = Buffer.from(await res.arrayBuffer());
  const encoding = res.headers.get("content-encoding");
  const text = (encoding === "gzip" ? gunzipSync(raw) : encoding === "deflate" ? inflateSync(raw) : raw).toString("utf8");
  let parsed: unknown = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = null;
  }
  return { status: res.status, body: parsed, text, headers: res.headers };
}

export interface TestUser {
  id: string;
  email: string;
  token: string;
}

let counter = 0;
export async function signUp(h: Harness, label = "user"): Promise<TestUser> {
  const email = `${label}-${++counter}-${randomBytes(3).toString("hex")}@example.test`;
  const res = await call(h, "POST", "/auth/signup", { json: { email, password: "correct horse battery" } });
  if (res.status !== 201) throw new Error(`signup failed: ${res.status} ${res.text}`);
  return { id: res.body.user.id, email, token: res.body.access_token };
}

export function fixture(name: string): Promise<string> {
  return readFile(new URL(`../fixtures/${name}`, import.meta.url), "utf8");
}

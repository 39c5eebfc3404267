/**
 * @module test/objects/harness
 * A real diagram service for the object tests: a fresh, uniquely named PostgreSQL database, the app
 * with part 2's route groups and hooks, served over HTTP on a free port, objects in a temp folder
 * (or the destination given), and a small fetch client. Users are created in the database and get
 * HS256 tokens signed here, so the tests do not depend on the sign-up rules.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { serve } from "@hono/node-server";
import { SignJWT } from "jose";
import pg from "pg";
import pino from "pino";
import { createApp } from "../../src/app.ts";
import { createTokenService } from "../../src/auth/tokens.ts";
import { createDatabase } from "../../src/db/create-database.ts";
import type { Database } from "../../src/db/database.ts";
import { loadObjectsConfig, type ObjectsConfig } from "../../src/objects/config.ts";
import { createObjectServices, type ObjectServices } from "../../src/objects/services.ts";
import { objectRouteGroups, withObjectHooks } from "../../src/objects/wiring.ts";

export const PG_URL = process.env.STOWAGE_TEST_PG_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";
const SECRET = "object-tests-secret-0123456789abcdef0123456789";
export const FIXTURES = "/work/shared/fixtures/bpmn";

export interface ObjectHarness {
  readonly url: string;
  readonly db: Database;
  readonly services: ObjectServices;
  readonly dataDir: string;
  close(): Promise<void>;
}

export async function startObjectService(env: NodeJS.ProcessEnv = {}): Promise<ObjectHarness> {
  const name = `stowage_objects_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const u = new URL(PG_URL);
  u.pathname = `/${name}`;
  const { db } = await createDatabase({ databaseUrl: u.toString(), poolSize: 10 });
  const dataDir = await mkdtemp(path.join(tmpdir(), "stowage-objects-"));
  // Thumbnails render only in the files that look at them (THUMBNAIL_DEBOUNCE_MS: "50"): a browser
  // per test file is the slowest thing here.
  const config: ObjectsConfig = loadObjectsConfig(dataDir, { THUMBNAIL_DEBOUNCE_MS: "600000", ...env });
  const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });
  const services = await createObjectServices(config, db, logger);
  const tokens = createTokenService({ secret: SECRET });
  const app = createApp({ db, tokens, logger, maxDiagramBytes: 5 * 1024 * 1024 }, objectRouteGroups(services));
  const fetch = withObjectHooks(app.fetch, services);
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch, port: 0, hostname: "127.0.0.1" }, () => resolve(s));
  });
  // Node's 5 s keep-alive closes idle sockets a loaded test client is about to reuse (ECONNRESET).
  (server as import("node:http").Server).keepAliveTimeout = 120_000;
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    db,
    services,
    dataDir,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      // Pending thumbnails are not worth a browser start at the end of a test file.
      services.thumbnails.close();
      await services.thumbnails.idle().catch(() => undefined);
      await services.close();
      await db.close();
      await rm(dataDir, { recursive: true, force: true });
      const a = new pg.Client({ connectionString: PG_URL });
      await a.connect();
      await a.query(`drop database if exists ${name} with (force)`);
      await a.end();
    },
  };
}

export interface TestUser {
  id: string;
  token: string;
}

export async function createUser(h: ObjectHarness, plan: "FREE" | "PRO" | "ENTERPRISE" = "PRO"): Promise<TestUser> {
  const id = randomUUID();
  const email = `u-${id.slice(0, 8)}@example.test`;
  await h.db.asService(async (sql) => {
    await sql.query("insert into auth.users (id, email) values ($1, $2)", [id, email]);
    await sql.query("update public.profiles set plan = $2 where id = $1", [id, plan]);
  });
  const token = await new SignJWT({ role: "authenticated", email })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(id)
    .setAudience("authenticated")
    .setIssuedAt()
    .setExpirationTime("1h")
    .sign(new TextEncoder().encode(SECRET));
  return { id, token };
}

export interface Answer {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: test convenience over many response shapes
  body: any;
  bytes: Buffer;
  headers: Headers;
}

export async function api(
  h: ObjectHarness,
  method: string,
  url: string,
  opts: { token?: string; json?: unknown; body?: RequestInit["body"]; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let body = opts.body;
  if (opts.json !== undefined) {
    headers["content-type"] = "application/json";
    body = JSON.stringify(opts.json);
  }
  const res = await fetch(new URL(url, h.url), { method, headers, body, duplex: "half" } as RequestInit);
  const bytes = Buffer.from(await res.arrayBuffer());
  let parsed: unknown = null;
  try {
    parsed = JSON.parse(bytes.toString("utf8"));
  } catch {}
  return { status: res.status, body: parsed, bytes, headers: res.headers };
}

export async function createProject(h: ObjectHarness, user: TestUser, extra: Record<string, unknown> = {}): Promise<string> {
  const res = await api(h, "POST", "/projects", { token: user.token, json: { name: `p-${randomUUID().slice(0, 6)}`, ...extra } });
  if (res.status !== 201) throw new Error(`create project: ${res.status} ${res.bytes}`);
  return res.body.project.id;
}

export async function createDiagram(
  h: ObjectHarness,
  user: TestUser,
  xml: string,
  extra: Record<string, unknown> = {},
): Promise<{ id: string; version: number }> {
  const res = await api(h, "POST", "/diagrams", { token: user.token, json: { bpmn_xml: xml, ...extra } });
  if (res.status !== 201) throw new Error(`create diagram: ${res.status} ${res.bytes}`);
  return { id: res.body.diagram.id, version: res.body.diagram.version };
}

/** Every key stored in a bucket of the test's file destination. */
export async function bucketKeys(h: ObjectHarness, bucket: "public" | "private"): Promise<string[]> {
  return (await h.services.buckets[bucket].list("")).map((o) => o.key);
}

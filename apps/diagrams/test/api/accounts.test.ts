/**
 * Accounts and errors (issue 14): local sign-up only with the generated secret or LOCAL_SIGNUP=true
 * (a JWT_SECRET may be Supabase's, valid for the whole project); tokens without `exp` refused;
 * JWKS_URL over https (loopback excepted); database error texts never reach clients.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { SignJWT } from "jose";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.ts";
import { fromDatabaseError } from "../../src/errors.ts";
import { startServer } from "../../src/server.ts";
import { call, createPgHarness, type Harness, signUp, TEST_SECRET } from "./harness.ts";

let h: Harness;
beforeAll(async () => {
  h = await createPgHarness();
});
afterAll(async () => {
  await h?.close();
});

describe("local sign-up", () => {
  it("is off when JWT_SECRET is set without LOCAL_SIGNUP=true, and says how to turn it on", async () => {
    const off = await createPgHarness({ localSignup: false });
    try {
      for (const route of ["/auth/signup", "/auth/login"]) {
        const res = await call(off, "POST", route, { json: { email: "x@example.test", password: "long enough pw" } });
        expect(res.status, route).toBe(403);
        expect(res.body.error).toMatchObject({ code: "SIGNUP_DISABLED", message: expect.stringMatching(/LOCAL_SIGNUP=true/) });
      }
    } finally {
      await off.close();
    }
  });

  it("the server: on with the generated secret, off with JWT_SECRET, on with JWT_SECRET + LOCAL_SIGNUP=true", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "stowage-diagrams-signup-"));
    const logger = pino({ level: "silent" });
    const base = { PORT: "0", HOST: "127.0.0.1", DIAGRAMS_DATA_DIR: dir, DATABASE_URL: h.databaseUrl, VALIDATION_THREADS: "0" };
    const signup = async (env: Record<string, string | undefined>) => {
      const server = await startServer(loadConfig(env as NodeJS.ProcessEnv), logger);
      try {
        const res = await fetch(`${server.url}/auth/signup`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ email: `s-${Math.random().toString(36).slice(2)}@example.test`, password: "long enough pw" }),
        });
        return res.status;
      } finally {
        await server.close();
      }
    };
    try {
      expect(await signup(base)).toBe(201);
      expect(await signup({ ...base, JWT_SECRET: TEST_SECRET })).toBe(403);
      expect(await signup({ ...base, JWT_SECRET: TEST_SECRET, LOCAL_SIGNUP: "true" })).toBe(201);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("tokens without exp are refused, even when correctly signed", async () => {
    const u = await signUp(h, "noexp");
    const forever = await new SignJWT({ sub: u.id, role: "authenticated" })
      .setProtectedHeader({ alg: "HS256" })
      .setAudience("authenticated")
      .setIssuedAt()
      .sign(new TextEncoder().encode(TEST_SECRET));
    const res = await call(h, "GET", "/auth/me", { token: forever });
    expect(res.status).toBe(401);
    expect(res.body.error.message).toMatch(/no expiry \(exp\)/);
    expect((await call(h, "GET", "/auth/me", { token: u.token })).status).toBe(200);
  });

  it("JWKS_URL must be https, plain http only on loopback; LOCAL_SIGNUP cannot go with JWKS_URL", () => {
    for (const url of ["http://auth.example.com/jwks.json", "http://10.0.0.5/jwks", "ftp://x/jwks"]) {
      expect(() => loadConfig({ JWKS_URL: url })).toThrow(/JWKS_URL must be an https:\/\/ URL/);
    }
    for (const url of [
      "https://x.supabase.co/auth/v1/.well-known/jwks.json",
      "http://127.0.0.1:9999/j",
      "http://localhost/j",
      "http://[::1]:8/j",
    ]) {
      expect(loadConfig({ JWKS_URL: url }).jwksUrl).toBe(url);
    }
    expect(() => loadConfig({ JWKS_URL: "https://x/j", LOCAL_SIGNUP: "true" })).toThrow(
      /LOCAL_SIGNUP=true needs a signing secret/,
    );
  });
});

describe("database errors", () => {
  /** Runs a statement that PostgreSQL refuses and returns what the API would answer. */
  const answerFor = async (statement: string, params: unknown[] = []) => {
    let caught: unknown;
    try {
      await h.db.asService((sql) => sql.query(statement, params));
    } catch (error) {
      caught = error;
    }
    expect(caught, statement).toBeDefined();
    const api = fromDatabaseError(caught);
    expect(api, statement).not.toBeNull();
    return { api: api!, pgMessage: (caught as { message: string }).message };
  };

  it("answers codes and messages written for users, never PostgreSQL's text", async () => {
    const u = await signUp(h, "errors");
    const cases = [
      {
        sql: "insert into public.projects (profile_id, name) values ($1, '   ')",
        params: [u.id],
        status: 400,
        message: "name must not be blank",
      },
      { sql: "update public.profiles set storage_used_bytes = -1 where id = $1", params: [u.id], status: 400 },
      {
        sql: "insert into public.collaborators (project_id, user_id) values (gen_random_uuid(), $1)",
        params: [u.id],
        status: 404,
      },
      { sql: "select 'nope'::uuid", params: [], status: 400 },
      { sql: "select 2147483648::integer", params: [], status: 400 },
      { sql: "select '2026-13-45 10:00:00+00'::timestamptz", params: [], status: 400 },
      { sql: "insert into auth.users (id, email) select id, email from auth.users limit 1", params: [], status: 409 },
    ];
    for (const c of cases) {
      const { api, pgMessage } = await answerFor(c.sql, c.params);
      expect(api.status, c.sql).toBe(c.status);
      if (c.message) expect(api.message).toBe(c.message);
      expect(api.message, c.sql).not.toBe(pgMessage);
      for (const leak of [/constraint/i, /violates/i, /relation/i, /_check|_key|_fkey|_pkey/, /syntax/i, /public\./, /auth\./]) {
        expect(api.message, `${c.sql}: ${api.message}`).not.toMatch(leak);
      }
    }
  });

  it("keeps the schema's own messages, written for users", async () => {
    const { api } = await answerFor("select * from public.save_diagram(gen_random_uuid(), 1, '<x/>')");
    expect(api).toMatchObject({ status: 404, code: "NOT_FOUND", message: expect.stringMatching(/^diagram .* not found$/) });
  });

  it("text PostgreSQL cannot store (NUL characters) answers 400 with a message for users, not 500", async () => {
    const u = await signUp(h, "nul");
    const named = await call(h, "POST", "/projects", { token: u.token, json: { name: "a\u0000b" } });
    expect(named.status).toBe(400);
    expect(named.body.error.message).toBe("text must not contain NUL (\\u0000) characters");
    const meta = await call(h, "POST", "/projects", { token: u.token, json: { name: "ok", metadata: { k: "a\u0000b" } } });
    expect(meta.status).toBe(400);
    expect(meta.body.error.message).not.toMatch(/escape sequence|jsonb|DETAIL/i);
  });
});

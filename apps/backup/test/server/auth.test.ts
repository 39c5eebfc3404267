/**
 * Who may do what: first-run setup, sign-in (rate-limited), sessions in HTTP-only SameSite=Strict
 * cookies with a CSRF header for changes, API tokens, the viewer role, and 401 on every protected
 * route of the OpenAPI document.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { ADMIN_EMAIL, ADMIN_PASSWORD, ApiClient, type Json, startTestServer, type TestServer } from "./harness.ts";

// Real backups, child processes and CLI runs: minutes, not seconds, when every core is busy (load 40 seen).
vi.setConfig({ testTimeout: 300_000, hookTimeout: 300_000 });
let t: TestServer;

beforeAll(async () => {
  t = await startTestServer({ setup: false });
});

afterAll(async () => {
  await t?.close();
});

const PUBLIC = new Set([
  "POST /api/setup",
  "GET /api/setup",
  "POST /api/auth/login",
  "GET /api/health",
  "GET /api/backup/download/{token}",
]);

describe("setup and sign-in", () => {
  it("answers health without a session", async () => {
    const res = await new ApiClient(t.url).get("/api/health");
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: "ok", metadata: "ok" });
    expect(res.body.version).toMatch(/^\d+\.\d+\.\d+/);
  });

  it("creates the first admin once, with HTTP-only SameSite=Strict session cookies", async () => {
    const anon = new ApiClient(t.url);
    expect((await anon.get("/api/setup")).body).toEqual({ setupRequired: true });
    const weak = await anon.post("/api/setup", { email: ADMIN_EMAIL, password: "short" });
    expect(weak.status).toBe(422);
    expect(weak.body.error.field).toBe("password");
    const res = await anon.raw("POST", "/api/setup", {
      body: JSON.stringify({ email: ADMIN_EMAIL, password: ADMIN_PASSWORD }),
      headers: { "Content-Type": "application/json" },
    });
    expect(res.status).toBe(201);
    const cookies = res.headers.getSetCookie();
    const session = cookies.find((c) => c.startsWith("stowage_session="))!;
    expect(session).toMatch(/HttpOnly/i);
    expect(session).toMatch(/SameSite=Strict/i);
    const csrf = cookies.find((c) => c.startsWith("stowage_csrf="))!;
    expect(csrf).not.toMatch(/HttpOnly/i);
    expect(csrf).toMatch(/SameSite=Strict/i);
    const again = await new ApiClient(t.url).post("/api/setup", { email: "other@example.com", password: ADMIN_PASSWORD });
    expect(again.status).toBe(409);
    expect((await anon.get("/api/setup")).body).toEqual({ setupRequired: false });
  });

  it("signs in, answers /api/auth/me with the CSRF token, signs out", async () => {
    const c = new ApiClient(t.url);
    const bad = await c.login(ADMIN_EMAIL, "wrong password!!");
    expect(bad.status).toBe(401);
    expect(bad.body.error.code).toBe("UNAUTHENTICATED");
    const ok = await c.login(ADMIN_EMAIL.toUpperCase(), ADMIN_PASSWORD);
    expect(ok.status).toBe(200);
    const me = await c.get("/api/auth/me");
    expect(me.body.user).toMatchObject({ email: ADMIN_EMAIL, role: "admin" });
    expect(me.body.csrfToken).toBe(c.csrfToken);
    expect((await c.post("/api/auth/logout")).status).toBe(200);
    expect((await c.get("/api/auth/me")).status).toBe(401);
  });

  it("rate-limits failed sign-ins", async () => {
    const c = new ApiClient(t.url);
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await c.login("victim@example.com", `guess-number-${i}`)).status);
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(statuses[6]).toBe(429);
    const limited = await c.login("victim@example.com", "another guess");
    expect(limited.headers.get("retry-after")).toMatch(/^\d+$/);
    // Another account from the same address still works.
    expect((await c.login(ADMIN_EMAIL, ADMIN_PASSWORD)).status).toBe(200);
  });
});

describe("CSRF", () => {
  it("refuses a change made with the session cookie but without the X-CSRF-Token header", async () => {
    const c = new ApiClient(t.url);
    await c.login(ADMIN_EMAIL, ADMIN_PASSWORD);
    const without = await c.post("/api/projects", { name: "csrf", databaseUrl: "postgresql://u@h/db" }, { csrf: false });
    expect(without.status).toBe(403);
    expect(without.body.error.code).toBe("CSRF_FAILED");
    const wrong = await c.request(
      "POST",
      "/api/projects",
      { name: "csrf", databaseUrl: "postgresql://u@h/db" },
      {
        csrf: false,
        headers: { "X-CSRF-Token": "forged" },
      },
    );
    expect(wrong.status).toBe(403);
    expect((await c.get("/api/projects")).body.items.map((p: Json) => p.name)).not.toContain("csrf");
    const withToken = await c.post("/api/projects", { name: "csrf", databaseUrl: "postgresql://u@h/db" });
    expect(withToken.status).toBe(201);
    expect((await c.delete(`/api/projects/${withToken.body.id}`)).status).toBe(200);
  });
});

describe("API tokens", () => {
  it("shows the token once, stores it hashed, works as Bearer on every route without CSRF, and can be revoked", async () => {
    const c = new ApiClient(t.url);
    await c.login(ADMIN_EMAIL, ADMIN_PASSWORD);
    const created = await c.post("/api/tokens", { name: "ci" });
    expect(created.status).toBe(201);
    expect(created.body.token).toMatch(/^stw_/);
    const list = await c.get("/api/tokens");
    expect(JSON.stringify(list.body)).not.toContain(created.body.token);
    const bearer = new ApiClient(t.url, created.body.token);
    expect((await bearer.get("/api/auth/me")).body.user.email).toBe(ADMIN_EMAIL);
    const p = await bearer.post("/api/projects", { name: "by-token", databaseUrl: "postgresql://u@h/db" });
    expect(p.status).toBe(201);
    expect((await bearer.delete(`/api/projects/${p.body.id}`)).status).toBe(200);
    expect((await c.delete(`/api/tokens/${created.body.id}`)).status).toBe(200);
    const revoked = await bearer.get("/api/projects");
    expect(revoked.status).toBe(401);
    expect((await new ApiClient(t.url, "stw_made-up").get("/api/projects")).status).toBe(401);
  });
});

describe("roles", () => {
  it("lets a viewer read lists and statuses, and refuses writes, secrets, audit and downloads", async () => {
    const admin = new ApiClient(t.url);
    await admin.login(ADMIN_EMAIL, ADMIN_PASSWORD);
    const created = await admin.post("/api/users", {
      email: "viewer@example.com",
      password: "viewer password 1",
      role: "viewer",
    });
    expect(created.status).toBe(201);
    const project = await admin.post("/api/projects", {
      name: "viewed",
      databaseUrl: "postgresql://postgres@127.0.0.1:5432/postgres",
    });
    // A browser-download backup whose link the viewer must not see.
    const backup = await admin.post(`/api/projects/${project.body.id}/backups`, {
      storageType: "browser_download",
      backupType: "schema",
      compressionType: "gzip",
    });
    expect(backup.status).toBe(202);
    await admin.events(`/api/backups/${backup.body.backupId}/events`);
    expect((await admin.get(`/api/backups/${backup.body.backupId}`)).body.downloadUrl).toMatch(/^\/api\/backup\/download\//);

    const viewer = new ApiClient(t.url);
    expect((await viewer.login("viewer@example.com", "viewer password 1")).status).toBe(200);
    expect((await viewer.get("/api/projects")).status).toBe(200);
    expect((await viewer.get("/api/destinations")).status).toBe(200);
    const seen = await viewer.get(`/api/backups/${backup.body.backupId}`);
    expect(seen.status).toBe(200);
    expect(seen.body.status).toBe("completed");
    expect(seen.body.downloadUrl).toBeNull();
    const list = await viewer.get("/api/backups");
    expect(list.body.items.every((b: Json) => b.downloadUrl === null)).toBe(true);
    for (const [method, path, body] of [
      ["POST", "/api/projects", { name: "x", databaseUrl: "postgresql://u@h/db" }],
      ["PATCH", `/api/projects/${project.body.id}`, { name: "y" }],
      ["DELETE", `/api/projects/${project.body.id}`, undefined],
      ["POST", `/api/projects/${project.body.id}/backups`, { storageType: "browser_download" }],
      ["POST", "/api/destinations", { name: "d", type: "local_mapped", config: { basePath: "/tmp" } }],
      ["POST", `/api/backups/${backup.body.backupId}/verify`, undefined],
      ["DELETE", `/api/backups/${backup.body.backupId}`, undefined],
      ["POST", "/api/tokens", { name: "v" }],
      ["POST", "/api/users", { email: "z@example.com", password: "zzzzzzzzzzzzzz", role: "admin" }],
    ] as const) {
      const res = await viewer.request(method, path, body);
      expect(res.status, `${method} ${path}`).toBe(403);
      expect(res.body.error.code).toBe("FORBIDDEN");
    }
    expect((await viewer.get("/api/audit")).status).toBe(403);
    expect((await viewer.get("/api/users")).status).toBe(403);
    expect((await viewer.post("/api/auth/logout")).status).toBe(200);
    // The admin's audit trail has the sign-ins and the user change, with no password in it.
    const audit = await admin.get("/api/audit?limit=200");
    expect(audit.body.items.map((e: Json) => e.action)).toEqual(
      expect.arrayContaining(["sign_in", "user_created", "backup_started"]),
    );
    expect(audit.text).not.toContain("viewer password 1");
  });
});

describe("every protected route", () => {
  it("answers 401 without a session or token (walking the OpenAPI document)", async () => {
    const anon = new ApiClient(t.url);
    const doc = await anon.get("/api/openapi.json");
    expect(doc.status).toBe(200);
    const paths = Object.entries(doc.body.paths as Record<string, Record<string, unknown>>);
    expect(paths.length).toBeGreaterThan(20);
    let checked = 0;
    for (const [path, methods] of paths) {
      for (const method of Object.keys(methods)) {
        const key = `${method.toUpperCase()} ${path}`;
        if (PUBLIC.has(key)) continue;
        const concrete = path.replace(/\{[^}]+\}/g, "00000000-0000-4000-8000-000000000000");
        const res = await anon.request(method.toUpperCase(), concrete, ["get", "delete"].includes(method) ? undefined : {});
        expect(res.status, key).toBe(401);
        expect(res.body.error.code, key).toBe("UNAUTHENTICATED");
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(25);
  });

  it("answers errors as { error: { code, message } } and refuses oversized bodies", async () => {
    const c = new ApiClient(t.url);
    await c.login(ADMIN_EMAIL, ADMIN_PASSWORD);
    const missing = await c.get("/api/backups/nope");
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ error: { code: "NOT_FOUND", message: expect.any(String) } });
    const huge = await c.post("/api/projects", { name: "x".repeat(2 * 1024 * 1024), databaseUrl: "postgresql://u@h/db" });
    expect(huge.status).toBe(413);
    expect(huge.body.error.code).toBe("PAYLOAD_TOO_LARGE");
    const badJson = await c.raw("POST", "/api/projects", { body: "{not json", headers: { "Content-Type": "application/json" } });
    expect(badJson.status).toBe(422);
  });
});

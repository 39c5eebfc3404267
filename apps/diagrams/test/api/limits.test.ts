/**
 * Resource limits (issue 14): body limits on every route answered 413 before the body is read,
 * JSON field caps counted in storage, BPMN parsing and diffs on the worker pool (bounded queue: 503
 * with Retry-After), the element cap (422), the diff cache (permission still decided by the
 * database), and rate limits for anonymous callers and for login/sign-up per address and per email,
 * in this process and in Redis (the one at 127.0.0.1:6379).
 */
import { randomBytes } from "node:crypto";
import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { type ServerType, serve } from "@hono/node-server";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../src/app.ts";
import { defaultDiagramXml } from "../../src/bpmn/default-diagram.ts";
import type { DiagramDiff } from "../../src/bpmn/diff.ts";
import { type BpmnWork, createBpmnPool, inThreadBpmn } from "../../src/bpmn/pool.ts";
import { JSON_BODY_LIMIT } from "../../src/http/body-limit.ts";
import { createRateLimiter, type RateLimitConfig } from "../../src/http/rate-limit.ts";
import { generateLargeBpmn } from "../db/large-bpmn.ts";
import { call, createPgHarness, type Harness, signUp, type TestUser, UNLIMITED_RATES } from "./harness.ts";

const REDIS_URL = process.env.STOWAGE_TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

/** Counts the calls that reach the pool, so a test can see where the work ran. */
function countingBpmn(inner: BpmnWork = inThreadBpmn()) {
  const counts = { validate: 0, diff: 0 };
  const work: BpmnWork = {
    validate: (xml, max) => {
      counts.validate++;
      return inner.validate(xml, max);
    },
    diff: (a, b) => {
      counts.diff++;
      return inner.diff(a, b);
    },
    close: () => inner.close(),
  };
  return { work, counts };
}

/** A request body that counts how many bytes the server pulled from it. */
function countedBody(totalBytes: number, chunk = 64 * 1024) {
  const state = { pulled: 0 };
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (state.pulled >= totalBytes) return controller.close();
      const n = Math.min(chunk, totalBytes - state.pulled);
      state.pulled += n;
      controller.enqueue(new Uint8Array(n).fill(0x20));
    },
  });
  return { stream, state };
}

const variant = (n: number) => defaultDiagramXml().replace('id="StartEvent_1" />', `id="StartEvent_1" name="v${n}" />`);

let h: Harness;
const bpmn = countingBpmn();
let alice: TestUser;
beforeAll(async () => {
  h = await createPgHarness({ bpmn: bpmn.work, maxDiagramBytes: 1024 * 1024 });
  alice = await signUp(h, "limits");
});
afterAll(async () => {
  await h?.close();
});

describe("body limits", () => {
  it("a 200 MB login body with Content-Length is answered 413 before a byte of it is read", async () => {
    const body = countedBody(200 * 1024 * 1024);
    const res = await h.app.request("/auth/login", {
      method: "POST",
      headers: { "content-type": "application/json", "content-length": String(200 * 1024 * 1024) },
      body: body.stream,
      duplex: "half",
    } as RequestInit);
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("PAYLOAD_TOO_LARGE");
    expect(body.state.pulled).toBeLessThanOrEqual(64 * 1024);
  });

  it("a chunked body (no Content-Length) stops being read once past the limit", async () => {
    for (const path of ["/auth/login", "/auth/signup", "/projects"]) {
      const body = countedBody(50 * 1024 * 1024);
      const res = await h.app.request(path, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${alice.token}` },
        body: body.stream,
        duplex: "half",
      } as RequestInit);
      expect(res.status, path).toBe(413);
      const error = ((await res.json()) as { error: { code: string; max_bytes: number } }).error;
      expect(error).toMatchObject({ code: "PAYLOAD_TOO_LARGE", max_bytes: JSON_BODY_LIMIT });
      // At most the limit plus the chunks in flight was read: not the 50 MB.
      expect(body.state.pulled, path).toBeLessThan(JSON_BODY_LIMIT + 4 * 64 * 1024);
    }
  });

  it("diagram routes take documents up to MAX_DIAGRAM_BYTES, and refuse more with 413", async () => {
    const doc = generateLargeBpmn(600 * 1024); // over the JSON default, under the 1 MiB diagram limit
    const ok = await call(h, "POST", "/diagrams", { token: alice.token, json: { bpmn_xml: doc } });
    expect(ok.status).toBe(201);
    const big = generateLargeBpmn(1200 * 1024);
    const tooBig = await call(h, "POST", "/diagrams", { token: alice.token, json: { bpmn_xml: big } });
    expect(tooBig.status).toBe(413);
    expect(tooBig.body.error.message).toMatch(/MAX_DIAGRAM_BYTES/);
    const upload = await call(h, "POST", "/diagrams/import", {
      token: alice.token,
      body: big,
      headers: { "content-type": "application/xml" },
    });
    expect(upload.status).toBe(413);
  });

  it("project settings/metadata and diagram metadata are capped at 64 KiB and count in storage", async () => {
    const huge = { blob: "x".repeat(70 * 1024) };
    const refused = await call(h, "POST", "/projects", { token: alice.token, json: { name: "Big", settings: huge } });
    expect(refused.status).toBe(400);
    expect(refused.body.error.message).toMatch(/^settings: must be at most 65536 bytes/);
    const u = await signUp(h, "storage");
    const used = async () => (await call(h, "GET", "/auth/me", { token: u.token })).body.user.storage_used_bytes as number;
    expect(await used()).toBe(0);
    const metadata = { notes: "y".repeat(40 * 1024) };
    const p = await call(h, "POST", "/projects", { token: u.token, json: { name: "Notes", metadata } });
    expect(p.status).toBe(201);
    // jsonb text of settings `{}` and metadata `{"notes": "yyy…"}` (PostgreSQL writes a space after ':').
    const projectBytes = 2 + JSON.stringify(metadata).length + 1;
    expect(await used()).toBe(projectBytes);
    const d = await call(h, "POST", "/diagrams", { token: u.token, json: { metadata: { notes: "z".repeat(1000) } } });
    const withDiagram = await used();
    expect(withDiagram).toBe(
      projectBytes + 2 * d.body.diagram.xml_bytes + JSON.stringify({ notes: "z".repeat(1000) }).length + 1,
    );
    const patched = await call(h, "PATCH", `/diagrams/${d.body.diagram.id}`, {
      token: u.token,
      json: { metadata: huge },
    });
    expect(patched.status).toBe(400);
    expect(patched.body.error.message).toMatch(/^metadata: must be at most/);
    // Purging the project releases its JSON bytes.
    await call(h, "DELETE", `/projects/${p.body.project.id}?permanent=true`, { token: u.token });
    expect(await used()).toBe(withDiagram - projectBytes);
  });
});

describe("body limits over real HTTP (@hono/node-server)", () => {
  // Node's parser frames a body by its Content-Length, so a declared length within the default is
  // read straight from the socket (no counting stream); everything else still goes through it.
  let server: ServerType;
  let port = 0;
  beforeAll(async () => {
    await new Promise<void>((resolve) => {
      server = serve({ fetch: h.app.fetch, port: 0, hostname: "127.0.0.1" }, (info) => {
        port = info.port;
        resolve();
      });
    });
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  /**
   * One request; `chunks` are written one by one (chunked encoding unless `length` is given). With
   * `partial`, the request stays open after them (an over-limit body the server must refuse
   * without waiting for the rest).
   */
  function send(
    method: string,
    path: string,
    chunks: string[],
    headers: Record<string, string>,
    length?: number,
    partial = false,
  ) {
    return new Promise<{ status: number; headers: IncomingHttpHeaders; body: string }>((resolve, reject) => {
      const req = httpRequest(
        // A connection of its own: after a 413 the server closes a connection whose body it did not read.
        {
          agent: false,
          host: "127.0.0.1",
          port,
          method,
          path,
          headers: length === undefined ? headers : { ...headers, "content-length": length },
        },
        (res) => {
          let body = "";
          res.setEncoding("utf8");
          res.on("data", (d: string) => {
            body += d;
          });
          res.on("end", () => {
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
            req.destroy();
          });
        },
      );
      req.on("error", (error) => reject(new Error(`${method} ${path}: ${error}`)));
      for (const chunk of chunks) req.write(chunk);
      if (!partial) req.end();
    });
  }

  it("a save with Content-Length is read, stored and answered with nosniff and Vary; over-limit bodies still get 413", async () => {
    const auth = { authorization: `Bearer ${alice.token}`, "content-type": "application/json" };
    const created = await call(h, "POST", "/diagrams", { token: alice.token, json: { bpmn_xml: variant(100) } });
    const id = created.body.diagram.id as string;
    const json = JSON.stringify({ bpmn_xml: variant(101), base_version: 1, message: "over HTTP" });
    const saved = await send("PUT", `/diagrams/${id}/content`, [json], auth, Buffer.byteLength(json));
    expect(saved.status, saved.body).toBe(200);
    expect(JSON.parse(saved.body)).toMatchObject({ diagram_id: id, version: 2 });
    expect(saved.headers["x-content-type-options"]).toBe("nosniff");
    expect(saved.headers.vary).toBe("Accept-Encoding");
    expect(saved.headers["content-length"]).toBe(String(Buffer.byteLength(saved.body)));
    const read = await call(h, "GET", `/diagrams/${id}`, { token: alice.token });
    expect(read.body.diagram.bpmn_xml).toBe(variant(101));

    // Declared over the route's limit: 413 before the body is read (the client has sent 1 KiB of it).
    const start = `{"bpmn_xml":"${"x".repeat(1024)}`;
    const overRoute = await send("PUT", `/diagrams/${id}/content`, [start], auth, 3 * 1024 * 1024, true);
    expect(overRoute.status).toBe(413);
    expect(JSON.parse(overRoute.body).error.message).toMatch(/MAX_DIAGRAM_BYTES/);
    // Declared over the default on a route that does not raise it: counted, 413 on the first read.
    const overDefault = await send("POST", "/auth/login", ['{"email":"'], auth, JSON_BODY_LIMIT + 1, true);
    expect(overDefault.status).toBe(413);
    expect(JSON.parse(overDefault.body).error).toMatchObject({ code: "PAYLOAD_TOO_LARGE", max_bytes: JSON_BODY_LIMIT });
    // Chunked (no Content-Length): counted, 413 once past the limit.
    const pieces = Array.from({ length: 5 }, () => "x".repeat(64 * 1024));
    const chunked = await send("POST", "/auth/login", ['{"email":"', ...pieces], auth, undefined, true);
    expect(chunked.status).toBe(413);
    expect(JSON.parse(chunked.body).error.code).toBe("PAYLOAD_TOO_LARGE");
    // A small JSON body that is not JSON is still a 400, not a hang.
    const bad = await send("POST", "/projects", ["{nope"], auth, 5);
    expect(bad.status).toBe(400);
  });
});

describe("BPMN work off the request thread", () => {
  it("saves and diffs go through the pool, diffs are cached by version pair, permission is still checked", async () => {
    const d = await call(h, "POST", "/diagrams", { token: alice.token, json: { bpmn_xml: variant(1), is_public: true } });
    const id = d.body.diagram.id;
    const before = { ...bpmn.counts };
    const saved = await call(h, "PUT", `/diagrams/${id}/content`, {
      token: alice.token,
      json: { bpmn_xml: variant(2), base_version: 1 },
    });
    expect(saved.status).toBe(200);
    expect(bpmn.counts.validate).toBe(before.validate + 1);
    const first = await call(h, "GET", `/diagrams/${id}/diff?from=1&to=2`);
    expect(first.status).toBe(200);
    expect(first.body.changed.map((c: { id: string }) => c.id)).toEqual(["StartEvent_1"]);
    expect(bpmn.counts.diff).toBe(before.diff + 1);
    const second = await call(h, "GET", `/diagrams/${id}/diff?from=1&to=2`);
    expect(second.body).toEqual(first.body);
    expect(bpmn.counts.diff).toBe(before.diff + 1); // from the cache
    // Made private: the cached diff is not served to anonymous callers.
    await call(h, "PATCH", `/diagrams/${id}`, { token: alice.token, json: { is_public: false } });
    expect((await call(h, "GET", `/diagrams/${id}/diff?from=1&to=2`)).status).toBe(404);
    expect((await call(h, "GET", `/diagrams/${id}/diff?from=1&to=3`, { token: alice.token })).status).toBe(404);
  });

  it("a full queue answers 503 with Retry-After and stores nothing", async () => {
    const pool = createBpmnPool({ threads: 1, maxQueue: 1 });
    const busy = await createPgHarness({ bpmn: pool });
    try {
      const u = await signUp(busy, "busy");
      await pool.validate(defaultDiagramXml(), 5_000_000); // the thread is up: one task runs, one waits
      const doc = generateLargeBpmn(3 * 1024 * 1024);
      const results = await Promise.all(
        Array.from({ length: 6 }, () => call(busy, "POST", "/diagrams", { token: u.token, json: { bpmn_xml: doc } })),
      );
      const statuses = results.map((r) => r.status).sort();
      expect(statuses).toContain(201);
      const refused = results.filter((r) => r.status === 503);
      expect(refused.length).toBeGreaterThanOrEqual(1);
      for (const r of refused) {
        expect(r.body.error.code).toBe("SERVER_BUSY");
        expect(r.headers.get("retry-after")).toBe("2");
      }
      const list = await call(busy, "GET", "/diagrams?limit=100", { token: u.token });
      expect(list.body.items).toHaveLength(results.filter((r) => r.status === 201).length);
    } finally {
      await busy.close();
      await pool.close();
    }
  });

  it("documents over the element cap are refused with 422 TOO_MANY_ELEMENTS, in the pool and in-thread", async () => {
    const inner = "<a:b/>".repeat(2_000);
    const crafted = `<?xml version="1.0"?><bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:a="urn:a" id="D"><bpmn:process id="P"><bpmn:extensionElements>${inner}</bpmn:extensionElements></bpmn:process></bpmn:definitions>`;
    // inlineMaxBytes 0: the crafted document (12 KB) goes to the worker too.
    const pool = createBpmnPool({ threads: 1, maxElements: 1_000, inlineMaxBytes: 0 });
    try {
      for (const work of [pool, inThreadBpmn(1_000)]) {
        await expect(work.validate(crafted, 5_000_000)).rejects.toMatchObject({
          status: 422,
          code: "TOO_MANY_ELEMENTS",
          details: { max_elements: 1_000 },
        });
        await expect(work.validate(defaultDiagramXml(), 5_000_000)).resolves.toBeUndefined();
        await expect(work.diff(crafted, defaultDiagramXml())).rejects.toMatchObject({ code: "TOO_MANY_ELEMENTS" });
        const diff: DiagramDiff = await work.diff(variant(1), variant(2));
        expect(diff.changed).toHaveLength(1);
      }
    } finally {
      await pool.close();
    }
  });
});

describe("rate limits", () => {
  const tight: RateLimitConfig = {
    anonymous: { points: 30, windowSeconds: 60 },
    authIp: { points: 5, windowSeconds: 60 },
    authEmail: { points: 3, windowSeconds: 600 },
  };
  const ip = () => `10.${randomBytes(3).join(".")}`;
  const login = (app: Harness, email: string, from: string) =>
    call(app, "POST", "/auth/login", {
      json: { email, password: "wrong password!" },
      headers: { "x-forwarded-for": from },
    });

  it("anonymous requests share a budget per address; a diff costs more; signed-in users are not counted", async () => {
    const limited = await createPgHarness({ rateLimiter: createRateLimiter({ ...UNLIMITED_RATES, anonymous: tight.anonymous }) });
    try {
      const u = await signUp(limited, "anon-owner");
      const d = await call(limited, "POST", "/diagrams", { token: u.token, json: { bpmn_xml: variant(1), is_public: true } });
      const id = d.body.diagram.id;
      await call(limited, "PUT", `/diagrams/${id}/content`, { token: u.token, json: { bpmn_xml: variant(2), base_version: 1 } });
      const from = ip();
      const diff = () => call(limited, "GET", `/diagrams/${id}/diff?from=1&to=2`, { headers: { "x-forwarded-for": from } });
      expect((await diff()).status).toBe(200);
      expect((await diff()).status).toBe(200);
      expect((await diff()).status).toBe(200);
      const refused = await diff();
      expect(refused.status).toBe(429);
      expect(refused.body.error.code).toBe("RATE_LIMITED");
      expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
      // Another address has its own budget; a signed-in caller is not limited by it.
      expect((await call(limited, "GET", `/diagrams/${id}`, { headers: { "x-forwarded-for": ip() } })).status).toBe(200);
      expect((await call(limited, "GET", `/diagrams/${id}/diff?from=1&to=2`, { token: u.token })).status).toBe(200);
    } finally {
      await limited.close();
    }
  });

  it("login and sign-up are limited per address and per email, before any password is hashed", async () => {
    const limited = await createPgHarness({ rateLimiter: createRateLimiter({ ...UNLIMITED_RATES, ...pick(tight) }) });
    try {
      const from = ip();
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) statuses.push((await login(limited, `nobody-${i}@example.test`, from)).status);
      expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
      const email = `target-${randomBytes(4).toString("hex")}@example.test`;
      const perEmail: number[] = [];
      for (let i = 0; i < 4; i++) perEmail.push((await login(limited, email, ip())).status);
      expect(perEmail).toEqual([401, 401, 401, 429]);
      const signup = await call(limited, "POST", "/auth/signup", {
        json: { email, password: "long enough pw" },
        headers: { "x-forwarded-for": ip() },
      });
      expect(signup.status).toBe(429);
      expect(signup.body.error.message).toMatch(/this email/);
    } finally {
      await limited.close();
    }
  });

  it("with Redis, two service instances share the counts", async () => {
    const redisA = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    const redisB = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    await redisA.ping(); // fails loudly when the Redis of the test machine is not running
    const a = await createPgHarness({ rateLimiter: createRateLimiter({ ...UNLIMITED_RATES, ...pick(tight) }, redisA) });
    const b = createApp({
      db: a.db,
      tokens: a.tokens,
      logger: (await import("pino")).default({ level: "silent" }),
      maxDiagramBytes: 5 * 1024 * 1024,
      rateLimiter: createRateLimiter({ ...UNLIMITED_RATES, ...pick(tight) }, redisB),
      trustProxy: true,
    });
    const bHarness: Harness = { ...a, app: b };
    try {
      const from = ip();
      const statuses: number[] = [];
      // Emails of this run only: Redis keeps their per-email budget for its window (10 min), so
      // fixed addresses answered 429 at once when the file ran again within it.
      const run = randomBytes(4).toString("hex");
      for (let i = 0; i < 6; i++) statuses.push((await login(i % 2 ? bHarness : a, `n-${i}-${run}@example.test`, from)).status);
      expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
      const keys = await redisA.keys(`stowage:rl:authIp*${from}`);
      expect(keys.length).toBe(1);
    } finally {
      await a.close();
      redisA.disconnect();
      redisB.disconnect();
    }
  });
});

function pick(config: RateLimitConfig): Pick<RateLimitConfig, "authIp" | "authEmail"> {
  return { authIp: config.authIp, authEmail: config.authEmail };
}

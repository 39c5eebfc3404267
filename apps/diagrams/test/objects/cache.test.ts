/**
 * The cache on both stores (the real Redis at REDIS_URL / 127.0.0.1:6379, and the in-process LRU),
 * drafts over HTTP, hit rates at /metrics, and a service without Chromium (exports answer 503 naming
 * what to install; XML exports, drafts and everything else keep working).
 */
import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Cache } from "../../src/cache/cache.ts";
import { memoryStore } from "../../src/cache/memory-store.ts";
import { redisStore } from "../../src/cache/redis-store.ts";
import { api, createDiagram, createUser, FIXTURES, type ObjectHarness, startObjectService } from "./harness.ts";

const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each([
  ["memory", async () => memoryStore(1024 * 1024)],
  ["redis", () => redisStore(REDIS_URL)],
] as const)("cache on %s", (kind, open) => {
  let cache: Cache;
  beforeAll(async () => {
    cache = new Cache(await open());
  });
  afterAll(async () => {
    await cache?.close();
  });

  it("stores bytes, expires them after their TTL, and counts hits and misses", async () => {
    expect(cache.kind).toBe(kind);
    const key = randomUUID();
    expect(await cache.get("xml", key)).toBeNull();
    await cache.set("xml", key, Buffer.from([0, 1, 2, 255]), 1);
    expect(await cache.get("xml", key)).toEqual(Buffer.from([0, 1, 2, 255]));
    await cache.set("render", key, Buffer.from("other namespace"), 60);
    expect((await cache.get("render", key))?.toString()).toBe("other namespace");
    await sleep(1_300);
    expect(await cache.get("xml", key)).toBeNull();
    await cache.delete("render", key);
    expect(await cache.get("render", key)).toBeNull();
    expect(cache.snapshot().xml).toEqual({ hits: 1, misses: 2 });
    let loads = 0;
    const load = async () => {
      loads++;
      return Buffer.from("loaded");
    };
    await cache.getOrLoad("diff", key, load);
    await cache.getOrLoad("diff", key, load);
    expect(loads).toBe(1);
  });
});

describe("a cache that fails", () => {
  it("answers misses instead of errors", async () => {
    const errors: unknown[] = [];
    const broken = new Cache(
      {
        kind: "redis",
        get: () => Promise.reject(new Error("down")),
        set: () => Promise.reject(new Error("down")),
        delete: () => Promise.reject(new Error("down")),
        close: async () => {},
      },
      (e) => errors.push(e),
    );
    expect(await broken.getOrLoad("xml", "k", async () => Buffer.from("db"))).toEqual(Buffer.from("db"));
    expect(errors).toHaveLength(2);
  });
});

describe.each([
  ["Redis", { REDIS_URL }],
  ["the in-process LRU", {}],
] as const)("drafts and metrics on %s", (_name, env) => {
  let h: ObjectHarness;
  beforeAll(async () => {
    h = await startObjectService(env);
  });
  afterAll(async () => {
    await h?.close();
  });

  it("keeps one draft per user, for editors only, and never saves it as a version", async () => {
    const owner = await createUser(h, "PRO");
    const other = await createUser(h, "PRO");
    const xml = await readFile(`${FIXTURES}/A.1.0.bpmn`, "utf8");
    const d = await createDiagram(h, owner, xml, { is_public: true });
    expect((await api(h, "GET", `/diagrams/${d.id}/draft`, { token: owner.token })).status).toBe(404);
    const draft = xml.replace("</bpmn:definitions>", "<!-- unsaved --></bpmn:definitions>");
    const put = await api(h, "PUT", `/diagrams/${d.id}/draft`, {
      token: owner.token,
      json: { bpmn_xml: draft, base_version: 1 },
    });
    expect(put.status).toBe(200);
    expect(put.body.expires_in).toBe(3600);
    const got = await api(h, "GET", `/diagrams/${d.id}/draft`, { token: owner.token });
    expect(got.status).toBe(200);
    expect(got.body.draft).toMatchObject({ bpmn_xml: draft, base_version: 1 });
    // A reader of the public diagram keeps no draft, and sees nobody else's.
    expect((await api(h, "GET", `/diagrams/${d.id}/draft`, { token: other.token })).status).toBe(404);
    expect((await api(h, "PUT", `/diagrams/${d.id}/draft`, { token: other.token, json: { bpmn_xml: draft } })).status).toBe(404);
    expect((await api(h, "GET", `/diagrams/${d.id}/draft`)).status).toBe(401);
    const versions = await h.db.asService((sql) =>
      sql.query("select version from public.diagram_versions where diagram_id = $1", [d.id]),
    );
    expect(versions.rows).toEqual([{ version: 1 }]);
    expect((await api(h, "DELETE", `/diagrams/${d.id}/draft`, { token: owner.token })).status).toBe(204);
    expect((await api(h, "GET", `/diagrams/${d.id}/draft`, { token: owner.token })).status).toBe(404);
  });

  it("serves version XML from the cache on the second export and reports hit rates", async () => {
    const owner = await createUser(h, "PRO");
    const xml = await readFile(`${FIXTURES}/C.1.0.bpmn`, "utf8");
    const d = await createDiagram(h, owner, xml);
    for (let i = 0; i < 3; i++) {
      expect((await api(h, "POST", `/diagrams/${d.id}/exports`, { token: owner.token, json: { format: "xml" } })).status).toBe(
        201,
      );
    }
    const metrics = await api(h, "GET", "/metrics");
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = metrics.bytes.toString("utf8");
    const backend = "REDIS_URL" in env ? "redis" : "memory";
    const value = (name: string) =>
      Number(new RegExp(`^${name}\\{cache="xml",backend="${backend}"\\} (\\S+)$`, "m").exec(text)?.[1]);
    expect(value("stowage_cache_hits_total")).toBeGreaterThanOrEqual(2);
    expect(value("stowage_cache_misses_total")).toBeGreaterThanOrEqual(1);
    expect(value("stowage_cache_hit_ratio")).toBeGreaterThan(0.5);
    expect(text).toMatch(/^# TYPE stowage_cache_hits_total counter$/m);
  });
});

describe("without Chromium", () => {
  let h: ObjectHarness;
  beforeAll(async () => {
    h = await startObjectService({ CHROMIUM_PATH: "/nonexistent/chromium", THUMBNAIL_DEBOUNCE_MS: "50" });
  });
  afterAll(async () => {
    await h?.close();
  });

  it("answers 503 naming what to install, and keeps serving the rest", async () => {
    const owner = await createUser(h, "PRO");
    const xml = await readFile(`${FIXTURES}/A.1.0.bpmn`, "utf8");
    const d = await createDiagram(h, owner, xml);
    const png = await api(h, "POST", `/diagrams/${d.id}/exports`, { token: owner.token, json: { format: "png" } });
    expect(png.status).toBe(503);
    expect(png.body.error.code).toBe("EXPORT_UNAVAILABLE");
    expect(png.body.error.message).toMatch(/apt-get install chromium/);
    expect((await api(h, "POST", `/diagrams/${d.id}/exports`, { token: owner.token, json: { format: "xml" } })).status).toBe(201);
    const save = await api(h, "PUT", `/diagrams/${d.id}/content`, {
      token: owner.token,
      json: { bpmn_xml: `${xml}\n`, base_version: 1 },
    });
    expect(save.status).toBe(200);
    await h.services.thumbnails.idle();
    expect(await h.services.buckets.private.list("thumbnails/")).toEqual([]);
  });
});

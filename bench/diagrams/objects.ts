/**
 * Benchmark of the diagram service's part 2 (issue 15), each figure against its obvious baseline in
 * the same run, with ratios:
 *  - export latency per format (svg, png, pdf), p50/p99 over every fixture, with the warm page pool
 *    (one Chromium, EXPORT_CONCURRENCY tabs with bpmn-js loaded) vs a cold browser per render;
 *  - thumbnails per second (400×300 PNG, 2 tabs) vs one tab;
 *  - a cached version read (RLS check + cache hit; memory LRU and Redis) vs the database read of the
 *    version's XML;
 *  - the browser pool's memory (RSS and PSS of the Chromium processes).
 * Run: flock /tmp/stowage-bench.lock npx tsx bench/diagrams/objects.ts
 *   BENCH_ROUNDS=3 (passes over the fixtures), BENCH_FORMATS=svg,png,pdf (empty: skip the export part)
 */
import { randomBytes, randomUUID } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { Cache } from "../../apps/diagrams/src/cache/cache.ts";
import { memoryStore } from "../../apps/diagrams/src/cache/memory-store.ts";
import { redisStore } from "../../apps/diagrams/src/cache/redis-store.ts";
import { createDatabase } from "../../apps/diagrams/src/db/create-database.ts";
import { readVersionXml } from "../../apps/diagrams/src/exports/diagram-source.ts";
import { descendantsRss } from "../../apps/diagrams/src/exports/process-memory.ts";
import { DiagramRenderer, type RenderFormat } from "../../apps/diagrams/src/exports/renderer.ts";

const FIXTURES = process.env.BENCH_FIXTURES ?? "/work/shared/fixtures/bpmn";
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const PG_URL = process.env.STOWAGE_TEST_PG_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";
const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};
const ms = (x: number) => `${x.toFixed(1)} ms`;

async function timed<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const t = performance.now();
  const r = await fn();
  return [performance.now() - t, r];
}

async function pss(): Promise<number> {
  // Proportional set size: shared pages split among the processes that map them.
  let total = 0;
  for (const e of (await readdir("/proc")).filter((x) => /^\d+$/.test(x))) {
    try {
      const status = await readFile(`/proc/${e}/status`, "utf8");
      if (!/^Name:\s+chrom/m.test(status)) continue;
      let p: number = Number(/^PPid:\s+(\d+)/m.exec(status)?.[1]);
      let mine = false;
      for (let i = 0; i < 20 && p > 1; i++) {
        if (p === process.pid) {
          mine = true;
          break;
        }
        p = Number(/^PPid:\s+(\d+)/m.exec(await readFile(`/proc/${p}/status`, "utf8"))?.[1]);
      }
      if (!mine) continue;
      const rollup = await readFile(`/proc/${e}/smaps_rollup`, "utf8");
      total += Number(/^Pss:\s+(\d+)/m.exec(rollup)?.[1] ?? 0) * 1024;
    } catch {}
  }
  return total;
}

async function main() {
  const names = (await readdir(FIXTURES)).filter((f) => f.endsWith(".bpmn")).sort();
  const docs = await Promise.all(names.map(async (n) => ({ name: n, xml: await readFile(path.join(FIXTURES, n), "utf8") })));
  console.log(
    `fixtures: ${docs.length}, rounds: ${ROUNDS}, load average: ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}`,
  );
  const result: Record<string, unknown> = { fixtures: docs.length, rounds: ROUNDS, loadavg_start: os.loadavg() };

  // ── exports: warm pool vs a cold browser per render ────────────────────────────────────────
  const renderer = new DiagramRenderer({ executablePath: CHROMIUM, concurrency: 2, timeoutMs: 120_000 });
  const [startMs] = await timed(() => renderer.render(docs[0]!.xml, "svg"));
  console.log(`browser start + first render: ${ms(startMs)}`);
  const exportsOut: Record<string, unknown> = {};
  const formats = (process.env.BENCH_FORMATS ?? "svg,png,pdf").split(",").filter(Boolean) as RenderFormat[];
  for (const format of formats) {
    const warm: number[] = [];
    for (let r = 0; r < ROUNDS; r++) for (const d of docs) warm.push((await timed(() => renderer.render(d.xml, format)))[0]);
    const cold: number[] = [];
    for (const d of docs.slice(0, 4)) {
      const fresh = new DiagramRenderer({ executablePath: CHROMIUM, concurrency: 1, timeoutMs: 120_000 });
      cold.push((await timed(() => fresh.render(d.xml, format)))[0]);
      await fresh.close();
    }
    const row = { warm_p50: pct(warm, 50), warm_p99: pct(warm, 99), cold_p50: pct(cold, 50), renders: warm.length };
    exportsOut[format] = row;
    console.log(
      `export ${format}: warm p50 ${ms(row.warm_p50)} p99 ${ms(row.warm_p99)} (${warm.length} renders) | cold browser per render p50 ${ms(row.cold_p50)} | cold/warm ${(row.cold_p50 / row.warm_p50).toFixed(1)}x`,
    );
  }
  result.exports = exportsOut;

  // ── thumbnails per second: 2 tabs vs 1 ────────────────────────────────────────────────────
  const fit = { width: 400, height: 300 };
  const burst = async (r: DiagramRenderer) => {
    const jobs = Array.from({ length: ROUNDS }, () => docs).flat();
    const [t] = await timed(async () => {
      let next = 0;
      await Promise.all(
        Array.from({ length: 2 }, async () => {
          while (next < jobs.length) await r.render(jobs[next++]!.xml, "png", { fit });
        }),
      );
    });
    return (jobs.length / t) * 1000;
  };
  const twoTabs = await burst(renderer);
  const single = new DiagramRenderer({ executablePath: CHROMIUM, concurrency: 1, timeoutMs: 120_000 });
  await single.render(docs[0]!.xml, "svg");
  const oneTab = await burst(single);
  console.log(
    `thumbnails: ${twoTabs.toFixed(1)}/s with 2 tabs vs ${oneTab.toFixed(1)}/s with 1 tab (${(twoTabs / oneTab).toFixed(2)}x)`,
  );
  result.thumbnails_per_second = { two_tabs: twoTabs, one_tab: oneTab };
  const rss = await descendantsRss(process.pid, /^chrom/i);
  const pssBytes = await pss();
  await single.close();
  const rssOne = await descendantsRss(process.pid, /^chrom/i);
  console.log(
    `browser pool memory (2 tabs, after ${renderer.renders} renders): RSS sum ${((rss ?? 0) / 2 ** 20).toFixed(0)} MiB (both browsers), PSS ${(pssBytes / 2 ** 20).toFixed(0)} MiB; the pool alone RSS ${((rssOne ?? 0) / 2 ** 20).toFixed(0)} MiB`,
  );
  result.browser_memory = { rss_two_browsers: rss, pss_two_browsers: pssBytes, rss_pool: rssOne, pss_pool: await pss() };
  console.log(`  pool alone PSS ${((result.browser_memory as { pss_pool: number }).pss_pool / 2 ** 20).toFixed(0)} MiB`);
  await renderer.close();

  // ── cached version read vs database read ──────────────────────────────────────────────────
  const name = `stowage_bench_objects_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`create database ${name}`);
  const u = new URL(PG_URL);
  u.pathname = `/${name}`;
  const { db } = await createDatabase({ databaseUrl: u.toString(), poolSize: 4 });
  try {
    const user = randomUUID();
    const big = docs.reduce((a, b) => (b.xml.length > a.xml.length ? b : a));
    const diagramId = await db.asService(async (sql) => {
      await sql.query("insert into auth.users (id, email) values ($1, 'bench@example.test')", [user]);
      await sql.query("update public.profiles set plan = 'PRO' where id = $1", [user]);
      return user;
    });
    const claims = { sub: diagramId, role: "authenticated" as const };
    const id = await db.asUser(claims, async (sql) => {
      const { rows } = await sql.query<{ id: string }>(
        "insert into public.diagrams (profile_id, bpmn_xml) values ($1, $2) returning id",
        [user, big.xml],
      );
      return rows[0]!.id;
    });
    const N = 300;
    const dbRead = async () =>
      db.asUser(claims, async (sql) => {
        const { rows } = await sql.query<{ bpmn_xml: string }>(
          "select bpmn_xml from public.diagram_versions where diagram_id = $1 and version = 1",
          [id],
        );
        return rows[0]!.bpmn_xml;
      });
    const reads: Record<string, number[]> = { database: [], memory: [], redis: [] };
    const caches = { memory: new Cache(memoryStore(64 * 2 ** 20)), redis: new Cache(await redisStore(REDIS_URL)) };
    await caches.redis.delete("xml", `${id}:1`);
    for (const c of Object.values(caches)) await readVersionXml(db, c, claims, id, 1);
    for (let i = 0; i < N; i++) {
      // interleaved so that load changes hit every side
      reads.database!.push((await timed(dbRead))[0]);
      reads.memory!.push((await timed(() => readVersionXml(db, caches.memory, claims, id, 1)))[0]);
      reads.redis!.push((await timed(() => readVersionXml(db, caches.redis, claims, id, 1)))[0]);
    }
    const out: Record<string, unknown> = { xml_bytes: Buffer.byteLength(big.xml), fixture: big.name };
    for (const [k, v] of Object.entries(reads)) out[k] = { p50: pct(v, 50), p99: pct(v, 99) };
    result.version_read = out;
    const p50 = (k: string) => pct(reads[k]!, 50);
    console.log(
      `version read of ${big.name} (${Buffer.byteLength(big.xml)} bytes), ${N} each: database p50 ${ms(p50("database"))} p99 ${ms(pct(reads.database!, 99))} | LRU p50 ${ms(p50("memory"))} (${(p50("database") / p50("memory")).toFixed(2)}x faster) | Redis p50 ${ms(p50("redis"))} (${(p50("database") / p50("redis")).toFixed(2)}x)`,
    );
    await caches.redis.delete("xml", `${id}:1`);
    await caches.redis.close();
  } finally {
    await db.close();
    await admin.query(`drop database if exists ${name} with (force)`);
    await admin.end();
  }
  result.loadavg_end = os.loadavg();
  console.log(
    `load average at the end: ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}`,
  );
  console.log(JSON.stringify(result));
}

await main();

/**
 * @module bench/diagrams/run
 * The diagram service benchmark (see README.md): seeds PostgreSQL with users, diagrams and versions,
 * starts `stowage-diagrams` as its own process, drives it with autocannon from this process at a
 * fixed concurrency, runs the same queries directly in SQL (through the service's PostgreSQL adapter,
 * so the same transaction per request) from this process at the same
 * concurrency, and prints p50/p99 of both with their ratios, plus storage per version.
 *
 * Run: `npx tsx bench/diagrams/run.ts` (env: BENCH_PG_URL, BENCH_USERS, BENCH_DIAGRAMS, BENCH_VERSIONS,
 * BENCH_HEAVY, BENCH_DURATION, BENCH_CONNECTIONS, BENCH_KEEP_DB=1).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createServer } from "node:net";
import { loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";
import { SignJWT } from "jose";
import pg from "pg";
import { createDatabase } from "../../apps/diagrams/src/db/create-database.ts";
import type { AuthClaims, SqlExecutor } from "../../apps/diagrams/src/db/database.ts";
import { PostgresDatabase } from "../../apps/diagrams/src/db/postgres.ts";
import { encodeCursor } from "../../apps/diagrams/src/repo/cursor.ts";
import { getDiagram, listDiagrams } from "../../apps/diagrams/src/repo/diagrams.ts";
import { saveDiagram } from "../../apps/diagrams/src/repo/versions.ts";
import { HEAVY_EMAIL, seed } from "./seed.ts";

const env = process.env;
const num = (name: string, dflt: number) => (env[name] ? Number(env[name]) : dflt);
const BASE_URL = env.BENCH_PG_URL ?? env.STOWAGE_TEST_PG_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";
const SIZE = {
  users: num("BENCH_USERS", 1000),
  diagrams: num("BENCH_DIAGRAMS", 100_000),
  versions: num("BENCH_VERSIONS", 1_000_000),
  heavyDiagrams: num("BENCH_HEAVY", 10_000),
  projectsPerUser: 3,
};
const DURATION = num("BENCH_DURATION", 10);
const CONNECTIONS = num("BENCH_CONNECTIONS", 16);
const DEPTH = 5000;
const SECRET = randomBytes(32).toString("hex");
const BIN = fileURLToPath(new URL("../../apps/diagrams/bin/stowage-diagrams.js", import.meta.url));
const TEMPLATE = fileURLToPath(new URL("../../apps/diagrams/test/fixtures/A.1.0.bpmn", import.meta.url));

const log = (...a: unknown[]) => console.error(`[${new Date().toISOString().slice(11, 19)}]`, ...a);

function dbUrl(name: string): string {
  const u = new URL(BASE_URL);
  u.pathname = `/${name}`;
  return u.toString();
}

const token = (sub: string) =>
  new SignJWT({ role: "authenticated" })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(sub)
    .setAudience("authenticated")
    .setExpirationTime("2h")
    .sign(new TextEncoder().encode(SECRET));

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

interface Stats {
  p50: number;
  p99: number;
  rps: number;
  errors: number;
  /**
   * CPU per request of the process doing the work: the service (all its threads, from /proc) for the
   * API side, this runner (the client of PostgreSQL) for the SQL side. Unlike latencies, it hardly
   * moves with the machine's load, so it compares runs taken at different load averages.
   */
  cpuMsPerOp: number;
}

const CLOCK_TICKS = 100; // getconf CLK_TCK on Linux
/** CPU time (user + system) of process `pid` so far, in ms. */
function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS; // utime, stime
}
const ownCpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
/** The service's pid while it runs (set by main). */
let servicePid = 0;

/** Runs `op` from CONNECTIONS workers for DURATION seconds (each call checks a client out of the pool, as the API does). */
async function sqlLoad(op: (worker: number) => Promise<void>): Promise<Stats> {
  const latencies: number[] = [];
  let errors = 0;
  const cpuBefore = ownCpuMs();
  const end = performance.now() + DURATION * 1000;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async (_, worker) => {
      while (performance.now() < end) {
        const t = performance.now();
        try {
          await op(worker);
          latencies.push(performance.now() - t);
        } catch (error) {
          errors++;
          if (errors < 3) log("sql error", (error as Error).message);
        }
      }
    }),
  );
  const cpuMsPerOp = (ownCpuMs() - cpuBefore) / Math.max(1, latencies.length + errors);
  latencies.sort((a, b) => a - b);
  return {
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    rps: latencies.length / DURATION,
    errors,
    cpuMsPerOp,
  };
}

/** The claims the service derives from a bench token (same keys, so the same claims JSON is set). */
const claimsOf = (sub: string): AuthClaims => ({
  role: "authenticated",
  sub,
  aud: "authenticated",
  exp: Math.floor(Date.now() / 1000) + 7200,
});

async function apiLoad(
  url: string,
  opts: Parameters<typeof autocannon>[0]["requests"],
  headers: Record<string, string>,
  initialContext?: Record<string, unknown>,
): Promise<Stats> {
  const cpuBefore = processCpuMs(servicePid);
  // timeout 60 s: at load averages of 20-30 a p99 passes autocannon's default 10 s.
  const r = await autocannon({
    url,
    connections: CONNECTIONS,
    duration: DURATION,
    headers,
    requests: opts,
    initialContext,
    timeout: 60,
  });
  const cpuMsPerOp = (processCpuMs(servicePid) - cpuBefore) / Math.max(1, r.requests.total);
  const errors = r.non2xx + r.errors + r.timeouts;
  return { p50: r.latency.p50, p99: r.latency.p99, rps: r.requests.average, errors, cpuMsPerOp };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function startService(databaseUrl: string): Promise<{ child: ChildProcess; url: string }> {
  const port = await freePort();
  // e.g. BENCH_SERVICE_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the service only.
  const nodeArgs = env.BENCH_SERVICE_NODE_ARGS?.split(" ").filter(Boolean) ?? [];
  const child = spawn(process.execPath, [...nodeArgs, BIN], {
    env: {
      ...env,
      DATABASE_URL: databaseUrl,
      JWT_SECRET: SECRET,
      PORT: String(port),
      LOG_LEVEL: "warn",
      DATABASE_POOL_SIZE: String(CONNECTIONS),
      // The seed's 3,000 PRO projects would all be due for their daily backup a minute after start,
      // and thumbnails debounced during the save scenario would render during the SQL side: both
      // are other work than the requests measured here (bench/diagrams/objects.ts measures renders).
      BACKUP_CHECK_INTERVAL_MS: env.BACKUP_CHECK_INTERVAL_MS ?? "0",
      CHROMIUM_PATH: env.BENCH_CHROMIUM_PATH ?? "/nonexistent/chromium",
    },
    stdio: ["ignore", "inherit", "inherit"],
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`stowage-diagrams exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${url}/openapi.json`)).ok) return { child, url };
    } catch {}
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error("stowage-diagrams did not start");
}

async function main(): Promise<void> {
  // The machine is shared: every report says how busy it was (1/5/15-minute load averages).
  const loadStart = loadavg().map((l) => Math.round(l * 100) / 100);
  // BENCH_DB reuses a database seeded (and kept with BENCH_KEEP_DB=1) by an earlier run.
  const reuse = env.BENCH_DB;
  const name = reuse ?? `stowage_diagrams_bench_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: BASE_URL });
  await admin.connect();
  if (!reuse) await admin.query(`create database ${name}`);
  const url = dbUrl(name);
  let child: ChildProcess | undefined;
  try {
    log(`database ${name}: migrating`);
    const { db } = await createDatabase({ databaseUrl: url });
    await db.close();
    const template = (await readFile(TEMPLATE, "utf8")).replace(/name="([^"]*)"/, 'name="$1 BENCH_NAME"');
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    let seedSeconds = 0;
    if (!reuse) {
      log(`seeding ${SIZE.users} users, ${SIZE.diagrams} diagrams, ${SIZE.versions} versions`);
      const t0 = performance.now();
      await seed(client, SIZE, template);
      seedSeconds = (performance.now() - t0) / 1000;
      log(`seeded in ${seedSeconds.toFixed(1)} s`);
    } else log(`reusing the seeded database ${name}`);

    const storage = (
      await client.query(
        `select count(*)::bigint as versions, avg(xml_bytes)::float as raw_bytes,
                pg_total_relation_size('public.diagram_versions')::float / count(*) as stored_bytes,
                (select count(*) from public.diagrams)::bigint as diagrams,
                pg_total_relation_size('public.diagrams')::float / (select count(*) from public.diagrams) as diagram_stored_bytes
         from public.diagram_versions`,
      )
    ).rows[0];
    const heavy = (await client.query("select id from public.profiles where email = $1", [HEAVY_EMAIL])).rows[0].id as string;
    const depthRow = (
      await client.query(
        `select updated_at::text as k, id from public.diagrams where profile_id = $1 and project_id is null and deleted_at is null
         order by updated_at desc, id desc offset $2 limit 1`,
        [heavy, DEPTH - 1],
      )
    ).rows[0];
    const depthCursor = encodeCursor({ updatedAt: depthRow.k, id: depthRow.id });
    const getIds = (
      await client.query("select id from public.diagrams where profile_id = $1 order by random() limit 1000", [heavy])
    ).rows.map((r) => r.id as string);
    // Saves target diagrams of distinct owners (one per connection), as real concurrent users would.
    const saveTargets = (
      await client.query(
        `select distinct on (d.profile_id) d.id, d.profile_id, d.version from public.diagrams d
         where d.project_id is not null order by d.profile_id, d.id limit $1`,
        [CONNECTIONS * 2],
      )
    ).rows as { id: string; profile_id: string; version: number }[];
    const plan = (
      await client.query(
        `explain (analyze, buffers off, costs off) select id from public.diagrams d
         where d.profile_id = $1 and d.project_id is null and d.deleted_at is null and (d.updated_at, d.id) < ($2, $3)
         order by d.updated_at desc, d.id desc limit 21`,
        [heavy, depthRow.k, depthRow.id],
      )
    ).rows
      .map((r) => r["QUERY PLAN"])
      .join("\n");
    await client.end();
    log(`deep-page plan:\n${plan}`);

    const service = await startService(url);
    child = service.child;
    servicePid = child.pid ?? 0;
    const heavyToken = await token(heavy);
    const auth = { authorization: `Bearer ${heavyToken}` };
    // The SQL side runs through the service's own PostgreSQL adapter: the same transaction per request
    // (BEGIN + role + claims, the repository's statement, COMMIT), the same pool size.
    const sqlDb = new PostgresDatabase({ connectionString: url, max: CONNECTIONS, applicationName: "bench-sql" });
    const asUser = <T>(sub: string, fn: (sql: SqlExecutor) => Promise<T>) => sqlDb.asUser(claimsOf(sub), fn);
    const thumb = (id: string) => `/diagrams/${id}/thumbnail`;
    const saveXml = (n: number) => template.replace("BENCH_NAME", `bench save ${n}`);
    let saveCounter = 0;

    const results: Record<string, { api: Stats; sql: Stats }> = {};
    // BENCH_ONLY=save-diagram,get-diagram runs only those scenarios (profiling).
    const only = env.BENCH_ONLY ? env.BENCH_ONLY.split(",") : undefined;
    const scenario = async (label: string, api: () => Promise<Stats>, sql: () => Promise<Stats>) => {
      if (only && !only.includes(label)) return;
      const a = await api();
      const s = await sql();
      results[label] = { api: a, sql: s };
      log(
        `${label}: API p50 ${a.p50} ms p99 ${a.p99} ms (${a.rps.toFixed(0)} req/s, ${a.errors} errors, service CPU ${a.cpuMsPerOp.toFixed(3)} ms/req); SQL p50 ${s.p50.toFixed(2)} ms p99 ${s.p99.toFixed(2)} ms (${s.rps.toFixed(0)} q/s, client CPU ${s.cpuMsPerOp.toFixed(3)} ms/q)`,
      );
    };

    // Warm the service (JIT, pool connections, caches) before measuring.
    await autocannon({ url: `${service.url}/diagrams?limit=20`, connections: CONNECTIONS, duration: 3, headers: auth });

    await scenario(
      "list-first-page",
      () => apiLoad(service.url, [{ method: "GET", path: "/diagrams?limit=20" }], auth),
      () =>
        sqlLoad(() =>
          asUser(heavy, (sql) => listDiagrams(sql, { kind: "personal", userId: heavy }, { limit: 20 }, thumb)).then(() => {}),
        ),
    );
    await scenario(
      "list-page-at-depth-5000",
      () => apiLoad(service.url, [{ method: "GET", path: `/diagrams?limit=20&cursor=${depthCursor}` }], auth),
      () =>
        sqlLoad(() =>
          asUser(heavy, (sql) =>
            listDiagrams(sql, { kind: "personal", userId: heavy }, { limit: 20, cursor: depthCursor }, thumb),
          ).then(() => {}),
        ),
    );
    let g = 0;
    await scenario(
      "get-diagram",
      () =>
        apiLoad(
          service.url,
          [{ method: "GET", setupRequest: (req) => ({ ...req, path: `/diagrams/${getIds[g++ % getIds.length]}` }) }],
          auth,
        ),
      () => sqlLoad(() => asUser(heavy, (sql) => getDiagram(sql, getIds[g++ % getIds.length]!, thumb)).then(() => {})),
    );
    // Each connection saves its own diagram (owner = a different user), chaining base_version.
    const apiTargets = saveTargets.slice(0, CONNECTIONS);
    const sqlTargets = saveTargets.slice(CONNECTIONS, CONNECTIONS * 2);
    const tokens = new Map(await Promise.all(apiTargets.map(async (t) => [t.id, await token(t.profile_id)] as const)));
    // autocannon resets a connection's context after each pass over `requests`, so the base version
    // of each target lives here: a request borrows an idle target and gives it back with its response.
    const idle = [...apiTargets];
    await scenario(
      "save-diagram",
      () =>
        apiLoad(
          service.url,
          [
            {
              method: "PUT",
              setupRequest: (req, ctx) => {
                // A timed-out request never gives its target back: reuse one (its save may then answer
                // 409, counted as an error) rather than stop the run.
                const t = idle.shift() ?? apiTargets[saveCounter % apiTargets.length]!;
                ctx.target = t;
                return {
                  ...req,
                  path: `/diagrams/${t.id}/content`,
                  headers: { "content-type": "application/json", authorization: `Bearer ${tokens.get(t.id)}` },
                  body: JSON.stringify({ bpmn_xml: saveXml(saveCounter++), base_version: t.version, message: "bench" }),
                };
              },
              onResponse: (status, body, ctx) => {
                const t = ctx.target as (typeof apiTargets)[number];
                if (status === 200) t.version = (JSON.parse(body) as { version: number }).version;
                else log(`save answered ${status}: ${body.slice(0, 200)}`);
                idle.push(t);
              },
            },
          ],
          {},
          {},
        ),
      () => {
        const versions = sqlTargets.map((t) => t.version);
        return sqlLoad(async (w) => {
          const t = sqlTargets[w % sqlTargets.length]!;
          const saved = await saveDiagram(sqlDb, claimsOf(t.profile_id), t.id, versions[w]!, saveXml(saveCounter++), "bench");
          versions[w] = saved.version;
        });
      },
    );
    await sqlDb.close();

    const r = (x: number) => Math.round(x * 100) / 100;
    const nan: Stats = { p50: Number.NaN, p99: Number.NaN, rps: 0, errors: 0, cpuMsPerOp: Number.NaN };
    const skipped = { api: nan, sql: nan };
    const first = results["list-first-page"] ?? skipped;
    const deep = results["list-page-at-depth-5000"] ?? skipped;
    const save = results["save-diagram"] ?? skipped;
    const report = {
      size: { ...SIZE, seedSeconds: r(seedSeconds), connections: CONNECTIONS, durationSeconds: DURATION },
      load_average: { start: loadStart, end: loadavg().map((l) => Math.round(l * 100) / 100) },
      storage: {
        versions: Number(storage.versions),
        raw_xml_bytes_per_version: r(storage.raw_bytes),
        stored_bytes_per_version: r(storage.stored_bytes),
        diagram_row_stored_bytes: r(storage.diagram_stored_bytes),
      },
      latency_ms: Object.fromEntries(
        Object.entries(results).map(([k, v]) => [
          k,
          {
            api_p50: v.api.p50,
            api_p99: v.api.p99,
            sql_p50: r(v.sql.p50),
            sql_p99: r(v.sql.p99),
            api_over_sql_p50: r(v.api.p50 / v.sql.p50),
            api_rps: Math.round(v.api.rps),
            api_errors: v.api.errors,
            api_service_cpu_ms_per_request: Math.round(v.api.cpuMsPerOp * 1000) / 1000,
            sql_client_cpu_ms_per_query: Math.round(v.sql.cpuMsPerOp * 1000) / 1000,
          },
        ]),
      ),
      targets: {
        deep_over_first_api_p50: { value: r(deep.api.p50 / first.api.p50), target: "<= 1.2" },
        deep_over_first_sql_p50: { value: r(deep.sql.p50 / first.sql.p50), target: "<= 1.2" },
        api_over_sql_p50_max: { value: r(Math.max(...Object.values(results).map((v) => v.api.p50 / v.sql.p50))), target: "<= 2" },
        save_api_p99_ms: { value: save.api.p99, target: "< 50" },
      },
    };
    console.log(JSON.stringify(report, null, 2));
  } finally {
    if (child && child.exitCode === null) {
      child.kill("SIGTERM");
      await new Promise((r) => child!.once("exit", r));
    }
    if (env.BENCH_KEEP_DB !== "1" && !reuse) await admin.query(`drop database if exists ${name} with (force)`);
    else log(`kept database ${name}`);
    await admin.end();
  }
}

await main();

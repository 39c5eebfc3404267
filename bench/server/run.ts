/**
 * Backup server benchmark (issue 11): a manual backup through the API (`POST /api/projects/:id/backups`
 * until the events stream says done) against the same backup through the CLI (`stowage backup`), in
 * the same run, interleaved (CLI, API, CLI, API, …) so load changes hit both; then the server's
 * resident memory idle and during two concurrent backups of the same database.
 *
 *   npx tsx bench/server/run.ts            # BENCH_RUNS=3, BENCH_DB=stowage_bench_big (created if missing, kept)
 *   BENCH_SCALE=70 BENCH_TYPE=full BENCH_COMPRESSION=gzip
 *
 * Both sides run the bin through its shebang on a fresh esbuild bundle, write to a local folder, and
 * back up the same database with the same options. Prints every run, the medians, the ratio, the RSS
 * figures, and writes bench/server/last-run.json. Takes flock /tmp/stowage-bench.lock itself.
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ADMIN_EMAIL, ADMIN_PASSWORD, ApiClient, startChildServer } from "../../apps/backup/test/server/harness.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const BIN = join(ROOT, "apps/backup/bin/stowage.js");
const ADMIN_URL = process.env.STOWAGE_TEST_PG_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";
const DB = process.env.BENCH_DB ?? "stowage_bench_big";
const SCALE = Number(process.env.BENCH_SCALE ?? 70);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const TYPE = process.env.BENCH_TYPE ?? "full";
const COMPRESSION = process.env.BENCH_COMPRESSION ?? "gzip";

if (!process.env.STOWAGE_BENCH_LOCKED) {
  const r = spawnSync("flock", ["/tmp/stowage-bench.lock", process.execPath, "--import", "tsx", fileURLToPath(import.meta.url)], {
    stdio: "inherit",
    env: { ...process.env, STOWAGE_BENCH_LOCKED: "1" },
  });
  process.exit(r.status ?? 1);
}

const dbUrl = (name: string) => {
  const u = new URL(ADMIN_URL);
  u.pathname = `/${name}`;
  return u.toString();
};
const psql = (url: string, sql: string) => execFileSync("psql", ["-X", "-q", "-At", url, "-c", sql], { encoding: "utf8" }).trim();
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const mib = (kb: number) => Math.round(kb / 1024);

/** The bench database of bench/backup (pgbench + a wide jsonb table), created once and kept. */
function ensureDatabase(): void {
  if (psql(ADMIN_URL, `select 1 from pg_database where datname = '${DB}'`) !== "1") {
    console.error(`==> creating ${DB} (pgbench scale ${SCALE} + wide jsonb); kept for later runs`);
    psql(ADMIN_URL, `create database "${DB}"`);
    execFileSync("pgbench", ["-q", "-i", "-s", String(SCALE), dbUrl(DB)], { stdio: "ignore" });
  }
  if (psql(dbUrl(DB), "select to_regclass('public.wide_docs') is not null") === "t") return;
  psql(
    dbUrl(DB),
    `create table wide_docs (id bigint primary key, doc jsonb not null);
     insert into wide_docs
     select i, jsonb_build_object('id', i, 'title', 'document ' || i, 'tags', jsonb_build_array('a' || i % 7, 'b' || i % 11),
              'body', repeat(md5(i::text), 12), 'attrs', (select jsonb_object_agg('k' || k, i * k) from generate_series(1, 20) k))
       from generate_series(1, ${SCALE * 1500}) i;`,
  );
  psql(dbUrl(DB), "vacuum analyze");
}

/** VmRSS / VmHWM of a process, in KiB. */
async function memory(pid: number): Promise<{ rss: number; hwm: number }> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const get = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { rss: get("VmRSS"), hwm: get("VmHWM") };
}

/** Wall seconds of `stowage backup` to a fresh folder. */
function cliRun(dest: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(
      BIN,
      ["backup", "--db", dbUrl(DB), "--to", `file://${dest}`, "--type", TYPE, "--compression", COMPRESSION, "--name", "cli"],
      {
        stdio: ["ignore", "ignore", "pipe"],
        env: { ...process.env, STOWAGE_PASSPHRASE: "" },
      },
    );
    let err = "";
    child.stderr.on("data", (d: Buffer) => {
      err += d.toString();
    });
    child.on("exit", (code) =>
      code === 0 ? resolve((performance.now() - started) / 1000) : reject(new Error(`stowage backup failed: ${err}`)),
    );
  });
}

/** Wall seconds from the POST to the `done` event. */
async function apiRun(client: ApiClient, projectId: string, destinationId: string): Promise<number> {
  const started = performance.now();
  const res = await client.post(`/api/projects/${projectId}/backups`, {
    backupType: TYPE,
    storageType: "destination",
    storageDestinationIds: [destinationId],
    compressionType: COMPRESSION,
    includeMigrationHistory: false,
  });
  if (res.status !== 202) throw new Error(`POST backups: ${res.status} ${res.text}`);
  await client.events(`/api/backups/${res.body.backupId}/events`, undefined, 600_000);
  const wall = (performance.now() - started) / 1000;
  const row = await client.get(`/api/backups/${res.body.backupId}`);
  if (row.body.status !== "completed") throw new Error(`API backup ${row.body.status}: ${row.body.error}`);
  return wall;
}

async function main(): Promise<void> {
  ensureDatabase();
  console.error("==> building the bundle");
  execFileSync(process.execPath, [join(ROOT, "apps/backup/bin/build.js")], { stdio: "ignore" });
  const work = await mkdtemp(join(tmpdir(), "stowage-bench-server-"));
  const server = await startChildServer(join(work, "data"), { LOG_LEVEL: "warn", BACKUP_CONCURRENCY: "2" });
  const pid = server.process.pid!;
  try {
    const client = new ApiClient(server.url);
    await client.post("/api/setup", { email: ADMIN_EMAIL, password: ADMIN_PASSWORD });
    await client.login(ADMIN_EMAIL, ADMIN_PASSWORD);
    const project = await client.post("/api/projects", { name: "api", databaseUrl: dbUrl(DB), includeMigrationHistory: false });
    const dests = await client.get("/api/destinations");
    const destinationId = dests.body.items[0].id as string;
    await new Promise((r) => setTimeout(r, 3000));
    const idle = await memory(pid);
    console.error(`==> server idle: RSS ${mib(idle.rss)} MiB`);

    const cli: number[] = [];
    const api: number[] = [];
    const loads: number[] = [];
    for (let i = 1; i <= RUNS; i++) {
      loads.push(loadavg()[0]!);
      const dest = join(work, `cli-${i}`);
      const c = await cliRun(dest);
      cli.push(c);
      await rm(dest, { recursive: true, force: true });
      const a = await apiRun(client, project.body.id, destinationId);
      api.push(a);
      console.error(`  run ${i}: cli ${c.toFixed(2)} s, api ${a.toFixed(2)} s (load ${loadavg()[0]!.toFixed(1)})`);
    }
    const afterSingle = await memory(pid);

    // Two concurrent backups: sample the server's RSS every 100 ms.
    let peak = 0;
    const sampler = setInterval(() => {
      void memory(pid).then((m) => {
        peak = Math.max(peak, m.rss);
      });
    }, 100);
    const started = performance.now();
    await Promise.all([apiRun(client, project.body.id, destinationId), apiRun(client, project.body.id, destinationId)]);
    const concurrentWall = (performance.now() - started) / 1000;
    clearInterval(sampler);
    const afterConcurrent = await memory(pid);

    const result = {
      date: new Date().toISOString(),
      database: DB,
      size: psql(dbUrl(DB), "select pg_size_pretty(pg_database_size(current_database()))"),
      type: TYPE,
      compression: COMPRESSION,
      runs: RUNS,
      load1: loads,
      cliSeconds: cli,
      apiSeconds: api,
      cliMedian: median(cli),
      apiMedian: median(api),
      ratio: Number((median(api) / median(cli)).toFixed(3)),
      rssIdleMiB: mib(idle.rss),
      rssAfterSequentialMiB: mib(afterSingle.rss),
      rssPeakTwoConcurrentMiB: mib(Math.max(peak, afterConcurrent.rss)),
      twoConcurrentWallSeconds: Number(concurrentWall.toFixed(2)),
      hwmMiB: mib(afterConcurrent.hwm),
    };
    console.log(
      `backup ${DB} (${result.size}, ${TYPE}, ${COMPRESSION}): cli median ${result.cliMedian.toFixed(2)} s, api median ${result.apiMedian.toFixed(2)} s, ratio ${result.ratio}`,
    );
    console.log(
      `server RSS: idle ${result.rssIdleMiB} MiB, after ${RUNS} backups ${result.rssAfterSequentialMiB} MiB, peak during 2 concurrent ${result.rssPeakTwoConcurrentMiB} MiB (VmHWM ${result.hwmMiB} MiB; both done in ${result.twoConcurrentWallSeconds} s)`,
    );
    await writeFile(join(ROOT, "bench/server/last-run.json"), `${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await server.stop();
    await rm(work, { recursive: true, force: true });
  }
}

await main();

/**
 * Scheduler benchmark (issue 12): 100 schedules firing every 10 seconds (`*\/10 * * * * *`) for
 * 2 minutes, each a real backup (`data`, no compression) of a tiny database to the local default
 * destination. Counted from the metadata database afterwards, per (schedule, due time) in the window:
 * runs expected vs recorded (completed / skipped because the previous run was still going / failed),
 * due times with no run (missed) and with more than one run or backup row (doubled); scheduling delay
 * (due time → start, `schedule_runs.delay_ms`) p50/p99; each server's RSS (sampled every second).
 * After the window the schedules are disabled and the count waits until the job queue has drained
 * (no pg-boss job queued or active, no run still going; at most BENCH_DRAIN_SECONDS): a due time whose
 * job is still in the queue then is reported as `queued`, not as missed. With pg-boss the delay is also
 * split: due time → job in the queue (`enqueued*`, the scheduler pass itself) and → run start (the
 * wait for a free slot on either server).
 *
 *   npx tsx bench/scheduler/run.ts                 # both setups, in turn
 *   BENCH_SETUP=sqlite|pg BENCH_SCHEDULES=100 BENCH_SECONDS=120 BENCH_CONCURRENCY=4 BENCH_DRAIN_SECONDS=300
 *
 * Setup `sqlite`: one `stowage serve` on SQLite metadata (in-process jobs). Setup `pg`: two servers on
 * one fresh PostgreSQL metadata database (jobs through pg-boss). Servers are child processes of the
 * bin, as users run them. Writes bench/scheduler/last-run-<setup>.json. Takes flock /tmp/stowage-bench.lock itself.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { openMetadataStore } from "../../apps/backup/src/server/db/open.ts";
import { JOB_QUEUE } from "../../apps/backup/src/server/jobs/queue.ts";
import {
  ADMIN_EMAIL,
  ADMIN_PASSWORD,
  ApiClient,
  type ChildServer,
  startChildServer,
} from "../../apps/backup/test/server/harness.ts";
import { adminQuery, createDatabase, dropDatabase, psql } from "../../packages/backup-core/test/helpers/pg.ts";

if (!process.env.STOWAGE_BENCH_LOCKED) {
  const r = spawnSync("flock", ["/tmp/stowage-bench.lock", process.execPath, "--import", "tsx", fileURLToPath(import.meta.url)], {
    stdio: "inherit",
    env: { ...process.env, STOWAGE_BENCH_LOCKED: "1" },
  });
  process.exit(r.status ?? 1);
}

const SCHEDULES = Number(process.env.BENCH_SCHEDULES ?? 100);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 120);
const EVERY = 10;
const CONCURRENCY = process.env.BENCH_CONCURRENCY ?? "4";
const DRAIN_SECONDS = Number(process.env.BENCH_DRAIN_SECONDS ?? 300);
const SETUPS = (process.env.BENCH_SETUP ?? "sqlite,pg").split(",");
const SOURCE = "stowage_bench_sched_src";
const META = "stowage_bench_sched_meta";

const uptime = () => spawnSync("uptime", { encoding: "utf8" }).stdout.trim();
const pct = (xs: number[], p: number) => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};

/** Samples VmRSS of the servers every second; answers the peak per server (MiB). */
function sampleRss(pids: number[]): { stop: () => Promise<{ peakMiB: number[]; endMiB: number[] }> } {
  const peak = pids.map(() => 0);
  const last = pids.map(() => 0);
  const read = async () => {
    for (const [i, pid] of pids.entries()) {
      const status = await readFile(`/proc/${pid}/status`, "utf8").catch(() => "");
      const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
      last[i] = kb;
      peak[i] = Math.max(peak[i]!, kb);
    }
  };
  const timer = setInterval(() => void read(), 1000);
  return {
    async stop() {
      clearInterval(timer);
      await read();
      return { peakMiB: peak.map((k) => Math.round(k / 1024)), endMiB: last.map((k) => Math.round(k / 1024)) };
    },
  };
}

async function runSetup(setup: string) {
  const servers: ChildServer[] = [];
  const dirs: string[] = [];
  const key = randomBytes(32).toString("base64");
  const count = setup === "pg" ? 2 : 1;
  if (setup === "pg") {
    await dropDatabase(META);
    await createDatabase(META);
  }
  const loadBefore = uptime();
  try {
    for (let i = 0; i < count; i++) {
      const dir = await mkdtemp(join(tmpdir(), `stowage-bench-sched-${setup}-`));
      dirs.push(dir);
      const env: NodeJS.ProcessEnv = {
        STOWAGE_SECRET_KEY: key,
        BACKUP_CONCURRENCY: CONCURRENCY,
        LOG_LEVEL: "warn",
        ...(setup === "pg" ? { DATABASE_URL: `postgres://postgres@127.0.0.1:5432/${META}` } : {}),
        // Health checks would add their own load to the figures.
        DESTINATION_CHECK_INTERVAL: "1d",
      };
      servers.push(await startChildServer(dir, env));
    }
    const metadataUrl = setup === "pg" ? `postgres://postgres@127.0.0.1:5432/${META}` : `file:${join(dirs[0]!, "app.db")}`;
    const client = new ApiClient(servers[0]!.url);
    const setupRes = await client.post("/api/setup", { email: ADMIN_EMAIL, password: ADMIN_PASSWORD });
    if (setupRes.status !== 201) throw new Error(`setup: ${setupRes.status} ${setupRes.text}`);
    client.csrfToken = setupRes.body.csrfToken;
    const project = await client.post("/api/projects", {
      name: "tiny",
      databaseUrl: `postgresql://postgres@127.0.0.1:5432/${SOURCE}`,
    });
    if (project.status !== 201) throw new Error(`project: ${project.status} ${project.text}`);
    const ids: string[] = [];
    for (let i = 0; i < SCHEDULES; i++) {
      const res = await client.post("/api/schedules", {
        projectId: project.body.id,
        name: `bench ${i}`,
        cron: `*/${EVERY} * * * * *`,
        timezone: "UTC",
        backupType: "data",
        compressionType: "none",
      });
      if (res.status !== 201) throw new Error(`schedule: ${res.status} ${res.text}`);
      ids.push(res.body.id);
    }
    // The window starts at the first 10 s boundary at least 10 s after the last schedule was created.
    const from = Math.ceil((Date.now() + 10_000) / (EVERY * 1000)) * EVERY * 1000;
    const to = from + SECONDS * 1000;
    const rss = sampleRss(servers.map((s) => s.process.pid!));
    console.error(`==> ${setup}: window ${new Date(from).toISOString()} … ${new Date(to).toISOString()}`);
    await new Promise((r) => setTimeout(r, to - Date.now()));
    const loadAtEnd = uptime();
    // Stop the schedules, then wait for the queue to drain and the window's runs to end (bounded; what
    // is left is reported as queued or still running, not as missed).
    for (const id of ids) await client.patch(`/api/schedules/${id}`, { enabled: false });
    const store = await openMetadataStore(metadataUrl);
    /** pg-boss jobs of scheduled runs not finished yet (created, retry, active), by singletonKey. */
    const unfinishedJobs = async () =>
      setup === "pg"
        ? (
            await adminQuery<{ key: string; state: string }>(
              `select singleton_key as key, state::text as state from pgboss.job
               where name = '${JOB_QUEUE}' and data->>'kind' = 'scheduled-run' and state < 'completed'`,
              META,
            )
          ).map((r) => r.key)
        : [];
    const drainStarted = Date.now();
    let runs = await store.scheduler.runs.between(new Date(from), new Date(to - 1));
    let unfinished = await unfinishedJobs();
    while (
      (unfinished.length > 0 || runs.some((r) => r.status === "running")) &&
      Date.now() - drainStarted < DRAIN_SECONDS * 1000
    ) {
      await new Promise((r) => setTimeout(r, 1000));
      runs = await store.scheduler.runs.between(new Date(from), new Date(to - 1));
      unfinished = await unfinishedJobs();
    }
    const drainMs = Date.now() - drainStarted;
    const memory = await rss.stop();
    const byKey = new Map<string, number>();
    for (const r of runs)
      byKey.set(`${r.scheduleId}@${r.dueAt.getTime()}`, (byKey.get(`${r.scheduleId}@${r.dueAt.getTime()}`) ?? 0) + 1);
    const dueTimes: number[] = [];
    for (let t = from; t < to; t += EVERY * 1000) dueTimes.push(t);
    // No run row: still waiting in the queue (its job is created/active) or missed (no job either).
    const queuedKeys = new Set(unfinished);
    let missing = 0;
    let queued = 0;
    for (const id of ids) {
      for (const t of dueTimes) {
        if (byKey.has(`${id}@${t}`)) continue;
        if (queuedKeys.has(`${id}:${new Date(t).toISOString()}`)) queued++;
        else missing++;
      }
    }
    const doubledRuns = [...byKey.values()].filter((n) => n > 1).length;
    // Backup rows per run: a run that started two backups would be a doubled run too.
    const backupIds = runs.map((r) => r.backupId).filter((b): b is string => !!b);
    const doubledBackups = backupIds.length - new Set(backupIds).size;
    const status = (s: string) => runs.filter((r) => r.status === s).length;
    const started = runs.filter((r) => r.status !== "skipped");
    const delays = (rs: typeof runs) => rs.map((r) => r.delayMs).filter((d): d is number => d !== null);
    // Due time → the backup's own start (a free slot): with SQLite a run is recorded at once and its
    // backup may wait in the job runner's queue; with pg-boss a worker takes the run only with a free slot.
    const backupStarts: number[] = [];
    for (const r of started) {
      const backup = r.backupId ? await store.backups.byId(r.backupId) : undefined;
      if (backup?.startedAt) backupStarts.push(backup.startedAt.getTime() - r.dueAt.getTime());
    }
    // The scheduler's own lateness, without the wait for a free slot: due time → its job in pg-boss
    // (live and archived jobs); a skipped run is decided and written in the pass itself.
    const enqueued =
      setup === "pg"
        ? (
            await adminQuery<{ ms: string }>(
              `select (extract(epoch from created_on) * 1000 - extract(epoch from (data->>'dueAt')::timestamptz) * 1000)::text as ms
               from (select data, created_on from pgboss.job where name = '${JOB_QUEUE}'
                     union all select data, created_on from pgboss.archive where name = '${JOB_QUEUE}') j
               where data->>'kind' = 'scheduled-run' and data->>'reason' <> 'manual'
                 and (data->>'dueAt')::timestamptz >= '${new Date(from).toISOString()}'
                 and (data->>'dueAt')::timestamptz < '${new Date(to).toISOString()}'`,
              META,
            )
          ).map((r) => Number(r.ms))
        : [];
    const result = {
      setup,
      servers: count,
      concurrencyPerServer: Number(CONCURRENCY),
      schedules: SCHEDULES,
      window: { from: new Date(from).toISOString(), to: new Date(to).toISOString() },
      expected: ids.length * dueTimes.length,
      recorded: runs.length,
      completed: status("completed"),
      skipped: status("skipped"),
      failed: status("failed"),
      stillRunning: status("running"),
      queued,
      missing,
      drainSeconds: Math.round(drainMs / 100) / 10,
      drainComplete: unfinished.length === 0 && status("running") === 0,
      doubledRuns,
      doubledBackups,
      delayMs: {
        allP50: pct(delays(runs), 50),
        allP99: pct(delays(runs), 99),
        startedP50: pct(delays(started), 50),
        startedP99: pct(delays(started), 99),
        backupStartP50: pct(backupStarts, 50),
        backupStartP99: pct(backupStarts, 99),
        skippedP50: pct(delays(runs.filter((r) => r.status === "skipped")), 50),
        skippedP99: pct(delays(runs.filter((r) => r.status === "skipped")), 99),
        enqueuedP50: setup === "pg" ? pct(enqueued, 50) : null,
        enqueuedP99: setup === "pg" ? pct(enqueued, 99) : null,
      },
      failures: [...new Set(runs.filter((r) => r.status === "failed").map((r) => r.error))].slice(0, 5),
      rss: memory,
      loadBefore,
      loadAtEnd,
      loadAfter: uptime(),
      loadavg: loadavg(),
    };
    await store.close();
    console.log(JSON.stringify(result, null, 2));
    await writeFile(new URL(`./last-run-${setup}.json`, import.meta.url), `${JSON.stringify(result, null, 2)}\n`);
    return result;
  } finally {
    for (const s of servers) await s.stop().catch(() => s.kill());
    for (const d of dirs) await rm(d, { recursive: true, force: true });
    if (setup === "pg") await dropDatabase(META).catch(() => {});
  }
}

await dropDatabase(SOURCE);
await createDatabase(SOURCE);
await psql(`postgresql://postgres@127.0.0.1:5432/${SOURCE}`, {
  sql: "create table items (id int primary key, name text); insert into items select g, 'item ' || g from generate_series(1, 100) g;",
});
try {
  for (const setup of SETUPS) await runSetup(setup);
} finally {
  await dropDatabase(SOURCE);
}

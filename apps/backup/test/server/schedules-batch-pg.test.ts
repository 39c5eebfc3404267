/**
 * One scheduler pass with many due schedules on two servers sharing a PostgreSQL metadata database
 * (issue 12, the several-servers benchmark missed 1013 of 1200 runs with a pass of several round
 * trips per schedule). Two schedulers, each with its own metadata connection pool and pg-boss queue
 * (as two `stowage serve` processes), run their passes at the same moment over 200 due schedules:
 * - every (schedule, due time) gets exactly one pg-boss job, or exactly one `skipped` run row when the
 *   schedule's previous run still waits in the queue; none is missed, none doubled (rows counted);
 * - each pass makes the same small number of queries whatever the number of schedules (counted by
 *   wrapping `pg.Pool.prototype.query` inside the pass's async context).
 * The queues have no workers here, so the jobs stay queued until the test marks them completed: the
 * pass is what is tested, not the backups (schedules-pg.test.ts runs real ones on two servers).
 */
import { AsyncLocalStorage } from "node:async_hooks";
import pg from "pg";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

vi.setConfig({ testTimeout: 120_000, hookTimeout: 120_000 });

import { adminQuery, createDatabase, dropDatabase, uniqueName } from "../../../../packages/backup-core/test/helpers/pg.ts";
import { openMetadataStore } from "../../src/server/db/open.ts";
import type { MetadataStore } from "../../src/server/db/store.ts";
import { JOB_QUEUE, PgBossQueue } from "../../src/server/jobs/queue.ts";
import { JobRunner } from "../../src/server/jobs/runner.ts";
import { ManualClock } from "../../src/server/schedules/clock.ts";
import { Scheduler, type SchedulerDeps } from "../../src/server/schedules/scheduler.ts";

const SCHEDULES = 200;
const metadata = uniqueName("sch_batch");
const url = `postgres://postgres@127.0.0.1:5432/${metadata}`;
const log = pino({ level: "error" });

/** Queries sent through any pg pool, counted per pass (the async context says which pass sent it). */
const pass = new AsyncLocalStorage<{ queries: number }>();
const originalQuery = pg.Pool.prototype.query;

interface Server {
  store: MetadataStore;
  queue: PgBossQueue;
  clock: ManualClock;
  scheduler: Scheduler;
}
const servers: Server[] = [];
const ids: string[] = [];

/** A pass's services that a pass never reaches (backups start on the server that takes the job). */
const unused = new Proxy(
  {},
  {
    get(_t, name) {
      throw new Error(`a scheduler pass used ${String(name)}`);
    },
  },
) as never;

async function startServer(name: string): Promise<Server> {
  const store = await openMetadataStore(url);
  const queue = new PgBossQueue({ url, concurrency: 1, log });
  await queue.start();
  const clock = new ManualClock("2026-08-01T00:00:00Z");
  const deps: SchedulerDeps = {
    store,
    log,
    queue,
    jobs: new JobRunner(1, log),
    instanceId: name,
    backups: unused,
    destinations: unused,
    audit: unused,
    schedules: unused,
    alerts: unused,
    notifications: unused,
  };
  return { store, queue, clock, scheduler: new Scheduler(deps, { clock }) };
}

/** Both servers' passes at `at` (B half a second later, as two processes whose timers differ). */
async function passes(at: string): Promise<Array<{ sent: number; skipped: number; queries: number }>> {
  return Promise.all(
    servers.map(async (s, i) => {
      s.clock.advance(new Date(new Date(at).getTime() + i * 500));
      const counter = { queries: 0 };
      const result = await pass.run(counter, () => s.scheduler.tick());
      return { ...result, queries: counter.queries };
    }),
  );
}

/** What workers would do with the queued jobs (the pass is tested here, not the backups). */
async function completeQueuedJobs(): Promise<void> {
  await adminQuery(
    `update pgboss.job set state = 'completed', completed_on = now() where name = '${JOB_QUEUE}' and state < 'completed'`,
    metadata,
  );
}

async function jobKeys(dueAt: string): Promise<Map<string, number>> {
  const rows = await adminQuery<{ key: string; n: string }>(
    `select singleton_key as key, count(*)::text as n from pgboss.job
     where name = '${JOB_QUEUE}' and data->>'kind' = 'scheduled-run' and data->>'dueAt' = '${dueAt}' group by 1`,
    metadata,
  );
  return new Map(rows.map((r) => [r.key, Number(r.n)]));
}

async function runRows(dueAt: string): Promise<Map<string, { n: number; status: string }>> {
  const rows = await adminQuery<{ schedule_id: string; n: string; status: string }>(
    `select schedule_id, count(*)::text as n, min(status) as status from schedule_runs where due_at = '${dueAt}' group by 1`,
    metadata,
  );
  return new Map(rows.map((r) => [r.schedule_id, { n: Number(r.n), status: r.status }]));
}

beforeAll(async () => {
  await createDatabase(metadata);
  pg.Pool.prototype.query = function (this: pg.Pool, ...args: unknown[]) {
    const counter = pass.getStore();
    if (counter) counter.queries++;
    return (originalQuery as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof originalQuery;
  servers.push(await startServer("server-a"), await startServer("server-b"));
  // 200 schedules due at 00:00:10, every 10 s (rows written directly: the pass reads them like any others).
  const rows = await adminQuery<{ id: string }>(
    `with p as (
       insert into projects (id, name, database_url, kind, include_migration_history, created_at, updated_at)
       values (gen_random_uuid()::text, 'many', 'not used', 'postgres', false, now(), now()) returning id
     )
     insert into schedules (id, name, project_id, cron, timezone, backup_type, compression, destination_ids,
                            enabled, enabled_at, next_run_at, created_at, updated_at)
     select gen_random_uuid()::text, 'every 10 s #' || g, p.id, '*/10 * * * * *', 'UTC', 'data', 'none', '[]',
            true, now(), '2026-08-01T00:00:10Z', now(), now()
     from p, generate_series(1, ${SCHEDULES}) g
     returning id`,
    metadata,
  );
  ids.push(...rows.map((r) => r.id));
});

afterAll(async () => {
  pg.Pool.prototype.query = originalQuery;
  for (const s of servers) {
    await s.queue.close().catch(() => {});
    await s.store.close().catch(() => {});
  }
  await dropDatabase(metadata);
});

describe(`a scheduler pass over ${SCHEDULES} due schedules on two servers`, () => {
  it("sends exactly one job per schedule and due time, in a bounded number of queries", async () => {
    const [a, b] = await passes("2026-08-01T00:00:10.200Z");
    // Every due time claimed by exactly one of the two (whichever locked the row first).
    expect(a!.sent + b!.sent).toBe(SCHEDULES);
    expect(a!.skipped + b!.skipped).toBe(0);
    const keys = await jobKeys("2026-08-01T00:00:10.000Z");
    expect(keys.size).toBe(SCHEDULES);
    for (const id of ids) expect(keys.get(`${id}:2026-08-01T00:00:10.000Z`), id).toBe(1);
    expect((await runRows("2026-08-01T00:00:10.000Z")).size).toBe(0);
    const next = await adminQuery<{ at: string; n: string }>(
      "select next_run_at::text as at, count(*)::text as n from schedules group by 1",
      metadata,
    );
    expect(next).toEqual([{ at: "2026-08-01 00:00:20+00", n: String(SCHEDULES) }]);
    // due, claim, pending check, insert: no query per schedule (the old loop made 3 per schedule).
    for (const p of [a!, b!]) expect(p.queries, JSON.stringify(p)).toBeLessThanOrEqual(5);
  });

  it("records one skipped run per schedule whose previous run still waits in the queue, and sends none", async () => {
    const [a, b] = await passes("2026-08-01T00:00:20.200Z");
    expect(a!.skipped + b!.skipped).toBe(SCHEDULES);
    expect(a!.sent + b!.sent).toBe(0);
    const runs = await runRows("2026-08-01T00:00:20.000Z");
    expect(runs.size).toBe(SCHEDULES);
    for (const id of ids) expect(runs.get(id), id).toEqual({ n: 1, status: "skipped" });
    expect((await jobKeys("2026-08-01T00:00:20.000Z")).size).toBe(0);
    for (const p of [a!, b!]) expect(p.queries, JSON.stringify(p)).toBeLessThanOrEqual(5);
  });

  it("sends again once the queue is drained, and a second pass at the same time finds nothing due", async () => {
    await completeQueuedJobs();
    const [a, b] = await passes("2026-08-01T00:00:30.200Z");
    expect(a!.sent + b!.sent).toBe(SCHEDULES);
    const keys = await jobKeys("2026-08-01T00:00:30.000Z");
    expect(keys.size).toBe(SCHEDULES);
    expect([...keys.values()].every((n) => n === 1)).toBe(true);
    expect((await runRows("2026-08-01T00:00:30.000Z")).size).toBe(0);
    // Same instant again: nothing due any more, one query (the due list).
    const again = await passes("2026-08-01T00:00:30.900Z");
    expect(again.map((p) => p.sent + p.skipped)).toEqual([0, 0]);
    for (const p of again) expect(p.queries).toBe(1);
    // Over the three due times: 600 (schedule, due time) pairs, each exactly one job or one run row.
    const jobs = await adminQuery<{ n: string }>(
      `select count(*)::text as n from pgboss.job where name = '${JOB_QUEUE}' and data->>'kind' = 'scheduled-run'`,
      metadata,
    );
    const skipped = await adminQuery<{ n: string }>("select count(*)::text as n from schedule_runs", metadata);
    expect(Number(jobs[0]!.n) + Number(skipped[0]!.n)).toBe(3 * SCHEDULES);
  });

  it("does not wait for rows another session holds: they stay due and the next pass takes them", async () => {
    await completeQueuedJobs();
    // Another session (a PATCH, another server's claim) holds 10 schedule rows.
    const held = ids.slice(0, 10);
    const other = new pg.Client({ connectionString: url });
    await other.connect();
    try {
      await other.query("begin");
      await other.query("select id from schedules where id = any($1) for update", [held]);
      const first = await passes("2026-08-01T00:00:40.200Z");
      expect(first.reduce((n, p) => n + p.sent, 0)).toBe(SCHEDULES - held.length);
      await other.query("commit");
    } finally {
      await other.end();
    }
    const second = await passes("2026-08-01T00:00:40.900Z");
    expect(second.reduce((n, p) => n + p.sent, 0)).toBe(held.length);
    const keys = await jobKeys("2026-08-01T00:00:40.000Z");
    expect(keys.size).toBe(SCHEDULES);
    expect([...keys.values()].every((n) => n === 1)).toBe(true);
  });
});

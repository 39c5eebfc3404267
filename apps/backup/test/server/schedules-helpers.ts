/**
 * @module test/server/schedules-helpers
 * Shared pieces of the scheduler tests: a test server with an injected `ManualClock` (time moves
 * only when the test says so), short retry delays, health checks off unless asked; a source database
 * per test file; helpers to move the clock and wait for the runs it started.
 */
import { adminQuery, createDatabase, dropDatabase, psql, uniqueName } from "../../../../packages/backup-core/test/helpers/pg.ts";
import type { ManualClock } from "../../src/server/schedules/clock.ts";
import type { SchedulingOptions } from "../../src/server/schedules/index.ts";
import { type Json, startTestServer, type TestServer, type TestServerOptions } from "./harness.ts";

export interface ClockedServer extends TestServer {
  readonly clock: ManualClock;
  /** Moves the clock and waits until every run it started (and its bookkeeping) is done. */
  advance(by: number | Date): Promise<void>;
  /** Waits until every started run and its notifications are done. */
  settle(): Promise<void>;
}

export async function startClockedServer(
  clock: ManualClock,
  options: TestServerOptions & { scheduling?: Omit<SchedulingOptions, "clock"> } = {},
): Promise<ClockedServer> {
  const { scheduling, ...rest } = options;
  const t = await startTestServer({
    ...rest,
    start: {
      ...rest.start,
      scheduling: {
        clock,
        healthChecks: false,
        ...scheduling,
        scheduler: { retry: { attempts: 3, baseDelayMs: 20, maxDelayMs: 50 }, ...scheduling?.scheduler },
        notifications: { retry: { maxRetries: 3, baseDelayMs: 20, maxDelayMs: 50 }, ...scheduling?.notifications },
      },
    },
  });
  const sch = t.server.scheduling.scheduler;
  await sch.cycled();
  return {
    ...t,
    clock,
    async advance(by) {
      // A cycle still in flight (one a schedule change woke) arms its timer only when it ends; moving
      // the clock before that would let the due time pass unseen and be caught up late.
      await sch.cycled();
      clock.advance(by);
      await sch.settle();
    },
    settle: () => sch.settle(),
  };
}

/** A small source database with a password-free URL (trust auth). */
export async function createSource(
  prefix: string,
  rows = 200,
): Promise<{ name: string; url: string; drop: () => Promise<void> }> {
  const name = uniqueName(prefix);
  await createDatabase(name);
  const url = `postgresql://postgres@127.0.0.1:5432/${name}`;
  await psql(url, {
    sql: `create table items (id int primary key, name text not null);
          insert into items select g, 'item ' || g from generate_series(1, ${rows}) g;`,
  });
  return { name, url, drop: () => dropDatabase(name) };
}

export async function addProject(t: TestServer, name: string, databaseUrl: string): Promise<string> {
  const res = await t.admin.post("/api/projects", { name, databaseUrl });
  if (res.status !== 201) throw new Error(`project: ${res.status} ${res.text}`);
  return res.body.id;
}

export async function addSchedule(t: TestServer, body: Record<string, unknown>): Promise<Json> {
  const res = await t.admin.post("/api/schedules", body);
  if (res.status !== 201) throw new Error(`schedule: ${res.status} ${res.text}`);
  return res.body;
}

export async function backupsOf(t: TestServer, projectId: string): Promise<Json[]> {
  const res = await t.admin.get(`/api/backups?projectId=${projectId}`);
  return res.body.items;
}

export async function runsOf(t: TestServer, scheduleId: string): Promise<Json[]> {
  const res = await t.admin.get(`/api/schedules/${scheduleId}/runs`);
  return res.body.items;
}

export { adminQuery };

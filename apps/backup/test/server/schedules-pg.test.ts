/**
 * PostgreSQL metadata (`DATABASE_URL=postgres://…`, a fresh database per test): the migrations and
 * data access work there, and two servers on one metadata database never run the same scheduled
 * run twice (the backup rows and pg-boss's jobs are counted), while both take part in the work; a
 * run-now and manual backups go through the same queue and are claimed by exactly one server.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

// Each case makes real backups (pg_dump, 4-20 s each on a machine busy with other suites).
vi.setConfig({ testTimeout: 300_000, hookTimeout: 120_000 });

import { adminQuery, createDatabase, dropDatabase, uniqueName } from "../../../../packages/backup-core/test/helpers/pg.ts";
import { JOB_QUEUE } from "../../src/server/jobs/queue.ts";
import { ManualClock } from "../../src/server/schedules/clock.ts";
import {
  addProject,
  addSchedule,
  backupsOf,
  type ClockedServer,
  createSource,
  runsOf,
  startClockedServer,
} from "./schedules-helpers.ts";

const metadata = uniqueName("sch_meta");
let source: Awaited<ReturnType<typeof createSource>>;
let a: ClockedServer;
let b: ClockedServer;

beforeAll(async () => {
  [source] = await Promise.all([createSource("sch_pg", 50), createDatabase(metadata)]);
  const env = {
    DATABASE_URL: `postgres://postgres@127.0.0.1:5432/${metadata}`,
    STOWAGE_SECRET_KEY: randomBytes(32).toString("base64"),
  };
  const start = new Date("2026-08-01T00:00:30Z");
  a = await startClockedServer(new ManualClock(start), { env });
  b = await startClockedServer(new ManualClock(start), { env });
});

afterAll(async () => {
  await a?.close();
  await b?.close();
  await Promise.all([source?.drop(), dropDatabase(metadata)]);
});

describe("PostgreSQL metadata", () => {
  it("serves the same API on PostgreSQL: both servers see one another's changes", async () => {
    expect(a.server.services.store.dialect).toBe("postgres");
    const health = await a.admin.anonymous().get("/api/health");
    expect(health.body.metadata).toBe("ok");
    const id = await addProject(a, "shared", source.url);
    expect((await b.admin.get(`/api/projects/${id}`)).body.name).toBe("shared");
  });

  it("two servers never run the same scheduled run twice", async () => {
    const projectId = (await a.admin.get("/api/projects")).body.items[0].id;
    const schedules = [];
    for (let i = 0; i < 2; i++) schedules.push(await addSchedule(i % 2 ? a : b, { projectId, cron: "* * * * *", name: `s${i}` }));
    // Three due times, both servers waking at each at once.
    for (const minute of [1, 2, 3]) {
      const due = new Date(`2026-08-01T00:0${minute}:00Z`);
      // Both loops idle with their timers armed before time moves (see ClockedServer.advance).
      await Promise.all([a.settle(), b.settle()]);
      a.clock.advance(due);
      b.clock.advance(due);
      await Promise.all([a.settle(), b.settle()]);
    }
    await Promise.all([a.settle(), b.settle()]);
    const owners = new Set<string>();
    for (const s of schedules) {
      const runs = await runsOf(a, s.id);
      expect(runs.map((r: { dueAt: string }) => r.dueAt).sort()).toEqual([
        "2026-08-01T00:01:00.000Z",
        "2026-08-01T00:02:00.000Z",
        "2026-08-01T00:03:00.000Z",
      ]);
      expect(runs.map((r: { status: string; error: string }) => `${r.status} ${r.error ?? ""}`.trim())).toEqual([
        "completed",
        "completed",
        "completed",
      ]);
    }
    const rows = (await backupsOf(a, projectId)).filter((r: { trigger: string }) => r.trigger === "schedule");
    expect(rows).toHaveLength(6);
    expect(new Set(rows.map((r: { id: string }) => r.id)).size).toBe(6);
    for (const s of schedules) expect(rows.filter((r: { scheduleId: string }) => r.scheduleId === s.id)).toHaveLength(3);
    // Every run was claimed by one of the two servers (whichever got there first).
    const store = a.server.services.store;
    for (const run of await store.scheduler.runs.between(new Date(0), new Date("2027-01-01"))) owners.add(run.owner ?? "");
    const servers = new Set([a.server.scheduling.scheduler.owner, b.server.scheduling.scheduler.owner]);
    expect([...owners].every((o) => servers.has(o))).toBe(true);
    // The runs went through pg-boss: one job per due time, singletonKey scheduleId:dueAt, each completed once.
    const jobs = await queueJobs("scheduled-run");
    const keys = schedules.flatMap((s) => ["01", "02", "03"].map((m) => `${s.id}:2026-08-01T00:${m}:00.000Z`));
    expect(jobs.map((j) => j.singleton_key).sort()).toEqual(keys.sort());
    expect(jobs.map((j) => j.state)).toEqual(keys.map(() => "completed"));
    // The same due time sent again (as a server that lost the race would) is dropped by the queue.
    const again = { scheduleId: schedules[0].id, dueAt: "2026-08-01T00:01:00.000Z", reason: "cron" } as const;
    expect(await b.server.services.queue.sendScheduledRun(again)).toBe(false);
    await Promise.all([a.settle(), b.settle()]);
    expect(await runsOf(a, schedules[0].id)).toHaveLength(3);
  }, 240_000);

  it("run-now goes through pg-boss: a server with a free slot takes it, and the answer's id is the run's", async () => {
    const projectId = (await a.admin.get("/api/projects")).body.items[0].id;
    // Never due during the test: only the run-now runs.
    const s = await addSchedule(a, { projectId, cron: "0 0 1 1 *", name: "yearly" });
    const res = await a.admin.post(`/api/schedules/${s.id}/run`);
    expect(res.status, res.text).toBe(202);
    expect(res.body).toMatchObject({ scheduleId: s.id, reason: "manual", status: "running", backupId: null });
    // While it waits in the queue or runs (a real backup takes seconds), another run-now is refused on either server.
    expect((await b.admin.post(`/api/schedules/${s.id}/run`)).status).toBe(409);
    await Promise.all([a.settle(), b.settle()]);
    const runs = await runsOf(a, s.id);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ id: res.body.id, dueAt: res.body.dueAt, reason: "manual", status: "completed" });
    const servers = new Set([a.server.scheduling.scheduler.owner, b.server.scheduling.scheduler.owner]);
    expect(servers.has((await a.server.services.store.scheduler.runs.byId(res.body.id))?.owner ?? "")).toBe(true);
    const backups = (await backupsOf(a, projectId)).filter((r: { scheduleId: string }) => r.scheduleId === s.id);
    expect(backups.map((r: { trigger: string; status: string }) => `${r.trigger} ${r.status}`)).toEqual(["schedule completed"]);
    const jobs = (await queueJobs("scheduled-run")).filter((j) => j.singleton_key.startsWith(`${s.id}:`));
    expect(jobs).toEqual([{ id: expect.any(String), singleton_key: `${s.id}:${res.body.dueAt}`, state: "completed" }]);
    await a.admin.delete(`/api/schedules/${s.id}`);
  });

  it("manual backups go through pg-boss: each is claimed and run by exactly one of the servers", async () => {
    const projectId = (await a.admin.get("/api/projects")).body.items[0].id;
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await (i % 2 ? a : b).admin.post(`/api/projects/${projectId}/backups`, {
        backupType: "schema",
        storageType: "destination",
        compressionType: "none",
      });
      expect(res.status).toBe(202);
      ids.push(res.body.backupId);
    }
    await Promise.all([a.settle(), b.settle()]);
    const servers = new Set([a.server.services.instanceId, b.server.services.instanceId]);
    for (const id of ids) {
      const row = await a.server.services.store.backups.byId(id);
      expect(row?.status, row?.error ?? "").toBe("completed");
      expect(servers.has(row?.owner ?? "")).toBe(true);
    }
    const jobs = (await queueJobs("backup")).filter((j) => ids.includes(j.id));
    expect(jobs.map((j) => j.state)).toEqual(ids.map(() => "completed"));
  });
});

/** pg-boss's jobs of one kind in the metadata database (live and archived). */
async function queueJobs(kind: string): Promise<Array<{ id: string; singleton_key: string; state: string }>> {
  const columns = "id::text as id, singleton_key, state::text as state";
  const where = `name = '${JOB_QUEUE}' and data->>'kind' = '${kind}'`;
  return adminQuery(
    `select ${columns} from pgboss.job where ${where} union all select ${columns} from pgboss.archive where ${where}`,
    metadata,
  );
}

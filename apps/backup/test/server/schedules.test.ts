/**
 * Schedules through the API against real servers (SQLite metadata, the local PostgreSQL as source,
 * the default local destination), with an injected clock: validation (422 naming a bad cron or
 * zone), the next 5 runs, a run at its due time in its zone, an overlapping run skipped and
 * recorded, a run missed while the server was down caught up exactly once after a restart, and
 * retention across two projects in one destination (manual backups kept).
 */
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

// Each case makes real backups (pg_dump, 4-20 s each on a machine busy with other suites).
vi.setConfig({ testTimeout: 300_000, hookTimeout: 120_000 });

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

const T0 = new Date("2026-03-02T00:00:01Z");
let t: ClockedServer;
let source: Awaited<ReturnType<typeof createSource>>;
let other: Awaited<ReturnType<typeof createSource>>;
let projectId: string;
let otherId: string;

beforeAll(async () => {
  source = await createSource("sch_a");
  other = await createSource("sch_b");
  t = await startClockedServer(new ManualClock(T0));
  projectId = await addProject(t, "alpha", source.url);
  otherId = await addProject(t, "beta", other.url);
});

afterAll(async () => {
  await t?.close();
  await source?.drop();
  await other?.drop();
});

describe("schedules API", () => {
  it("refuses an invalid cron or time zone with 422 naming it", async () => {
    const badCron = await t.admin.post("/api/schedules", { projectId, cron: "61 * * * *", timezone: "UTC" });
    expect(badCron.status).toBe(422);
    expect(badCron.body.error.field).toBe("cron");
    expect(badCron.body.error.message).toMatch(/61 \* \* \* \*/);
    const fields = await t.admin.post("/api/schedules", { projectId, cron: "0 3 * *" });
    expect(fields.status).toBe(422);
    expect(fields.body.error.field).toBe("cron");
    const badZone = await t.admin.post("/api/schedules", { projectId, cron: "0 3 * * *", timezone: "Mars/Olympus" });
    expect(badZone.status).toBe(422);
    expect(badZone.body.error.field).toBe("timezone");
    expect(badZone.body.error.message).toMatch(/Mars\/Olympus/);
    const keepsNothing = await t.admin.post("/api/schedules", { projectId, cron: "0 3 * * *", retention: { keepLast: 0 } });
    expect(keepsNothing.status).toBe(422);
    expect(keepsNothing.body.error.field).toBe("retention");
    const ownDb = await t.admin.post("/api/schedules", {
      projectId,
      cron: "0 3 * * *",
      drill: { scratchDatabaseUrl: source.url, every: 1 },
    });
    expect(ownDb.status).toBe(422);
    expect(ownDb.body.error.field).toBe("drill.scratchDatabaseUrl");
    const noProject = await t.admin.post("/api/schedules", { projectId: "nope", cron: "0 3 * * *" });
    expect(noProject.status).toBe(422);
    expect(noProject.body.error.field).toBe("projectId");
    const patch = await t.admin.post("/api/schedules", { projectId, cron: "0 3 * * *" });
    const badPatch = await t.admin.patch(`/api/schedules/${patch.body.id}`, { timezone: "Nowhere/City" });
    expect(badPatch.status).toBe(422);
    expect(badPatch.body.error.field).toBe("timezone");
    expect((await t.admin.delete(`/api/schedules/${patch.body.id}`)).status).toBe(200);
    expect((await t.admin.get(`/api/schedules/${patch.body.id}`)).status).toBe(404);
  });

  it("answers the next 5 runs in the schedule's zone, and runs at the due time with trigger schedule", async () => {
    // 03:00 in Berlin is 02:00 UTC in March (before the DST switch).
    const s = await addSchedule(t, { projectId, cron: "0 3 * * *", timezone: "Europe/Berlin", name: "nightly" });
    expect(s.nextRunAt).toBe("2026-03-02T02:00:00.000Z");
    expect(s.nextRuns).toEqual([
      "2026-03-02T02:00:00.000Z",
      "2026-03-03T02:00:00.000Z",
      "2026-03-04T02:00:00.000Z",
      "2026-03-05T02:00:00.000Z",
      "2026-03-06T02:00:00.000Z",
    ]);
    expect(s.lastRunAt).toBeNull();
    expect(s.lastStatus).toBeNull();
    await t.advance(new Date("2026-03-02T01:59:59Z"));
    expect(await runsOf(t, s.id)).toHaveLength(0);
    await t.advance(new Date("2026-03-02T02:00:00Z"));
    const runs = await runsOf(t, s.id);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ status: "completed", reason: "cron", dueAt: "2026-03-02T02:00:00.000Z", attempts: 1 });
    const backups = (await backupsOf(t, projectId)).filter((b: { scheduleId: string }) => b.scheduleId === s.id);
    expect(backups).toHaveLength(1);
    expect(backups[0]).toMatchObject({ trigger: "schedule", status: "completed" });
    const after = (await t.admin.get(`/api/schedules/${s.id}`)).body;
    expect(after).toMatchObject({
      lastStatus: "completed",
      lastRunAt: "2026-03-02T02:00:00.000Z",
      nextRunAt: "2026-03-03T02:00:00.000Z",
    });
    expect(after.lastBackupId).toBe(backups[0].id);
    await t.admin.patch(`/api/schedules/${s.id}`, { enabled: false });
    const off = (await t.admin.get(`/api/schedules/${s.id}`)).body;
    expect(off).toMatchObject({ enabled: false, nextRunAt: null, nextRuns: [] });
  });

  it("skips and records a run that is due while the previous one is still going", async () => {
    const s = await addSchedule(t, { projectId: otherId, cron: "*/10 * * * * *", timezone: "UTC" });
    // Hold a lock that pg_dump waits for: the first run cannot finish until the test lets it.
    const blocker = new pg.Client({ connectionString: other.url });
    await blocker.connect();
    try {
      await blocker.query("begin; lock table items in access exclusive mode");
      const due = new Date(s.nextRunAt);
      t.clock.advance(due);
      await t.server.scheduling.scheduler.cycled();
      t.clock.advance(new Date(due.getTime() + 10_000));
      await t.server.scheduling.scheduler.cycled();
      const during = await runsOf(t, s.id);
      expect(during.map((r: { status: string }) => r.status).sort()).toEqual(["running", "skipped"]);
      expect(during.find((r: { status: string }) => r.status === "skipped").error).toMatch(/still going/);
      expect((await t.admin.post(`/api/schedules/${s.id}/run`)).status).toBe(409);
    } finally {
      await blocker.query("commit");
      await blocker.end();
    }
    await t.settle();
    const runs = await runsOf(t, s.id);
    expect(runs.map((r: { status: string }) => r.status).sort()).toEqual(["completed", "skipped"]);
    const backups = (await backupsOf(t, otherId)).filter((b: { scheduleId: string }) => b.scheduleId === s.id);
    expect(backups).toHaveLength(1);
    await t.admin.delete(`/api/schedules/${s.id}`);
  });

  it("applies retention per project in one destination, keeping manual backups", async () => {
    const a = await addSchedule(t, { projectId, cron: "0 0 1 1 *", retention: { keepLast: 2 } });
    const b = await addSchedule(t, { projectId: otherId, cron: "0 0 1 1 *", retention: { keepLast: 1 } });
    const manual = await t.admin.post(`/api/projects/${projectId}/backups`, {
      backupType: "full",
      storageType: "destination",
      compressionType: "gzip",
      includeMigrationHistory: false,
    });
    expect(manual.status).toBe(202);
    await t.settle();
    const runNow = async (id: string) => {
      const res = await t.admin.post(`/api/schedules/${id}/run`);
      expect(res.status, res.text).toBe(202);
      expect(res.body.reason).toBe("manual");
      await t.settle();
    };
    for (let i = 0; i < 3; i++) await runNow(a.id);
    for (let i = 0; i < 2; i++) await runNow(b.id);
    // Backups still on the destination: folders that hold a manifest (a prune may leave an empty folder behind).
    const folder = async (name: string) => {
      const out: string[] = [];
      for (const entry of await readdir(join(t.localStoragePath, name))) {
        const files = await readdir(join(t.localStoragePath, name, entry)).catch((): string[] => []);
        if (files.includes("manifest.json")) out.push(entry);
      }
      return out;
    };
    const alphaFolders = await folder("alpha");
    const betaFolders = await folder("beta");
    const alphaRows = await backupsOf(t, projectId);
    const scheduledAlpha = alphaRows.filter((r: { scheduleId: string }) => r.scheduleId === a.id);
    expect(scheduledAlpha).toHaveLength(2);
    // Two scheduled + the manual one (+ the nightly run of the earlier test): the manual is never pruned.
    expect(alphaRows.some((r: { id: string }) => r.id === manual.body.backupId)).toBe(true);
    const kept = new Set(alphaRows.map((r: { storageFilePath: string }) => r.storageFilePath.split("/")[1]));
    expect(new Set(alphaFolders)).toEqual(kept);
    // beta keeps its own last 1 (alpha's prune never touched beta's folder, nor beta's alpha's).
    const betaRows = (await backupsOf(t, otherId)).filter((r: { scheduleId: string }) => r.scheduleId === b.id);
    expect(betaRows).toHaveLength(1);
    expect(betaFolders).toContain(betaRows[0].storageFilePath.split("/")[1]);
  });
});

describe("restart", () => {
  it("catches up a run missed while the server was down exactly once", async () => {
    const clock = new ManualClock("2026-05-01T10:00:30Z");
    const first = await startClockedServer(clock);
    const id = await addProject(first, "gamma", source.url);
    const s = await addSchedule(first, { projectId: id, cron: "* * * * *" });
    expect(s.nextRunAt).toBe("2026-05-01T10:01:00.000Z");
    await first.close({ keepData: true });
    // Down for ten ticks.
    const later = new ManualClock("2026-05-01T10:10:30Z");
    const second = await startClockedServer(later, { dataDir: first.dataDir });
    try {
      await second.settle();
      const runs = await runsOf(second, s.id);
      expect(runs).toHaveLength(1);
      expect(runs[0]).toMatchObject({ reason: "catch_up", status: "completed", dueAt: "2026-05-01T10:01:00.000Z" });
      const schedule = (await second.admin.get(`/api/schedules/${s.id}`)).body;
      expect(schedule.nextRunAt).toBe("2026-05-01T10:11:00.000Z");
      await second.advance(new Date("2026-05-01T10:10:59Z"));
      expect(await runsOf(second, s.id)).toHaveLength(1);
      await second.advance(new Date("2026-05-01T10:11:00Z"));
      const after = await runsOf(second, s.id);
      expect(after).toHaveLength(2);
      expect(after[0]).toMatchObject({ reason: "cron", dueAt: "2026-05-01T10:11:00.000Z" });
      expect((await backupsOf(second, id)).filter((b: { trigger: string }) => b.trigger === "schedule")).toHaveLength(2);
    } finally {
      await second.close();
    }
  });
});

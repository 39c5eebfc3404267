/**
 * Restore drills: a schedule with `drill: { scratchDatabaseUrl, every: N }` restores every Nth
 * completed backup into the scratch database (the engine's verify with a restore test: checksums,
 * then row counts against the manifest) and records verified_at and the verdict on the backup row.
 * A drill of a damaged backup fails, raises a critical alert and sends a failure notice.
 */
import { open, readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

// Each case makes real backups (pg_dump, 4-20 s each on a machine busy with other suites).
vi.setConfig({ testTimeout: 300_000, hookTimeout: 120_000 });

import { createDatabase, dropDatabase, uniqueName } from "../../../../packages/backup-core/test/helpers/pg.ts";
import type { BackupRecord } from "../../src/server/db/store.ts";
import { ManualClock } from "../../src/server/schedules/clock.ts";
import { signatureValid, startWebhookReceiver, type WebhookReceiver } from "./receivers.ts";
import { addProject, addSchedule, type ClockedServer, createSource, runsOf, startClockedServer } from "./schedules-helpers.ts";

let t: ClockedServer;
let hook: WebhookReceiver;
let source: Awaited<ReturnType<typeof createSource>>;
const scratch = uniqueName("sch_scratch");
let damageNext = false;

/** Overwrites bytes in the middle of the largest part of the backup (on the default local destination). */
async function damage(backup: BackupRecord): Promise<void> {
  const folder = join(t.localStoragePath, ...backup.storageFilePath!.split("/"));
  let largest = { file: "", size: -1 };
  for (const name of await readdir(folder)) {
    if (name === "manifest.json") continue;
    const { size } = await stat(join(folder, name));
    if (size > largest.size) largest = { file: join(folder, name), size };
  }
  const handle = await open(largest.file, "r+");
  try {
    await handle.write(Buffer.alloc(16, 0x5a), 0, 16, Math.floor(largest.size / 2));
  } finally {
    await handle.close();
  }
}

beforeAll(async () => {
  [hook, source] = await Promise.all([startWebhookReceiver(), createSource("sch_drill", 500), createDatabase(scratch)]);
  t = await startClockedServer(new ManualClock("2026-07-01T00:00:00Z"), {
    scheduling: {
      scheduler: {
        beforeDrill: async (backup) => {
          if (damageNext) await damage(backup);
        },
      },
    },
  });
});

afterAll(async () => {
  await t?.close();
  await Promise.all([hook?.close(), source?.drop(), dropDatabase(scratch)]);
});

describe("restore drills", () => {
  it("restores every Nth backup into the scratch database and records the verdict; a damaged one fails and alerts", async () => {
    const projectId = await addProject(t, "zeta", source.url);
    const scratchUrl = `postgresql://postgres:drill-secret@127.0.0.1:5432/${scratch}`;
    const s = await addSchedule(t, { projectId, cron: "0 2 * * *", drill: { scratchDatabaseUrl: scratchUrl, every: 2 } });
    expect(s.drill).toEqual({
      every: 2,
      scratchDatabaseUrl: `postgresql://postgres:***@127.0.0.1:5432/${scratch}`,
      hasPassword: true,
    });
    const channel = await t.admin.post("/api/notifications", {
      type: "webhook",
      name: "drills",
      url: hook.url,
      events: ["failure"],
    });
    const run = async () => {
      expect((await t.admin.post(`/api/schedules/${s.id}/run`)).status).toBe(202);
      await t.settle();
      const [latest] = await runsOf(t, s.id);
      expect(latest.status, latest.error).toBe("completed");
      return (await t.admin.get(`/api/backups/${latest.backupId}`)).body;
    };
    const first = await run();
    expect(first.verifiedAt).toBeNull();
    const second = await run();
    expect(second, second.verifyError).toMatchObject({ verifyStatus: "ok", verifyError: null });
    expect(second.verifiedAt).toBe("2026-07-01T00:00:00.000Z");

    // Every backup from now on, and this one is damaged before its drill.
    const patched = await t.admin.patch(`/api/schedules/${s.id}`, {
      drill: { scratchDatabaseUrl: s.drill.scratchDatabaseUrl, every: 1 },
    });
    expect(patched.status, patched.text).toBe(200);
    damageNext = true;
    const third = await run();
    expect(third.verifyStatus).toBe("failed");
    expect(third.verifyError).toMatch(/corrupted.*does not match the manifest/);
    expect(third.verifyError).not.toContain("drill-secret");
    const alert = (await t.admin.get("/api/alerts")).body.items.find((a: { kind: string }) => a.kind === "drill_failed");
    expect(alert).toMatchObject({ severity: "critical", subjectId: s.id, details: { backupId: third.id } });
    const failure = hook.deliveries.find((d) => d.json.event === "failure");
    expect(failure).toBeDefined();
    expect(signatureValid(failure!, channel.body.secretValue)).toBe(true);
    expect(failure!.json.message).toMatch(/restore drill/);
    expect(JSON.stringify(hook.deliveries.map((d) => d.json))).not.toContain("drill-secret");
    expect(t.logs.lines.join("\n")).not.toContain("drill-secret");
  });
});

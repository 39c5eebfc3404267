/**
 * The backup server and point-in-time archives: `stowage stream`'s engine archives a workload on the
 * wal_level=logical server into the server's default local destination; GET /api/point-in-time lists
 * the archive's restorable window (the engine's `restorableWindows()`, as `stowage list`), and
 * POST /api/point-in-time/restore restores it to a moment as a job whose result equals the source
 * then. A time outside the window and an unknown name are refused before any job starts.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LocalMappedDestination } from "@stowage/storage";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { dropStream } from "../../../../packages/backup-core/src/pitr/control.ts";
import { isoToMicros } from "../../../../packages/backup-core/src/pitr/lsn.ts";
import { type LogicalServer, logicalServer } from "../../../../packages/backup-core/test/pitr/logical-server.ts";
import {
  archiveReaches,
  ScratchDatabases,
  sourceNow,
  streamInProcess,
} from "../../../../packages/backup-core/test/pitr/scratch.ts";
import { contentHashes } from "../../../../packages/backup-core/test/read-fixture.ts";
import { startTestServer, type TestServer } from "./harness.ts";

// A base backup, a stream and restores: minutes when every core is busy.
vi.setConfig({ testTimeout: 300_000, hookTimeout: 300_000 });

const NAME = "pitr_shop";
let pgServer: LogicalServer;
let scratch: ScratchDatabases;
let work: string;
let src: string;
let client: pg.Client;
let t: TestServer;
const moments: Array<{ time: string; hashes: Record<string, string> }> = [];

beforeAll(async () => {
  pgServer = await logicalServer();
  scratch = new ScratchDatabases(pgServer.url);
  work = await mkdtemp(join(tmpdir(), "stowage-server-pitr-"));
  src = await scratch.create("server_pitr_src");
  client = new pg.Client({ connectionString: src });
  await client.connect();
  await client.query(`create table item (id int generated always as identity primary key, label text, doc jsonb);
                      insert into item (label, doc) select 'seed ' || g, jsonb_build_object('g', g) from generate_series(1, 100) g`);
  t = await startTestServer();

  // The archive, in the server's default destination (a local folder), as `stowage stream` writes it.
  const destination = new LocalMappedDestination({ basePath: t.localStoragePath });
  const stream = streamInProcess({ databaseUrl: src, destinations: [destination], name: NAME, segmentSeconds: 0.3 });
  try {
    await stream.waitFor("streaming");
    await client.query("update item set label = label || ' (changed)' where id % 4 = 0");
    await client.query("delete from item where id % 10 = 0");
    moments.push({ time: await sourceNow(client), hashes: await contentHashes(src) });
    await client.query("insert into item (label) select 'late ' || g from generate_series(1, 30) g");
    moments.push({ time: await sourceNow(client), hashes: await contentHashes(src) });
    await archiveReaches(destination, NAME, moments[1]!.time);
  } finally {
    await stream.stop();
  }
});

afterAll(async () => {
  await client?.end().catch(() => {});
  if (src) await dropStream({ databaseUrl: src, name: NAME }).catch(() => {});
  await t?.close();
  await scratch?.dropAll();
  await pgServer?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe("point-in-time archives in the backup server", () => {
  it("GET /api/point-in-time lists the archive's restorable window from the destination", async () => {
    const res = await t.admin.get("/api/point-in-time");
    expect(res.status, res.text).toBe(200);
    expect(res.body.unreadable).toEqual([]);
    expect(res.body.items).toHaveLength(1);
    const [archive] = res.body.items;
    expect(archive).toMatchObject({ destinationName: "Default", name: NAME });
    expect(archive.windows).toHaveLength(1);
    const [w] = archive.windows;
    expect(w.baseId).toMatch(new RegExp(`^${NAME}/\\d{8}T\\d{6}Z-\\w+$`));
    expect(w.gap).toBe(false);
    expect(isoToMicros(w.from)).toBeLessThanOrEqual(isoToMicros(moments[0]!.time));
    expect(isoToMicros(w.to)).toBeGreaterThanOrEqual(isoToMicros(moments[1]!.time));
    // The OpenAPI document describes the routes (declared once, with their schemas).
    const doc = await t.admin.get("/api/openapi.json");
    expect(Object.keys(doc.body.paths)).toEqual(expect.arrayContaining(["/api/point-in-time", "/api/point-in-time/restore"]));
  });

  it("POST /api/point-in-time/restore restores to a moment as a job equal to the source then", async () => {
    const { body } = await t.admin.get("/api/point-in-time");
    const destinationId = body.items[0].destinationId;
    const target = await scratch.create("server_pitr_r1");
    const res = await t.admin.post("/api/point-in-time/restore", {
      destinationId,
      name: NAME,
      toTime: moments[0]!.time,
      targetDatabaseUrl: target,
    });
    expect(res.status, res.text).toBe(202);
    const events = await t.admin.events(`/api/restores/${res.body.restoreId}/events`);
    const done = events.find((e) => e.event === "done");
    expect(done?.data.status, JSON.stringify(events.slice(-3))).toBe("completed");
    expect(events.some((e) => e.event === "progress" && e.data.phase === "replaying changes")).toBe(true);
    const finished = events.find((e) => e.event === "status" && e.data.status === "completed");
    expect(finished?.data.reached.time <= moments[0]!.time).toBe(true);
    expect(finished?.data.transactions).toBeGreaterThan(0);
    expect(await contentHashes(target)).toEqual(moments[0]!.hashes);

    const row = await t.admin.get(`/api/restores/${res.body.restoreId}`);
    expect(row.body).toMatchObject({ source: "point_in_time", backupId: null, status: "completed" });
  });

  it("refuses a time outside the window (422, naming it) and an unknown archive (404) before any job", async () => {
    const { body } = await t.admin.get("/api/point-in-time");
    const destinationId = body.items[0].destinationId;
    const target = await scratch.create("server_pitr_refused");
    const early = await t.admin.post("/api/point-in-time/restore", {
      destinationId,
      name: NAME,
      toTime: "2001-01-01T00:00:00Z",
      targetDatabaseUrl: target,
    });
    expect(early.status).toBe(422);
    expect(early.body.error).toMatchObject({ code: "INVALID_INPUT", field: "toTime" });
    expect(early.body.error.message).toMatch(/earliest restorable moment is \d{4}-/);
    const unknown = await t.admin.post("/api/point-in-time/restore", {
      destinationId,
      name: "no_such_archive",
      toTime: "latest",
      targetDatabaseUrl: target,
    });
    expect(unknown.status).toBe(404);
    const restores = await t.admin.get("/api/restores");
    expect(restores.body.items).toHaveLength(1);
    expect(await contentHashes(target)).toEqual({});
  });
});

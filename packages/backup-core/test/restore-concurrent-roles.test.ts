/**
 * A restore whose roles.sql loses a race with another session's ALTER ROLE on the same role ("tuple
 * concurrently updated": PostgreSQL does not lock pg_authid rows across sessions the way it locks table
 * rows) rolls back whole and is run again, and then restores. Made deterministic: another session holds
 * an uncommitted ALTER ROLE until the restore's ALTER ROLE waits on it, then commits, which is exactly
 * when the server raises the error.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LocalMappedDestination } from "@stowage/storage";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BackupError } from "../src/errors.ts";
import { runRestore } from "../src/restore.ts";
import {
  dumpParts,
  PG_URL,
  query,
  rowCounts,
  SMALL_SOURCE_SQL,
  scratchDatabases,
  uniqueName,
  writeBackup,
} from "./read-fixture.ts";

let dir: string;
const role = uniqueName("stowage_race_role");

const { create: scratch, dropAll: dropScratchDatabases } = scratchDatabases("stowage_race");

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "stowage-race-"));
  await query(PG_URL, `create role "${role}" nologin connection limit 1`);
});

afterAll(async () => {
  await dropScratchDatabases();
  await query(PG_URL, `drop role if exists "${role}"`);
  await rm(dir, { recursive: true, force: true });
});

describe("restore and a concurrent ALTER ROLE", () => {
  it("runs the restore again after 'tuple concurrently updated' and restores", async () => {
    const destination = new LocalMappedDestination({ basePath: dir });
    const source = await scratch(SMALL_SOURCE_SQL);
    const tables = await rowCounts(source);
    const backup = await writeBackup(destination, {
      name: "race",
      time: new Date(),
      parts: [{ role: "roles", sql: `ALTER ROLE "${role}" CONNECTION LIMIT 7;\n` }, ...dumpParts(source)],
      tables,
    });
    const target = await scratch();

    const holder = new pg.Client({ connectionString: PG_URL });
    await holder.connect();
    try {
      await holder.query("begin");
      await holder.query(`alter role "${role}" connection limit 3`);
      const restore = runRestore({ source: { destination, folder: backup.id }, targetUrl: target }).then(
        (result) => ({ result }),
        (error: unknown) => ({ error }),
      );
      // The restore's ALTER ROLE is waiting for the holder's transaction.
      const deadline = Date.now() + 60_000;
      for (;;) {
        const [row] = await query<{ n: string }>(
          PG_URL,
          `select count(*) as n from pg_stat_activity where wait_event_type = 'Lock' and query like '%CONNECTION LIMIT 7%'`,
        );
        if (Number(row!.n) > 0) break;
        if (Date.now() > deadline) throw new Error("the restore never reached its ALTER ROLE");
        await new Promise((r) => setTimeout(r, 50));
      }
      await holder.query("commit");
      const outcome = await restore;
      expect("error" in outcome ? String(outcome.error) : "restored").toBe("restored");
    } finally {
      await holder.query("rollback").catch(() => {});
      await holder.end();
    }
    const [limit] = await query<{ rolconnlimit: number }>(PG_URL, `select rolconnlimit from pg_roles where rolname = '${role}'`);
    expect(limit!.rolconnlimit).toBe(7);
    expect(await rowCounts(target)).toEqual(tables);
  }, 180_000);
  it("a cancel reaches a restore that waits on a lock: it stops at once and the target stays empty", async () => {
    const destination = new LocalMappedDestination({ basePath: dir });
    const source = await scratch(SMALL_SOURCE_SQL);
    const backup = await writeBackup(destination, {
      name: "cancel",
      time: new Date(),
      parts: [{ role: "roles", sql: `ALTER ROLE "${role}" CONNECTION LIMIT 9;\n` }, ...dumpParts(source)],
      tables: await rowCounts(source),
    });
    const target = await scratch();
    const holder = new pg.Client({ connectionString: PG_URL });
    await holder.connect();
    try {
      await holder.query("begin");
      await holder.query(`alter role "${role}" connection limit 4`);
      const controller = new AbortController();
      const restore = runRestore({
        source: { destination, folder: backup.id },
        targetUrl: target,
        signal: controller.signal,
      }).then(
        (result) => ({ result }),
        (error: unknown) => ({ error }),
      );
      // psql is inside the restore's transaction, blocked on the holder's row lock: no chunk is being
      // read, so only killing psql can stop it.
      const deadline = Date.now() + 60_000;
      for (;;) {
        const [row] = await query<{ n: string }>(
          PG_URL,
          `select count(*) as n from pg_stat_activity where wait_event_type = 'Lock' and query like '%CONNECTION LIMIT 9%'`,
        );
        if (Number(row!.n) > 0) break;
        if (Date.now() > deadline) throw new Error("the restore never reached its ALTER ROLE");
        await new Promise((r) => setTimeout(r, 50));
      }
      const cancelledAt = Date.now();
      controller.abort();
      const outcome = await Promise.race([
        restore,
        new Promise<{ stuck: true }>((r) => setTimeout(() => r({ stuck: true }), 10_000)),
      ]);
      // Still holding the lock: the restore ended on the cancel, not because the lock went away.
      expect("stuck" in outcome).toBe(false);
      expect(Date.now() - cancelledAt).toBeLessThan(10_000);
      const error = (outcome as { error?: unknown }).error;
      expect(BackupError.is(error, "ABORTED")).toBe(true);
      expect((error as Error).message).toMatch(/cancelled; nothing was committed/);
    } finally {
      await holder.query("rollback").catch(() => {});
      await holder.end();
    }
    // Once the lock is free, the restore's orphaned session runs its ALTER ROLE, finds psql gone and
    // rolls back: it ends, and nothing of it was committed.
    const until = Date.now() + 30_000;
    for (;;) {
      const [left] = await query<{ n: string }>(
        PG_URL,
        `select count(*) as n from pg_stat_activity where query like '%CONNECTION LIMIT 9%' and pid <> pg_backend_pid()`,
      );
      if (Number(left!.n) === 0) break;
      if (Date.now() > until) throw new Error("the cancelled restore's session never ended");
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(await rowCounts(target)).toEqual([]);
    const [limit] = await query<{ rolconnlimit: number }>(PG_URL, `select rolconnlimit from pg_roles where rolname = '${role}'`);
    expect(limit!.rolconnlimit).not.toBe(9);
  }, 180_000);
});

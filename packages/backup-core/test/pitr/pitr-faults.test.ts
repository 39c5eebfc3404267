/**
 * Point-in-time archive, in process: a destination that goes down (segments wait, the slot does not
 * advance, then everything catches up), with passphrase encryption of base and segments; plus the
 * pure parts (LSNs, times, SQL of changes, chain selection) without a server.
 */
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LocalMappedDestination, type StorageDestination } from "@stowage/storage";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chainFrom, type PitrArchive, readArchive, windows } from "../../src/pitr/archive.ts";
import { formatLsn, isoToMicros, microsToIso, parseLsn } from "../../src/pitr/lsn.ts";
import { restoreToTime } from "../../src/pitr/restore.ts";
import { SqlWriter } from "../../src/pitr/sql.ts";
import { runStream, type StreamEvent } from "../../src/pitr/streamer.ts";
import { contentHashes } from "../read-fixture.ts";
import { type LogicalServer, logicalServer } from "./logical-server.ts";
import { ScratchDatabases } from "./scratch.ts";

describe("LSNs, times and the SQL of changes", () => {
  it("parses, formats and orders LSNs and microsecond times", () => {
    expect(formatLsn(parseLsn("16/B374D848"))).toBe("16/B374D848");
    expect(parseLsn("0/10") < parseLsn("0/9")).toBe(false);
    expect(parseLsn("1/0") > parseLsn("0/FFFFFFFF")).toBe(true);
    expect(() => parseLsn("16-B3")).toThrow(/not an LSN/);
    const t = isoToMicros("2026-11-28T10:15:00.123456Z");
    expect(microsToIso(t)).toBe("2026-11-28T10:15:00.123456Z");
    expect(isoToMicros("2026-11-28T11:15:00+01:00")).toBe(isoToMicros("2026-11-28T10:15:00Z"));
    expect(() => isoToMicros("yesterday")).toThrow(/ISO 8601/);
  });

  it("writes literals exactly, batches inserts, and addresses rows by key or by the whole old row", () => {
    const sql = new SqlWriter();
    sql.relation({
      op: "R",
      rel: 1,
      schema: "s",
      table: 'we"ird',
      identity: "default",
      columns: [
        { name: "id", type: 23, key: true },
        { name: "v", type: 25, key: false },
      ],
    });
    sql.relation({
      op: "R",
      rel: 2,
      schema: "s",
      table: "full",
      identity: "full",
      columns: [
        { name: "a", type: 23, key: true },
        { name: "b", type: 25, key: true },
      ],
    });
    expect(sql.change({ op: "I", rel: 1, new: ["1", "it's"] })).toBe("");
    expect(sql.change({ op: "I", rel: 1, new: ["2", null] })).toBe("");
    const update = sql.change({ op: "U", rel: 1, oldKind: null, old: null, new: ["2", false] });
    expect(update).toBe(`INSERT INTO "s"."we""ird" ("id", "v") OVERRIDING SYSTEM VALUE VALUES\n('1', 'it''s'),\n('2', NULL);\n`);
    expect(sql.change({ op: "U", rel: 1, oldKind: null, old: null, new: ["2", "x\\n"] })).toBe(
      `UPDATE ONLY "s"."we""ird" SET "v" = 'x\\n' WHERE "id" = '2';\n`,
    );
    expect(sql.change({ op: "U", rel: 1, oldKind: "K", old: ["2", null], new: ["3", "y"] })).toBe(
      `UPDATE ONLY "s"."we""ird" SET "id" = '3', "v" = 'y' WHERE "id" = '2';\n`,
    );
    expect(sql.change({ op: "D", rel: 2, oldKind: "O", old: ["1", null] })).toBe(
      `DELETE FROM ONLY "s"."full" WHERE ctid = (SELECT ctid FROM "s"."full" WHERE "a" IS NOT DISTINCT FROM '1' AND "b" IS NOT DISTINCT FROM NULL LIMIT 1);\n`,
    );
    expect(sql.change({ op: "T", rels: [1, 2], cascade: true, restartIdentity: true })).toBe(
      `TRUNCATE ONLY "s"."we""ird", "s"."full" RESTART IDENTITY CASCADE;\n`,
    );
  });

  it("chains overlapping segments and stops at a gap", () => {
    const seg = (start: string, end: string) =>
      ({ key: `${start}-${end}`, start: parseLsn(start), end: parseLsn(end), manifest: {} }) as PitrArchive["segments"][number];
    const archive = {
      name: "n",
      bases: [],
      orphanBases: [],
      segments: [seg("0/10", "0/20"), seg("0/20", "0/30"), seg("0/20", "0/28"), seg("0/30", "0/40"), seg("0/50", "0/60")],
    } as PitrArchive;
    const { segments, gapAfter } = chainFrom(archive, parseLsn("0/10"));
    expect(segments.map((s) => s.key)).toEqual(["0/10-0/20", "0/20-0/30", "0/30-0/40"]);
    expect(gapAfter).toBe(parseLsn("0/40"));
    expect(chainFrom(archive, parseLsn("0/18")).segments[0]!.key).toBe("0/10-0/20");
  });
});

/** A local destination whose uploads fail while `down` is true, as a bucket that is unreachable. */
function flaky(base: StorageDestination): StorageDestination & { down: boolean } {
  const state = { down: false };
  return new Proxy(base, {
    get(target, prop, receiver) {
      if (prop === "down") return state.down;
      if (prop === "upload") {
        return (...args: Parameters<StorageDestination["upload"]>) =>
          state.down ? Promise.reject(new Error("connection refused (test)")) : target.upload(...args);
      }
      const value = Reflect.get(target, prop, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
    set(_target, prop, value) {
      if (prop === "down") state.down = value as boolean;
      return true;
    },
  }) as StorageDestination & { down: boolean };
}

describe("stream with a destination down, encrypted", () => {
  let server: LogicalServer;
  let scratch: ScratchDatabases;
  let work: string;
  let src: string;
  let dst: string;
  let client: pg.Client;

  beforeAll(async () => {
    server = await logicalServer();
    work = await mkdtemp(join(tmpdir(), "stowage-pitr-faults-"));
    scratch = new ScratchDatabases(server.url);
    src = await scratch.create("pitr_faults_src");
    dst = await scratch.create("pitr_faults_dst");
    client = new pg.Client({ connectionString: src });
    await client.connect();
    await client.query("create table item (id bigint generated by default as identity primary key, label text, at timestamptz)");
  }, 120_000);

  afterAll(async () => {
    await client?.end().catch(() => {});
    await scratch?.dropAll();
    await server?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("keeps segments and the slot while a destination is down, then catches up; restores with the passphrase", async () => {
    const good = new LocalMappedDestination({ basePath: join(work, "good") });
    const bad = flaky(new LocalMappedDestination({ basePath: join(work, "bad") }));
    const events: StreamEvent[] = [];
    const waitFor = async (predicate: (e: StreamEvent) => boolean, timeoutMs = 60_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = events.find(predicate);
        if (found) return found;
        if (Date.now() > deadline) throw new Error(`timed out; events: ${JSON.stringify(events.map((e) => e.type))}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    const controller = new AbortController();
    const confirmed = async () => {
      const { rows } = await client.query<{ c: string }>(
        "select confirmed_flush_lsn::text as c from pg_replication_slots where database = current_database()",
      );
      return parseLsn(rows[0]!.c);
    };
    const streaming = runStream({
      databaseUrl: src,
      destinations: [good, bad],
      name: "faults",
      segmentSeconds: 0.3,
      encryption: { passphrase: "correct horse", scryptWorkFactor: 10 },
      signal: controller.signal,
      onEvent: (e) => events.push(e),
      tempDir: work,
    });
    streaming.catch(() => {});
    await waitFor((e) => e.type === "streaming");
    await client.query("insert into item (label, at) select 'a' || g, clock_timestamp() from generate_series(1, 50) g");
    await waitFor((e) => e.type === "segment");

    bad.down = true;
    const before = await confirmed();
    await client.query("insert into item (label, at) select 'b' || g, clock_timestamp() from generate_series(1, 50) g");
    await client.query("update item set label = label || '!' where id % 2 = 0");
    await waitFor((e) => e.type === "retry" && e.destination === bad.name);
    await new Promise((r) => setTimeout(r, 1500));
    expect(await confirmed()).toBe(before); // nothing confirmed while a destination lacks the segment
    const segmentsWhileDown = events.filter((e) => e.type === "segment").length;

    bad.down = false;
    await client.query("delete from item where id % 5 = 0");
    const { rows } = await client.query<{ t: string }>(
      `select to_char(clock_timestamp() at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as t`,
    );
    const expected = await contentHashes(src);
    await new Promise((r) => setTimeout(r, 20));
    const deadline = Date.now() + 60_000;
    for (;;) {
      const ws = windows(await readArchive(bad, "faults"));
      if (ws.length && ws.at(-1)!.to >= isoToMicros(rows[0]!.t)) break;
      if (Date.now() > deadline) throw new Error("the destination that was down did not catch up");
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(events.filter((e) => e.type === "segment").length).toBeGreaterThan(segmentsWhileDown);
    expect((await confirmed()) > before).toBe(true);
    controller.abort();
    await streaming;

    // Everything on the formerly-down destination is encrypted: no plain JSON lines are stored.
    const files = await readdir(join(work, "bad", "faults", "changes"));
    expect(files.filter((f) => f.endsWith(".jsonl.gz.age")).length).toBeGreaterThan(2);
    expect(files.filter((f) => f.endsWith(".jsonl.gz")).length).toBe(0);

    const result = await restoreToTime({
      destination: bad,
      name: "faults",
      toTime: rows[0]!.t,
      targetUrl: dst,
      keys: { passphrase: "correct horse" },
    });
    expect(result.transactions).toBeGreaterThan(2);
    expect(await contentHashes(dst)).toEqual(expected);
  }, 180_000);
});

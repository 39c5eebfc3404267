/**
 * Changes that the first replay could not apply, archived by a real stream and restored:
 * updates that write a GENERATED ALWAYS identity column that is not the key (UPDATE may set it only
 * to DEFAULT, and has no OVERRIDING SYSTEM VALUE), and rows of REPLICA IDENTITY FULL tables found by
 * columns without an equality operator (json, point) or with one that is not equality (box `=`
 * compares areas). Each restore must equal the source at that moment.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LocalMappedDestination } from "@stowage/storage";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dropStream } from "../../src/pitr/control.ts";
import { restoreToTime } from "../../src/pitr/restore.ts";
import { SqlWriter } from "../../src/pitr/sql.ts";
import { contentHashes } from "../read-fixture.ts";
import { type LogicalServer, logicalServer } from "./logical-server.ts";
import { archiveReaches, ScratchDatabases, sourceNow, streamInProcess } from "./scratch.ts";

const SCHEMA = `
create table ticket (id bigint primary key, n int generated always as identity, note text);
create table journal (k int not null, n bigint generated always as identity, v text);
alter table journal replica identity full;
create table place (k int not null, doc json, at point, tags json[]);
alter table place replica identity full;
create table area (k int not null, b box);
alter table area replica identity full;
insert into ticket (id, note) select g, 'seed' from generate_series(1, 5) g;
insert into journal (k, v) values (1, 'a'), (2, 'b'), (2, 'b');
insert into place values
  (1, '{"a": 1,  "b": [1, 2]}', '(1.5,2)', array['{"x": 1}']::json[]),
  (1, '{"a": 1, "b": [1, 2]}', '(1.5,2)', array['{"x": 1}']::json[]),
  (2, '{"z": null}', '(0,0)', null);
insert into area values (1, '((0,0),(1,1))'), (1, '((0,0),(2,0.5))'), (1, '((0,0),(0.5,2))');
`;

describe("replay of identity columns and of REPLICA IDENTITY FULL rows without equality", () => {
  it("writes a GENERATED ALWAYS identity and finds json, point and box rows by their text", () => {
    const sql = new SqlWriter();
    sql.relation({
      op: "R",
      rel: 7,
      schema: "public",
      table: "place",
      identity: "full",
      columns: [
        { name: "k", type: 23, key: true },
        { name: "doc", type: 114, key: true },
        { name: "at", type: 600, key: true },
        { name: "b", type: 603, key: true },
      ],
    });
    const out = sql.change({ op: "D", rel: 7, oldKind: "O", old: ["1", '{"a": 1}', "(1,2)", "(1,1),(0,0)"] });
    expect(out).toBe(
      `DELETE FROM ONLY "public"."place" WHERE ctid = (SELECT ctid FROM "public"."place" WHERE "k" IS NOT DISTINCT FROM '1' AND "doc"::text IS NOT DISTINCT FROM '{"a": 1}' AND "at"::text IS NOT DISTINCT FROM '(1,2)' AND "b"::text IS NOT DISTINCT FROM '(1,1),(0,0)' LIMIT 1);\n`,
    );
  });

  let server: LogicalServer;
  let scratch: ScratchDatabases;
  let work: string;
  let client: pg.Client;
  let src: string;

  beforeAll(async () => {
    server = await logicalServer();
    scratch = new ScratchDatabases(server.url);
    work = await mkdtemp(join(tmpdir(), "stowage-pitr-replay-"));
    src = await scratch.create("pitr_replay_src");
    client = new pg.Client({ connectionString: src });
    await client.connect();
    await client.query(SCHEMA);
  }, 120_000);

  afterAll(async () => {
    await client?.end().catch(() => {});
    if (src) await dropStream({ databaseUrl: src, name: "replay" }).catch(() => {});
    await scratch?.dropAll();
    await server?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("restores identity updates and json/point/box rows of REPLICA IDENTITY FULL tables equal to the source", async () => {
    const destination = new LocalMappedDestination({ basePath: join(work, "archive") });
    const stream = streamInProcess({ databaseUrl: src, destinations: [destination], name: "replay", segmentSeconds: 0.3 });
    try {
      await stream.waitFor("streaming");
      await client.query("update ticket set note = 'touched' where id <= 3"); // writes n (unchanged) back
      await client.query("update ticket set n = default where id = 2"); // the identity itself moves on
      await client.query("update journal set v = 'b2' where k = 2"); // FULL: every column, n included
      await client.query("delete from journal where k = 1");
      const first = { time: await sourceNow(client), hashes: await contentHashes(src) };

      // The two k = 1 rows of place differ only in the json's spacing: the text tells them apart.
      await client.query(`update place set tags = array['{"y": 2}']::json[] where doc::text = '{"a": 1, "b": [1, 2]}'`);
      await client.query("update place set at = '(3,4)' where k = 2");
      await client.query('delete from place where doc::text = \'{"a": 1,  "b": [1, 2]}\'');
      // Three boxes of area 1: box = would take any of them for the one deleted.
      await client.query("delete from area where b ~= '((0,0),(0.5,2))'");
      await client.query("update area set k = 2 where b ~= '((0,0),(2,0.5))'");
      const second = { time: await sourceNow(client), hashes: await contentHashes(src) };

      await archiveReaches(destination, "replay", second.time);
      for (const [i, m] of [first, second].entries()) {
        const target = await scratch.create(`pitr_replay_r${i + 1}`);
        const result = await restoreToTime({ destination, name: "replay", toTime: m.time, targetUrl: target });
        expect(result.transactions).toBeGreaterThan(0);
        expect(await contentHashes(target), `moment ${i + 1}`).toEqual(m.hashes);
      }
      // After the replay the identities are GENERATED ALWAYS again, and continue after the rows.
      const latest = await scratch.create("pitr_replay_latest");
      await restoreToTime({ destination, name: "replay", toTime: "latest", targetUrl: latest });
      expect(await contentHashes(latest)).toEqual(second.hashes);
      const check = new pg.Client({ connectionString: latest });
      await check.connect();
      try {
        const { rows } = await check.query<{ t: string; identity: string }>(
          "select attrelid::regclass::text as t, attidentity as identity from pg_attribute where attname = 'n' and attrelid in ('ticket'::regclass, 'journal'::regclass) order by 1",
        );
        expect(rows).toEqual([
          { t: "journal", identity: "a" },
          { t: "ticket", identity: "a" },
        ]);
        const next = await check.query<{ n: number; max: number }>(
          "with i as (insert into ticket (id) values (100) returning n) select i.n, (select max(n) from ticket where id <> 100) as max from i",
        );
        expect(next.rows[0]!.n).toBeGreaterThan(next.rows[0]!.max);
        await expect(check.query("insert into ticket (id, n) values (101, 1)")).rejects.toThrow(/GENERATED ALWAYS|non-DEFAULT/);
      } finally {
        await check.end();
      }
    } finally {
      await stream.stop();
    }
  }, 400_000);
});

/**
 * Point-in-time archiving as a role that is not a superuser, as Supabase's `postgres` is not: it has
 * REPLICATION and owns the tables, but may not create a `FOR ALL TABLES` (nor `FOR TABLES IN SCHEMA`)
 * publication. The publication must list the dumped tables the role owns, take in a table created
 * mid-stream before its new base, and say which dumped tables it cannot carry. A real Supabase
 * project was not reachable from the test machine; this is the same situation on a local server.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LocalMappedDestination } from "@stowage/storage";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dropStream } from "../../src/pitr/control.ts";
import { restoreToTime } from "../../src/pitr/restore.ts";
import { contentHashes } from "../read-fixture.ts";
import { type LogicalServer, logicalServer } from "./logical-server.ts";
import { adminQuery, archiveReaches, ScratchDatabases, sourceNow, streamInProcess } from "./scratch.ts";

let server: LogicalServer;
let scratch: ScratchDatabases;
let work: string;
let role: string;
let src: string;
let roleUrl: string;
let client: pg.Client;

beforeAll(async () => {
  server = await logicalServer();
  scratch = new ScratchDatabases(server.url);
  work = await mkdtemp(join(tmpdir(), "stowage-pitr-role-"));
  role = `stowage_owner_${randomBytes(3).toString("hex")}`;
  await adminQuery(server.url, `create role "${role}" login replication nosuperuser`);
  src = await scratch.create("pitr_role_src", role);
  const url = new URL(src);
  url.username = role;
  roleUrl = url.toString();
  client = new pg.Client({ connectionString: roleUrl });
  await client.connect();
  await client.query(`
    create table account (id int generated always as identity primary key, email text not null unique, profile jsonb);
    create table note (id bigserial primary key, account_id int references account(id) on delete cascade, body text);
    insert into account (email, profile) select 'u' || g || '@example.com', jsonb_build_object('g', g) from generate_series(1, 20) g;
    insert into note (account_id, body) select 1 + g % 20, 'note ' || g from generate_series(1, 60) g;
  `);
  // A dumped table owned by someone else (as auth.users is on Supabase): readable, not publishable.
  await adminQuery(
    src,
    `create table platform_owned (id int primary key, v text); insert into platform_owned values (1, 'x');
                         grant select on platform_owned to "${role}"`,
  );
}, 120_000);

afterAll(async () => {
  await client?.end().catch(() => {});
  if (src) await dropStream({ databaseUrl: src, name: "role" }).catch(() => {});
  await scratch?.dropAll();
  if (role) await adminQuery(server.url, `drop role if exists "${role}"`).catch(() => {});
  await server?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe("stowage stream as a non-superuser with REPLICATION that owns the tables (as on Supabase)", () => {
  it("publishes the owned dumped tables, adds a new table before its base, warns of the rest, restores equal", async () => {
    const [me] = await adminQuery<{ rolsuper: boolean; rolreplication: boolean }>(
      roleUrl,
      "select rolsuper, rolreplication from pg_roles where rolname = current_user",
    );
    expect(me).toEqual({ rolsuper: false, rolreplication: true });
    await expect(client.query("create publication not_allowed for all tables")).rejects.toThrow(/superuser/);

    const destination = new LocalMappedDestination({ basePath: join(work, "archive") });
    const stream = streamInProcess({ databaseUrl: roleUrl, destinations: [destination], name: "role", segmentSeconds: 0.3 });
    try {
      await stream.waitFor("streaming");
      const unpublished = await stream.waitFor("unpublished");
      expect(unpublished.tables).toEqual(["public.platform_owned"]);
      const published = async () =>
        (
          await adminQuery<{ all: boolean; tables: string[] | null }>(
            src,
            `select p.puballtables as all, (select array_agg(tablename::text order by tablename) from pg_publication_tables t where t.pubname = p.pubname) as tables
               from pg_publication p where p.pubname = 'stowage_role'`,
          )
        )[0];
      expect(await published()).toEqual({ all: false, tables: ["account", "note"] });

      await client.query("update account set profile = profile || '{\"seen\": true}' where id % 3 = 0");
      await client.query("delete from account where id in (4, 5)");
      await client.query("insert into note (account_id, body) select id, 'later' from account where id < 10");
      const before = { time: await sourceNow(client), hashes: await contentHashes(src) };
      // A commit the stream sees after that moment (same values, so the contents are unchanged): the CREATE
      // TABLE below is invisible to logical decoding, so the old base ends at the last commit it decoded,
      // which must come after `before` (on a quiet machine nothing else commits in between; failed in CI).
      await client.query("update account set email = email where id = 1");

      // A table created mid-stream: a new base, and the publication must carry it from then on.
      await client.query("create table invoice (id int primary key, account_id int references account(id), total numeric)");
      await client.query("insert into invoice values (1, 1, 9.5)");
      await stream.waitFor("base", (e) => e.reason === "schema-change");
      expect((await published())?.tables).toEqual(["account", "invoice", "note"]);
      await client.query("insert into invoice select g, (select max(id) from account), g * 1.25 from generate_series(2, 40) g");
      await client.query("update invoice set total = total * 2 where id % 2 = 0");
      const after = { time: await sourceNow(client), hashes: await contentHashes(src) };

      await archiveReaches(destination, "role", after.time);
      for (const [label, m] of Object.entries({ before, after })) {
        const target = await scratch.create(`pitr_role_${label}`);
        await restoreToTime({ destination, name: "role", toTime: m.time, targetUrl: target });
        expect(await contentHashes(target), label).toEqual(m.hashes);
      }
    } finally {
      await stream.stop();
    }
  }, 400_000);
});

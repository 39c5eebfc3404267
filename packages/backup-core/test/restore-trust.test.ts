/**
 * Issue 9: a restore is one transaction whatever the dump holds (large objects included), a backup
 * cannot run psql meta-commands on the restoring machine, and a passphrase backup's manifest is
 * authenticated. Real PostgreSQL, real pg_dump output, real psql.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { LocalMappedDestination } from "@stowage/storage";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runBackup } from "../src/backup.ts";
import type { BackupLocation } from "../src/catalog.ts";
import { runRestore } from "../src/restore.ts";
import { verifyBackup } from "../src/verify.ts";
import { createFixtureDatabase } from "./helpers/pg.ts";
import { createDatabase, dropDatabase, type FixturePart, pgDump, query, uniqueName, writeBackup } from "./read-fixture.ts";

let dir: string;
let destination: LocalMappedDestination;
const databases: string[] = [];

async function scratch(sql?: string): Promise<string> {
  const name = uniqueName("stowage_trust");
  databases.push(name);
  return createDatabase(name, sql);
}

/** Tables and large objects: the shape that used to end the restore's transaction. */
const LO_SOURCE_SQL = `
create table docs (id int primary key, title text, body oid);
insert into docs select g, 'doc ' || g, lo_from_bytea(0, convert_to(repeat('page ' || g, 2000 + g), 'UTF8')) from generate_series(1, 3) g;
create table notes (id serial primary key, note text);
insert into notes (note) select 'note ' || g from generate_series(1, 50) g;
`;

/** Everything a restore could change, as one text: schema, rows and large objects (pg_dump with blobs). */
function snapshotOf(url: string): string {
  return pgDump(url, ["--no-owner", "-b"]).replace(/^\\(un)?restrict .*$/gm, "");
}

async function largeObjects(url: string): Promise<{ oid: string; md5: string }[]> {
  return query(url, "select oid::text, md5(lo_get(oid)) as md5 from pg_largeobject_metadata order by oid");
}

let sourceUrl: string;
let loParts: FixturePart[];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "stowage-trust-"));
  destination = new LocalMappedDestination({ basePath: dir });
  sourceUrl = await scratch(LO_SOURCE_SQL);
  // Raw pg_dump output, as backups made before the fix hold it: BEGIN/COMMIT around the large objects.
  loParts = [
    { role: "schema", sql: pgDump(sourceUrl, ["--schema-only", "--no-owner"]) },
    { role: "data", sql: pgDump(sourceUrl, ["--data-only", "--no-owner"]) },
  ];
  expect(loParts[1]!.sql).toMatch(/^BEGIN;$/m);
  expect(loParts[1]!.sql).toMatch(/^COMMIT;$/m);
});

afterAll(async () => {
  for (const name of databases) await dropDatabase(name);
  await rm(dir, { recursive: true, force: true });
});

const at = (folder: string): BackupLocation => ({ destination, folder });

describe("large objects", () => {
  it("are backed up by the engine without pg_dump's BEGIN/COMMIT, and restored equal to the source's", async () => {
    const result = await runBackup({ databaseUrl: sourceUrl, destinations: [destination], type: "full", name: "lo" });
    expect(result.ok).toBe(true);
    const data = gunzipSync(await readFile(join(dir, result.backupId, "data.sql.gz"))).toString("utf8");
    expect(data).toContain("lo_create");
    expect(data).not.toMatch(/^(BEGIN|COMMIT);$/m);
    const target = await scratch();
    await runRestore({ source: at(result.backupId), targetUrl: target });
    expect(await largeObjects(target)).toEqual(await largeObjects(sourceUrl));
    expect(await query(target, "select count(*)::int as n from notes")).toEqual([{ n: 50 }]);
  });

  it("are backed up in Supabase mode too (pg_dump --schema=* alone would leave them out)", async () => {
    const name = uniqueName("stowage_trust_supa");
    databases.push(name);
    const url = await createFixtureDatabase(name);
    await query(url, "select lo_from_bytea(0, 'supabase large object')");
    const result = await runBackup({ databaseUrl: url, destinations: [destination], type: "data", name: "supa-lo" });
    expect(result.ok).toBe(true);
    const ok = result.destinations[0]!;
    expect(ok.ok && ok.manifest.server.supabase).toBe(true);
    const data = gunzipSync(await readFile(join(dir, result.backupId, "data.sql.gz"))).toString("utf8");
    expect(data).toContain("lo_create");
    expect(data).toContain("'\\x737570616261736520");
    expect(data).not.toMatch(/^(BEGIN|COMMIT);$/m);
  });

  it("an old backup (raw pg_dump with BEGIN/COMMIT) restores in one transaction", async () => {
    const backup = await writeBackup(destination, { name: "old", time: new Date(), parts: loParts });
    const target = await scratch();
    await runRestore({ source: at(backup.id), targetUrl: target });
    expect(await largeObjects(target)).toEqual(await largeObjects(sourceUrl));
  });

  for (const clean of [false, true]) {
    it(`a failure after the large objects leaves the target byte-for-byte as it was (${clean ? "--clean" : "empty target"})`, async () => {
      const target = await scratch();
      if (clean) {
        // A target that already holds a restore of other data, large objects included.
        const other = await writeBackup(destination, { name: "other", time: new Date(), parts: loParts });
        await runRestore({ source: at(other.id), targetUrl: target });
        await query(target, "insert into notes (note) values ('only in the target'); select lo_from_bytea(0, 'target lo')");
      }
      const before = snapshotOf(target);
      // 1. an SQL error in a later part
      const sqlError = await writeBackup(destination, {
        name: "later-error",
        time: new Date(),
        parts: [...loParts, { role: "history_data", sql: "INSERT INTO no_such_table VALUES (1);\n" }],
      });
      const e1 = await runRestore({ source: at(sqlError.id), targetUrl: target, clean }).catch((e) => e);
      expect(e1.code).toBe("RESTORE_FAILED");
      expect(e1.message).toMatch(/no_such_table/);
      expect(snapshotOf(target)).toBe(before);
      // 2. a damaged later part (checksum mismatch at its end)
      const damaged = await writeBackup(destination, {
        name: "later-damage",
        time: new Date(),
        parts: [...loParts, { role: "history_data", sql: "SELECT 1;\n".repeat(1000) }],
      });
      const file = join(dir, damaged.id, "history_data.sql.gz");
      const bytes = await readFile(file);
      bytes[bytes.length - 5]! ^= 0xff;
      await writeFile(file, bytes);
      const e2 = await runRestore({ source: at(damaged.id), targetUrl: target, clean }).catch((e) => e);
      expect(["CHECKSUM_MISMATCH", "DECOMPRESSION_FAILED"]).toContain(e2.code);
      expect(snapshotOf(target)).toBe(before);
    });
  }

  it("a COMMIT the filter cannot see (in a schema part) is caught before the final COMMIT: not reported as unchanged", async () => {
    const backup = await writeBackup(destination, {
      name: "stray-commit",
      time: new Date(),
      parts: [
        { role: "schema", sql: "CREATE TABLE early (id int);\nCOMMIT;\nCREATE TABLE late (id int);\n" },
        { role: "data", sql: "SELECT 1;\n" },
      ],
    });
    const target = await scratch();
    const error = await runRestore({ source: at(backup.id), targetUrl: target }).catch((e) => e);
    expect(error.code).toBe("RESTORE_NOT_ATOMIC");
    expect(error.message).toMatch(/NOT unchanged/);
    // Sessions default to read-only: nothing after the stray COMMIT could write.
    expect(await query(target, "select to_regclass('late') is null as gone, to_regclass('early') is not null as kept")).toEqual([
      { gone: true, kept: true },
    ]);
  });
});

describe("a backup is data, not a program", () => {
  const tampered = (marker: string): FixturePart[] => [
    { role: "schema", sql: `CREATE TABLE t (id int);\n\\! touch ${marker}\n` },
    { role: "data", sql: `SELECT 1; \\! touch ${marker}\nCOPY public.t (id) FROM stdin;\n1\n\\.\n` },
  ];

  it("restore: `\\! touch` in a part fails the restore and runs nothing", async () => {
    const marker = join(dir, `pwned-${Date.now()}`);
    const backup = await writeBackup(destination, { name: "pwned", time: new Date(), parts: tampered(marker) });
    const target = await scratch();
    const error = await runRestore({ source: at(backup.id), targetUrl: target }).catch((e) => e);
    expect(error.code).toBe("RESTORE_FAILED");
    expect(existsSync(marker)).toBe(false);
    expect(await query(target, "select to_regclass('t') is null as gone")).toEqual([{ gone: true }]);
  });

  it("verify --restore-test: the same part runs nothing either; \\unrestrict with a guessed key and \\o are refused", async () => {
    const marker = join(dir, `pwned-verify-${Date.now()}`);
    const backup = await writeBackup(destination, {
      name: "pwned-verify",
      time: new Date(),
      parts: [
        { role: "schema", sql: `\\unrestrict guessed\n\\! touch ${marker}\n\\o ${marker}\nSELECT 1;\n` },
        { role: "data", sql: "SELECT 1;\n" },
      ],
    });
    const target = await scratch();
    const result = await verifyBackup({ source: at(backup.id), restoreTestUrl: target });
    expect(result.ok).toBe(false);
    expect(result.restoreTest?.ok).toBe(false);
    expect(existsSync(marker)).toBe(false);
  });

  it("pg_dump's own \\restrict lines keep working inside Stowage's guard", async () => {
    const backup = await writeBackup(destination, { name: "guarded", time: new Date(), parts: loParts });
    expect(loParts[0]!.sql).toMatch(/^\\restrict /m);
    const target = await scratch();
    await runRestore({ source: at(backup.id), targetUrl: target });
    expect(await query(target, "select count(*)::int as n from docs")).toEqual([{ n: 3 }]);
  });
});

describe("manifest MAC and downgrade", () => {
  const PASS = "correct horse battery";
  const small: FixturePart[] = [
    { role: "schema", sql: "CREATE TABLE m (id int);\n" },
    { role: "data", sql: "COPY public.m (id) FROM stdin;\n1\n\\.\n" },
  ];

  async function rewriteManifest(id: string, change: (m: Record<string, unknown>) => void): Promise<void> {
    const path = join(dir, id, "manifest.json");
    const json = JSON.parse(await readFile(path, "utf8")) as Record<string, unknown>;
    change(json);
    await writeFile(path, JSON.stringify(json, null, 2));
  }

  it("a passphrase backup carries a MAC; it restores with the passphrase", async () => {
    const backup = await writeBackup(destination, { name: "mac", time: new Date(), parts: small, passphrase: PASS });
    expect(backup.mac?.algorithm).toBe("hmac-sha256");
    const target = await scratch();
    await runRestore({ source: at(backup.id), targetUrl: target, keys: { passphrase: PASS } });
    expect(await query(target, "select count(*)::int as n from m")).toEqual([{ n: 1 }]);
  });

  it("a manifest rewritten to encryption: null with plain parts is refused when a key is given", async () => {
    const backup = await writeBackup(destination, { name: "downgrade", time: new Date(), parts: small, passphrase: PASS });
    // The attacker replaces the parts with plain SQL of their own and the manifest with a matching one.
    const plain = await writeBackup(destination, {
      name: "downgrade-src",
      time: new Date(),
      parts: [{ role: "schema", sql: "CREATE TABLE attacker (id int);\n" }],
    });
    await rewriteManifest(backup.id, (m) => {
      const p = JSON.parse(execFileSync("cat", [join(dir, plain.id, "manifest.json")], { encoding: "utf8" }));
      m.encryption = null;
      m.files = p.files;
      delete m.mac;
    });
    await writeFile(join(dir, backup.id, "schema.sql.gz"), gzipSync("CREATE TABLE attacker (id int);\n"));
    const target = await scratch();
    for (const keys of [{ passphrase: PASS }, { identities: ["AGE-SECRET-KEY-1QQQ"] }]) {
      const error = await runRestore({ source: at(backup.id), targetUrl: target, keys }).catch((e) => e);
      expect(error.code).toBe("MANIFEST_UNTRUSTED");
      expect(error.message).toMatch(/NOT encrypted, but a key was given/);
    }
    await expect(verifyBackup({ source: at(backup.id), keys: { passphrase: PASS } })).rejects.toMatchObject({
      code: "MANIFEST_UNTRUSTED",
    });
    expect(await query(target, "select to_regclass('attacker') is null as gone")).toEqual([{ gone: true }]);
  });

  it("a flipped MAC byte, a changed field or a missing MAC is refused; a wrong passphrase is a wrong passphrase", async () => {
    const target = await scratch();
    const flip = await writeBackup(destination, { name: "flip", time: new Date(), parts: small, passphrase: PASS });
    await rewriteManifest(flip.id, (m) => {
      const mac = m.mac as { value: string };
      mac.value = (mac.value[0] === "0" ? "1" : "0") + mac.value.slice(1);
    });
    const changed = await writeBackup(destination, { name: "changed", time: new Date(), parts: small, passphrase: PASS });
    await rewriteManifest(changed.id, (m) => {
      (m.tables as unknown[]).push({ schema: "public", name: "x", rows: 1 });
    });
    const unsealed = await writeBackup(destination, {
      name: "unsealed",
      time: new Date(),
      parts: small,
      passphrase: PASS,
      unsealed: true,
    });
    for (const id of [flip.id, changed.id, unsealed.id]) {
      const restore = await runRestore({ source: at(id), targetUrl: target, keys: { passphrase: PASS } }).catch((e) => e);
      expect(restore.code).toBe("MANIFEST_UNTRUSTED");
      await expect(verifyBackup({ source: at(id), keys: { passphrase: PASS } })).rejects.toMatchObject({
        code: "MANIFEST_UNTRUSTED",
      });
    }
    const wrong = await runRestore({ source: at(flip.id), targetUrl: target, keys: { passphrase: "nope" } }).catch((e) => e);
    expect(wrong.code).toBe("DECRYPTION_FAILED");
    expect(await query(target, "select to_regclass('m') is null as gone")).toEqual([{ gone: true }]);
  });
});

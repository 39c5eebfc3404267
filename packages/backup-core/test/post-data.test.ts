/**
 * The post-data split (issue 17) on the Supabase-like fixture: new backups carry pg_dump's sections
 * as schema.sql (pre-data), data.sql, post-data.sql (indexes, constraints, triggers, policies and the
 * user objects on managed tables), restore in that order in one transaction into a schema identical
 * to the source's (normalised `pg_dump --schema-only`), also from a backup tar read as a stream and
 * through verify's restore test; backups made before the split (no post-data part) still restore to
 * the same schema; a post-data part that fails (SQL error, checksum) rolls the data back too.
 */
import { execFileSync } from "node:child_process";
import { createReadStream } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { LocalMappedDestination } from "@stowage/storage";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tarStreamBackup } from "../src/archive/tar-source.ts";
import { runBackup } from "../src/backup.ts";
import { BackupError } from "../src/errors.ts";
import { type BackupManifest, MANIFEST_FILE, manifestSchema, PART_ROLES } from "../src/manifest.ts";
import { runRestore } from "../src/restore.ts";
import { verifyBackup } from "../src/verify.ts";
import {
  adminQuery,
  createDatabase,
  createFixtureDatabase,
  createPlatformDatabase,
  dropDatabase,
  normalizedSchema,
  supabaseContentHashes,
  uniqueName,
} from "./helpers/pg.ts";
import { contentHashes, type FixturePart, writeBackup } from "./read-fixture.ts";

let root: string;
let dest: LocalMappedDestination;
let fixtureName: string;
let fixtureUrl: string;
let manifest: BackupManifest;
let sourceSchema: string;
let sourceHashes: Record<string, string>;
const databases: string[] = [];

async function platform(): Promise<{ name: string; url: string }> {
  const name = uniqueName("pd");
  databases.push(name);
  return { name, url: await createPlatformDatabase(name) };
}

/** A part of the backup as plain SQL. */
async function plainPart(role: (typeof PART_ROLES)[number]): Promise<string> {
  const file = manifest.files.find((f) => f.role === role)!;
  return gunzipSync(await readFile(join(root, "dest", manifest.id, file.name))).toString("utf8");
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "stowage-post-data-"));
  execFileSync("mkdir", ["-p", join(root, "dest")]);
  dest = new LocalMappedDestination({ basePath: join(root, "dest") });
  fixtureName = uniqueName("pdsrc");
  databases.push(fixtureName);
  fixtureUrl = await createFixtureDatabase(fixtureName);
  const result = await runBackup({ databaseUrl: fixtureUrl, destinations: [dest], migrationHistory: true });
  const first = result.destinations[0]!;
  if (!first.ok) throw first.error;
  manifest = first.manifest;
  sourceSchema = normalizedSchema(fixtureUrl);
  sourceHashes = await supabaseContentHashes(fixtureUrl);
}, 300_000);

afterAll(async () => {
  for (const name of databases) await dropDatabase(name);
  await rm(root, { recursive: true, force: true });
});

describe("post-data split (Supabase-like fixture)", () => {
  it("splits the schema as pg_dump's sections: tables and functions before the data, keys, indexes, triggers and policies after", async () => {
    expect(manifest.files.map((f) => f.name)).toEqual([
      "roles.sql.gz",
      "schema.sql.gz",
      "history_schema.sql.gz",
      "data.sql.gz",
      "history_data.sql.gz",
      "post-data.sql.gz",
    ]);
    const schema = await plainPart("schema");
    const postData = await plainPart("post-data");
    expect(schema).toContain('CREATE TABLE IF NOT EXISTS "public"."events"');
    expect(schema).toContain('CREATE OR REPLACE FUNCTION "public"."handle_new_user"()');
    for (const postDataOnly of [/^CREATE (UNIQUE )?INDEX /m, /ADD CONSTRAINT .* (PRIMARY KEY|FOREIGN KEY)/, /^CREATE POLICY /m]) {
      expect(schema).not.toMatch(postDataOnly);
      expect(postData).toMatch(postDataOnly);
    }
    expect(postData).toContain('CREATE INDEX "profiles_username_idx"');
    expect(postData).toMatch(/FOREIGN KEY \("id"\) REFERENCES "auth"\."users"\("id"\) ON DELETE CASCADE/);
    expect(postData).toContain("CREATE TRIGGER on_auth_user_created AFTER INSERT ON auth.users");
    expect(postData).not.toMatch(/^CREATE (TABLE|FUNCTION|OR REPLACE FUNCTION) /m);
  });

  it("restores into a fresh Supabase-like project with a schema identical to the source's, in one transaction", async () => {
    const target = await platform();
    const result = await runRestore({ source: { destination: dest, folder: manifest.id }, targetUrl: target.url });
    expect(result.files.map((f) => f.name)).toEqual(manifest.files.map((f) => f.name));
    expect(normalizedSchema(target.url).split("\n")).toEqual(sourceSchema.split("\n"));
    expect(await supabaseContentHashes(target.url)).toEqual(sourceHashes);
    // The user's trigger on auth.users is there after the load and works; it did not fire during it.
    const [before] = await adminQuery<{ n: string }>("select count(*) as n from public.profiles", target.name);
    await adminQuery(
      "insert into auth.users (id, email) values ('00000000-0000-0000-0000-0000000000bb', 'late@example.com')",
      target.name,
    );
    const [after] = await adminQuery<{ n: string }>("select count(*) as n from public.profiles", target.name);
    expect(Number(after!.n)).toBe(Number(before!.n) + 1);
    // Still refusing a target that is not empty.
    const again = await runRestore({ source: { destination: dest, folder: manifest.id }, targetUrl: target.url }).catch((e) => e);
    expect(BackupError.is(again, "TARGET_NOT_EMPTY")).toBe(true);
  }, 180_000);

  it("restores from a backup tar read as a stream (browser download, upload restore) in manifest order", async () => {
    const tarPath = join(root, "backup.tar");
    // As the server's download writes it: manifest.json first, then the parts in manifest order.
    execFileSync("tar", [
      "-cf",
      tarPath,
      "-C",
      join(root, "dest", manifest.id),
      MANIFEST_FILE,
      ...manifest.files.map((f) => f.name),
    ]);
    const target = await platform();
    await runRestore({ source: tarStreamBackup(createReadStream(tarPath)), targetUrl: target.url });
    expect(normalizedSchema(target.url).split("\n")).toEqual(sourceSchema.split("\n"));
  }, 180_000);

  it("verify checks the post-data part and its restore test counts the same rows", async () => {
    const target = await platform();
    const result = await verifyBackup({ source: { destination: dest, folder: manifest.id }, restoreTestUrl: target.url });
    expect(result.files.map((f) => [f.name, f.ok])).toContainEqual(["post-data.sql.gz", true]);
    expect(result.restoreTest?.mismatches).toEqual([]);
    expect(result.verdict).toBe("ok");
  }, 180_000);

  it("a backup made before the split (schema.sql with both sections, no post-data part) restores to the same schema", async () => {
    // No roles part: roles are cluster-wide and already there (the fixture made them), and what this test
    // is about is the schema layout. (roles.sql met "tuple concurrently updated" 3 times in a row here at
    // 14:15-14:25 while other suites changed roles on the shared server; see the note of issue 17.)
    const parts: FixturePart[] = [
      // What schema.sql was: pg_dump --schema-only, the managed-object section at its end.
      { role: "schema", sql: `${await plainPart("schema")}${await plainPart("post-data")}` },
      { role: "history_schema", sql: await plainPart("history_schema") },
      { role: "data", sql: await plainPart("data") },
      { role: "history_data", sql: await plainPart("history_data") },
    ];
    const old = await writeBackup(dest, { name: "old-layout", time: new Date(), parts, tables: manifest.tables });
    expect(old.files.map((f) => f.role)).not.toContain("post-data");
    const target = await platform();
    await runRestore({ source: { destination: dest, folder: old.id }, targetUrl: target.url });
    expect(normalizedSchema(target.url).split("\n")).toEqual(sourceSchema.split("\n"));
    expect(await supabaseContentHashes(target.url)).toEqual(sourceHashes);
  }, 180_000);
});

describe("a failing post-data part rolls the data back too", () => {
  const parts: FixturePart[] = [
    { role: "schema", sql: "create table items (id int, label text);\n" },
    { role: "data", sql: "copy items (id, label) from stdin;\n1\tone\n1\tagain\n\\.\n" },
    // The duplicate id makes the primary key fail only now, after the rows are in.
    { role: "post-data", sql: "alter table only items add constraint items_pkey primary key (id);\n" },
  ];

  it("an SQL error in post-data (a key the data violates): RESTORE_FAILED, the target is unchanged", async () => {
    const backup = await writeBackup(dest, { name: "bad-key", time: new Date(), parts });
    const name = uniqueName("pdfail");
    databases.push(name);
    const url = await createDatabase(name);
    const error = await runRestore({ source: { destination: dest, folder: backup.id }, targetUrl: url }).catch((e) => e);
    expect(BackupError.is(error, "RESTORE_FAILED")).toBe(true);
    expect(error.message).toMatch(/items_pkey|could not create unique index/);
    expect(await contentHashes(url)).toEqual({});
  });

  it("a changed byte in post-data: CHECKSUM_MISMATCH naming post-data, the target is unchanged", async () => {
    const good = [
      parts[0]!,
      parts[1]!,
      { role: "post-data" as const, sql: "create index items_label on items (label);\n-- end\n" },
    ];
    const backup = await writeBackup(dest, { name: "bad-sum", time: new Date(), parts: good, compression: "none" });
    const file = backup.files.find((f) => f.role === "post-data")!;
    const path = join(root, "dest", backup.id, file.name);
    const bytes = await readFile(path);
    bytes[bytes.length - 2] = bytes[bytes.length - 2]! ^ 0x01; // inside the trailing comment: still valid SQL
    await writeFile(path, bytes);
    const name = uniqueName("pdsum");
    databases.push(name);
    const url = await createDatabase(name);
    const error = await runRestore({ source: { destination: dest, folder: backup.id }, targetUrl: url }).catch((e) => e);
    expect(BackupError.is(error, "CHECKSUM_MISMATCH")).toBe(true);
    expect(error.file).toBe("post-data.sql");
    expect(await contentHashes(url)).toEqual({});
  });
});

describe("manifest", () => {
  it("accepts post-data as a part role and lists it last in restore order", () => {
    expect(PART_ROLES.at(-1)).toBe("post-data");
    expect(manifestSchema.parse(manifest).files.at(-1)?.role).toBe("post-data");
  });
});

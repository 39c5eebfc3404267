import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LocalMappedDestination } from "@stowage/storage";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BackupLocation } from "../src/catalog.ts";
import { BackupError } from "../src/errors.ts";
import { runRestore } from "../src/restore.ts";
import { verifyBackup } from "../src/verify.ts";
import { contentHashes, dumpParts, query, rowCounts, SMALL_SOURCE_SQL, scratchDatabases, writeBackup } from "./read-fixture.ts";

let dir: string;
let destination: LocalMappedDestination;
let sourceUrl: string;
let sourceHashes: Record<string, string>;
let gzipBackup: BackupLocation;
let zstdEncrypted: BackupLocation;

const { create: scratch, dropAll: dropScratchDatabases } = scratchDatabases("stowage_rt");

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "stowage-restore-"));
  destination = new LocalMappedDestination({ basePath: dir });
  sourceUrl = await scratch(SMALL_SOURCE_SQL);
  sourceHashes = await contentHashes(sourceUrl);
  const parts = dumpParts(sourceUrl);
  const tables = await rowCounts(sourceUrl);
  const a = await writeBackup(destination, { name: "small", time: new Date(), parts, tables });
  gzipBackup = { destination, folder: a.id };
  const b = await writeBackup(destination, {
    name: "small",
    time: new Date(),
    parts,
    tables,
    compression: "zstd",
    passphrase: "correct horse",
  });
  zstdEncrypted = { destination, folder: b.id };
});

afterAll(async () => {
  await dropScratchDatabases();
  await rm(dir, { recursive: true, force: true });
});

describe("runRestore", () => {
  it("restores a gzip backup into a new database with identical content", async () => {
    const target = await scratch();
    await runRestore({ source: gzipBackup, targetUrl: target });
    expect(await contentHashes(target)).toEqual(sourceHashes);
    // the trigger is restored but did not fire during the data load (session_replication_role = replica)
    const [audit] = await query<{ n: string }>(target, "select count(*) as n from app.audit");
    expect(Number(audit!.n)).toBe(500);
  });

  it("restores a zstd, passphrase-encrypted backup", async () => {
    const target = await scratch();
    await runRestore({ source: zstdEncrypted, targetUrl: target, keys: { passphrase: "correct horse" } });
    expect(await contentHashes(target)).toEqual(sourceHashes);
  });

  it("asks for a key, and rejects a wrong passphrase with a clear error, before touching the target", async () => {
    const target = await scratch();
    await expect(runRestore({ source: zstdEncrypted, targetUrl: target })).rejects.toMatchObject({ code: "KEY_REQUIRED" });
    const error = await runRestore({ source: zstdEncrypted, targetUrl: target, keys: { passphrase: "wrong" } }).catch((e) => e);
    expect(BackupError.is(error, "DECRYPTION_FAILED")).toBe(true);
    expect(error.message).toMatch(/passphrase does not decrypt/);
    expect(error.message).not.toContain("wrong");
    expect(await contentHashes(target)).toEqual({});
  });

  it("refuses a non-empty target without --clean, and replaces its content with --clean", async () => {
    const target = await scratch(
      "create table keepme (x int); insert into keepme values (1); create schema other; create table other.t (y int);",
    );
    const refused = await runRestore({ source: gzipBackup, targetUrl: target }).catch((e) => e);
    expect(BackupError.is(refused, "TARGET_NOT_EMPTY")).toBe(true);
    expect(refused.message).toMatch(/--clean/);
    await runRestore({ source: gzipBackup, targetUrl: target, clean: true });
    expect(await contentHashes(target)).toEqual(sourceHashes);
    // and again: a second --clean restore over the restored database works
    await runRestore({ source: gzipBackup, targetUrl: target, clean: true });
    expect(await contentHashes(target)).toEqual(sourceHashes);
  });

  it("a corrupted part (a flipped byte at the END of data) rolls everything back, --clean included", async () => {
    const copyDir = await mkdtemp(join(tmpdir(), "stowage-corrupt-"));
    try {
      const copy = new LocalMappedDestination({ basePath: copyDir });
      const m = await writeBackup(copy, { name: "small", time: new Date(), parts: dumpParts(sourceUrl), compression: "none" });
      const dataFile = m.files.find((f) => f.role === "data")!;
      const path = join(copyDir, m.id, dataFile.name);
      const bytes = await readFile(path);
      // Inside the trailing comment lines: still valid SQL, only the checksum can tell.
      bytes[bytes.length - 3] = bytes[bytes.length - 3]! ^ 0x01;
      await writeFile(path, bytes);

      const target = await scratch("create table precious (x int); insert into precious values (42);");
      const before = await contentHashes(target);
      const error = await runRestore({ source: { destination: copy, folder: m.id }, targetUrl: target, clean: true }).catch(
        (e) => e,
      );
      expect(BackupError.is(error, "CHECKSUM_MISMATCH")).toBe(true);
      expect(error.file).toBe(dataFile.name);
      expect(await contentHashes(target)).toEqual(before);

      const verify = await verifyBackup({ source: { destination: copy, folder: m.id } });
      expect(verify.ok).toBe(false);
      expect(verify.files.filter((f) => !f.ok).map((f) => f.name)).toEqual([dataFile.name]);
    } finally {
      await rm(copyDir, { recursive: true, force: true });
    }
  });

  it("an SQL error rolls back and reports psql's message", async () => {
    const m = await writeBackup(destination, {
      name: "broken",
      time: new Date(),
      parts: [{ role: "schema", sql: "create table fine (x int);\ncreate table broken (x nosuchtype);\n" }],
    });
    const target = await scratch();
    const error = await runRestore({ source: { destination, folder: m.id }, targetUrl: target }).catch((e) => e);
    expect(BackupError.is(error, "RESTORE_FAILED")).toBe(true);
    expect(error.message).toMatch(/nosuchtype/);
    expect(await contentHashes(target)).toEqual({});
  });
});

describe("verifyBackup", () => {
  it("reads every file and, with a scratch database, compares row counts with the manifest", async () => {
    const result = await verifyBackup({
      source: zstdEncrypted,
      keys: { passphrase: "correct horse" },
      restoreTestUrl: await scratch(),
    });
    expect(result.ok).toBe(true);
    expect(result.files.map((f) => f.ok)).toEqual([true, true]);
    expect(result.restoreTest?.mismatches).toEqual([]);
    expect(result.restoreTest?.tables).toBe(3);
  });

  it("reports tables whose row count differs from the manifest", async () => {
    const m = await writeBackup(destination, {
      name: "lying",
      time: new Date(),
      parts: dumpParts(sourceUrl),
      tables: [
        { schema: "public", name: "authors", rows: 4 },
        { schema: "public", name: "ghost", rows: 0 },
      ],
    });
    const result = await verifyBackup({ source: { destination, folder: m.id }, restoreTestUrl: await scratch() });
    expect(result.ok).toBe(false);
    expect(result.restoreTest?.mismatches).toEqual([
      { table: "public.authors", expected: 4, actual: 3 },
      { table: "public.ghost", expected: 0, actual: null },
    ]);
  });
});

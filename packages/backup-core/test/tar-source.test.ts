/**
 * A `.tar` of one backup folder (the browser-download format) read as a stream by verify and
 * restore: entries at the root or under one folder; tampered, incomplete or hostile tars give the
 * usual damaged-backup errors.
 */
import { createReadStream, createWriteStream } from "node:fs";
import { mkdtemp, readFile, rm, stat, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { LocalMappedDestination } from "@stowage/storage";
import { pack } from "tar-stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tarFileBackup, tarStreamBackup } from "../src/archive/tar-source.ts";
import { readManifest } from "../src/catalog.ts";
import type { BackupManifest } from "../src/manifest.ts";
import { runRestore } from "../src/restore.ts";
import { verifyBackup } from "../src/verify.ts";
import {
  contentHashes,
  createDatabase,
  dropDatabase,
  dumpParts,
  SMALL_SOURCE_SQL,
  uniqueName,
  writeBackup,
} from "./read-fixture.ts";

let dir: string;
let manifest: BackupManifest;
let encrypted: BackupManifest;
let sourceUrl: string;
let sourceHashes: Record<string, string>;
const databases: string[] = [];

async function scratch(sql?: string): Promise<string> {
  const name = uniqueName("stowage_tar");
  databases.push(name);
  return createDatabase(name, sql);
}

interface TarFile {
  readonly name: string;
  readonly data: Buffer;
  readonly type?: "file" | "directory" | "symlink";
}

async function writeTar(path: string, files: readonly TarFile[]): Promise<string> {
  const tar = pack();
  const done = pipeline(tar, createWriteStream(path));
  for (const f of files) {
    if (f.type === "directory") tar.entry({ name: f.name, type: "directory" });
    else if (f.type === "symlink") tar.entry({ name: f.name, type: "symlink", linkname: "/etc/passwd" });
    else tar.entry({ name: f.name, size: f.data.length }, f.data);
  }
  tar.finalize();
  await done;
  return path;
}

/** The files of a backup folder as a tar would hold them: manifest first, then parts in manifest order. */
async function backupFiles(m: BackupManifest, top: string | undefined): Promise<TarFile[]> {
  const at = (name: string) => (top ? `${top}/${name}` : name);
  const files: TarFile[] = top ? [{ name: `${top}/`, data: Buffer.alloc(0), type: "directory" }] : [];
  files.push({ name: at("manifest.json"), data: await readFile(join(dir, m.id, "manifest.json")) });
  for (const f of m.files) files.push({ name: at(f.name), data: await readFile(join(dir, m.id, f.name)) });
  return files;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "stowage-tar-"));
  const destination = new LocalMappedDestination({ basePath: dir });
  sourceUrl = await scratch(SMALL_SOURCE_SQL);
  sourceHashes = await contentHashes(sourceUrl);
  const parts = dumpParts(sourceUrl);
  manifest = await writeBackup(destination, { name: "small", time: new Date(), parts });
  encrypted = await writeBackup(destination, { name: "small", time: new Date(), parts, compression: "zstd", passphrase: "pw" });
});

afterAll(async () => {
  for (const name of databases) await dropDatabase(name);
  await rm(dir, { recursive: true, force: true });
});

describe("a backup in a .tar", () => {
  it("verifies and restores from a tar with one top-level folder, and from one with files at its root", async () => {
    for (const top of ["small-20261202T093000Z", undefined]) {
      const path = await writeTar(join(dir, `${top ?? "root"}.tar`), await backupFiles(manifest, top));
      const location = tarFileBackup(path);
      expect((await readManifest(location)).id).toBe(manifest.id);
      const result = await verifyBackup({ source: tarFileBackup(path) });
      expect(result.ok).toBe(true);
      expect(result.files.map((f) => f.name)).toEqual(manifest.files.map((f) => f.name));
      const target = await scratch();
      await runRestore({ source: tarFileBackup(path), targetUrl: target });
      expect(await contentHashes(target)).toEqual(sourceHashes);
    }
  });

  it("an encrypted zstd backup in a tar: the manifest MAC and the key are checked as for a folder", async () => {
    const path = await writeTar(join(dir, "enc.tar"), await backupFiles(encrypted, "enc"));
    expect((await verifyBackup({ source: tarFileBackup(path), keys: { passphrase: "pw" } })).ok).toBe(true);
    await expect(verifyBackup({ source: tarFileBackup(path) })).rejects.toMatchObject({ code: "KEY_REQUIRED" });
    await expect(verifyBackup({ source: tarFileBackup(path), keys: { passphrase: "nope" } })).rejects.toMatchObject({
      code: "DECRYPTION_FAILED",
    });
  });

  it("reads a one-pass stream (an upload) in Stowage's order, and refuses an out-of-order one by name", async () => {
    const path = await writeTar(join(dir, "stream.tar"), await backupFiles(manifest, "s"));
    const location = tarStreamBackup(createReadStream(path));
    const m = await readManifest(location);
    const result = await verifyBackup({ source: location, manifest: m });
    expect(result.ok).toBe(true);

    const files = await backupFiles(manifest, "s");
    const reversed = [files[0]!, files[1]!, ...files.slice(2).reverse()];
    const bad = await writeTar(join(dir, "reversed.tar"), reversed);
    const one = tarStreamBackup(createReadStream(bad));
    const check = await verifyBackup({ source: one, manifest: await readManifest(one) });
    expect(check.ok).toBe(false);
    expect(check.files.find((f) => !f.ok)?.error).toMatch(/manifest\.json first, then the parts in manifest order/);
    // A local file may be read in any order: the same tar verifies from disk.
    expect((await verifyBackup({ source: tarFileBackup(bad) })).ok).toBe(true);
  });

  it("a tampered part is a checksum mismatch, and restore leaves the target unchanged", async () => {
    const files = await backupFiles(manifest, "t");
    const data = files.find((f) => f.name.endsWith("data.sql.gz"))!;
    const flipped = Buffer.from(data.data);
    flipped[flipped.length - 6]! ^= 0xff;
    const path = await writeTar(
      join(dir, "tampered.tar"),
      files.map((f) => (f === data ? { ...f, data: flipped } : f)),
    );
    const result = await verifyBackup({ source: tarFileBackup(path) });
    expect(result.ok).toBe(false);
    expect(result.files.find((f) => f.name === "data.sql.gz")?.code).toBe("CHECKSUM_MISMATCH");
    const target = await scratch();
    await expect(runRestore({ source: tarFileBackup(path), targetUrl: target })).rejects.toMatchObject({
      code: "CHECKSUM_MISMATCH",
    });
    expect(await contentHashes(target)).toEqual({});
  });

  it("an incomplete tar (cut short, or a part missing) is reported as damaged, naming the file", async () => {
    const files = await backupFiles(manifest, "c");
    const path = await writeTar(join(dir, "cut.tar"), files);
    await truncate(path, (await stat(path)).size - 2048 - 700);
    const cut = await verifyBackup({ source: tarFileBackup(path) });
    expect(cut.ok).toBe(false);
    const bad = cut.files.find((f) => !f.ok)!;
    expect(bad.name).toBe("data.sql.gz");
    expect(["FILE_MISSING", "CHECKSUM_MISMATCH"]).toContain(bad.code);

    const missing = await writeTar(
      join(dir, "missing.tar"),
      files.filter((f) => !f.name.endsWith("data.sql.gz")),
    );
    const result = await verifyBackup({ source: tarFileBackup(missing) });
    expect(result.files.find((f) => f.name === "data.sql.gz")?.code).toBe("FILE_MISSING");

    const noManifest = await writeTar(
      join(dir, "no-manifest.tar"),
      files.filter((f) => !f.name.endsWith("manifest.json")),
    );
    await expect(readManifest(tarFileBackup(noManifest))).rejects.toMatchObject({ code: "MANIFEST_NOT_FOUND" });
  });

  it("refuses hostile tars: paths outside the folder, links, two top-level folders", async () => {
    const files = await backupFiles(manifest, "h");
    const cases: TarFile[][] = [
      [{ name: "../evil", data: Buffer.from("x") }, ...files],
      [{ name: "h/link", data: Buffer.alloc(0), type: "symlink" }, ...files.slice(1)],
      [{ name: "other/manifest.json", data: Buffer.from("{}") }, ...files.slice(1)],
      [{ name: "h/deep/manifest.json", data: Buffer.from("{}") }, ...files.slice(1)],
    ];
    for (const [i, list] of cases.entries()) {
      const path = await writeTar(join(dir, `hostile-${i}.tar`), list);
      await expect(readManifest(tarFileBackup(path))).rejects.toMatchObject({ code: "MANIFEST_INVALID" });
    }
    await writeFile(join(dir, "not-a.tar"), "plain text, not a tar");
    await expect(readManifest(tarFileBackup(join(dir, "not-a.tar")))).rejects.toMatchObject({ code: expect.any(String) });
  });
});

/**
 * The `stowage` binary as a user runs it (a child process of bin/stowage.js) against the local
 * PostgreSQL: backup → list → restore → compare, restore without Stowage by docs/FORMAT.md, age CLI
 * decryption, corruption, wrong passphrase, non-empty target, --clean, verify, prune.
 */
import { execFile, execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { REFRESH_MATERIALIZED_VIEWS } from "@stowage/backup-core";
import { LocalMappedDestination } from "@stowage/storage";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  supabaseContentHashes as contentHashes,
  createDatabase,
  createFixtureDatabase,
  createPlatformDatabase,
  dropDatabase,
  normalizedSchema,
  psql,
  uniqueName,
} from "../../../packages/backup-core/test/helpers/pg.ts";
import { writeBackup } from "../../../packages/backup-core/test/read-fixture.ts";

const run = promisify(execFile);
const BIN = new URL("../bin/stowage.js", import.meta.url).pathname;

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

async function stowage(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Result> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], {
      env: { ...process.env, STOWAGE_PASSPHRASE: "", ...env },
      maxBuffer: 16 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const databases: string[] = [];
async function db(kind: "empty" | "platform" | "fixture"): Promise<string> {
  const name = uniqueName("stowage_cli");
  databases.push(name);
  if (kind === "fixture") return createFixtureDatabase(name);
  if (kind === "platform") return createPlatformDatabase(name);
  return createDatabase(name);
}

let dir: string;
let dest: string;
let sourceUrl: string;
let backupId: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "stowage-cli-"));
  dest = join(dir, "dest");
  await mkdir(dest);
  sourceUrl = await db("fixture");
  const result = await stowage([
    "backup",
    "--db",
    sourceUrl,
    "--to",
    `file://${dest}`,
    "--name",
    "fixture",
    "--migration-history",
    "--json",
  ]);
  expect(result.stderr).toBe("");
  expect(result.code).toBe(0);
  backupId = JSON.parse(result.stdout).backupId;
});

afterAll(async () => {
  for (const name of databases) await dropDatabase(name);
  await rm(dir, { recursive: true, force: true });
});

describe("stowage CLI", () => {
  it("--help lists the commands and the exit codes", async () => {
    const help = await stowage(["--help"]);
    expect(help.code).toBe(0);
    for (const word of [
      "backup",
      "list",
      "restore",
      "verify",
      "prune",
      "Exit codes",
      "5  restore: the target database is not empty",
    ]) {
      expect(help.stdout).toContain(word);
    }
    expect((await stowage(["restore"])).code).toBe(2);
  });

  it("round trip: restore into a fresh Supabase-like project gives the same schema and the same rows", async () => {
    const target = await db("platform");
    const restore = await stowage(["restore", "--from", `file://${dest}`, backupId, "--db", target]);
    expect(restore.stderr).toBe("");
    expect(restore.code).toBe(0);
    expect(normalizedSchema(target)).toBe(normalizedSchema(sourceUrl));
    expect(await contentHashes(target)).toEqual(await contentHashes(sourceUrl));

    // A second restore is refused (exit 5) and leaves the data; with --clean it works.
    const again = await stowage(["restore", "--from", `file://${dest}`, backupId, "--db", target]);
    expect(again.code).toBe(5);
    expect(again.stderr).toMatch(/^stowage: the target database .* is not empty .*--clean/);
    const clean = await stowage(["restore", join(dest, backupId), "--db", target, "--clean"]);
    expect(clean.stderr).toBe("");
    expect(clean.code).toBe(0);
    expect(await contentHashes(target)).toEqual(await contentHashes(sourceUrl));
  }, 180_000);

  it("the documented commands restore the same backup without Stowage (gunzip | psql)", async () => {
    const target = await db("platform");
    const folder = join(dest, backupId);
    // docs/FORMAT.md, "Restoring without Stowage"
    const script = `set -euo pipefail
cd "${folder}"
{ echo 'BEGIN;'
  gunzip -c roles.sql.gz
  gunzip -c schema.sql.gz
  gunzip -c history_schema.sql.gz
  echo 'SET session_replication_role = replica;'
  gunzip -c data.sql.gz
  gunzip -c history_data.sql.gz
  gunzip -c post-data.sql.gz
  cat "$REFRESH"
  echo 'COMMIT;'
} | psql --no-psqlrc -v ON_ERROR_STOP=1 --quiet --dbname "$TARGET" >/dev/null`;
    const refresh = join(dir, "refresh.sql");
    await writeFile(refresh, REFRESH_MATERIALIZED_VIEWS);
    execFileSync("bash", ["-c", script], {
      env: { ...process.env, TARGET: target, REFRESH: refresh },
      stdio: ["ignore", "ignore", "pipe"],
    });
    // Including the user's triggers, policies and grants on auth/storage tables (end of post-data.sql).
    expect(normalizedSchema(target)).toBe(normalizedSchema(sourceUrl));
    expect(await contentHashes(target)).toEqual(await contentHashes(sourceUrl));
  });

  it("lists complete and incomplete backups, as text and JSON Lines", async () => {
    await mkdir(join(dest, "fixture", "20200101T000000Z-zzzzzz"), { recursive: true });
    await writeFile(join(dest, "fixture", "20200101T000000Z-zzzzzz", "data.sql.gz"), "partial");
    try {
      const text = await stowage(["list", "--from", `file://${dest}`]);
      expect(text.code).toBe(0);
      expect(text.stdout).toMatch(/fixture\/20200101T000000Z-zzzzzz .* incomplete/);
      expect(text.stdout).toMatch(new RegExp(`${backupId} .* full .* complete`));
      const json = (await stowage(["list", "--from", `file://${dest}`, "--json"])).stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l));
      expect(json.map((j) => [j.id, j.complete])).toEqual([
        ["fixture/20200101T000000Z-zzzzzz", false],
        [backupId, true],
      ]);
    } finally {
      await rm(join(dest, "fixture", "20200101T000000Z-zzzzzz"), { recursive: true });
    }
  });

  it("an age-encrypted backup (X25519 recipient) is decrypted by Debian's age and by stowage --identity", async () => {
    const keyFile = join(dir, "key.txt");
    execFileSync("age-keygen", ["-o", keyFile], { stdio: "ignore" });
    const recipient = /public key: (age1\w+)/.exec(await readFile(keyFile, "utf8"))![1]!;
    const encDest = join(dir, "enc");
    await mkdir(encDest);
    const small = await db("empty");
    await psql(small, {
      sql: "create table notes (id int primary key, body text); insert into notes select g, 'note ' || g from generate_series(1, 100) g;",
    });
    const backup = await stowage([
      "backup",
      "--db",
      small,
      "--to",
      `file://${encDest}`,
      "--recipient",
      recipient,
      "--compression",
      "zstd",
      "--json",
    ]);
    expect(backup.code).toBe(0);
    const id = JSON.parse(backup.stdout).backupId;
    const folder = join(encDest, id);
    expect((await readdir(folder)).sort()).toEqual([
      "data.sql.zst.age",
      "manifest.json",
      "post-data.sql.zst.age",
      "roles.sql.zst.age",
      "schema.sql.zst.age",
    ]);

    const plain = execFileSync("bash", ["-c", `age -d -i "${keyFile}" "${folder}/data.sql.zst.age" | zstd -dc`], {
      encoding: "utf8",
    });
    expect(plain).toContain("note 100");

    const noKey = await stowage(["verify", folder]);
    expect(noKey.code).toBe(6);
    expect(noKey.stderr).toMatch(/--identity/);
    const target = await db("empty");
    const restore = await stowage(["restore", folder, "--db", target, "--identity", keyFile]);
    expect(restore.code, restore.stderr).toBe(0);
    expect(await contentHashes(target)).toEqual(await contentHashes(small));
    // A backup, two verifies and a restore of child processes: over 60 s at load 28.
  }, 180_000);

  it("wrong passphrase: a clear error and exit code 6; the right one verifies", async () => {
    const encDest = join(dir, "pass");
    const passFile = join(dir, "pass.txt");
    await writeFile(passFile, "the right passphrase\n");
    const small = await db("empty");
    await psql(small, { sql: "create table a (x int); insert into a values (1);" });
    await mkdir(encDest);
    const result = await stowage([
      "backup",
      "--db",
      small,
      "--to",
      `file://${encDest}`,
      "--encrypt-passphrase-file",
      passFile,
      "--json",
    ]);
    expect(result.code).toBe(0);
    const folder = join(encDest, JSON.parse(result.stdout).backupId);
    const wrong = await stowage(["verify", folder], { STOWAGE_PASSPHRASE: "not it" });
    expect(wrong.code).toBe(6);
    expect(wrong.stderr).toMatch(/passphrase does not decrypt/);
    expect(wrong.stderr).not.toContain("not it");
    expect(wrong.stderr.split("\n").filter(Boolean)).toHaveLength(1);
    const right = await stowage(["verify", folder], { STOWAGE_PASSPHRASE: "the right passphrase" });
    expect(right.code).toBe(0);
    // The manifest MAC: a changed manifest is refused (exit 4), and so is a plain backup when a key is given.
    const manifestPath = join(folder, "manifest.json");
    const original = await readFile(manifestPath, "utf8");
    await writeFile(manifestPath, original.replace('"type": "full"', '"type": "data"'));
    const altered = await stowage(["verify", folder], { STOWAGE_PASSPHRASE: "the right passphrase" });
    expect(altered.code).toBe(4);
    expect(altered.stderr).toMatch(/does not match its MAC/);
    await writeFile(manifestPath, original);
    // An age-scrypt derivation at work factor 18 per part and per MAC (4 parts since the post-data split),
    // for the backup and each verify: slow on a busy machine (240 s timed out at load 28).
  }, 420_000);

  it("restore --help states the trust model", async () => {
    const help = await stowage(["restore", "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Trust model:/);
    expect(help.stdout).toMatch(/Restore only backups you\s+trust/);
    expect(help.stdout).toContain("\\restrict");
  });

  it("a corrupted file: verify names it (exit 4) and restore leaves the target untouched", async () => {
    const copy = join(dir, "corrupt");
    execFileSync("cp", ["-r", dest, copy]);
    const dataPath = join(copy, backupId, "data.sql.gz");
    const bytes = await readFile(dataPath);
    const middle = Math.floor(bytes.length / 2);
    bytes[middle] = bytes[middle]! ^ 0xff;
    await writeFile(dataPath, bytes);

    const verify = await stowage(["verify", "--from", `file://${copy}`, backupId]);
    expect(verify.code).toBe(4);
    expect(verify.stdout).toMatch(/FAILED {2}data\.sql\.gz: data\.sql\.gz is corrupted/);
    expect(verify.stdout).toMatch(/ok {6}schema\.sql\.gz/);
    expect(verify.stderr).toMatch(/data\.sql\.gz/);

    const target = await db("platform");
    await psql(target, { sql: "create table precious (x int); insert into precious values (42);" });
    const before = await contentHashes(target);
    const schemaBefore = normalizedSchema(target);
    const restore = await stowage(["restore", join(copy, backupId), "--db", target, "--clean"]);
    expect(restore.code).toBe(4);
    expect(restore.stderr).toMatch(/data\.sql\.gz is corrupted/);
    expect(await contentHashes(target)).toEqual(before);
    expect(normalizedSchema(target)).toBe(schemaBefore);
  }, 180_000);

  it("verify and restore accept a .tar of one backup folder (the browser download); a damaged tar exits 4", async () => {
    const [name, folder] = backupId.split("/") as [string, string];
    const tarPath = join(dir, "download.tar");
    // GNU tar: entries under one top-level folder, in directory order (not Stowage's order): read from disk anyway.
    execFileSync("tar", ["-cf", tarPath, "-C", join(dest, name), folder]);
    const verify = await stowage(["verify", tarPath]);
    expect(verify.stderr).toBe("");
    expect(verify.code).toBe(0);
    expect(verify.stdout).toMatch(/ok {6}data\.sql\.gz/);
    const platform = await db("platform");
    const restore = await stowage(["restore", tarPath, "--db", platform, "--json"]);
    expect(restore.stderr).toBe("");
    expect(restore.code).toBe(0);
    expect(await contentHashes(platform)).toEqual(await contentHashes(sourceUrl));

    const bytes = await readFile(tarPath);
    // The header of data.sql.gz itself (post-data.sql.gz and history_data.sql.gz end with the same name).
    const at = bytes.indexOf(Buffer.from("/data.sql.gz\0")) + 2048;
    bytes[at]! ^= 0xff;
    const damaged = join(dir, "damaged.tar");
    await writeFile(damaged, bytes);
    const bad = await stowage(["verify", damaged]);
    expect(bad.code).toBe(4);
    const missing = await stowage(["verify", join(dir, "no-such.tar")]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no such file/);
  }, 180_000);

  it("verify --restore-test restores into a scratch database and compares row counts", async () => {
    const scratch = await db("platform");
    const result = await stowage(["verify", "--from", `file://${dest}`, backupId, "--restore-test", scratch, "--json"]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const json = JSON.parse(result.stdout);
    expect(json.ok).toBe(true);
    expect(json.restoreTest.mismatches).toEqual([]);
    expect(json.restoreTest.tables).toBeGreaterThan(5);
  });

  it("prune --dry-run plans, prune deletes (manifest first), and the newest complete backup stays", async () => {
    const pruneDir = join(dir, "prune");
    await mkdir(pruneDir);
    const destination = new LocalMappedDestination({ basePath: pruneDir });
    const parts = [{ role: "schema" as const, sql: "select 1;\n" }];
    const day = 86_400_000;
    const base = Date.UTC(2026, 10, 25, 3);
    const ids: string[] = [];
    for (let i = 0; i < 6; i++)
      ids.push((await writeBackup(destination, { name: "db", time: new Date(base - i * day), parts })).id);
    const incomplete = (await writeBackup(destination, { name: "db", time: new Date(base + 3600_000), parts, incomplete: true }))
      .id;

    const dry = await stowage([
      "prune",
      "--from",
      `file://${pruneDir}`,
      "--keep-last",
      "2",
      "--keep-weekly",
      "1",
      "--dry-run",
      "--json",
    ]);
    expect(dry.code).toBe(0);
    const plan = JSON.parse(dry.stdout);
    const removeIds = plan.decisions.filter((d: { action: string }) => d.action === "remove").map((d: { id: string }) => d.id);
    // 2026-11-25 is a Wednesday: keep-last 2 keeps 25 and 24; keep-weekly 1 keeps 25 (W48, already kept).
    expect(removeIds.sort()).toEqual(ids.slice(2).sort());
    const listIds = async () =>
      (await stowage(["list", "--from", `file://${pruneDir}`, "--json"])).stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l).id as string)
        .sort();
    expect(await listIds()).toEqual([...ids, incomplete].sort()); // nothing deleted

    const real = await stowage(["prune", "--from", `file://${pruneDir}`, "--keep-last", "2", "--keep-weekly", "1"]);
    expect(real.code).toBe(0);
    expect(real.stdout).toMatch(/deleted 4 backup/);
    expect(await listIds()).toEqual([...ids.slice(0, 2), incomplete].sort());

    const noRule = await stowage(["prune", "--from", `file://${pruneDir}`]);
    expect(noRule.code).toBe(2);
    expect(noRule.stderr).toMatch(/--keep-last/);
  }, 180_000);

  it("prune applies retention per backup name: --keep-last 1 never removes another database's only backup; --name, grouped plans", async () => {
    const pruneDir = join(dir, "prune-names");
    await mkdir(pruneDir);
    const destination = new LocalMappedDestination({ basePath: pruneDir });
    const parts = [{ role: "schema" as const, sql: "select 1;\n" }];
    const mine: string[] = [];
    for (let d = 1; d <= 3; d++)
      mine.push((await writeBackup(destination, { name: "mydb", time: new Date(Date.UTC(2026, 10, d)), parts })).id);
    const other = (await writeBackup(destination, { name: "otherdb", time: new Date("2025-01-01T00:00:00Z"), parts })).id;
    const listIds = async () =>
      (await stowage(["list", "--from", `file://${pruneDir}`, "--json"])).stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l).id as string)
        .sort();

    // --keep-last 0: a policy that keeps nothing is refused and deletes nothing.
    const zero = await stowage(["prune", "--from", `file://${pruneDir}`, "--keep-last", "0"]);
    expect(zero.code).toBe(2);
    expect(zero.stderr).toMatch(/keeps nothing/);
    expect(await listIds()).toEqual([...mine, other].sort());

    const dry = await stowage(["prune", "--from", `file://${pruneDir}`, "--keep-last", "1", "--dry-run", "--json"]);
    expect(dry.code).toBe(0);
    const plan = JSON.parse(dry.stdout);
    expect(plan.names.map((n: { name: string }) => n.name)).toEqual(["mydb", "otherdb"]);
    const actions = (n: { decisions: { id: string; action: string }[] }) => n.decisions.map((d) => [d.id, d.action]);
    expect(actions(plan.names[0])).toEqual([
      [mine[2], "keep"],
      [mine[1], "remove"],
      [mine[0], "remove"],
    ]);
    expect(actions(plan.names[1])).toEqual([[other, "keep"]]);

    const text = await stowage(["prune", "--from", `file://${pruneDir}`, "--keep-last", "1", "--dry-run"]);
    expect(text.stdout).toMatch(/^mydb: keep 1, would remove 2$/m);
    expect(text.stdout).toMatch(/^otherdb: keep 1, would remove 0$/m);

    const onlyOther = await stowage(["prune", "--from", `file://${pruneDir}`, "--keep-last", "1", "--name", "otherdb", "--json"]);
    expect(JSON.parse(onlyOther.stdout).names.map((n: { name: string }) => n.name)).toEqual(["otherdb"]);
    expect(await listIds()).toEqual([...mine, other].sort());

    const real = await stowage(["prune", "--from", `file://${pruneDir}`, "--keep-last", "1", "--name", "mydb"]);
    expect(real.code).toBe(0);
    expect(await listIds()).toEqual([mine[2]!, other].sort());
    // Eight CLI runs: about 5 s each on a machine where both cores are busy.
  }, 180_000);
});

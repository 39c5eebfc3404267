/**
 * runBackup failure modes on real servers: wrong password (a throwaway scram-sha-256 cluster
 * started here), unreachable host, pg_dump too old (STOWAGE_PG_BIN with a fake old pg_dump),
 * an upload failing half-way, and an aborted backup. In every case: a typed error, no password in
 * any output, and no manifest (nothing that looks complete) at the destination.
 */
import { execFile } from "node:child_process";
import { chmod, mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Transform } from "node:stream";
import { promisify } from "node:util";
import {
  LocalMappedDestination,
  openSource,
  type StorageDestination,
  StorageError,
  type UploadOptions,
  type UploadResult,
  type UploadSource,
} from "@stowage/storage";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BackupError, findPgTools, runBackup } from "../src/index.ts";
import { createFixtureDatabase, dropDatabase, uniqueName } from "./helpers/pg.ts";

const run = promisify(execFile);
const PASSWORD = "Sup3r-S3cret-pa55word";

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * Every file under `dir`. Errors are NOT swallowed: a missing or misnamed folder must fail the
 * "nothing uploaded" checks instead of passing them with an empty list (`dest()` creates the folder).
 */
async function filesUnder(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name);
}

/** A throwaway cluster that requires a password (scram-sha-256), run as the postgres OS user when we are root. */
class PasswordCluster {
  port = 0;
  private dir = "";
  private readonly asPostgres = process.getuid?.() === 0;
  private bin = "";

  private exec(cmd: string, args: string[]) {
    return this.asPostgres ? run("runuser", ["-u", "postgres", "--", cmd, ...args]) : run(cmd, args);
  }

  async start(): Promise<void> {
    const tools = await findPgTools({ serverVersionNum: 150000, tools: ["psql"] });
    const { stdout } = await run("sh", ["-c", "ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1"]);
    this.bin = stdout.trim() || tools.dir;
    this.dir = await mkdtemp(join(tmpdir(), "stowage-pwcluster-"));
    await writeFile(join(this.dir, "pw"), PASSWORD);
    if (this.asPostgres) {
      await run("chown", ["-R", "postgres:", this.dir]);
    }
    await chmod(this.dir, 0o700);
    this.port = await freePort();
    await this.exec(join(this.bin, "initdb"), [
      "-D",
      join(this.dir, "data"),
      "-U",
      "postgres",
      "-A",
      "scram-sha-256",
      `--pwfile=${join(this.dir, "pw")}`,
      "--no-sync",
    ]);
    await this.exec(join(this.bin, "pg_ctl"), [
      "-D",
      join(this.dir, "data"),
      "-w",
      "-l",
      join(this.dir, "log"),
      "-o",
      `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off`,
      "start",
    ]);
  }

  async stop(): Promise<void> {
    if (!this.dir) return;
    await this.exec(join(this.bin, "pg_ctl"), ["-D", join(this.dir, "data"), "-m", "immediate", "stop"]).catch(() => {});
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** Delegates to a local destination but fails the upload of `failKey` after `afterBytes` bytes. */
class FlakyDestination implements StorageDestination {
  readonly type = "local_mapped" as const;
  constructor(
    private readonly inner: LocalMappedDestination,
    private readonly failSuffix: string,
    private readonly afterBytes: number,
  ) {}
  get name() {
    return `flaky(${this.inner.name})`;
  }
  get capabilities() {
    return this.inner.capabilities;
  }
  configure(config: unknown) {
    return this.inner.configure(config);
  }
  upload(source: UploadSource, key: string, options?: UploadOptions): Promise<UploadResult> {
    if (!key.endsWith(this.failSuffix)) return this.inner.upload(source, key, options);
    let seen = 0;
    const limit = this.afterBytes;
    const name = this.name;
    const breaker = new Transform({
      transform(chunk: Buffer, _e, cb) {
        seen += chunk.length;
        if (seen > limit) cb(new StorageError("INTERRUPTED", name, "connection reset by the test"));
        else cb(null, chunk);
      },
    });
    const input = openSource(source);
    input.on("error", (e) => breaker.destroy(e));
    return this.inner.upload(input.pipe(breaker), key, options);
  }
  download(key: string) {
    return this.inner.download(key);
  }
  stat(key: string) {
    return this.inner.stat(key);
  }
  delete(key: string) {
    return this.inner.delete(key);
  }
  list(prefix?: string) {
    return this.inner.list(prefix);
  }
  validateConnection() {
    return this.inner.validateConnection();
  }
  getAvailableSpace() {
    return this.inner.getAvailableSpace();
  }
  close() {
    return this.inner.close();
  }
}

let root: string;
let fixtureName: string;
let fixtureUrl: string;
const cluster = new PasswordCluster();

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "stowage-faults-"));
  fixtureName = uniqueName("faults");
  [fixtureUrl] = await Promise.all([createFixtureDatabase(fixtureName), cluster.start()]);
});

afterAll(async () => {
  await cluster.stop();
  await dropDatabase(fixtureName);
  await rm(root, { recursive: true, force: true });
});

async function dest(name: string) {
  const dir = join(root, name);
  await mkdir(dir, { recursive: true });
  return { dir, dest: new LocalMappedDestination({ basePath: dir }) };
}

it("filesUnder fails on a folder that does not exist, so an empty list always means an empty folder", async () => {
  await expect(filesUnder(join(root, "never-created"))).rejects.toMatchObject({ code: "ENOENT" });
  const { dir } = await dest("empty");
  expect(await filesUnder(dir)).toEqual([]);
});

function expectNoSecret(error: unknown) {
  const e = error as BackupError;
  const text = `${e.message}\n${e.stack}\n${JSON.stringify(e)}`;
  expect(text).not.toContain(PASSWORD);
}

describe("database side", () => {
  it("wrong password: AUTH_FAILED, clear message, password nowhere, nothing uploaded", async () => {
    const { dir, dest: d } = await dest("auth");
    const url = `postgresql://postgres:${encodeURIComponent(`${PASSWORD}x`)}@127.0.0.1:${cluster.port}/postgres`;
    const error = await runBackup({ databaseUrl: url, destinations: [d] }).catch((e) => e);
    expect(BackupError.is(error, "AUTH_FAILED")).toBe(true);
    expect(error.message).toMatch(/rejected the login of user "postgres".*password/);
    expect(error.message).not.toContain(`${PASSWORD}x`);
    expectNoSecret(error);
    expect(await filesUnder(dir)).toEqual([]);
  });

  it("a URL without password works with PGPASSWORD in the environment", async () => {
    const { dir, dest: d } = await dest("pgpassword");
    const url = `postgresql://postgres@127.0.0.1:${cluster.port}/postgres`;
    const result = await runBackup({
      databaseUrl: url,
      destinations: [d],
      type: "schema",
      env: { ...process.env, PGPASSWORD: PASSWORD },
    });
    expect(result.ok).toBe(true);
    expect((await filesUnder(dir)).sort()).toEqual(["manifest.json", "post-data.sql.gz", "schema.sql.gz"]);
  });

  it("a password in the URL works too, and never reaches the manifest", async () => {
    const { dir, dest: d } = await dest("urlpassword");
    const url = `postgresql://postgres:${encodeURIComponent(PASSWORD)}@127.0.0.1:${cluster.port}/postgres`;
    const result = await runBackup({ databaseUrl: url, destinations: [d], type: "full" });
    expect(result.ok).toBe(true);
    const { stdout } = await run("sh", ["-c", 'cat "$1"/*/*/manifest.json; zcat "$1"/*/*/*.gz', "sh", dir]);
    expect(stdout).not.toContain(PASSWORD);
  });

  it("unreachable host: UNREACHABLE names host and port", async () => {
    const port = await freePort();
    const { dir, dest: d } = await dest("unreachable");
    const error = await runBackup({
      databaseUrl: `postgresql://postgres:${PASSWORD}@127.0.0.1:${port}/db`,
      destinations: [d],
    }).catch((e) => e);
    expect(BackupError.is(error, "UNREACHABLE")).toBe(true);
    expect(error.message).toContain(`127.0.0.1:${port}`);
    expectNoSecret(error);
    expect(await filesUnder(dir)).toEqual([]);
  });

  it("pg_dump older than the server: PG_VERSION_MISMATCH before any dump, naming the version and the package", async () => {
    const bin = join(root, "old-bin");
    await mkdir(bin, { recursive: true });
    for (const tool of ["pg_dump", "pg_dumpall", "psql"]) {
      await writeFile(join(bin, tool), `#!/bin/sh\necho "${tool} (PostgreSQL) 11.22"\n`, { mode: 0o755 });
    }
    const { dir, dest: d } = await dest("mismatch");
    const error = await runBackup({
      databaseUrl: fixtureUrl,
      destinations: [d],
      env: { ...process.env, STOWAGE_PG_BIN: bin },
    }).catch((e) => e);
    expect(BackupError.is(error, "PG_VERSION_MISMATCH")).toBe(true);
    expect(error.message).toMatch(/PostgreSQL 1\d/);
    expect(error.message).toMatch(/apt-get install postgresql-client-1\d/);
    expect(error.message).toContain("11");
    expect(await filesUnder(dir)).toEqual([]);

    const empty = join(root, "empty-bin");
    await mkdir(empty, { recursive: true });
    const missing = await runBackup({
      databaseUrl: fixtureUrl,
      destinations: [d],
      env: { ...process.env, STOWAGE_PG_BIN: empty },
    }).catch((e) => e);
    expect(BackupError.is(missing, "PG_TOOLS_MISSING")).toBe(true);
  });
});

describe("destination side", () => {
  it("an upload failing half-way leaves no manifest and no parts there; the other destination completes", async () => {
    const flakyDir = join(root, "flaky");
    await mkdir(flakyDir, { recursive: true });
    const flaky = new FlakyDestination(new LocalMappedDestination({ basePath: flakyDir }), "data.sql.gz", 256 * 1024);
    const good = await dest("flaky-partner");
    const result = await runBackup({ databaseUrl: fixtureUrl, destinations: [flaky, good.dest] });
    const [bad, ok] = result.destinations;
    expect(bad!.ok).toBe(false);
    if (!bad!.ok) {
      expect(bad!.error.code).toBe("STORAGE");
      expect(bad!.error.message).toMatch(/data\.sql\.gz.*connection reset by the test/);
    }
    expect(ok!.ok).toBe(true);
    // roles.sql.gz and schema.sql.gz had been stored there before the failure: deleted again.
    expect(await filesUnder(flakyDir)).toEqual([]);
    expect((await filesUnder(good.dir)).sort()).toEqual([
      "data.sql.gz",
      "manifest.json",
      "post-data.sql.gz",
      "roles.sql.gz",
      "schema.sql.gz",
    ]);
  });

  it("when the only destination fails mid-way the dump stops and nothing is left", async () => {
    const flakyDir = join(root, "flaky-alone");
    await mkdir(flakyDir, { recursive: true });
    const flaky = new FlakyDestination(new LocalMappedDestination({ basePath: flakyDir }), "data.sql.gz", 64 * 1024);
    const result = await runBackup({ databaseUrl: fixtureUrl, destinations: [flaky] });
    expect(result.ok).toBe(false);
    expect(await filesUnder(flakyDir)).toEqual([]);
  });

  it("an aborted backup throws ABORTED and leaves nothing", async () => {
    const { dir, dest: d } = await dest("abort");
    const controller = new AbortController();
    const error = await runBackup({
      databaseUrl: fixtureUrl,
      destinations: [d],
      signal: controller.signal,
      progressIntervalMs: 0,
      onProgress: (p) => {
        if (p.part === "data" && p.bytesDumped > 0) controller.abort();
      },
    }).catch((e) => e);
    expect(BackupError.is(error, "ABORTED")).toBe(true);
    expect(await filesUnder(dir)).toEqual([]);
  });

  it("a database that does not exist: DATABASE_NOT_FOUND", async () => {
    const { dest: d } = await dest("nodb");
    const missing = uniqueName("missing");
    const error = await runBackup({ databaseUrl: fixtureUrl.replace(fixtureName, missing), destinations: [d] }).catch((e) => e);
    expect(BackupError.is(error, "DATABASE_NOT_FOUND")).toBe(true);
    expect(error.message).toContain(missing);
  });
});

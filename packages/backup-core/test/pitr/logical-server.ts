/**
 * @module test/pitr/logical-server
 * A PostgreSQL server with wal_level=logical for the point-in-time tests. scripts/test.sh starts one
 * and exports STOWAGE_TEST_PG_LOGICAL_URL; without it (a single file run by hand) this starts a
 * throwaway cluster itself (initdb in a temp folder, a free port, stopped by `stop()`), because the
 * shared server's wal_level may not be logical and must not be restarted.
 */
import { execFile } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { chown, mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import pg from "pg";

const run = promisify(execFile);

export interface LogicalServer {
  /** Superuser URL of the `postgres` database. */
  readonly url: string;
  stop(): Promise<void>;
}

async function walLevel(url: string): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    return (await client.query<{ wal_level: string }>("show wal_level")).rows[0]?.wal_level;
  } catch {
    return undefined;
  } finally {
    await client.end().catch(() => {});
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function serverBinDir(): string {
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, "bin", "initdb"))) : [];
  versions.sort((a, b) => Number(b) - Number(a));
  if (!versions[0])
    throw new Error("no PostgreSQL server binaries (initdb) under /usr/lib/postgresql: apt-get install postgresql");
  return join(root, versions[0], "bin");
}

export async function logicalServer(): Promise<LogicalServer> {
  const given = process.env.STOWAGE_TEST_PG_LOGICAL_URL;
  if (given) {
    const level = await walLevel(given);
    if (level !== "logical")
      throw new Error(`STOWAGE_TEST_PG_LOGICAL_URL has wal_level=${level ?? "(unreachable)"}; it must be logical`);
    return { url: given, stop: async () => {} };
  }
  const bin = serverBinDir();
  const dir = await mkdtemp(join(tmpdir(), "stowage-pg-logical-"));
  const asPostgres = process.getuid?.() === 0 ? ["runuser", "-u", "postgres", "--"] : [];
  if (asPostgres.length) {
    const { stdout } = await run("id", ["-u", "postgres"]);
    const { stdout: gid } = await run("id", ["-g", "postgres"]);
    await chown(dir, Number(stdout), Number(gid));
  }
  const exec = (cmd: string, args: string[]) =>
    asPostgres.length ? run(asPostgres[0]!, [...asPostgres.slice(1), cmd, ...args]) : run(cmd, args);
  await exec(join(bin, "initdb"), ["-D", join(dir, "data"), "-U", "postgres", "-A", "trust", "--no-sync"]);
  const port = await freePort();
  const options = [
    `-p ${port}`,
    `-k ${dir}`,
    "-c listen_addresses=127.0.0.1",
    "-c wal_level=logical",
    "-c max_replication_slots=20",
    "-c max_wal_senders=20",
    "-c fsync=off",
    "-c synchronous_commit=off",
    "-c full_page_writes=off",
  ].join(" ");
  await exec(join(bin, "pg_ctl"), ["-D", join(dir, "data"), "-o", options, "-l", join(dir, "log"), "-w", "start"]);
  const url = `postgresql://postgres@127.0.0.1:${port}/postgres`;
  return {
    url,
    async stop() {
      await exec(join(bin, "pg_ctl"), ["-D", join(dir, "data"), "-m", "immediate", "-w", "stop"]).catch(() => {});
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The URL of another database on the same server. */
export function dbOn(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

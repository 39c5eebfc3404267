/**
 * @module test/helpers/pg
 * Scratch databases for tests on the server named by STOWAGE_TEST_PG_URL (a superuser URL;
 * default postgresql://postgres@127.0.0.1:5432/postgres). Each test creates uniquely named
 * databases and drops them afterwards; other test files share the server.
 */
import { execFile, execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import pg from "pg";
import { ROLES_LOCK_KEY } from "../../src/dump/roles-filter.ts";
import { SUPABASE_DATA_EXCLUDED_TABLES } from "../../src/dump/supabase-lists.ts";
import { contentHashes } from "../read-fixture.ts";

const run = promisify(execFile);

export const ADMIN_URL = process.env.STOWAGE_TEST_PG_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";

/** Path of the Supabase-like fixture (psql script, includes supabase-platform.sql). */
export const FIXTURE_SQL = fileURLToPath(new URL("../fixtures/supabase-like.sql", import.meta.url));
/** Path of the fresh-Supabase-project part alone (a restore target that looks like a new project). */
export const PLATFORM_SQL = fileURLToPath(new URL("../fixtures/supabase-platform.sql", import.meta.url));

/** `stowage_<prefix>_<random>`: unique across parallel test files. */
export function uniqueName(prefix: string): string {
  return `stowage_${prefix}_${randomBytes(4).toString("hex")}`;
}

/** The admin URL pointed at another database. */
export function databaseUrl(database: string, base = ADMIN_URL): string {
  const url = new URL(base);
  url.pathname = `/${database}`;
  return url.toString();
}

export async function adminQuery<T extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, database?: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: database ? databaseUrl(database) : ADMIN_URL });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

export async function createDatabase(name: string): Promise<string> {
  await adminQuery(`CREATE DATABASE "${name}"`);
  return databaseUrl(name);
}

export async function dropDatabase(name: string): Promise<void> {
  await adminQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
}

/** Runs a psql script file (or `-c` SQL) against a database; rejects with psql's stderr on error. */
export async function psql(url: string, input: { file: string } | { sql: string }, extra: string[] = []): Promise<string> {
  const args = ["-X", "-q", "-v", "ON_ERROR_STOP=1", `--dbname=${url}`, ...extra];
  if ("file" in input) args.push("-f", input.file);
  else args.push("-c", input.sql);
  const { stdout } = await run("psql", args, {
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, PGOPTIONS: "-c client_min_messages=warning" },
  });
  return stdout;
}

/**
 * Fixtures create and alter cluster-wide roles, as restores do: run them in one transaction holding
 * the lock roles.sql takes, so parallel test files do not collide on the same role.
 */
async function psqlHoldingRolesLock(url: string, file: string): Promise<void> {
  // psql runs -c and -f in command-line order: the lock first, then the fixture.
  await psql(url, { file }, ["--single-transaction", "-c", `SELECT pg_advisory_xact_lock(${ROLES_LOCK_KEY})`]);
}

/** A new database holding the Supabase-like fixture; returns its URL. */
export async function createFixtureDatabase(name: string): Promise<string> {
  const url = await createDatabase(name);
  await psqlHoldingRolesLock(url, FIXTURE_SQL);
  return url;
}

/** A new database that looks like a fresh Supabase project (restore target). */
export async function createPlatformDatabase(name: string): Promise<string> {
  const url = await createDatabase(name);
  await psqlHoldingRolesLock(url, PLATFORM_SQL);
  return url;
}

/**
 * `pg_dump --schema-only` of a database without the lines that legitimately differ between two
 * databases (comments, SET lines, psql's random \restrict keys): equal for a source and its restore.
 * A policy's role list is sorted: pg_dump prints it in pg_authid's physical order, which changes
 * whenever a role is altered (a restore's roles.sql does), so two dumps taken around one differ.
 */
export function normalizedSchema(url: string): string {
  return execFileSync("pg_dump", ["--schema-only", "--dbname", url], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 })
    .split("\n")
    .filter(
      (l) =>
        l.trim() && !l.startsWith("--") && !l.startsWith("SET ") && !l.startsWith("\\restrict") && !l.startsWith("\\unrestrict"),
    )
    .filter((l) => !l.startsWith("SELECT pg_catalog.set_config"))
    .map((l) =>
      l.startsWith("CREATE POLICY ")
        ? l.replace(
            / TO (.+?)( USING | WITH CHECK |;$)/,
            (_m, roles: string, rest: string) => ` TO ${roles.split(", ").sort().join(", ")}${rest}`,
          )
        : l,
    )
    .join("\n");
}

/** Every table's content hash, minus the platform bookkeeping Supabase-style dumps leave out by design. */
export async function supabaseContentHashes(url: string): Promise<Record<string, string>> {
  const hashes = await contentHashes(url);
  for (const t of SUPABASE_DATA_EXCLUDED_TABLES) delete hashes[`${t.schema}.${t.name}`];
  return hashes;
}

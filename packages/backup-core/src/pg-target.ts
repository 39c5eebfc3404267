/**
 * @module pg-target
 * The database a restore writes into: connecting (password only via the URL or PGPASSWORD, never
 * in a message), the "is it empty?" rule, and the SQL `--clean` runs inside the restore transaction.
 */
import { redact } from "@stowage/storage";
import pg from "pg";
import { type DatabaseTarget, secretsOf } from "./pg/connection.ts";
import { BackupReadError } from "./read-errors.ts";

/** `host:port/database`, for messages: never the user or password. */
export function displayTarget(target: DatabaseTarget): string {
  return `${target.host}:${target.port}/${target.database}`;
}

/** Opens a client; a failure becomes one clear line without the password. */
export async function connect(target: DatabaseTarget): Promise<pg.Client> {
  const client = new pg.Client({
    connectionString: target.connectionString,
    password: target.password,
    connectionTimeoutMillis: 15_000,
  });
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => {});
    const message = redact((error as Error).message || String(error), secretsOf(target));
    throw new BackupReadError(
      "CONNECTION_FAILED",
      `cannot connect to ${displayTarget(target)}: ${message}; check the URL, that the server runs, and the password (PGPASSWORD)`,
      { cause: error },
    );
  }
  return client;
}

const SYSTEM_SCHEMA_SQL = `n.nspname not in ('pg_catalog', 'information_schema') and n.nspname !~ '^pg_(toast|temp_|toast_temp_)'`;

/**
 * Schemas a fresh Supabase project already has (managed by Supabase, not by the user's migrations).
 * On a Supabase target these are neither "user content" nor dropped by --clean. The list follows the
 * Supabase CLI's internal schema list (supabase/cli, pkg/migration/dump.go, `InternalSchemas`).
 */
export const SUPABASE_MANAGED_SCHEMAS = [
  "auth",
  "storage",
  "realtime",
  "_realtime",
  "extensions",
  "vault",
  "pgsodium",
  "pgsodium_masks",
  "graphql",
  "graphql_public",
  "supabase_functions",
  "supabase_migrations",
  "net",
  "pgbouncer",
  "cron",
  "pgtle",
  "_analytics",
  "_supavisor",
  "tiger",
  "tiger_data",
  "topology",
  "repack",
] as const;

export interface TargetState {
  /** `server_version_num`. */
  readonly versionNum: number;
  /** The target has Supabase's admin role: a Supabase project. */
  readonly supabase: boolean;
  /** User schemas (not system, not Supabase-managed on a Supabase target). */
  readonly userSchemas: string[];
  /** One line per reason the target is not empty; empty array = empty target. */
  readonly contents: string[];
}

/**
 * "Empty" means: no user schema other than `public`, and `public` holds no table, view, sequence,
 * function or type. System schemas and, on Supabase, its managed schemas do not count.
 */
export async function inspectTarget(client: pg.Client): Promise<TargetState> {
  const version = await client.query<{ v: string }>("select current_setting('server_version_num') as v");
  const supa = await client.query<{ s: boolean }>("select exists (select 1 from pg_roles where rolname = 'supabase_admin') as s");
  const supabase = supa.rows[0]!.s;
  const managed = supabase ? [...SUPABASE_MANAGED_SCHEMAS] : [];
  const schemas = await client.query<{ nspname: string; objects: string }>(
    `select n.nspname,
            (select count(*) from pg_class c where c.relnamespace = n.oid)
          + (select count(*) from pg_proc p where p.pronamespace = n.oid)
          + (select count(*) from pg_type t where t.typnamespace = n.oid and t.typtype in ('e','d','r','b') and t.typcategory <> 'A') as objects
       from pg_namespace n
      where ${SYSTEM_SCHEMA_SQL} and not (n.nspname = any($1::text[]))
      order by n.nspname`,
    [managed],
  );
  const contents: string[] = [];
  for (const row of schemas.rows) {
    const objects = Number(row.objects);
    if (row.nspname !== "public") contents.push(`schema ${row.nspname} (${objects} objects)`);
    else if (objects > 0) contents.push(`schema public (${objects} objects)`);
  }
  return {
    versionNum: Number(version.rows[0]!.v),
    supabase,
    userSchemas: schemas.rows.map((r) => r.nspname),
    contents,
  };
}

const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** SQL that empties the target, run INSIDE the restore transaction so a failure rolls it back too. */
export function cleanSql(state: TargetState): string {
  const lines = state.userSchemas.map((s) => `DROP SCHEMA IF EXISTS ${ident(s)} CASCADE;`);
  // Recreate `public` as initdb makes it, so the dump (which never creates `public`) lands as on the source.
  lines.push("CREATE SCHEMA IF NOT EXISTS public;");
  if (state.versionNum >= 150000) {
    lines.push("ALTER SCHEMA public OWNER TO pg_database_owner;", "GRANT USAGE ON SCHEMA public TO PUBLIC;");
  } else {
    lines.push("GRANT ALL ON SCHEMA public TO PUBLIC;");
  }
  lines.push("COMMENT ON SCHEMA public IS 'standard public schema';");
  return `${lines.join("\n")}\n`;
}

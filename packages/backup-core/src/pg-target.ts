/**
 * @module pg-target
 * The database a restore writes into: connecting (password only via the URL or PGPASSWORD, never
 * in a message), the "is it empty?" rule, and the SQL `--clean` runs inside the restore transaction.
 */
import { redact } from "@stowage/storage";
import pg from "pg";
import { MIGRATION_HISTORY_SCHEMA, SUPABASE_INTERNAL_SCHEMAS } from "./dump/supabase-lists.ts";
import { BackupError } from "./errors.ts";
import type { BackupManifest } from "./manifest.ts";
import { type DatabaseTarget, secretsOf } from "./pg/connection.ts";

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
    throw new BackupError(
      "CONNECTION_FAILED",
      `cannot connect to ${displayTarget(target)}: ${message}; check the URL, that the server runs, and the password (PGPASSWORD)`,
      { cause: error },
    );
  }
  return client;
}

const SYSTEM_SCHEMA_SQL = `n.nspname not in ('pg_catalog', 'information_schema') and n.nspname !~ '^pg_(toast|temp_|toast_temp_)'`;

/** Schemas Supabase manages (the CLI's `InternalSchemas`): not user content, never dropped by --clean. */
const MANAGED_SCHEMA_RE = new RegExp(
  `^(${SUPABASE_INTERNAL_SCHEMAS.map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*")).join("|")})$`,
);

export interface TargetState {
  /** `server_version_num`. */
  readonly versionNum: number;
  /** Detected as the engine does: auth and storage schemas and the anon/authenticated/service_role roles. */
  readonly supabase: boolean;
  /** User schemas (not system, not Supabase-managed on a Supabase target): what --clean drops. */
  readonly userSchemas: string[];
  /** Tables of the backup that exist in the target and --clean must empty rather than drop. */
  readonly truncate: string[];
  /** One line per reason the target is not empty; empty array = empty target. */
  readonly contents: string[];
  readonly dataOnly: boolean;
  /** Large objects in the target (counted unless the backup is schema-only); --clean unlinks them. */
  readonly largeObjects: number;
}

const qualified = (schema: string, name: string) => `${ident(schema)}.${ident(name)}`;

/**
 * "Empty" means: no user schema other than `public`, `public` holds no table, view, sequence,
 * function or type, and no table the backup writes data into (e.g. `auth.users` on a Supabase
 * project) holds rows. For a data-only backup the schema is expected to exist: only rows count.
 */
export async function inspectTarget(client: pg.Client, manifest: BackupManifest): Promise<TargetState> {
  const facts = await client.query<{ v: string; supabase: boolean }>(
    `select current_setting('server_version_num') as v,
            exists(select 1 from pg_namespace where nspname = 'auth')
              and exists(select 1 from pg_namespace where nspname = 'storage')
              and (select count(*) from pg_roles where rolname in ('anon', 'authenticated', 'service_role')) = 3 as supabase`,
  );
  const supabase = facts.rows[0]!.supabase;
  const dataOnly = manifest.type === "data";
  const schemas = await client.query<{ nspname: string; objects: string }>(
    `select n.nspname,
            (select count(*) from pg_class c where c.relnamespace = n.oid)
          + (select count(*) from pg_proc p where p.pronamespace = n.oid)
          + (select count(*) from pg_type t where t.typnamespace = n.oid and t.typtype in ('e','d','r','b') and t.typcategory <> 'A') as objects
       from pg_namespace n
      where ${SYSTEM_SCHEMA_SQL}
      order by n.nspname`,
  );
  // The migration history schema is managed, but a backup holding it recreates it: then it is content.
  const history = manifest.files.some((f) => f.role === "history_schema") ? MIGRATION_HISTORY_SCHEMA : undefined;
  const userSchemas = schemas.rows.filter((r) => r.nspname === history || !(supabase && MANAGED_SCHEMA_RE.test(r.nspname)));
  const contents: string[] = [];
  if (!dataOnly) {
    for (const row of userSchemas) {
      const objects = Number(row.objects);
      if (row.nspname !== "public") contents.push(`schema ${row.nspname} (${objects} objects)`);
      else if (objects > 0) contents.push(`schema public (${objects} objects)`);
    }
  }
  // Tables the data part writes into and that survive --clean's DROP SCHEMA: they must be empty.
  const dropped = new Set(dataOnly ? [] : userSchemas.map((r) => r.nspname));
  const truncate: string[] = [];
  if (manifest.type !== "schema") {
    for (const table of manifest.tables) {
      if (dropped.has(table.schema)) continue;
      const name = qualified(table.schema, table.name);
      const exists = await client.query<{ oid: string | null }>("select to_regclass($1) as oid", [name]);
      if (!exists.rows[0]?.oid) continue;
      truncate.push(name);
      const rows = await client.query<{ any: boolean }>(`select exists(select 1 from ${name}) as any`);
      if (rows.rows[0]!.any) contents.push(`rows in ${table.schema}.${table.name}`);
    }
  }
  // Large objects live outside every schema; a data dump recreates them under their own OIDs.
  let largeObjects = 0;
  if (manifest.type !== "schema") {
    const lo = await client.query<{ n: string }>("select count(*) as n from pg_catalog.pg_largeobject_metadata");
    largeObjects = Number(lo.rows[0]!.n);
    if (largeObjects > 0) contents.push(`${largeObjects} large object${largeObjects === 1 ? "" : "s"}`);
  }
  return {
    versionNum: Number(facts.rows[0]!.v),
    supabase,
    userSchemas: dataOnly ? [] : userSchemas.map((r) => r.nspname),
    truncate,
    contents,
    dataOnly,
    largeObjects,
  };
}

const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** SQL that empties the target, run INSIDE the restore transaction so a failure rolls it back too. */
export function cleanSql(state: TargetState): string {
  const lines = state.userSchemas.map((s) => `DROP SCHEMA IF EXISTS ${ident(s)} CASCADE;`);
  if (!state.dataOnly) {
    // Recreate `public` as initdb makes it, so the dump (which never creates `public`) lands as on the source.
    lines.push("CREATE SCHEMA IF NOT EXISTS public;");
    if (state.versionNum >= 150000) {
      lines.push("ALTER SCHEMA public OWNER TO pg_database_owner;", "GRANT USAGE ON SCHEMA public TO PUBLIC;");
    } else {
      lines.push("GRANT ALL ON SCHEMA public TO PUBLIC;");
    }
    lines.push("COMMENT ON SCHEMA public IS 'standard public schema';");
  }
  if (state.truncate.length) lines.push(`TRUNCATE ${state.truncate.join(", ")} CASCADE;`);
  if (state.largeObjects > 0) lines.push("SELECT count(pg_catalog.lo_unlink(oid)) FROM pg_catalog.pg_largeobject_metadata;");
  return `${lines.join("\n")}\n`;
}

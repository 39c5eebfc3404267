/**
 * @module pg/snapshot
 * One consistent moment for a whole backup: a REPEATABLE READ, READ ONLY transaction that exports
 * its snapshot (`pg_export_snapshot()`) and stays open while every pg_dump runs with
 * `--snapshot=<id>`. The same transaction answers the questions the plan needs (server version,
 * Supabase or not), counts the rows of every dumped table, so the manifest's counts are exactly
 * what the dump contains, and runs the catalog reads the dump adds to pg_dump's output
 * (dump/managed-objects.ts).
 */
import pg from "pg";
import { BackupError } from "../errors.ts";
import type { DatabaseTarget } from "./connection.ts";
import { secretsOf } from "./connection.ts";

export interface ServerFacts {
  /** `server_version`, e.g. "15.20 (Debian 15.20-0+deb12u1)". */
  readonly version: string;
  readonly versionNum: number;
  /** `auth` and `storage` schemas plus Supabase's API roles are present. */
  readonly supabase: boolean;
  /** Name of the bootstrap superuser (OID 10): `postgres` on most servers, `supabase_admin` on Supabase. */
  readonly bootstrapSuperuser: string;
  /** The `supabase_migrations` schema exists. */
  readonly hasMigrationHistory: boolean;
  /** Every ordinary table (and partition) whose rows pg_dump would write, with its schema. */
  readonly tables: ReadonlyArray<{ schema: string; name: string }>;
}

export interface HeldSnapshot {
  readonly id: string;
  readonly facts: ServerFacts;
  /** Exact `count(*)` of each table, inside the snapshot. */
  countRows(
    tables: ReadonlyArray<{ schema: string; name: string }>,
  ): Promise<Array<{ schema: string; name: string; rows: number }>>;
  /** Runs a read-only query inside the snapshot transaction (catalog reads that must match the dump). */
  query<R extends pg.QueryResultRow>(sql: string, values?: readonly unknown[]): Promise<R[]>;
  /** Ends the transaction and the connection. Safe to call twice. */
  release(): Promise<void>;
}

/** Maps a driver/connection error to a typed, redacted BackupError. */
export function classifyConnectionError(error: unknown, target: DatabaseTarget): BackupError {
  if (error instanceof BackupError) return error;
  const e = error as { code?: string; message?: string };
  const secrets = secretsOf(target);
  const where = `${target.host}:${target.port}/${target.database}`;
  const detail = e.message ?? String(error);
  switch (e.code) {
    case "28P01":
    case "28000":
      return new BackupError(
        "AUTH_FAILED",
        `the database server at ${where} rejected the login of user ${JSON.stringify(target.user ?? "")}: ${detail}. ` +
          "Check the user and password in the URL (or PGPASSWORD).",
        { cause: error, secrets },
      );
    case "3D000":
      return new BackupError(
        "DATABASE_NOT_FOUND",
        `database ${JSON.stringify(target.database)} does not exist on ${target.host}:${target.port}`,
        {
          cause: error,
          secrets,
        },
      );
    case "ECONNREFUSED":
    case "ENOTFOUND":
    case "EAI_AGAIN":
    case "ETIMEDOUT":
    case "EHOSTUNREACH":
    case "ENETUNREACH":
    case "ECONNRESET":
      return new BackupError(
        "UNREACHABLE",
        `cannot reach the database server at ${target.host}:${target.port} (${e.code}): check host, port and firewall`,
        {
          cause: error,
          secrets,
        },
      );
  }
  if (/timeout|terminated unexpectedly/i.test(detail)) {
    return new BackupError("UNREACHABLE", `cannot reach the database server at ${target.host}:${target.port}: ${detail}`, {
      cause: error,
      secrets,
    });
  }
  return new BackupError("DUMP_FAILED", `database error on ${where}: ${detail}`, { cause: error, secrets });
}

/** A Supabase database: its auth and storage schemas and its three API roles (a boolean SQL expression). */
export const SUPABASE_DETECTION_SQL = `(exists(select 1 from pg_namespace where nspname = 'auth')
         and exists(select 1 from pg_namespace where nspname = 'storage')
         and (select count(*) from pg_roles where rolname in ('anon', 'authenticated', 'service_role')) = 3)`;

const FACTS_SQL = `
select current_setting('server_version') as version,
       current_setting('server_version_num')::int as version_num,
       (select rolname from pg_roles where oid = 10) as bootstrap,
       ${SUPABASE_DETECTION_SQL} as supabase,
       exists(select 1 from pg_namespace where nspname = 'supabase_migrations') as history`;

// Ordinary tables and leaf partitions (relkind 'r'), not temporary, not owned by an extension:
// exactly the relations pg_dump --data-only writes COPY blocks for (partitioned parents hold no rows).
const TABLES_SQL = `
select n.nspname as schema, c.relname as name
  from pg_class c join pg_namespace n on n.oid = c.relnamespace
 where c.relkind = 'r' and c.relpersistence <> 't'
   and n.nspname !~ '^pg_' and n.nspname <> 'information_schema'
   and not exists (select 1 from pg_depend d
                    where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.deptype = 'e')
 order by 1, 2`;

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * Connects, starts the snapshot transaction and reads the server's facts. With `importSnapshot`
 * (an id exported elsewhere, e.g. by a logical replication slot: pitr/), the transaction adopts that
 * snapshot instead of exporting its own, so the dump sees exactly the slot's starting point.
 */
export async function holdSnapshot(target: DatabaseTarget, signal?: AbortSignal, importSnapshot?: string): Promise<HeldSnapshot> {
  const client = new pg.Client({
    connectionString: target.connectionString,
    connectionTimeoutMillis: 10_000,
    application_name: "stowage backup",
  });
  // An idle-in-transaction error after connect must not crash the process.
  client.on("error", () => {});
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => {});
    throw classifyConnectionError(error, target);
  }
  let released = false;
  const release = async () => {
    if (released) return;
    released = true;
    await client.query("ROLLBACK").catch(() => {});
    await client.end().catch(() => {});
  };
  const onAbort = () => void release();
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    if (importSnapshot !== undefined) {
      if (!/^[0-9A-Fa-f-]+$/.test(importSnapshot)) throw new BackupError("INVALID_OPTIONS", "invalid snapshot id");
      await client.query(`SET TRANSACTION SNAPSHOT '${importSnapshot}'`);
    }
    const { rows: snap } =
      importSnapshot !== undefined
        ? { rows: [{ id: importSnapshot }] }
        : await client.query<{ id: string }>("select pg_export_snapshot() as id");
    const { rows: f } = await client.query<{
      version: string;
      version_num: number;
      bootstrap: string;
      supabase: boolean;
      history: boolean;
    }>(FACTS_SQL);
    const { rows: tables } = await client.query<{ schema: string; name: string }>(TABLES_SQL);
    const row = f[0]!;
    return {
      id: snap[0]!.id,
      facts: {
        version: row.version,
        versionNum: row.version_num,
        bootstrapSuperuser: row.bootstrap,
        supabase: row.supabase,
        hasMigrationHistory: row.history,
        tables,
      },
      async countRows(list) {
        const out: Array<{ schema: string; name: string; rows: number }> = [];
        for (const t of list) {
          const { rows } = await client.query<{ n: string }>(
            `select count(*) as n from ${quoteIdent(t.schema)}.${quoteIdent(t.name)}`,
          );
          out.push({ schema: t.schema, name: t.name, rows: Number(rows[0]!.n) });
        }
        return out;
      },
      async query<R extends pg.QueryResultRow>(sql: string, values: readonly unknown[] = []) {
        return (await client.query<R>(sql, [...values])).rows;
      },
      async release() {
        signal?.removeEventListener("abort", onAbort);
        await release();
      },
    };
  } catch (error) {
    signal?.removeEventListener("abort", onAbort);
    await release();
    throw classifyConnectionError(error, target);
  }
}

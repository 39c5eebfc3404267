/**
 * @module db/postgres
 * The PostgreSQL / Supabase Database: a node-postgres Pool; each `asUser`/`asService` call checks out
 * one client, runs BEGIN … COMMIT (ROLLBACK on error) and releases it. `SET LOCAL ROLE` and
 * `set_config(…, true)` end with the transaction, so a pooled connection never carries a user's
 * role or claims into the next request.
 */
import pg from "pg";
import type { AuthClaims, Database, QueryResult, SqlExecutor } from "./database.ts";
import { claimSettings, requestRole } from "./request-context.ts";

const INT8_OID = 20;
const NUMERIC_OID = 1700;

/** Same value conventions as the PGlite adapter (see database.ts): bigint and numeric as number. */
const typeParsers = {
  getTypeParser(oid: number, format?: "text" | "binary") {
    if (oid === INT8_OID || oid === NUMERIC_OID) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format);
  },
} as pg.CustomTypesConfig;

export interface PostgresDatabaseOptions {
  readonly connectionString: string;
  /** Pool size (default 10). */
  readonly max?: number;
  /** Application name shown in pg_stat_activity. */
  readonly applicationName?: string;
}

function executor(client: pg.PoolClient): SqlExecutor {
  return {
    async query<T>(sql: string, params?: readonly unknown[]): Promise<QueryResult<T>> {
      const raw: pg.QueryResult | pg.QueryResult[] = await client.query(sql, params ? [...params] : undefined);
      // Several statements without parameters give one result each: report the last, like PGlite's exec.
      const result = Array.isArray(raw) ? raw[raw.length - 1] : raw;
      if (!result) return { rows: [], rowCount: 0 };
      return { rows: result.rows as T[], rowCount: result.rowCount ?? result.rows.length };
    },
    async exec(sql: string): Promise<void> {
      // Without parameters node-postgres uses the simple protocol, which accepts several statements.
      await client.query(sql);
    },
  };
}

export class PostgresDatabase implements Database {
  readonly kind = "postgres" as const;
  private readonly pool: pg.Pool;

  constructor(options: PostgresDatabaseOptions) {
    this.pool = new pg.Pool({
      connectionString: options.connectionString,
      max: options.max ?? 10,
      application_name: options.applicationName ?? "stowage-diagrams",
      types: typeParsers,
    });
    // An idle client losing its connection must not crash the process; the next checkout reconnects.
    this.pool.on("error", () => {});
  }

  private async transaction<T>(begin: (sql: SqlExecutor) => Promise<void>, fn: (sql: SqlExecutor) => Promise<T>) {
    const client = await this.pool.connect();
    let broken = false;
    try {
      await client.query("begin");
      const sql = executor(client);
      await begin(sql);
      const result = await fn(sql);
      await client.query("commit");
      return result;
    } catch (error) {
      try {
        await client.query("rollback");
      } catch {
        broken = true; // the connection is unusable: drop it from the pool
      }
      throw error;
    } finally {
      client.release(broken);
    }
  }

  asUser<T>(claims: AuthClaims | null, fn: (sql: SqlExecutor) => Promise<T>): Promise<T> {
    return this.transaction(async (sql) => {
      const settings = claimSettings(claims);
      await sql.query(
        "select set_config('request.jwt.claims', $1, true), set_config('request.jwt.claim.sub', $2, true), set_config('request.jwt.claim.role', $3, true)",
        [settings.claims, settings.sub, settings.role],
      );
      await sql.query(`set local role ${requestRole(claims)}`);
    }, fn);
  }

  asService<T>(fn: (sql: SqlExecutor) => Promise<T>): Promise<T> {
    return this.transaction(async () => {}, fn);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

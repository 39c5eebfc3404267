/**
 * @module db/postgres
 * The PostgreSQL / Supabase Database: a node-postgres Pool; each `asUser`/`asService` call checks out
 * one client, runs BEGIN … COMMIT (ROLLBACK on error) and releases it. The role and claims are
 * transaction-local (`set_config(…, true)`, like `SET LOCAL`) and end with the transaction, so a
 * pooled connection never carries a user's role or claims into the next request.
 *
 * Round trips are the cost that matters (each one is a socket write and an event-loop wake-up on
 * both sides, measured in bench/diagrams): `asUser` sends BEGIN, the role and the claims as ONE
 * simple-protocol script, as PostgREST does (`set_config('role', …, true)`), so a one-statement
 * request takes three round trips (setup, statement, COMMIT) instead of five; `queryAsUser` sends
 * all of it, the statement and COMMIT included, as one message: one round trip (diagram saves).
 */
import pg from "pg";
import type { AuthClaims, Database, QueryResult, SqlExecutor } from "./database.ts";
import { claimSettings, requestRole } from "./request-context.ts";
import { inlineParams } from "./sql-literal.ts";

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

  /** Runs the `begin` script (it starts with BEGIN), then `fn`, then COMMIT; ROLLBACK on error. */
  private async transaction<T>(begin: string, fn: (sql: SqlExecutor) => Promise<T>) {
    const client = await this.pool.connect();
    let broken = false;
    try {
      await client.query(begin);
      const result = await fn(executor(client));
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

  /**
   * BEGIN plus the role and the claims as one script. Without parameters (simple protocol, several
   * statements): the values go in as literals, quoted by node-postgres's escapeLiteral (JSON has no
   * raw NUL); the role is a fixed name.
   */
  private beginAs(claims: AuthClaims | null): string {
    const settings = claimSettings(claims);
    const lit = pg.escapeLiteral;
    return `begin; select set_config('role', '${requestRole(claims)}', true), set_config('request.jwt.claims', ${lit(settings.claims)}, true), set_config('request.jwt.claim.sub', ${lit(settings.sub)}, true), set_config('request.jwt.claim.role', ${lit(settings.role)}, true)`;
  }

  asUser<T>(claims: AuthClaims | null, fn: (sql: SqlExecutor) => Promise<T>): Promise<T> {
    return this.transaction(this.beginAs(claims), fn);
  }

  /**
   * The whole transaction in ONE round trip: `BEGIN; <role and claims>; <statement>; COMMIT` as one
   * simple-protocol message, the parameters inlined as quoted literals (db/sql-literal.ts). The same
   * statements in the same order as `asUser` sends in three messages, so RLS sees the same role and
   * claims. When the statement fails PostgreSQL skips the rest of the message (COMMIT included) and
   * the transaction is rolled back here, as in `transaction`.
   */
  async queryAsUser<T>(claims: AuthClaims | null, statement: string, params: readonly unknown[]): Promise<QueryResult<T>> {
    const script = `${this.beginAs(claims)}; ${inlineParams(statement, params)}; commit`;
    const client = await this.pool.connect();
    let broken = false;
    try {
      const results = (await client.query(script)) as unknown as pg.QueryResult[];
      // [BEGIN, the settings' SELECT, the statement, COMMIT]
      const result = results[2];
      if (!Array.isArray(results) || results.length !== 4 || !result) {
        throw new Error(`queryAsUser: expected 4 results, got ${Array.isArray(results) ? results.length : 1}`);
      }
      return { rows: result.rows as T[], rowCount: result.rowCount ?? result.rows.length };
    } catch (error) {
      try {
        await client.query("rollback");
      } catch {
        broken = true;
      }
      throw error;
    } finally {
      client.release(broken);
    }
  }

  asService<T>(fn: (sql: SqlExecutor) => Promise<T>): Promise<T> {
    return this.transaction("begin", fn);
  }

  async queryAsService<T>(statement: string, params?: readonly unknown[]): Promise<QueryResult<T>> {
    // pool.query checks a client out, sends Parse/Bind/Execute/Sync in one write and releases it.
    const result = await this.pool.query(statement, params ? [...params] : undefined);
    return { rows: result.rows as T[], rowCount: result.rowCount ?? result.rows.length };
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/**
 * @module db/pglite
 * The embedded Database: PGlite (PostgreSQL compiled to WASM) on a local data folder, no server.
 * PGlite has a single connection, so transactions are serialised by PGlite's own mutex; `asUser`
 * switches role and claims with `SET LOCAL`, which ends with the transaction.
 */
import { mkdir } from "node:fs/promises";
import { PGlite, types } from "@electric-sql/pglite";
import type { AuthClaims, Database, QueryResult, SqlExecutor } from "./database.ts";
import { claimSettings, requestRole } from "./request-context.ts";

interface PgliteLike {
  query<T>(sql: string, params?: unknown[]): Promise<{ rows: T[]; affectedRows?: number; fields: unknown[] }>;
  exec(sql: string): Promise<unknown>;
}

function executor(tx: PgliteLike): SqlExecutor {
  return {
    async query<T>(sql: string, params?: readonly unknown[]): Promise<QueryResult<T>> {
      const result = await tx.query<T>(sql, params ? [...params] : undefined);
      // affectedRows is set for INSERT/UPDATE/DELETE; a SELECT reports the rows it returned.
      const rowCount = result.affectedRows || result.rows.length;
      return { rows: result.rows, rowCount };
    },
    async exec(sql: string): Promise<void> {
      await tx.exec(sql);
    },
  };
}

export class PgliteDatabase implements Database {
  readonly kind = "pglite" as const;
  private constructor(private readonly pg: PGlite) {}

  /** Opens (creating when absent) the database in `dataDir`, or in memory when `dataDir` is undefined. */
  static async open(dataDir?: string): Promise<PgliteDatabase> {
    if (dataDir) await mkdir(dataDir, { recursive: true });
    const pg = await PGlite.create(dataDir, {
      // Same value conventions as the node-postgres adapter (see database.ts).
      parsers: { [types.INT8]: Number, [types.NUMERIC]: Number },
    });
    return new PgliteDatabase(pg);
  }

  asUser<T>(claims: AuthClaims | null, fn: (sql: SqlExecutor) => Promise<T>): Promise<T> {
    return this.pg.transaction(async (tx) => {
      const sql = executor(tx);
      const settings = claimSettings(claims);
      await sql.query(
        "select set_config('request.jwt.claims', $1, true), set_config('request.jwt.claim.sub', $2, true), set_config('request.jwt.claim.role', $3, true)",
        [settings.claims, settings.sub, settings.role],
      );
      await sql.exec(`set local role ${requestRole(claims)}`);
      return fn(sql);
    });
  }

  /** PGlite runs in this process: no round trips to save, so this is `asUser` with one query. */
  queryAsUser<T>(claims: AuthClaims | null, statement: string, params: readonly unknown[]): Promise<QueryResult<T>> {
    return this.asUser(claims, (sql) => sql.query<T>(statement, params));
  }

  asService<T>(fn: (sql: SqlExecutor) => Promise<T>): Promise<T> {
    return this.pg.transaction((tx) => fn(executor(tx)));
  }

  queryAsService<T>(statement: string, params?: readonly unknown[]): Promise<QueryResult<T>> {
    return this.asService((sql) => sql.query<T>(statement, params));
  }

  async close(): Promise<void> {
    await this.pg.close();
  }
}

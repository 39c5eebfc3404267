/**
 * @module db/database
 * The seam between the diagram service and its database. Two implementations (PGlite embedded,
 * node-postgres for PostgreSQL/Supabase) run the same migrations and the same queries.
 *
 * Every API request runs inside `asUser`: one transaction, `SET LOCAL ROLE authenticated` (or `anon`),
 * and `request.jwt.claims` set exactly as Supabase's PostgREST does, so row level security is the
 * enforcement even when application code has a bug.
 *
 * The schema contract (tables, columns, grants, SQL functions, SQLSTATEs such as SL402/SL409) is
 * apps/diagrams/migrations/README.md. Note for local sign-up: insert into `auth.users` WITH an
 * explicit `id` (gen_random_uuid()): Supabase's auth.users has no default for it.
 */

/** JWT claims of the caller, as Supabase issues them (`sub` is the user id). */
export interface AuthClaims {
  readonly sub: string;
  readonly role: "authenticated";
  readonly email?: string;
  readonly [claim: string]: unknown;
}

export interface QueryResult<T> {
  readonly rows: T[];
  readonly rowCount: number;
}

/** Runs SQL with `$1`-style parameters inside the current transaction. */
export interface SqlExecutor {
  query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<T>>;
  /**
   * Runs a script of several `;`-separated statements without parameters (migrations). Added by the
   * database layer: PGlite's `query` takes exactly one statement, its `exec` takes scripts.
   */
  exec(sql: string): Promise<void>;
}

/**
 * Value conventions (identical in both adapters): int8/bigint and numeric columns come back as
 * `number` (counts, byte sizes; all far below 2^53), timestamptz as `Date` (milliseconds only:
 * select `col::text` when microseconds matter, e.g. for keyset cursors), jsonb as parsed JSON,
 * uuid as string. Errors raised by PostgreSQL keep their fields on the thrown object in both
 * adapters: `code` (SQLSTATE, e.g. 'SL409'), `message`, `detail`, `hint`, `constraint`
 * (see apps/diagrams/migrations/README.md for the codes the schema raises).
 */
export interface Database {
  readonly kind: "pglite" | "postgres";
  /**
   * Runs `fn` in one transaction as role `authenticated` with `claims`, or as `anon` when `claims`
   * is null. Commits when `fn` resolves, rolls back when it throws.
   */
  asUser<T>(claims: AuthClaims | null, fn: (sql: SqlExecutor) => Promise<T>): Promise<T>;
  /**
   * Runs ONE statement exactly as `asUser(claims, (sql) => sql.query(statement, params))` does (one
   * transaction, the same role and claims, committed when it succeeds), in as few round trips as the
   * adapter can: PostgreSQL sends BEGIN, the settings, the statement and COMMIT as one message (one
   * round trip instead of three). For the hot single-statement writes (a diagram save).
   * `statement` uses `$1`-style parameters and must contain no quotes (see db/sql-literal.ts).
   */
  queryAsUser<T = Record<string, unknown>>(
    claims: AuthClaims | null,
    statement: string,
    params: readonly unknown[],
  ): Promise<QueryResult<T>>;
  /**
   * Runs `fn` in one transaction as the connection's own role (the schema owner; RLS does not
   * apply): migrations, local sign-up, maintenance. Never for a user's request.
   */
  asService<T>(fn: (sql: SqlExecutor) => Promise<T>): Promise<T>;
  /**
   * ONE statement as the connection's own role, in a transaction of its own (PostgreSQL: the implicit
   * transaction of a single statement, one round trip instead of BEGIN, statement, COMMIT).
   * Bookkeeping after a request (objects/wiring.ts), never a user's request.
   */
  queryAsService<T = Record<string, unknown>>(statement: string, params?: readonly unknown[]): Promise<QueryResult<T>>;
  close(): Promise<void>;
}

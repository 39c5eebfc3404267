/**
 * The migration runner: idempotent, records checksums, refuses edited migrations, serialises two
 * instances starting together; and the auth shim leaves a Supabase-like auth schema alone.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDatabase } from "../../src/db/create-database.ts";
import { checksumOf, loadMigrations, MigrationError, migrate } from "../../src/db/migrate.ts";
import { PostgresDatabase } from "../../src/db/postgres.ts";
import { attempt, claimsOf, createTestPgDatabase, createUser, type TestPgDatabase } from "./helpers.ts";

const created: TestPgDatabase[] = [];
const fresh = async (prefix: string) => {
  const t = await createTestPgDatabase(prefix);
  created.push(t);
  return t;
};
afterAll(async () => {
  for (const t of created) await t.drop();
});

describe("migration runner", () => {
  let t: TestPgDatabase;
  beforeAll(async () => {
    t = await fresh("stowage_mig");
  });

  it("applies every file once, records checksums, and a second run applies nothing", async () => {
    const files = await loadMigrations();
    expect(files.map((f) => f.name).slice(0, 7)).toEqual([
      "0001_auth_shim.sql",
      "0002_schema.sql",
      "0003_rls.sql",
      "0004_versions_limits.sql",
      "0005_compression.sql",
      "0006_auth_users_email_index.sql",
      "0007_hardening.sql",
    ]);
    // Later files (0008_* and up) are appended by other slices: in order, one per number.
    expect(files.map((f) => Number(f.name.slice(0, 4)))).toEqual(files.map((_, i) => i + 1));
    const first = await createDatabase({ databaseUrl: t.url });
    expect(first.migrations.applied).toEqual(files.map((f) => f.name));
    const second = await migrate(first.db);
    expect(second.applied).toEqual([]);
    const rows = await first.db.asService((sql) =>
      sql.query<{ name: string; checksum: string }>("select name, checksum from stowage_private.schema_migrations order by name"),
    );
    expect(rows.rows).toEqual(files.map((f) => ({ name: f.name, checksum: checksumOf(f.sql) })));
    await first.db.close();
  });

  it("refuses a migration edited after it was applied, and a missing one", async () => {
    const db = new PostgresDatabase({ connectionString: t.url });
    try {
      const files = await loadMigrations();
      const edited = files.map((f, i) => (i === 1 ? { ...f, checksum: checksumOf(`${f.sql}\n-- edit`) } : f));
      await expect(migrate(db, edited)).rejects.toMatchObject({ code: "MIGRATION_CHECKSUM_MISMATCH" });
      await expect(migrate(db, files.slice(1))).rejects.toBeInstanceOf(MigrationError);
    } finally {
      await db.close();
    }
  });

  it("a failing migration leaves nothing behind", async () => {
    const db = new PostgresDatabase({ connectionString: t.url });
    try {
      const files = await loadMigrations();
      const bad = [...files, { name: "0099_bad.sql", sql: "create table public.x_ok (a int); select 1/0;", checksum: "x" }];
      await expect(migrate(db, bad)).rejects.toMatchObject({ code: "MIGRATION_FAILED" });
      const r = await db.asService((sql) => sql.query("select to_regclass('public.x_ok') t"));
      expect(r.rows[0]).toEqual({ t: null });
    } finally {
      await db.close();
    }
  });

  it("two instances starting together on an empty database: one migrates, the other waits and finds it done", async () => {
    const t2 = await fresh("stowage_mig_race");
    const [a, b] = await Promise.all([createDatabase({ databaseUrl: t2.url }), createDatabase({ databaseUrl: t2.url })]);
    expect([a.migrations.applied.length, b.migrations.applied.length].sort()).toEqual([0, (await loadMigrations()).length]);
    await a.db.close();
    await b.db.close();
  });
});

describe("Supabase-like database", () => {
  it("keeps an existing auth schema, its auth.uid() and auth.users, and RLS works through them", async () => {
    const t = await fresh("stowage_supa");
    const c = new pg.Client(t.url);
    await c.connect();
    // What Supabase has before our migrations run (a reduced auth.users with GoTrue-only columns).
    await c.query(`
      create schema auth;
      create table auth.users (id uuid primary key, aud varchar(255), role varchar(255), email varchar(255) unique,
        encrypted_password varchar(255), raw_user_meta_data jsonb, created_at timestamptz, updated_at timestamptz);
      create function auth.uid() returns uuid language sql stable as $$
        select nullif(current_setting('request.jwt.claim.sub', true), '')::uuid $$;
      comment on function auth.uid() is 'supabase original';
    `);
    const before = await c.query("select pg_get_functiondef('auth.uid()'::regprocedure) d");
    const opened = await createDatabase({ databaseUrl: t.url });
    try {
      const after = await c.query(
        "select pg_get_functiondef('auth.uid()'::regprocedure) d, obj_description('auth.uid()'::regprocedure) c",
      );
      expect(after.rows[0]).toEqual({ d: before.rows[0].d, c: "supabase original" });
      const cols = await c.query(
        "select column_name from information_schema.columns where table_schema = 'auth' and table_name = 'users' and column_name = 'aud'",
      );
      expect(cols.rowCount).toBe(1);
      // Functions the Supabase schema lacked were added; the profile trigger works on its users table.
      const jwt = await c.query("select to_regprocedure('auth.jwt()') is not null j");
      expect(jwt.rows[0].j).toBe(true);
      const u = await createUser(opened.db, "supa@example.test");
      expect(await attempt(opened.db, claimsOf(u), "insert into projects (name) values ('mine')")).toMatchObject({ ok: true });
      expect(await attempt(opened.db, null, "select * from projects")).toMatchObject({ ok: true, rowCount: 0 });
      expect(await attempt(opened.db, claimsOf(u), "select * from projects")).toMatchObject({ ok: true, rowCount: 1 });
    } finally {
      await opened.db.close();
      await c.end();
    }
  });
});

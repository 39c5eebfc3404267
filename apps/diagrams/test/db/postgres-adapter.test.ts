/**
 * The PostgreSQL adapter's transaction setup: BEGIN, the role and the claims go in one script with
 * the claim values as quoted literals, so claims with quotes and backslashes arrive intact, nothing
 * leaks into the next transaction on the pooled connection, and a failing request rolls back.
 * `queryAsUser` (the diagram save) sends all of it, the statement with its values inlined as
 * literals and COMMIT, as one message: the same role, claims and values as with bind parameters,
 * whatever the values hold and whatever `standard_conforming_strings` says.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { AuthClaims } from "../../src/db/database.ts";
import { PostgresDatabase } from "../../src/db/postgres.ts";
import { inlineParams } from "../../src/db/sql-literal.ts";
import { createTestPgDatabase, type TestPgDatabase } from "./helpers.ts";

describe("PostgresDatabase.asUser", () => {
  let t: TestPgDatabase;
  let db: PostgresDatabase;
  beforeAll(async () => {
    t = await createTestPgDatabase("stowage_adapter");
    // One connection: every transaction below reuses it, so leftovers would show.
    db = new PostgresDatabase({ connectionString: t.url, max: 1 });
    await db.asService((sql) =>
      sql.exec(
        "do $$ begin create role authenticated nologin; exception when duplicate_object then null; end $$; do $$ begin create role anon nologin; exception when duplicate_object then null; end $$; grant authenticated, anon to current_user",
      ),
    );
  });
  afterAll(async () => {
    await db?.close();
    await t?.drop();
  });

  const settings = `select current_user as role, current_setting('request.jwt.claims', true) as claims,
    current_setting('request.jwt.claim.sub', true) as sub, current_setting('request.jwt.claim.role', true) as claim_role`;

  it("sets role and claims exactly, quotes and backslashes included, for this transaction only", async () => {
    const claims: AuthClaims = {
      sub: "3f1e5c2a-8b4d-4c6e-9a7b-1d2e3f4a5b6c",
      role: "authenticated",
      email: "o'brien\\x'); drop table x; --@example.test",
    };
    const inside = await db.asUser(claims, async (sql) => (await sql.query<Record<string, string>>(settings)).rows[0]!);
    expect(inside.role).toBe("authenticated");
    expect(JSON.parse(inside.claims!)).toEqual(claims);
    expect(inside.sub).toBe(claims.sub);
    expect(inside.claim_role).toBe("authenticated");

    const anon = await db.asUser(null, async (sql) => (await sql.query<Record<string, string>>(settings)).rows[0]!);
    expect(anon).toMatchObject({ role: "anon", sub: "", claim_role: "anon" });

    const after = await db.asService(async (sql) => (await sql.query<Record<string, string>>(settings)).rows[0]!);
    expect(after.role).not.toMatch(/^(authenticated|anon)$/);
    expect(after.claims ?? "").toBe("");
  });

  it("rolls back a failing request and keeps the connection usable", async () => {
    await db.asService((sql) =>
      sql.exec("create table if not exists public.t (n int); grant insert, select on public.t to authenticated"),
    );
    const claims: AuthClaims = { sub: "3f1e5c2a-8b4d-4c6e-9a7b-1d2e3f4a5b6c", role: "authenticated" };
    await expect(
      db.asUser(claims, async (sql) => {
        await sql.query("insert into public.t values (1)");
        await sql.query("select 1/0");
      }),
    ).rejects.toMatchObject({ code: "22012" });
    const { rows } = await db.asUser(claims, (sql) => sql.query<{ n: number }>("select count(*)::int as n from public.t"));
    expect(rows[0]!.n).toBe(0);
  });
});

describe("PostgresDatabase.queryAsUser / queryAsService", () => {
  let t: TestPgDatabase;
  let db: PostgresDatabase;
  let legacy: PostgresDatabase;
  const claims: AuthClaims = { sub: "3f1e5c2a-8b4d-4c6e-9a7b-1d2e3f4a5b6c", role: "authenticated", email: "a'b\\c@example.test" };
  beforeAll(async () => {
    t = await createTestPgDatabase("stowage_adapter_once");
    db = new PostgresDatabase({ connectionString: t.url, max: 1 });
    // Old-style string literals (backslash escapes in '…'): inlined values must still arrive intact.
    const url = new URL(t.url);
    url.searchParams.set("options", "-c standard_conforming_strings=off");
    legacy = new PostgresDatabase({ connectionString: url.toString(), max: 1 });
    await db.asService((sql) =>
      sql.exec(
        `do $$ begin create role authenticated nologin; exception when duplicate_object then null; end $$;
         do $$ begin create role anon nologin; exception when duplicate_object then null; end $$;
         grant authenticated, anon to current_user;
         create table public.notes (owner text not null default current_setting('request.jwt.claim.sub', true), body text, n integer, flag boolean);
         alter table public.notes enable row level security;
         create policy own on public.notes to authenticated
           using (owner = current_setting('request.jwt.claim.sub', true)) with check (owner = current_setting('request.jwt.claim.sub', true));
         grant select, insert on public.notes to authenticated;`,
      ),
    );
  });
  afterAll(async () => {
    await db?.close();
    await legacy?.close();
    await t?.drop();
  });

  const tricky = [
    "plain",
    "it's",
    "back\\slash \\' and '\\",
    "$1 $2 $$ dollar $q$ quoted $q$",
    "'); delete from public.notes; select ('",
    "E'\\x41' \\x41 \\n\n newline, tab\t, unicode \u00e9\u{1F600}",
    "",
  ];

  it("runs as the user with the claims, in one message, values exactly as bound parameters would give them", async () => {
    const conforming = await legacy.queryAsService<{ s: string }>("select current_setting('standard_conforming_strings') as s");
    expect(conforming.rows[0]!.s).toBe("off");
    for (const database of [db, legacy]) {
      const spy = vi.spyOn(pg.Client.prototype, "query");
      try {
        for (const body of tricky) {
          const { rows } = await database.queryAsUser<{ role: string; sub: string; body: string; n: number; flag: boolean }>(
            claims,
            "insert into public.notes (body, n, flag) values ($1::text, $2::integer, $3::boolean) returning current_user as role, owner as sub, body, n, flag",
            [body, 42, true],
          );
          expect(rows[0]).toEqual({ role: "authenticated", sub: claims.sub, body, n: 42, flag: true });
        }
        // One round trip per call: BEGIN, settings, the statement and COMMIT in one query message.
        expect(spy).toHaveBeenCalledTimes(tricky.length);
      } finally {
        spy.mockRestore();
      }
      const seen = await database.queryAsUser<{ claims: string; n: number }>(
        claims,
        "select current_setting($1::text, true) as claims, (select count(*)::int from public.notes where n is null) as n",
        ["request.jwt.claims"],
      );
      expect(JSON.parse(seen.rows[0]!.claims)).toEqual(claims);
      expect(seen.rows[0]!.n).toBe(0);
    }
    const { rows } = await db.asService((sql) => sql.query<{ body: string }>("select body from public.notes order by body"));
    expect(rows.map((r) => r.body).sort()).toEqual([...tricky, ...tricky].sort());
  });

  it("enforces RLS as the user: another user's claims see nothing and cannot write for someone else", async () => {
    const other: AuthClaims = { sub: "00000000-0000-4000-8000-000000000001", role: "authenticated" };
    const { rows } = await db.queryAsUser<{ n: number }>(
      other,
      "select count(*)::int as n from public.notes where $1::text = $1::text",
      ["x"],
    );
    expect(rows[0]!.n).toBe(0);
    await expect(
      db.queryAsUser(other, "insert into public.notes (owner, body) values ($1::text, $2::text)", [claims.sub, "forged"]),
    ).rejects.toMatchObject({ code: "42501" });
    const anon = await db.queryAsUser<{ role: string }>(null, "select current_user as role where $1::integer = 1", [1]);
    expect(anon.rows[0]!.role).toBe("anon");
  });

  it("rolls back a failing statement, keeps the pooled connection clean and usable", async () => {
    await expect(
      db.queryAsUser(claims, "insert into public.notes (body, n) values ($1::text, 1 / $2::integer)", ["never", 0]),
    ).rejects.toMatchObject({ code: "22012" });
    const after = await db.asService((sql) =>
      sql.query<{ role: string; claims: string | null; n: number }>(
        "select current_user as role, current_setting('request.jwt.claims', true) as claims, (select count(*)::int from public.notes where body = 'never') as n",
      ),
    );
    expect(after.rows[0]!.role).not.toMatch(/^(authenticated|anon)$/);
    expect(after.rows[0]!.claims ?? "").toBe("");
    expect(after.rows[0]!.n).toBe(0);
  });

  it("refuses a NUL in a value as PostgreSQL does (22021) and statements it cannot inline safely", async () => {
    await expect(db.queryAsUser(claims, "select $1::text", ["a\u0000b"])).rejects.toMatchObject({ code: "22021" });
    expect(() => inlineParams("select '$1'", ["x"])).toThrow(/without quotes/);
    expect(() => inlineParams("select $1; select 2", ["x"])).toThrow(/one statement/);
    expect(() => inlineParams("select $2", ["x"])).toThrow(/no value for \$2/);
    expect(() => inlineParams("select 1", ["x"])).toThrow(/not used/);
    const ten = ["a\\b", null, 1.5, 4, 5, 6, 7, 8, 9, "z"];
    expect(inlineParams("select $1, $2, $3, $4, $5, $6, $7, $8, $9, $10", ten)).toBe(
      "select  E'a\\\\b', NULL, '1.5', '4', '5', '6', '7', '8', '9', 'z'",
    );
  });

  it("queryAsService runs one statement as the connection's role and commits it", async () => {
    const { rows } = await db.queryAsService<{ role: string }>(
      "insert into public.notes (owner, body) values ($1, $2) returning current_user as role",
      ["service", "by the service"],
    );
    expect(rows[0]!.role).not.toMatch(/^(authenticated|anon)$/);
    const seen = await db.asService((sql) => sql.query("select 1 from public.notes where owner = 'service'"));
    expect(seen.rowCount).toBe(1);
  });
});

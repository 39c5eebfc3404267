/**
 * The PostgreSQL adapter's transaction setup: BEGIN, the role and the claims go in one script with
 * the claim values as quoted literals, so claims with quotes and backslashes arrive intact, nothing
 * leaks into the next transaction on the pooled connection, and a failing request rolls back.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuthClaims } from "../../src/db/database.ts";
import { PostgresDatabase } from "../../src/db/postgres.ts";
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

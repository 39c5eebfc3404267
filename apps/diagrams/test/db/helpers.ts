/**
 * @module test/db/helpers
 * Test support for the diagram database: a uniquely named PostgreSQL database per test file
 * (dropped afterwards), users created the way local sign-up does, claims, and `attempt` which runs one
 * statement as a user in its own transaction and reports rows or the SQLSTATE.
 */
import { randomUUID } from "node:crypto";
import pg from "pg";
import type { AuthClaims, Database } from "../../src/db/database.ts";

export const ADMIN_URL = process.env.STOWAGE_TEST_PG_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";

export interface TestPgDatabase {
  readonly url: string;
  readonly name: string;
  drop(): Promise<void>;
}

/** Creates an empty database with a unique name on the test server (fails loudly when unreachable). */
export async function createTestPgDatabase(prefix: string): Promise<TestPgDatabase> {
  const name = `${prefix}_${process.pid}_${randomUUID().slice(0, 8)}`.toLowerCase();
  const admin = new pg.Client(ADMIN_URL);
  await admin.connect();
  try {
    await admin.query(`create database "${name}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    async drop() {
      const a = new pg.Client(ADMIN_URL);
      await a.connect();
      try {
        await a.query(`drop database if exists "${name}" with (force)`);
      } finally {
        await a.end();
      }
    },
  };
}

export function claimsOf(userId: string): AuthClaims {
  return { sub: userId, role: "authenticated" };
}

/** Creates an auth user (the profile follows by trigger) and returns its id. */
export async function createUser(db: Database, email: string, plan = "FREE"): Promise<string> {
  return db.asService(async (sql) => {
    const { rows } = await sql.query<{ id: string }>(
      "insert into auth.users (id, email, encrypted_password) values (gen_random_uuid(), $1, 'x') returning id",
      [email],
    );
    const id = rows[0]?.id;
    if (!id) throw new Error("user not created");
    await sql.query("update public.profiles set plan = $2 where id = $1", [id, plan]);
    return id;
  });
}

export type Attempt = { ok: true; rowCount: number; rows: Record<string, unknown>[] } | { ok: false; code: string };

/** Runs one statement as `claims` (null = anon) in its own transaction. */
export async function attempt(db: Database, claims: AuthClaims | null, text: string, params: unknown[] = []): Promise<Attempt> {
  try {
    const r = await db.asUser(claims, (sql) => sql.query(text, params));
    return { ok: true, rowCount: r.rowCount, rows: r.rows };
  } catch (error) {
    return { ok: false, code: String((error as { code?: unknown }).code ?? error) };
  }
}

/** Ids visible to `claims` in `table`. */
export async function visibleIds(db: Database, claims: AuthClaims | null, table: string): Promise<string[]> {
  const r = await db.asUser(claims, (sql) => sql.query<{ id: string }>(`select id from public.${table}`));
  return r.rows.map((x) => x.id).sort();
}

export const XML = (n: number) =>
  `<?xml version="1.0" encoding="UTF-8"?><bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D${n}"><bpmn:process id="P${n}"/></bpmn:definitions>`;

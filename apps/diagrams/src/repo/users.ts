/**
 * @module repo/users
 * Local accounts of the standalone mode: rows of `auth.users` (the migration's minimal table, or
 * Supabase's own, which has the same columns). Runs through `db.asService` because a caller who is
 * not signed in yet has no role that may read or write users.
 */
import type { SqlExecutor } from "../db/database.ts";

export interface LocalUser {
  id: string;
  email: string;
  encrypted_password: string | null;
}

export interface Profile {
  id: string;
  email: string | null;
  plan: string;
}

/** Inserts a user; throws the driver's unique-violation (23505) when the email is taken. */
export async function insertUser(sql: SqlExecutor, email: string, passwordHash: string): Promise<LocalUser> {
  const { rows } = await sql.query<LocalUser>(
    `insert into auth.users (email, encrypted_password) values ($1, $2) returning id, email, encrypted_password`,
    [email, passwordHash],
  );
  return rows[0]!;
}

export async function findUserByEmail(sql: SqlExecutor, email: string): Promise<LocalUser | null> {
  const { rows } = await sql.query<LocalUser>(
    `select id, email, encrypted_password from auth.users where lower(email) = lower($1) limit 1`,
    [email],
  );
  return rows[0] ?? null;
}

/**
 * @module test/db/world
 * The cast of the RLS tests: owner A (PRO plan) with a private project P (viewer V, editor E), a
 * public project Q, a trashed project T, a personal-space diagram and a trashed diagram; user B with
 * a project of their own. Built as the users themselves would (asUser), so building it exercises the
 * insert policies, then checked against the matrix in rls-matrix.ts.
 */
import type { AuthClaims, Database } from "../../src/db/database.ts";
import { claimsOf, createUser, XML } from "./helpers.ts";

export interface World {
  readonly users: { A: string; B: string; V: string; E: string };
  readonly claims: { A: AuthClaims; B: AuthClaims; V: AuthClaims; E: AuthClaims };
  readonly projects: { P: string; Q: string; T: string; PB: string };
  readonly diagrams: { dP: string; dQ: string; dPersonal: string; dTrash: string; dB: string; dBPublic: string };
}

async function one(db: Database, claims: AuthClaims, text: string, params: unknown[]): Promise<string> {
  const r = await db.asUser(claims, (sql) => sql.query<{ id: string }>(text, params));
  const id = r.rows[0]?.id;
  if (!id) throw new Error(`no row from ${text}`);
  return id;
}

export async function buildWorld(db: Database, tag: string): Promise<World> {
  const A = await createUser(db, `a-${tag}@example.test`, "PRO");
  const B = await createUser(db, `b-${tag}@example.test`);
  const V = await createUser(db, `v-${tag}@example.test`);
  const E = await createUser(db, `e-${tag}@example.test`);
  const claims = { A: claimsOf(A), B: claimsOf(B), V: claimsOf(V), E: claimsOf(E) };
  const project = (c: AuthClaims, name: string, isPublic = false) =>
    one(db, c, "insert into projects (name, is_public) values ($1, $2) returning id", [name, isPublic]);
  const diagram = (c: AuthClaims, projectId: string | null, n: number, isPublic = false) =>
    one(db, c, "insert into diagrams (project_id, bpmn_xml, is_public) values ($1, $2, $3) returning id", [
      projectId,
      XML(n),
      isPublic,
    ]);
  const P = await project(claims.A, "P");
  const Q = await project(claims.A, "Q", true);
  const T = await project(claims.A, "T");
  const PB = await project(claims.B, "PB");
  // Sharing is by invitation (0007): A invites V by email and E by id; each accepts.
  const invite = (target: "email" | "invitee_id", value: string, role: string) =>
    one(db, claims.A, `insert into invitations (project_id, ${target}, role) values ($1, $2, $3) returning id`, [P, value, role]);
  const accept = (c: AuthClaims, id: string) =>
    db.asUser(c, (sql) => sql.query("select * from stowage_private.accept_invitation($1)", [id]));
  await accept(claims.V, await invite("email", `v-${tag}@example.test`, "viewer"));
  await accept(claims.E, await invite("invitee_id", E, "editor"));
  const dP = await diagram(claims.A, P, 1);
  const dQ = await diagram(claims.A, Q, 2);
  const dPersonal = await diagram(claims.A, null, 3);
  const dTrash = await diagram(claims.A, P, 4);
  const dB = await diagram(claims.B, PB, 5);
  const dBPublic = await diagram(claims.B, null, 6, true);
  await db.asUser(claims.A, (sql) => sql.query("update diagrams set deleted_at = now() where id = $1", [dTrash]));
  await db.asUser(claims.A, (sql) => sql.query("update projects set deleted_at = now() where id = $1", [T]));
  return { users: { A, B, V, E }, claims, projects: { P, Q, T, PB }, diagrams: { dP, dQ, dPersonal, dTrash, dB, dBPublic } };
}

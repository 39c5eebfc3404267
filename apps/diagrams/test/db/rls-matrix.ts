/**
 * @module test/db/rls-matrix
 * The expected RLS behaviour, as data, shared by the PostgreSQL tests and the PGlite smoke test:
 * who sees which rows of each table, and the outcome of writes per actor.
 */
import { expect } from "vitest";
import type { AuthClaims, Database } from "../../src/db/database.ts";
import { attempt, visibleIds, XML } from "./helpers.ts";
import type { World } from "./world.ts";

export type Actor = "A" | "B" | "V" | "E" | "anon";

export function claimsFor(w: World, actor: Actor): AuthClaims | null {
  return actor === "anon" ? null : w.claims[actor];
}

/** Rows each actor must see (exactly). */
export function expectedReads(w: World): Record<"projects" | "diagrams", Record<Actor, string[]>> {
  const { P, Q, T, PB } = w.projects;
  const { dP, dQ, dPersonal, dTrash, dB, dBPublic } = w.diagrams;
  return {
    projects: {
      A: [P, Q, T], // owner sees the trash
      B: [Q, PB], // public + own
      V: [P, Q],
      E: [P, Q],
      anon: [Q],
    },
    diagrams: {
      A: [dP, dQ, dPersonal, dTrash, dBPublic],
      B: [dQ, dB, dBPublic],
      V: [dP, dQ, dBPublic],
      E: [dP, dQ, dBPublic],
      anon: [dQ, dBPublic],
    },
  };
}

export async function checkReads(db: Database, w: World, actors: Actor[]): Promise<void> {
  const expected = expectedReads(w);
  for (const actor of actors) {
    const c = claimsFor(w, actor);
    expect(await visibleIds(db, c, "projects"), `projects visible to ${actor}`).toEqual([...expected.projects[actor]].sort());
    expect(await visibleIds(db, c, "diagrams"), `diagrams visible to ${actor}`).toEqual([...expected.diagrams[actor]].sort());
    // Versions: exactly those of the visible diagrams (one version each in the world).
    const versions = await db.asUser(c, (sql) => sql.query<{ diagram_id: string }>("select diagram_id from diagram_versions"));
    expect(versions.rows.map((r) => r.diagram_id).sort(), `versions visible to ${actor}`).toEqual(
      [...expected.diagrams[actor]].sort(),
    );
  }
}

/** A write and its expected outcome: rows affected, or the SQLSTATE. */
export interface WriteCase {
  readonly label: string;
  readonly actor: Actor;
  readonly sql: string;
  readonly params: (w: World) => unknown[];
  readonly expect: { rowCount: number } | { code: string };
}

const upd = (actor: Actor, table: string, key: keyof World["projects"] | keyof World["diagrams"], rowCount: number) =>
  ({
    label: `${actor} renames ${key}`,
    actor,
    sql: `update ${table} set ${table === "projects" ? "name" : "title"} = 'renamed' where id = $1`,
    params: (w: World) => [
      table === "projects" ? w.projects[key as keyof World["projects"]] : w.diagrams[key as keyof World["diagrams"]],
    ],
    expect: { rowCount },
  }) satisfies WriteCase;

/**
 * Writes that do not change what later cases depend on come first; the destructive ones (trash,
 * purge, leave) at the end. Run in order.
 */
export const writeCases: WriteCase[] = [
  // projects
  upd("A", "projects", "P", 1),
  upd("V", "projects", "P", 0),
  upd("E", "projects", "P", 0),
  upd("B", "projects", "P", 0),
  {
    label: "anon renames Q",
    actor: "anon",
    sql: "update projects set name = 'x' where id = $1",
    params: (w) => [w.projects.Q],
    expect: { code: "42501" },
  },
  {
    label: "anon creates a project",
    actor: "anon",
    sql: "insert into projects (name, profile_id) values ('x', $1)",
    params: (w) => [w.users.A],
    expect: { code: "42501" },
  },
  {
    label: "B creates a project owned by A",
    actor: "B",
    sql: "insert into projects (name, profile_id) values ('x', $1)",
    params: (w) => [w.users.A],
    expect: { code: "42501" },
  },
  {
    label: "E trashes P",
    actor: "E",
    sql: "update projects set deleted_at = now() where id = $1",
    params: (w) => [w.projects.P],
    expect: { rowCount: 0 },
  },
  {
    label: "B purges P",
    actor: "B",
    sql: "delete from projects where id = $1",
    params: (w) => [w.projects.P],
    expect: { rowCount: 0 },
  },
  {
    label: "V purges P",
    actor: "V",
    sql: "delete from projects where id = $1",
    params: (w) => [w.projects.P],
    expect: { rowCount: 0 },
  },
  // diagrams
  upd("E", "diagrams", "dP", 1),
  upd("V", "diagrams", "dP", 0),
  upd("B", "diagrams", "dP", 0),
  upd("B", "diagrams", "dQ", 0), // public read does not grant write
  upd("E", "diagrams", "dPersonal", 0),
  upd("A", "diagrams", "dPersonal", 1),
  {
    label: "E saves dP",
    actor: "E",
    sql: "select * from save_diagram($1, 1, $2, 'edit')",
    params: (w) => [w.diagrams.dP, XML(11)],
    expect: { rowCount: 1 },
  },
  {
    label: "V saves dP",
    actor: "V",
    sql: "select * from save_diagram($1, 2, $2)",
    params: (w) => [w.diagrams.dP, XML(12)],
    expect: { code: "SL403" },
  },
  {
    label: "B saves dP",
    actor: "B",
    sql: "select * from save_diagram($1, 2, $2)",
    params: (w) => [w.diagrams.dP, XML(12)],
    expect: { code: "SL404" },
  },
  {
    label: "anon saves dQ",
    actor: "anon",
    sql: "select * from save_diagram($1, 1, $2)",
    params: (w) => [w.diagrams.dQ, XML(12)],
    expect: { code: "42501" },
  },
  {
    label: "E creates a diagram in P",
    actor: "E",
    sql: "insert into diagrams (project_id, bpmn_xml) values ($1, $2)",
    params: (w) => [w.projects.P, XML(13)],
    expect: { rowCount: 1 },
  },
  {
    label: "V creates a diagram in P",
    actor: "V",
    sql: "insert into diagrams (project_id, bpmn_xml) values ($1, $2)",
    params: (w) => [w.projects.P, XML(14)],
    expect: { code: "42501" },
  },
  {
    label: "B creates a diagram in P",
    actor: "B",
    sql: "insert into diagrams (project_id, bpmn_xml) values ($1, $2)",
    params: (w) => [w.projects.P, XML(14)],
    expect: { code: "42501" },
  },
  {
    label: "B creates a personal diagram owned by A",
    actor: "B",
    sql: "insert into diagrams (profile_id, bpmn_xml) values ($1, $2)",
    params: (w) => [w.users.A, XML(14)],
    expect: { code: "42501" },
  },
  {
    label: "E moves dP to E's personal space",
    actor: "E",
    sql: "update diagrams set project_id = null where id = $1",
    params: (w) => [w.diagrams.dP],
    expect: { code: "42501" },
  },
  {
    label: "E sets dP's version",
    actor: "E",
    sql: "update diagrams set version = 99 where id = $1",
    params: (w) => [w.diagrams.dP],
    expect: { code: "42501" },
  },
  {
    label: "E trashes dP",
    actor: "E",
    sql: "update diagrams set deleted_at = now() where id = $1",
    params: (w) => [w.diagrams.dP],
    expect: { code: "42501" },
  },
  {
    label: "E purges dP",
    actor: "E",
    sql: "delete from diagrams where id = $1",
    params: (w) => [w.diagrams.dP],
    expect: { rowCount: 0 },
  },
  {
    label: "V purges dP",
    actor: "V",
    sql: "delete from diagrams where id = $1",
    params: (w) => [w.diagrams.dP],
    expect: { rowCount: 0 },
  },
  {
    label: "B restores A's trashed diagram",
    actor: "B",
    sql: "update diagrams set deleted_at = null where id = $1",
    params: (w) => [w.diagrams.dTrash],
    expect: { rowCount: 0 },
  },
  {
    label: "V restores A's trashed diagram",
    actor: "V",
    sql: "update diagrams set deleted_at = null where id = $1",
    params: (w) => [w.diagrams.dTrash],
    expect: { rowCount: 0 },
  },
  // versions: read-only for everybody
  {
    label: "A writes a version row",
    actor: "A",
    sql: "insert into diagram_versions (diagram_id, version, bpmn_xml) values ($1, 50, 'x')",
    params: (w) => [w.diagrams.dP],
    expect: { code: "42501" },
  },
  {
    label: "A deletes version rows",
    actor: "A",
    sql: "delete from diagram_versions where diagram_id = $1",
    params: (w) => [w.diagrams.dP],
    expect: { code: "42501" },
  },
  // collaborators
  {
    label: "E shares P with B",
    actor: "E",
    sql: "insert into collaborators (project_id, user_id, role) values ($1, $2, 'viewer')",
    params: (w) => [w.projects.P, w.users.B],
    expect: { code: "42501" },
  },
  {
    label: "V promotes self to owner",
    actor: "V",
    sql: "update collaborators set role = 'owner' where user_id = $1",
    params: (w) => [w.users.V],
    expect: { rowCount: 0 },
  },
  {
    label: "E removes V",
    actor: "E",
    sql: "delete from collaborators where user_id = $1",
    params: (w) => [w.users.V],
    expect: { rowCount: 0 },
  },
  {
    label: "B reads P's collaborators",
    actor: "B",
    sql: "select * from collaborators where project_id = $1",
    params: (w) => [w.projects.P],
    expect: { rowCount: 0 },
  },
  {
    label: "V reads P's collaborators",
    actor: "V",
    sql: "select * from collaborators where project_id = $1",
    params: (w) => [w.projects.P],
    expect: { rowCount: 2 },
  },
  {
    label: "anon reads collaborators",
    actor: "anon",
    sql: "select * from collaborators",
    params: () => [],
    expect: { code: "42501" },
  },
  {
    label: "A sets E's role",
    actor: "A",
    sql: "update collaborators set role = 'editor' where user_id = $1",
    params: (w) => [w.users.E],
    expect: { rowCount: 1 },
  },
  // Sharing is by invitation: nobody inserts collaborator rows, not even the owner (0007).
  {
    label: "A adds B as viewer of P directly",
    actor: "A",
    sql: "insert into collaborators (project_id, user_id, role) values ($1, $2, 'viewer')",
    params: (w) => [w.projects.P, w.users.B],
    expect: { code: "42501" },
  },
  {
    label: "A invites B to P by id",
    actor: "A",
    sql: "insert into invitations (project_id, invitee_id, role) values ($1, $2, 'viewer')",
    params: (w) => [w.projects.P, w.users.B],
    expect: { rowCount: 1 },
  },
  {
    label: "A, inviter, still cannot read B's profile",
    actor: "A",
    sql: "select * from profiles where id = $1",
    params: (w) => [w.users.B],
    expect: { rowCount: 0 },
  },
  {
    label: "V, member, does not see B's pending invitation",
    actor: "V",
    sql: "select * from invitations where project_id = $1",
    params: (w) => [w.projects.P],
    expect: { rowCount: 0 },
  },
  {
    label: "E invites someone to P",
    actor: "E",
    sql: "insert into invitations (project_id, email, role) values ($1, 'x@example.test', 'viewer')",
    params: (w) => [w.projects.P],
    expect: { code: "42501" },
  },
  {
    label: "B sees the invitation addressed to them",
    actor: "B",
    sql: "select * from invitations where project_id = $1",
    params: (w) => [w.projects.P],
    expect: { rowCount: 1 },
  },
  {
    label: "V accepts B's invitation",
    actor: "V",
    sql: "select * from stowage_private.accept_invitation((select id from invitations where project_id = $1 limit 1))",
    params: (w) => [w.projects.P],
    expect: { code: "SL404" },
  },
  {
    label: "B accepts the invitation",
    actor: "B",
    sql: "select * from stowage_private.accept_invitation((select id from invitations where project_id = $1 and invitee_id = $2))",
    params: (w) => [w.projects.P, w.users.B],
    expect: { rowCount: 1 },
  },
  {
    label: "A now reads B's profile",
    actor: "A",
    sql: "select * from profiles where id = $1",
    params: (w) => [w.users.B],
    expect: { rowCount: 1 },
  },
  {
    label: "B leaves P",
    actor: "B",
    sql: "delete from collaborators where project_id = $1 and user_id = $2",
    params: (w) => [w.projects.P, w.users.B],
    expect: { rowCount: 1 },
  },
  {
    label: "anon calls the private helper project_role",
    actor: "anon",
    sql: "select public.project_role($1)",
    params: (w) => [w.projects.P],
    expect: { code: "42883" },
  },
  // owners decide what is public (0007)
  {
    label: "E publishes dP",
    actor: "E",
    sql: "update diagrams set is_public = true where id = $1",
    params: (w) => [w.diagrams.dP],
    expect: { code: "SL403" },
  },
  {
    label: "E creates a public diagram in P",
    actor: "E",
    sql: "insert into diagrams (project_id, bpmn_xml, is_public) values ($1, $2, true)",
    params: (w) => [w.projects.P, XML(70)],
    expect: { code: "SL403" },
  },
  {
    label: "E retitles dP",
    actor: "E",
    sql: "update diagrams set title = 'by E' where id = $1",
    params: (w) => [w.diagrams.dP],
    expect: { rowCount: 1 },
  },
  {
    label: "A publishes dP",
    actor: "A",
    sql: "update diagrams set is_public = true where id = $1",
    params: (w) => [w.diagrams.dP],
    expect: { rowCount: 1 },
  },
  {
    label: "E unpublishes dP",
    actor: "E",
    sql: "update diagrams set is_public = false where id = $1",
    params: (w) => [w.diagrams.dP],
    expect: { code: "SL403" },
  },
  {
    label: "A unpublishes dP",
    actor: "A",
    sql: "update diagrams set is_public = false where id = $1",
    params: (w) => [w.diagrams.dP],
    expect: { rowCount: 1 },
  },
  // profiles
  {
    label: "A renames self",
    actor: "A",
    sql: "update profiles set display_name = 'Ada' where id = $1",
    params: (w) => [w.users.A],
    expect: { rowCount: 1 },
  },
  {
    label: "B upgrades own plan",
    actor: "B",
    sql: "update profiles set plan = 'PRO' where id = $1",
    params: (w) => [w.users.B],
    expect: { code: "42501" },
  },
  {
    label: "B renames A",
    actor: "B",
    sql: "update profiles set display_name = 'x' where id = $1",
    params: (w) => [w.users.A],
    expect: { rowCount: 0 },
  },
  {
    label: "V sees A's profile (peer)",
    actor: "V",
    sql: "select * from profiles where id = $1",
    params: (w) => [w.users.A],
    expect: { rowCount: 1 },
  },
  {
    label: "B does not see A's profile",
    actor: "B",
    sql: "select * from profiles where id = $1",
    params: (w) => [w.users.A],
    expect: { rowCount: 0 },
  },
  // destructive, last
  {
    label: "A trashes dP",
    actor: "A",
    sql: "update diagrams set deleted_at = now() where id = $1",
    params: (w) => [w.diagrams.dP],
    expect: { rowCount: 1 },
  },
  {
    label: "E no longer sees trashed dP",
    actor: "E",
    sql: "select * from diagrams where id = $1",
    params: (w) => [w.diagrams.dP],
    expect: { rowCount: 0 },
  },
  {
    label: "E no longer sees trashed dP's versions",
    actor: "E",
    sql: "select * from diagram_versions where diagram_id = $1",
    params: (w) => [w.diagrams.dP],
    expect: { rowCount: 0 },
  },
  {
    label: "A sees dP in the trash",
    actor: "A",
    sql: "select * from diagrams where id = $1 and deleted_at is not null",
    params: (w) => [w.diagrams.dP],
    expect: { rowCount: 1 },
  },
  {
    label: "A purges dP",
    actor: "A",
    sql: "delete from diagrams where id = $1",
    params: (w) => [w.diagrams.dP],
    expect: { rowCount: 1 },
  },
  {
    label: "V leaves P",
    actor: "V",
    sql: "delete from collaborators where project_id = $1 and user_id = $2",
    params: (w) => [w.projects.P, w.users.V],
    expect: { rowCount: 1 },
  },
  {
    label: "V no longer sees P",
    actor: "V",
    sql: "select * from projects where id = $1",
    params: (w) => [w.projects.P],
    expect: { rowCount: 0 },
  },
  {
    label: "A purges P",
    actor: "A",
    sql: "delete from projects where id = $1",
    params: (w) => [w.projects.P],
    expect: { rowCount: 1 },
  },
];

export async function checkWrite(db: Database, w: World, c: WriteCase): Promise<void> {
  const result = await attempt(db, claimsFor(w, c.actor), c.sql, c.params(w));
  if ("code" in c.expect) {
    expect(result, c.label).toMatchObject({ ok: false, code: c.expect.code });
  } else {
    expect(result, c.label).toMatchObject({ ok: true, rowCount: c.expect.rowCount });
  }
}

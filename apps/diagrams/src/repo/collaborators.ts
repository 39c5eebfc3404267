/**
 * @module repo/collaborators
 * SQL of the collaborator routes. RLS lets only a project's owner add, change or remove
 * collaborators; everyone who can see the project can read the list.
 */
import type { SqlExecutor } from "../db/database.ts";

export type CollaboratorRole = "viewer" | "editor";

export interface CollaboratorRow {
  user_id: string;
  email: string | null;
  role: string;
  created_at: string;
  updated_at: string;
}

export async function listCollaborators(sql: SqlExecutor, projectId: string): Promise<CollaboratorRow[]> {
  const { rows } = await sql.query<CollaboratorRow>(
    `select c.user_id, pr.email, c.role, c.created_at, c.updated_at
     from public.collaborators c left join public.profiles pr on pr.id = c.user_id
     where c.project_id = $1 order by c.created_at, c.user_id`,
    [projectId],
  );
  return rows;
}

/** Adds or changes a collaborator; null when RLS hides the project or refuses the change. */
export async function upsertCollaborator(
  sql: SqlExecutor,
  projectId: string,
  userId: string,
  role: CollaboratorRole,
): Promise<CollaboratorRow | null> {
  const { rows } = await sql.query<CollaboratorRow>(
    `insert into public.collaborators as c (project_id, user_id, role) values ($1, $2, $3)
     on conflict (project_id, user_id) do update set role = excluded.role
     returning c.user_id, null::text as email, c.role, c.created_at, c.updated_at`,
    [projectId, userId, role],
  );
  return rows[0] ?? null;
}

export async function removeCollaborator(sql: SqlExecutor, projectId: string, userId: string): Promise<boolean> {
  const { rowCount } = await sql.query(`delete from public.collaborators where project_id = $1 and user_id = $2`, [
    projectId,
    userId,
  ]);
  return rowCount > 0;
}

/**
 * True when the caller is the live project's owner or a co-owner (`project_role() = 'owner'`),
 * checked before a change so a refusal answers 404 without revealing the project.
 */
export async function managesProject(sql: SqlExecutor, projectId: string): Promise<boolean> {
  const { rows } = await sql.query<{ ok: boolean }>(
    `select public.project_role(p.id) = 'owner' as ok from public.projects p where p.id = $1 and p.deleted_at is null`,
    [projectId],
  );
  return rows[0]?.ok === true;
}

/** Resolves an email to a profile id; runs as the service because profiles of others are not visible. */
export async function profileIdByEmail(sql: SqlExecutor, email: string): Promise<string | null> {
  const { rows } = await sql.query<{ id: string }>(`select id from public.profiles where lower(email) = lower($1) limit 1`, [
    email,
  ]);
  return rows[0]?.id ?? null;
}

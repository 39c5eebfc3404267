/**
 * @module repo/collaborators
 * SQL of the collaborator routes. Collaborators are added only by accepting an invitation
 * (repo/invitations.ts); RLS lets a project's owners change roles or remove collaborators, a
 * collaborator leave, and the members read the list.
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

/** Changes an existing collaborator's role; null when there is no such collaborator (or RLS refuses). */
export async function setCollaboratorRole(
  sql: SqlExecutor,
  projectId: string,
  userId: string,
  role: CollaboratorRole,
): Promise<CollaboratorRow | null> {
  const { rows } = await sql.query<CollaboratorRow>(
    `update public.collaborators c set role = $3 where c.project_id = $1 and c.user_id = $2
     returning c.user_id, (select pr.email from public.profiles pr where pr.id = c.user_id) as email,
               c.role, c.created_at, c.updated_at`,
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
 * checked before anything else so a refusal answers 404 without revealing the project.
 */
export async function managesProject(sql: SqlExecutor, projectId: string): Promise<boolean> {
  const { rows } = await sql.query<{ ok: boolean }>(
    `select stowage_private.project_role(p.id) = 'owner' as ok from public.projects p where p.id = $1 and p.deleted_at is null`,
    [projectId],
  );
  return rows[0]?.ok === true;
}

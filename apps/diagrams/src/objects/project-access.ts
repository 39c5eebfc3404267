/**
 * @module objects/project-access
 * A project as the caller sees it (RLS decides): its owner, for the seed's object paths, and the
 * caller's role in it. Null when the caller may not see the project (answered 404).
 */
import type { SqlExecutor } from "../db/database.ts";

export interface ProjectAccess {
  id: string;
  owner_id: string;
  role: "owner" | "editor" | "viewer" | null;
}

export async function readProjectAccess(sql: SqlExecutor, projectId: string): Promise<ProjectAccess | null> {
  const { rows } = await sql.query<ProjectAccess>(
    `select p.id, p.profile_id as owner_id,
       case when p.profile_id = auth.uid() then 'owner'
            else (select c.role from public.collaborators c where c.project_id = p.id and c.user_id = auth.uid()) end as role
     from public.projects p where p.id = $1 and p.deleted_at is null`,
    [projectId],
  );
  return rows[0] ?? null;
}

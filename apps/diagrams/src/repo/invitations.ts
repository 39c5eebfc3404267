/**
 * @module repo/invitations
 * SQL of sharing by invitation (migrations/0007): a project owner invites an email or a user id;
 * the invitee accepts (stowage_private.accept_invitation) and only then becomes a collaborator.
 * An invitation row holds what the inviter typed and nothing looked up from it, so it shows the
 * inviter nothing they did not already know.
 */
import type { SqlExecutor } from "../db/database.ts";

export type InvitationRole = "viewer" | "editor";

/** An invitation as its project's owners see it: only what was typed. */
export interface InvitationRow {
  id: string;
  project_id: string;
  email: string | null;
  user_id: string | null;
  role: InvitationRole;
  created_at: string;
  updated_at: string;
}

const COLUMNS = "i.id, i.project_id, i.email, i.invitee_id as user_id, i.role, i.created_at, i.updated_at";

/** Creates (or re-roles) the invitation of `target` to the project; RLS lets only owners do it. */
export async function upsertInvitation(
  sql: SqlExecutor,
  projectId: string,
  target: { email: string } | { userId: string },
  role: InvitationRole,
): Promise<InvitationRow | null> {
  const byEmail = "email" in target;
  const { rows } = await sql.query<InvitationRow>(
    `insert into public.invitations as i (project_id, ${byEmail ? "email" : "invitee_id"}, role) values ($1, $2, $3)
     on conflict (project_id, ${byEmail ? "email" : "invitee_id"}) where ${byEmail ? "email" : "invitee_id"} is not null
     do update set role = excluded.role
     returning ${COLUMNS}`,
    [projectId, byEmail ? target.email.toLowerCase() : target.userId, role],
  );
  return rows[0] ?? null;
}

export async function listProjectInvitations(sql: SqlExecutor, projectId: string): Promise<InvitationRow[]> {
  const { rows } = await sql.query<InvitationRow>(
    `select ${COLUMNS} from public.invitations i where i.project_id = $1 order by i.created_at, i.id`,
    [projectId],
  );
  return rows;
}

export async function deleteInvitation(sql: SqlExecutor, id: string, projectId?: string): Promise<boolean> {
  const { rowCount } = await sql.query(
    `delete from public.invitations where id = $1 ${projectId ? "and project_id = $2" : ""}`,
    projectId ? [id, projectId] : [id],
  );
  return rowCount > 0;
}

/** An invitation as its invitee sees it: the project's name and who invited them. */
export interface ReceivedInvitation {
  id: string;
  role: InvitationRole;
  project: { id: string; name: string };
  invited_by: { display_name: string | null; email: string | null } | null;
  created_at: string;
}

/**
 * Invitations addressed to `userId` (by id, or by their profile's email). Runs as the service: the
 * invitee cannot read the project row yet; the filter is the caller's own id, nothing else.
 */
export async function listReceivedInvitations(sql: SqlExecutor, userId: string): Promise<ReceivedInvitation[]> {
  const { rows } = await sql.query<{
    id: string;
    role: InvitationRole;
    project_id: string;
    project_name: string;
    inviter_name: string | null;
    inviter_email: string | null;
    created_at: string;
  }>(
    `select i.id, i.role, p.id as project_id, p.name as project_name,
            inv.display_name as inviter_name, inv.email as inviter_email, i.created_at
     from public.invitations i
     join public.projects p on p.id = i.project_id and p.deleted_at is null
     left join public.profiles inv on inv.id = i.invited_by
     where i.invitee_id = $1
        or i.email = (select lower(me.email) from public.profiles me where me.id = $1)
     order by i.created_at desc, i.id`,
    [userId],
  );
  return rows.map((r) => ({
    id: r.id,
    role: r.role,
    project: { id: r.project_id, name: r.project_name },
    invited_by: r.inviter_name || r.inviter_email ? { display_name: r.inviter_name, email: r.inviter_email } : null,
    created_at: r.created_at,
  }));
}

/** Accepts an invitation addressed to the caller; SL404 when there is none (see 0007). */
export async function acceptInvitation(sql: SqlExecutor, id: string): Promise<{ project_id: string; role: string }> {
  const { rows } = await sql.query<{ project_id: string; role: string }>(
    "select a.project_id, a.role from stowage_private.accept_invitation($1::uuid) a",
    [id],
  );
  return rows[0]!;
}

import type { Project, Role } from "./api.ts";
import { useCollaborators, useMe } from "./queries.ts";

/** The signed-in user's role in a project: owner, editor, viewer, or null (e.g. a public project of someone else). */
export function useProjectRole(project: Project | undefined): "owner" | Role | null | undefined {
  const me = useMe().data;
  const isOwner = project && me ? project.profile_id === me.id : undefined;
  const collaborators = useCollaborators(project?.id ?? "", Boolean(project) && isOwner === false);
  if (!project || !me) return undefined;
  if (isOwner) return "owner";
  if (collaborators.isPending) return undefined;
  return collaborators.data?.find((c) => c.user_id === me.id)?.role ?? null;
}

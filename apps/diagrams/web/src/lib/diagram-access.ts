/**
 * @module lib/diagram-access
 * What the signed-in user may do with a diagram, as the screens need to know it before asking: the
 * owner of a personal diagram and a project's owner and editors edit; viewers and readers of public
 * diagrams only look. The database still decides on every request; this only shapes the screen.
 */
import type { Diagram } from "./api.ts";
import { useProjectRole } from "./project-role.ts";
import { useMe, useProject } from "./queries.ts";

export type DiagramAccess = { canEdit: boolean; role: "owner" | "editor" | "viewer" | "reader" } | undefined;

export function useDiagramAccess(diagram: Diagram | undefined): DiagramAccess {
  const me = useMe().data;
  const project = useProject(diagram?.project_id ?? undefined);
  const role = useProjectRole(project.data);
  if (!diagram || !me) return undefined;
  if (!diagram.project_id) {
    const owner = diagram.profile_id === me.id;
    return { canEdit: owner, role: owner ? "owner" : "reader" };
  }
  if (project.isError) return { canEdit: false, role: "reader" };
  if (role === undefined) return undefined;
  if (role === "owner" || role === "editor") return { canEdit: true, role };
  return { canEdit: false, role: role ?? "reader" };
}

/**
 * @module api/collaborators
 * Sharing a project by invitation. `POST /projects/:id/collaborators` invites an email or a user id
 * as viewer or editor: it first checks that the caller manages the project (404 otherwise), and then
 * answers 201 with the invitation exactly the same way whether or not the email or id has an
 * account: nothing is looked up. The invitee accepts (`POST /invitations/:id/accept`) and only then
 * becomes a collaborator that the members see. Owners list and withdraw pending invitations
 * (`GET|DELETE /projects/:id/invitations[/:invitationId]`), change a collaborator's role, or
 * remove them; a collaborator may leave. Members list the collaborators.
 */
import { Hono } from "hono";
import { z } from "zod";
import type { AuthClaims } from "../db/database.ts";
import { ApiError, notFound } from "../errors.ts";
import * as collaborators from "../repo/collaborators.ts";
import * as invitations from "../repo/invitations.ts";
import { type AppEnv, type ResolvedDeps, requireUser } from "./context.ts";
import { readJson, uuidParam } from "./validation.ts";

const Role = z.enum(["viewer", "editor"]);

export const AddCollaboratorBody = z
  .object({ user_id: z.uuid().optional(), email: z.email().max(254).optional(), role: Role })
  .refine((b) => (b.user_id ? 1 : 0) + (b.email ? 1 : 0) === 1, { message: "send exactly one of user_id or email" });

export const SetRoleBody = z.object({ role: Role });

export function collaboratorRoutes(deps: ResolvedDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const { db } = deps;

  /** Runs `fn` when the caller manages the live project; 404 (revealing nothing) otherwise. */
  const asManager = <T>(claims: AuthClaims, projectId: string, fn: Parameters<typeof db.asUser<T>>[1]) =>
    db.asUser(claims, async (sql) => {
      if (!(await collaborators.managesProject(sql, projectId))) throw notFound("project");
      return fn(sql);
    });

  app.get("/:projectId/collaborators", async (c) => {
    const claims = requireUser(c);
    const projectId = uuidParam(c, "projectId");
    const items = await db.asUser(claims, async (sql) => {
      const { rows } = await sql.query("select 1 from public.projects where id = $1 and deleted_at is null", [projectId]);
      if (rows.length === 0) throw notFound("project");
      return collaborators.listCollaborators(sql, projectId);
    });
    return c.json({ items });
  });

  app.post("/:projectId/collaborators", async (c) => {
    const claims = requireUser(c);
    const projectId = uuidParam(c, "projectId");
    const body = await readJson(c, AddCollaboratorBody);
    if (body.user_id === claims.sub || (body.email && body.email.toLowerCase() === claims.email?.toLowerCase())) {
      throw new ApiError(400, "VALIDATION_FAILED", "you cannot invite yourself");
    }
    const invitation = await asManager(claims, projectId, (sql) =>
      invitations.upsertInvitation(sql, projectId, body.email ? { email: body.email } : { userId: body.user_id! }, body.role),
    );
    if (!invitation) throw notFound("project");
    return c.json({ invitation }, 201);
  });

  app.get("/:projectId/invitations", async (c) => {
    const claims = requireUser(c);
    const projectId = uuidParam(c, "projectId");
    const items = await asManager(claims, projectId, (sql) => invitations.listProjectInvitations(sql, projectId));
    return c.json({ items });
  });

  app.delete("/:projectId/invitations/:invitationId", async (c) => {
    const claims = requireUser(c);
    const projectId = uuidParam(c, "projectId");
    const id = uuidParam(c, "invitationId");
    await asManager(claims, projectId, async (sql) => {
      if (!(await invitations.deleteInvitation(sql, id, projectId))) throw notFound("invitation");
    });
    return c.body(null, 204);
  });

  app.put("/:projectId/collaborators/:userId", async (c) => {
    const claims = requireUser(c);
    const projectId = uuidParam(c, "projectId");
    const userId = uuidParam(c, "userId");
    const { role } = await readJson(c, SetRoleBody);
    const collaborator = await asManager(claims, projectId, (sql) =>
      collaborators.setCollaboratorRole(sql, projectId, userId, role),
    );
    if (!collaborator) {
      throw notFound("collaborator (to add someone, invite them with POST /projects/{projectId}/collaborators)");
    }
    return c.json({ collaborator });
  });

  app.delete("/:projectId/collaborators/:userId", async (c) => {
    const claims = requireUser(c);
    const projectId = uuidParam(c, "projectId");
    const userId = uuidParam(c, "userId");
    await db.asUser(claims, async (sql) => {
      // A collaborator may leave; everything else is for the project's owners.
      if (userId !== claims.sub && !(await collaborators.managesProject(sql, projectId))) throw notFound("project");
      if (!(await collaborators.removeCollaborator(sql, projectId, userId))) throw notFound("collaborator");
    });
    return c.body(null, 204);
  });

  return app;
}

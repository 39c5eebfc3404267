/**
 * @module api/collaborators
 * Sharing a project: the owner adds a user (by id or email) as viewer or editor, changes the role,
 * or removes them; anyone who can see the project lists its collaborators. Non-owners get 404.
 */
import { Hono } from "hono";
import { z } from "zod";
import { ApiError, notFound } from "../errors.ts";
import * as collaborators from "../repo/collaborators.ts";
import { type AppDeps, type AppEnv, requireUser } from "./context.ts";
import { readJson, uuidParam } from "./validation.ts";

const Role = z.enum(["viewer", "editor"]);

export const AddCollaboratorBody = z
  .object({ user_id: z.uuid().optional(), email: z.email().optional(), role: Role })
  .refine((b) => (b.user_id ? 1 : 0) + (b.email ? 1 : 0) === 1, { message: "send exactly one of user_id or email" });

export const SetRoleBody = z.object({ role: Role });

export function collaboratorRoutes(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const { db } = deps;

  const setRole = async (
    claims: ReturnType<typeof requireUser>,
    projectId: string,
    userId: string,
    role: "viewer" | "editor",
  ) => {
    if (userId === claims.sub) throw new ApiError(400, "VALIDATION_FAILED", "user_id: the owner cannot be a collaborator");
    return db.asUser(claims, async (sql) => {
      if (!(await collaborators.managesProject(sql, projectId))) throw notFound("project");
      const row = await collaborators.upsertCollaborator(sql, projectId, userId, role);
      if (!row) throw notFound("project");
      return row;
    });
  };

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
    const userId = body.user_id ?? (await db.asService((sql) => collaborators.profileIdByEmail(sql, body.email!)));
    if (!userId) throw notFound(`user with email ${body.email}`);
    const collaborator = await setRole(claims, projectId, userId, body.role);
    return c.json({ collaborator }, 201);
  });

  app.put("/:projectId/collaborators/:userId", async (c) => {
    const claims = requireUser(c);
    const projectId = uuidParam(c, "projectId");
    const userId = uuidParam(c, "userId");
    const { role } = await readJson(c, SetRoleBody);
    const collaborator = await setRole(claims, projectId, userId, role);
    return c.json({ collaborator });
  });

  app.delete("/:projectId/collaborators/:userId", async (c) => {
    const claims = requireUser(c);
    const projectId = uuidParam(c, "projectId");
    const userId = uuidParam(c, "userId");
    await db.asUser(claims, async (sql) => {
      if (!(await collaborators.managesProject(sql, projectId))) throw notFound("project");
      if (!(await collaborators.removeCollaborator(sql, projectId, userId))) throw notFound("collaborator");
    });
    return c.body(null, 204);
  });

  return app;
}

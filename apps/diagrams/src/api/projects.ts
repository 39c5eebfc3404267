/**
 * @module api/projects
 * Project routes: create, list (owned or shared with me), trash, get, PATCH (rename, describe,
 * settings, metadata, is_public), soft delete, restore, purge. Row level security decides; a row it
 * hides answers 404.
 */
import { Hono } from "hono";
import { z } from "zod";
import { notFound } from "../errors.ts";
import * as projects from "../repo/projects.ts";
import { type AppEnv, type ResolvedDeps, requireUser } from "./context.ts";
import { CappedJsonObject, PageQuery, readJson, readQuery, uuidParam } from "./validation.ts";

const Name = z.string().trim().min(1, "name must not be empty").max(255);

export const CreateProjectBody = z.object({
  name: Name,
  description: z.string().max(10_000).nullable().optional(),
  settings: CappedJsonObject.optional(),
  metadata: CappedJsonObject.optional(),
  is_public: z.boolean().optional(),
});

export const PatchProjectBody = CreateProjectBody.partial().refine((b) => Object.keys(b).length > 0, {
  message: "send at least one of name, description, settings, metadata, is_public",
});

export const ListProjectsQuery = PageQuery.extend({
  scope: z.enum(["owned", "shared"]).default("owned"),
});

export const DeleteQuery = z.object({
  permanent: z.enum(["true", "false"]).default("false"),
});

export function projectRoutes(deps: ResolvedDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const { db } = deps;

  app.post("/", async (c) => {
    const claims = requireUser(c);
    const body = await readJson(c, CreateProjectBody);
    const project = await db.asUser(claims, (sql) => projects.createProject(sql, claims.sub, body));
    return c.json({ project }, 201);
  });

  app.get("/", async (c) => {
    const claims = requireUser(c);
    const q = readQuery(c, ListProjectsQuery);
    const page = await db.asUser(claims, (sql) =>
      projects.listProjects(sql, { trash: false, scope: q.scope, userId: claims.sub, limit: q.limit, cursor: q.cursor }),
    );
    return c.json(page);
  });

  app.get("/trash", async (c) => {
    const claims = requireUser(c);
    const q = readQuery(c, PageQuery);
    const page = await db.asUser(claims, (sql) =>
      projects.listProjects(sql, { trash: true, scope: "owned", userId: claims.sub, limit: q.limit, cursor: q.cursor }),
    );
    return c.json(page);
  });

  app.get("/:projectId", async (c) => {
    const id = uuidParam(c, "projectId");
    const project = await db.asUser(c.get("claims"), (sql) => projects.getProject(sql, id));
    if (!project) throw notFound("project");
    return c.json({ project });
  });

  app.patch("/:projectId", async (c) => {
    const claims = requireUser(c);
    const id = uuidParam(c, "projectId");
    const body = await readJson(c, PatchProjectBody);
    const project = await db.asUser(claims, (sql) => projects.updateProject(sql, id, body));
    if (!project) throw notFound("project");
    return c.json({ project });
  });

  app.delete("/:projectId", async (c) => {
    const claims = requireUser(c);
    const id = uuidParam(c, "projectId");
    const { permanent } = readQuery(c, DeleteQuery);
    const done = await db.asUser(claims, (sql) =>
      permanent === "true" ? projects.purgeProject(sql, id) : projects.trashProject(sql, id),
    );
    if (!done) throw notFound("project");
    return c.body(null, 204);
  });

  app.post("/:projectId/restore", async (c) => {
    const claims = requireUser(c);
    const id = uuidParam(c, "projectId");
    const project = await db.asUser(claims, (sql) => projects.restoreProject(sql, id));
    if (!project) throw notFound("project in the trash");
    return c.json({ project });
  });

  return app;
}

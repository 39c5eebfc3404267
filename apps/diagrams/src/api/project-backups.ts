/**
 * @module api/project-backups
 * Project backups (the seed's section 4), for the project's owners:
 *  - `POST /projects/:projectId/backups`: a backup now → 201 with its record and a signed link;
 *  - `GET /projects/:projectId/backups`: the kept backups (the last 30), newest first;
 *  - `POST /projects/:projectId/backups/:backupId/restore`: a NEW project from the backup, in one
 *    transaction (see objects/project-restore.ts) → 201 `{ project_id, diagrams, versions, attachments }`.
 */
import { Hono } from "hono";
import { ApiError, notFound } from "../errors.ts";
import { answering } from "../objects/http-errors.ts";
import { readProjectAccess } from "../objects/project-access.ts";
import { createProjectBackup } from "../objects/project-backup.ts";
import { restoreProjectBackup } from "../objects/project-restore.ts";
import type { ObjectServices } from "../objects/services.ts";
import type { StoredObject } from "../objects/store.ts";
import { type AppEnv, type ResolvedDeps, requireUser } from "./context.ts";
import { uuidParam } from "./validation.ts";

export function projectBackupRoutes(deps: ResolvedDeps, services: ObjectServices): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const { db } = deps;
  const { store } = services;

  const describe = (o: StoredObject) => ({
    id: o.id,
    project_id: o.project_id,
    size: o.size_bytes,
    sha256: o.sha256,
    created_at: new Date(o.created_at).toISOString(),
    ...o.metadata,
    ...store.url(o),
  });

  const requireOwner = async (claims: ReturnType<typeof requireUser>, projectId: string) => {
    const project = await db.asUser(claims, (sql) => readProjectAccess(sql, projectId));
    if (!project) throw notFound("project");
    if (project.role !== "owner") throw new ApiError(403, "FORBIDDEN", "only the project's owners can back it up or restore it");
    return project;
  };

  app.post("/:projectId/backups", async (c) => {
    const claims = requireUser(c);
    const projectId = uuidParam(c, "projectId");
    await requireOwner(claims, projectId);
    const backup = await answering(() => createProjectBackup(db, store, projectId, "manual", claims.sub));
    return c.json({ backup: describe(backup) }, 201);
  });

  app.get("/:projectId/backups", async (c) => {
    const claims = requireUser(c);
    const projectId = uuidParam(c, "projectId");
    await requireOwner(claims, projectId);
    const rows = await db.asUser(claims, async (sql) => {
      const { rows } = await sql.query<StoredObject>(
        "select * from public.stored_objects where project_id = $1 and kind = 'backup' order by created_at desc, id desc",
        [projectId],
      );
      return rows;
    });
    return c.json({ backups: rows.map(describe) });
  });

  app.post("/:projectId/backups/:backupId/restore", async (c) => {
    const claims = requireUser(c);
    const projectId = uuidParam(c, "projectId");
    const backupId = uuidParam(c, "backupId");
    await requireOwner(claims, projectId);
    const backup = await db.asUser(claims, async (sql) => {
      const { rows } = await sql.query<StoredObject>(
        "select * from public.stored_objects where id = $1 and project_id = $2 and kind = 'backup'",
        [backupId, projectId],
      );
      return rows[0];
    });
    if (!backup) throw notFound("backup");
    const restored = await answering(() => restoreProjectBackup(db, store, deps.bpmn, claims, backup, deps.maxDiagramBytes));
    return c.json(restored, 201);
  });

  return app;
}

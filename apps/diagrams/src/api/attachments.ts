/**
 * @module api/attachments
 * Project files (the seed's `projects/{userId}/{projectId}/attachments/`):
 *  - `POST /projects/:projectId/attachments`: multipart, one or several files, up to 50 MB each,
 *    streamed to the private bucket (never buffered); charged to the project owner's storage;
 *  - `GET /projects/:projectId/attachments`: name, size, type, checksum, author, date;
 *  - `GET /projects/:projectId/attachments/:attachmentId`: the record and a signed URL;
 *  - `DELETE /projects/:projectId/attachments/:attachmentId`.
 * Editors add and delete, viewers read, as for diagrams: the table's RLS policies decide.
 */
import { Hono } from "hono";
import { ApiError, notFound } from "../errors.ts";
import { allowBody } from "../http/body-limit.ts";
import { answering, toApiError } from "../objects/http-errors.ts";
import { forEachUploadedFile } from "../objects/multipart.ts";
import { objectPaths } from "../objects/paths.ts";
import { readProjectAccess } from "../objects/project-access.ts";
import type { ObjectServices } from "../objects/services.ts";
import { MAX_OBJECT_BYTES, type StoredObject } from "../objects/store.ts";
import { type AppEnv, optionalUser, type ResolvedDeps, requireUser } from "./context.ts";
import { uuidParam } from "./validation.ts";

export const MAX_FILES_PER_UPLOAD = 10;

/** A client's MIME type kept only when it looks like one; the bytes are always served as a download. */
function cleanMimeType(value: string): string {
  return /^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}$/i.test(value)
    ? value.toLowerCase()
    : "application/octet-stream";
}

export function attachmentRoutes(deps: ResolvedDeps, services: ObjectServices): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const { db } = deps;
  const { store } = services;

  const describe = (o: StoredObject, withUrl = false) => ({
    id: o.id,
    project_id: o.project_id,
    name: o.name,
    size: o.size_bytes,
    content_type: o.content_type,
    sha256: o.sha256,
    created_by: o.created_by,
    created_at: new Date(o.created_at).toISOString(),
    ...(withUrl ? store.url(o) : {}),
  });

  app.post(
    "/:projectId/attachments",
    allowBody(MAX_FILES_PER_UPLOAD * (MAX_OBJECT_BYTES + 64 * 1024), "attachments (50 MB per file)"),
    async (c) => {
      const claims = requireUser(c);
      const projectId = uuidParam(c, "projectId");
      const project = await db.asUser(claims, (sql) => readProjectAccess(sql, projectId));
      if (!project) throw notFound("project");
      if (project.role !== "owner" && project.role !== "editor") {
        throw new ApiError(403, "READ_ONLY", "only the project's owners and editors can add attachments");
      }
      const outcomes = await forEachUploadedFile(
        c.req.raw,
        { maxFileBytes: MAX_OBJECT_BYTES, maxFiles: MAX_FILES_PER_UPLOAD },
        (file) =>
          store.put(
            {
              kind: "attachment",
              bucket: "private",
              path: objectPaths.projectFile(project.owner_id, projectId, "attachments", file.fileName),
              contentType: cleanMimeType(file.mimeType),
              projectId,
              name: file.fileName.slice(0, 255),
              as: claims,
            },
            file.stream,
          ),
      );
      const failed = outcomes.find((o) => !o.ok);
      if (failed && !failed.ok) {
        // All or nothing per request: remove the files that did get stored, then answer the failure.
        for (const o of outcomes) {
          if (o.ok) await db.asService((sql) => sql.query("delete from public.stored_objects where id = $1", [o.value.id]));
        }
        await store.sweep().catch(() => undefined);
        throw toApiError(failed.error);
      }
      return c.json({ attachments: outcomes.map((o) => (o.ok ? describe(o.value) : null)) }, 201);
    },
  );

  app.get("/:projectId/attachments", async (c) => {
    const projectId = uuidParam(c, "projectId");
    const rows = await db.asUser(optionalUser(c), async (sql) => {
      if (!(await readProjectAccess(sql, projectId))) throw notFound("project");
      const { rows } = await sql.query<StoredObject>(
        `select * from public.stored_objects where project_id = $1 and kind = 'attachment' order by created_at desc limit 500`,
        [projectId],
      );
      return rows;
    });
    return c.json({ attachments: rows.map((o) => describe(o)) });
  });

  app.get("/:projectId/attachments/:attachmentId", async (c) => {
    const projectId = uuidParam(c, "projectId");
    const id = uuidParam(c, "attachmentId");
    const row = await db.asUser(optionalUser(c), async (sql) => {
      const { rows } = await sql.query<StoredObject>(
        "select * from public.stored_objects where id = $1 and project_id = $2 and kind = 'attachment'",
        [id, projectId],
      );
      return rows[0];
    });
    if (!row) throw notFound("attachment");
    return c.json({ attachment: describe(row, true) });
  });

  app.delete("/:projectId/attachments/:attachmentId", async (c) => {
    const claims = requireUser(c);
    const projectId = uuidParam(c, "projectId");
    const id = uuidParam(c, "attachmentId");
    const deleted = await answering(() =>
      db.asUser(claims, async (sql) => {
        const { rowCount } = await sql.query(
          "delete from public.stored_objects where id = $1 and project_id = $2 and kind = 'attachment'",
          [id, projectId],
        );
        return rowCount;
      }),
    );
    if (!deleted) throw notFound("attachment");
    await store.sweep().catch(() => undefined);
    return c.body(null, 204);
  });

  return app;
}

/**
 * @module api/imports
 * `POST /projects/:projectId/imports`: multipart, one or several `.bpmn` files. Each file is checked
 * as a diagram upload is (UTF-8, MAX_DIAGRAM_BYTES, parsed by bpmn-moddle on the worker pool, the
 * element cap), kept under `projects/{userId}/{projectId}/imports/`, and created as a diagram of the
 * project whose first version says "imported from <file>". Files are independent: one bad file does
 * not stop the others, and a file either becomes a diagram (with its import object) or leaves
 * nothing. The answer lists each file's result in order.
 */
import { Hono } from "hono";
import { ApiError, fromDatabaseError, notFound } from "../errors.ts";
import { allowBody } from "../http/body-limit.ts";
import { toApiError } from "../objects/http-errors.ts";
import { forEachUploadedFile, readSmallFile } from "../objects/multipart.ts";
import { objectPaths } from "../objects/paths.ts";
import { readProjectAccess } from "../objects/project-access.ts";
import type { ObjectServices } from "../objects/services.ts";
import { type AppEnv, type ResolvedDeps, requireUser } from "./context.ts";
import { uuidParam } from "./validation.ts";

export const MAX_IMPORT_FILES = 20;
const utf8 = new TextDecoder("utf-8", { fatal: true });

function decode(bytes: Buffer, fileName: string): string {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new ApiError(422, "INVALID_BPMN", `${fileName} is not UTF-8 text; save it as UTF-8 and upload again`);
  }
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

function titleOf(fileName: string): string {
  return (
    fileName
      .replace(/\.(bpmn2?|xml)$/i, "")
      .trim()
      .slice(0, 255) || "Imported diagram"
  );
}

export function importRoutes(deps: ResolvedDeps, services: ObjectServices): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const { db, bpmn, maxDiagramBytes } = deps;
  const { store } = services;

  app.post(
    "/:projectId/imports",
    allowBody(MAX_IMPORT_FILES * (maxDiagramBytes + 64 * 1024), "imports (MAX_DIAGRAM_BYTES per file)"),
    async (c) => {
      const claims = requireUser(c);
      const projectId = uuidParam(c, "projectId");
      const project = await db.asUser(claims, (sql) => readProjectAccess(sql, projectId));
      if (!project) throw notFound("project");
      if (project.role !== "owner" && project.role !== "editor") {
        throw new ApiError(403, "READ_ONLY", "only the project's owners and editors can import diagrams");
      }
      const outcomes = await forEachUploadedFile(
        c.req.raw,
        { maxFileBytes: maxDiagramBytes, maxFiles: MAX_IMPORT_FILES },
        async (file) => {
          const bytes = await readSmallFile(file, maxDiagramBytes);
          const xml = decode(bytes, file.fileName);
          await bpmn.validate(xml, maxDiagramBytes);
          const object = await store.put(
            {
              kind: "import",
              bucket: "private",
              path: objectPaths.projectFile(project.owner_id, projectId, "imports", file.fileName),
              contentType: "application/xml",
              projectId,
              name: file.fileName.slice(0, 255),
              size: bytes.length,
              createdBy: claims.sub,
            },
            bytes,
          );
          try {
            const diagram = await db.asUser(claims, async (sql) => {
              await sql.query("select set_config('stowage.version_message', $1, true)", [
                `imported from ${file.fileName}`.slice(0, 2000),
              ]);
              const { rows } = await sql.query<{ id: string; title: string; version: number }>(
                `insert into public.diagrams (project_id, profile_id, title, bpmn_xml) values ($1, $2, $3, $4)
                 returning id, title, version`,
                [projectId, project.owner_id, titleOf(file.fileName), xml],
              );
              return rows[0]!;
            });
            await db.asService((sql) =>
              sql.query("update public.stored_objects set diagram_id = $2 where id = $1", [object.id, diagram.id]),
            );
            services.thumbnails.schedule(diagram.id);
            return { diagram, import_id: object.id };
          } catch (error) {
            // The diagram was refused (plan limit, a concurrent change): the import leaves nothing.
            await db.asService((sql) => sql.query("delete from public.stored_objects where id = $1", [object.id]));
            await store.sweep().catch(() => undefined);
            throw error;
          }
        },
      );
      const results = outcomes.map((o) => {
        if (o.ok) return { file: o.fileName, status: 201, diagram: o.value.diagram };
        const error = toApiError(o.error);
        const apiError = error instanceof ApiError ? error : fromDatabaseError(error);
        if (!apiError) deps.logger.error({ err: o.error, file: o.fileName }, "import failed");
        return {
          file: o.fileName,
          status: apiError?.status ?? 500,
          error: apiError?.toBody().error ?? { code: "INTERNAL", message: "internal error; the server log has the details" },
        };
      });
      const created = results.filter((r) => r.status === 201).length;
      return c.json({ created, failed: results.length - created, results }, created > 0 ? 201 : 422);
    },
  );

  return app;
}

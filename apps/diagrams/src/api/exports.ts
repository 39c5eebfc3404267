/**
 * @module api/exports
 * `POST /diagrams/:diagramId/exports` `{ format: "png"|"svg"|"pdf"|"xml", version? }` →
 * `201 { url, format, size, expiresAt? }`; `GET /diagrams/:diagramId/exports` lists them (newest
 * first) with their links: public URLs for public diagrams, signed URLs otherwise. `GET
 * /diagrams/:diagramId/thumbnail` redirects to the rendered thumbnail when no image was uploaded.
 */
import { Hono } from "hono";
import { z } from "zod";
import { notFound } from "../errors.ts";
import { EXPORT_FORMATS } from "../exports/export-service.ts";
import { answering } from "../objects/http-errors.ts";
import type { ObjectServices } from "../objects/services.ts";
import type { StoredObject } from "../objects/store.ts";
import { type AppEnv, optionalUser, requireUser } from "./context.ts";
import { readJson, uuidParam } from "./validation.ts";

export const CreateExportBody = z.object({
  format: z.enum(EXPORT_FORMATS, { message: `format must be one of ${EXPORT_FORMATS.join(", ")}` }),
  version: z.number().int().min(1).max(2_147_483_647).optional(),
});

export function exportRoutes(services: ObjectServices): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.post("/:diagramId/exports", async (c) => {
    const claims = requireUser(c);
    const id = uuidParam(c, "diagramId");
    const body = await readJson(c, CreateExportBody);
    const link = await answering(() => services.exports.create(claims, id, body.format, body.version));
    return c.json(link, 201);
  });

  app.get("/:diagramId/exports", async (c) => {
    const id = uuidParam(c, "diagramId");
    const exports = await answering(() => services.exports.list(optionalUser(c), id));
    return c.json({ exports });
  });

  // Reached when the diagram has no uploaded thumbnail (api/diagrams.ts passes on): the rendered
  // one, as a redirect to its object (public URL, or a signed URL for a private diagram).
  app.get("/:diagramId/thumbnail", async (c) => {
    const id = uuidParam(c, "diagramId");
    const object = await services.db.asUser(optionalUser(c), async (sql) => {
      const { rows } = await sql.query<StoredObject>(
        "select bucket, path from public.stored_objects where diagram_id = $1 and kind = 'thumbnail'",
        [id],
      );
      return rows[0];
    });
    if (!object) throw notFound("thumbnail");
    c.header("Cache-Control", "private, max-age=60");
    return c.redirect(services.store.url(object, 3600).url, 302);
  });

  return app;
}

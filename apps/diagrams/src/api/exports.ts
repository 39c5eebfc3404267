/**
 * @module api/exports
 * `POST /diagrams/:diagramId/exports` `{ format: "png"|"svg"|"pdf"|"xml", version? }` →
 * `201 { url, format, size, expiresAt? }`; `GET /diagrams/:diagramId/exports` lists them (newest
 * first) with their links: public URLs for public diagrams, signed URLs otherwise.
 */
import { Hono } from "hono";
import { z } from "zod";
import { EXPORT_FORMATS } from "../exports/export-service.ts";
import { answering } from "../objects/http-errors.ts";
import type { ObjectServices } from "../objects/services.ts";
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

  return app;
}

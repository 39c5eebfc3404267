/**
 * @module api/drafts
 * The seed's "active editing sessions": `PUT /diagrams/:diagramId/draft` `{ bpmn_xml, base_version? }`
 * keeps one unsaved draft per user and diagram in the cache for 60 minutes; `GET` returns it, so a
 * crashed tab recovers its work. A draft never becomes a version by itself (the client saves it).
 * Only users who may edit the diagram keep drafts; the database decides, on every request.
 */
import { Hono } from "hono";
import { z } from "zod";
import type { AuthClaims, Database } from "../db/database.ts";
import { notFound } from "../errors.ts";
import { allowBody, payloadTooLarge } from "../http/body-limit.ts";
import type { ObjectServices } from "../objects/services.ts";
import { type AppEnv, type ResolvedDeps, requireUser } from "./context.ts";
import { readJson, uuidParam } from "./validation.ts";

export const DRAFT_TTL_SECONDS = 60 * 60;

export const DraftBody = z.object({
  bpmn_xml: z.string().min(1),
  base_version: z.number().int().min(1).max(2_147_483_647).optional(),
});

/**
 * Whether the caller may edit the diagram: `FOR KEY SHARE` applies the table's UPDATE policy, so
 * exactly the rows the caller could update are returned (and nothing is changed).
 */
async function mayEdit(db: Database, claims: AuthClaims, diagramId: string): Promise<boolean> {
  return db.asUser(claims, async (sql) => {
    const { rows } = await sql.query("select 1 from public.diagrams where id = $1 and deleted_at is null for key share", [
      diagramId,
    ]);
    return rows.length > 0;
  });
}

export function draftRoutes(deps: ResolvedDeps, services: ObjectServices): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const { cache } = services;
  const key = (diagramId: string, userId: string) => `${diagramId}:${userId}`;
  // JSON escaping can double a document's size.
  const limit = allowBody(deps.maxDiagramBytes * 2 + 64 * 1024, "a draft (MAX_DIAGRAM_BYTES)");

  app.put("/:diagramId/draft", limit, async (c) => {
    const claims = requireUser(c);
    const id = uuidParam(c, "diagramId");
    const body = await readJson(c, DraftBody);
    if (Buffer.byteLength(body.bpmn_xml, "utf8") > deps.maxDiagramBytes) {
      throw payloadTooLarge(deps.maxDiagramBytes, "a draft (MAX_DIAGRAM_BYTES)");
    }
    if (!(await mayEdit(deps.db, claims, id))) throw notFound("diagram");
    const draft = { bpmn_xml: body.bpmn_xml, base_version: body.base_version ?? null, saved_at: new Date().toISOString() };
    await cache.set("draft", key(id, claims.sub), Buffer.from(JSON.stringify(draft)), DRAFT_TTL_SECONDS);
    return c.json({ saved_at: draft.saved_at, expires_in: DRAFT_TTL_SECONDS });
  });

  app.get("/:diagramId/draft", async (c) => {
    const claims = requireUser(c);
    const id = uuidParam(c, "diagramId");
    if (!(await mayEdit(deps.db, claims, id))) throw notFound("diagram");
    const stored = await cache.get("draft", key(id, claims.sub));
    if (!stored) throw notFound("draft");
    return c.json({ draft: JSON.parse(stored.toString("utf8")) });
  });

  app.delete("/:diagramId/draft", async (c) => {
    const claims = requireUser(c);
    const id = uuidParam(c, "diagramId");
    await cache.delete("draft", key(id, claims.sub));
    return c.body(null, 204);
  });

  return app;
}

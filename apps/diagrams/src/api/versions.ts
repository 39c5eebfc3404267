/**
 * @module api/versions
 * Version history of a diagram: list (metadata only), read one version's XML, restore an old version
 * as a new one ("restored from v3"), and a semantic diff between two versions.
 */
import { Hono } from "hono";
import { z } from "zod";
import { diffDiagrams } from "../bpmn/diff.ts";
import { notFound } from "../errors.ts";
import * as versions from "../repo/versions.ts";
import { type AppDeps, type AppEnv, optionalUser, requireUser } from "./context.ts";
import { parseWith, readQuery, uuidParam, VersionNumber } from "./validation.ts";

export const ListVersionsQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().regex(/^\d+$/, "cursor: pass next_cursor unchanged").optional(),
});

export const RestoreVersionBody = z.object({ base_version: z.number().int().min(1).optional() }).default({});

export const DiffQuery = z.object({
  from: VersionNumber,
  to: VersionNumber.optional(),
});

export function versionRoutes(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const { db } = deps;

  const visible = async (sql: Parameters<typeof versions.diagramVersion>[0], id: string) => {
    const current = await versions.diagramVersion(sql, id);
    if (current === null) throw notFound("diagram");
    return current;
  };

  app.get("/:diagramId/versions", async (c) => {
    const id = uuidParam(c, "diagramId");
    const q = readQuery(c, ListVersionsQuery);
    const page = await db.asUser(optionalUser(c), async (sql) => {
      await visible(sql, id);
      return versions.listVersions(sql, id, { limit: q.limit, before: q.cursor ? Number(q.cursor) : undefined });
    });
    return c.json({ items: page.items, next_cursor: page.next_before === null ? null : String(page.next_before) });
  });

  app.get("/:diagramId/versions/:version", async (c) => {
    const id = uuidParam(c, "diagramId");
    const number = parseWith(VersionNumber, c.req.param("version"), "version");
    const version = await db.asUser(optionalUser(c), async (sql) => {
      await visible(sql, id);
      return versions.getVersion(sql, id, number);
    });
    if (!version) throw notFound(`version ${number} (older versions are pruned beyond the plan's history)`);
    return c.json({ version });
  });

  app.post("/:diagramId/versions/:version/restore", async (c) => {
    const claims = requireUser(c);
    const id = uuidParam(c, "diagramId");
    const number = parseWith(VersionNumber, c.req.param("version"), "version");
    const raw = await c.req.text();
    const body = parseWith(RestoreVersionBody, raw.trim() ? safeJson(raw) : {}, "body");
    const saved = await db.asUser(claims, async (sql) => {
      await visible(sql, id);
      return versions.restoreVersion(sql, id, number, body.base_version);
    });
    return c.json({ ...saved, restored_from: number });
  });

  app.get("/:diagramId/diff", async (c) => {
    const id = uuidParam(c, "diagramId");
    const q = readQuery(c, DiffQuery);
    const [a, b] = await db.asUser(optionalUser(c), async (sql) => {
      const current = await visible(sql, id);
      const to = q.to ?? current;
      // One connection, one query at a time.
      return [await versions.getVersion(sql, id, q.from), await versions.getVersion(sql, id, to)] as const;
    });
    if (!a) throw notFound(`version ${q.from}`);
    if (!b) throw notFound(`version ${q.to}`);
    const changes = await diffDiagrams(a.bpmn_xml, b.bpmn_xml);
    return c.json({ from: a.version, to: b.version, ...changes });
  });

  return app;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

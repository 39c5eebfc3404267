/**
 * @module api/versions
 * Version history of a diagram: list (metadata only), read one version's XML, restore an old version
 * as a new one ("restored from v3"), and a semantic diff between two versions.
 */
import { Hono } from "hono";
import { z } from "zod";
import { diffCacheKey } from "../bpmn/diff-cache.ts";
import { notFound } from "../errors.ts";
import { ANONYMOUS_DIFF_POINTS, clientIp } from "../http/rate-limit.ts";
import * as versions from "../repo/versions.ts";
import { type AppEnv, optionalUser, type ResolvedDeps, requireUser } from "./context.ts";
import { MAX_INT32, parseWith, readQuery, uuidParam, VersionNumber } from "./validation.ts";

export const ListVersionsQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z
    .string()
    .regex(/^\d{1,10}$/, "cursor: pass next_cursor unchanged")
    .refine((v) => Number(v) <= MAX_INT32, "cursor: pass next_cursor unchanged")
    .optional(),
});

export const RestoreVersionBody = z.object({ base_version: z.number().int().min(1).max(MAX_INT32).optional() }).default({});

export const DiffQuery = z.object({
  from: VersionNumber,
  to: VersionNumber.optional(),
});

export function versionRoutes(deps: ResolvedDeps): Hono<AppEnv> {
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

  // Both documents are parsed on the worker pool; the result is cached by (diagram, from, to).
  // Permission is decided by the database first, on every request, cached or not.
  app.get("/:diagramId/diff", async (c) => {
    const id = uuidParam(c, "diagramId");
    const q = readQuery(c, DiffQuery);
    const claims = optionalUser(c);
    // An anonymous diff spends more of the address's budget (one point was spent in app.ts).
    if (!claims) await deps.rateLimiter.consume("anonymous", clientIp(c, deps.trustProxy), ANONYMOUS_DIFF_POINTS - 1);
    const pair = await db.asUser(claims, async (sql) => {
      const current = await visible(sql, id);
      const to = q.to ?? current;
      const present = await versions.existingVersions(sql, id, [q.from, to]);
      if (!present.includes(q.from)) throw notFound(`version ${q.from}`);
      if (!present.includes(to)) throw notFound(`version ${to}`);
      const key = diffCacheKey(id, q.from, to);
      const cached = await deps.diffCache.get(key);
      if (cached) return { to, key, cached };
      // One connection, one query at a time.
      const a = await versions.getVersion(sql, id, q.from);
      const b = await versions.getVersion(sql, id, to);
      if (!a || !b) throw notFound(`version ${a ? to : q.from}`);
      return { to, key, a: a.bpmn_xml, b: b.bpmn_xml };
    });
    let changes = pair.cached;
    if (!changes) {
      changes = await deps.bpmn.diff(pair.a!, pair.b!);
      await deps.diffCache.set(pair.key, changes);
    }
    return c.json({ from: q.from, to: pair.to, ...changes });
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

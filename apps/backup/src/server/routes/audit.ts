/** @module server/routes/audit: the audit trail, admins only (enforced in auth/middleware.ts). */
import { type OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv, Services } from "../context.ts";
import { jsonRoute } from "./common.ts";

const AuditEvent = z
  .object({
    id: z.string(),
    at: z.string(),
    userId: z.string().nullable(),
    actor: z.string(),
    action: z.string(),
    targetType: z.string().nullable(),
    targetId: z.string().nullable(),
    details: z.record(z.string(), z.unknown()).nullable(),
    ip: z.string().nullable(),
  })
  .openapi("AuditEvent");

export function auditRoutes(app: OpenAPIHono<AppEnv>, s: Services): void {
  app.openapi(
    jsonRoute({
      method: "get",
      path: "/api/audit",
      tags: ["audit"],
      summary: "Audit events, newest first (admin)",
      request: {
        query: z.object({
          cursor: z.string().max(200).optional(),
          limit: z.coerce.number().int().min(1).max(200).default(50),
          action: z.string().max(50).optional(),
        }),
      },
      schema: z.object({ items: z.array(AuditEvent), nextCursor: z.string().nullable() }),
    }),
    async (c) => {
      const q = c.req.valid("query");
      const page = await s.store.audit.list({
        limit: q.limit,
        ...(q.cursor ? { cursor: q.cursor } : {}),
        ...(q.action ? { action: q.action } : {}),
      });
      return c.json({ items: page.items.map((e) => ({ ...e, at: e.at.toISOString() })), nextCursor: page.nextCursor }, 200);
    },
  );
}

/** @module server/routes/alerts: alerts listed until acknowledged (issue 12). */
import { type OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AlertService } from "../alerts/service.ts";
import type { AppEnv, Services } from "../context.ts";
import { IdParam, jsonRoute } from "./common.ts";

const Alert = z
  .object({
    id: z.string(),
    kind: z.string().openapi({
      description:
        "backup_failed, missed_backup, drill_failed, retention_failed, destination_unhealthy, destination_low_space, project_unreachable",
    }),
    severity: z.enum(["warning", "critical"]),
    subjectType: z.enum(["schedule", "destination", "project", "backup"]),
    subjectId: z.string(),
    subjectName: z.string().nullable(),
    message: z.string(),
    details: z.record(z.string(), z.unknown()).nullable(),
    occurrences: z.number(),
    createdAt: z.string(),
    updatedAt: z.string(),
    resolvedAt: z.string().nullable(),
    acknowledgedAt: z.string().nullable(),
  })
  .openapi("Alert");

export function alertRoutes(app: OpenAPIHono<AppEnv>, _s: Services, alerts: AlertService): void {
  const actor = (c: Context<AppEnv>) => ({ user: c.get("auth").user, ip: c.get("auth").ip });

  app.openapi(
    jsonRoute({
      method: "get",
      path: "/api/alerts",
      tags: ["alerts"],
      summary: "Alerts not yet acknowledged, newest first (all=true: acknowledged ones too)",
      request: {
        query: z.object({
          all: z.enum(["true", "false", "1", "0"]).optional(),
          limit: z.coerce.number().int().min(1).max(1000).default(200),
        }),
      },
      schema: z.object({ items: z.array(Alert) }),
    }),
    async (c) => {
      const q = c.req.valid("query");
      const rows = await alerts.list({ includeAcknowledged: q.all === "true" || q.all === "1", limit: q.limit });
      return c.json({ items: rows.map((a) => alerts.view(a)) }, 200);
    },
  );

  app.openapi(
    jsonRoute({
      method: "post",
      path: "/api/alerts/{id}/acknowledge",
      tags: ["alerts"],
      summary: "Acknowledge an alert (it leaves the default list)",
      request: { params: IdParam },
      schema: Alert,
    }),
    async (c) => c.json(alerts.view(await alerts.acknowledge(c.req.valid("param").id, actor(c))), 200),
  );
}

/**
 * @module server/routes/point-in-time: the point-in-time archives on the destinations (written by
 * `stowage stream`), their restorable windows, and a restore to a moment (a restore job).
 */
import { type OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppEnv, Services } from "../context.ts";
import { PointInTimeService } from "../services/point-in-time.ts";
import { RestoreBody } from "./backups.ts";
import { jsonBody, jsonRoute } from "./common.ts";

const RestorableWindow = z
  .object({
    from: z.string().openapi({ description: "Earliest restorable moment (the base's time), ISO 8601 UTC with microseconds" }),
    to: z.string().openapi({ description: "Latest restorable moment: the last archived commit that replays on this base" }),
    toLsn: z.string(),
    baseId: z.string().openapi({ description: "The base backup on the destination (`<name>/<timestamp>-<id>`)" }),
    gap: z.boolean().openapi({ description: "The archive has a missing or incomplete segment after `to`" }),
  })
  .openapi("RestorableWindow");

export const PointInTimeArchive = z
  .object({
    destinationId: z.string(),
    destinationName: z.string(),
    name: z.string().openapi({ description: "The archive name (`stowage stream --name`)" }),
    windows: z.array(RestorableWindow),
  })
  .openapi("PointInTimeArchive");

export function pointInTimeRoutes(app: OpenAPIHono<AppEnv>, s: Services): void {
  const service = new PointInTimeService(s.store, s.destinations);

  app.openapi(
    jsonRoute({
      method: "get",
      path: "/api/point-in-time",
      tags: ["point-in-time"],
      summary:
        "Change archives written by `stowage stream` on the enabled destinations, each with the windows of time it can be restored to (as `stowage list`)",
      schema: z.object({
        items: z.array(PointInTimeArchive),
        unreadable: z.array(z.object({ destinationId: z.string(), destinationName: z.string(), error: z.string() })),
      }),
    }),
    async (c) => c.json(await service.list(), 200),
  );

  const actor = (c: Context<AppEnv>) => ({ user: c.get("auth").user, ip: c.get("auth").ip });
  app.openapi(
    jsonRoute({
      method: "post",
      path: "/api/point-in-time/restore",
      tags: ["point-in-time"],
      summary:
        "Restore an archive to a moment (as `stowage restore --to-time`): the newest base at or before it, then every change committed up to it, in one transaction; a job, followed at /api/restores/{restoreId}/events",
      request: jsonBody(
        RestoreBody.extend({
          destinationId: z.string().min(1).max(100),
          name: z.string().min(1).max(100).openapi({ description: "The archive name (`stowage stream --name`)" }),
          toTime: z
            .string()
            .trim()
            .min(1)
            .max(64)
            .openapi({ description: "ISO 8601 with a time zone (2026-11-28T10:15:00Z), or `latest`" }),
        }),
      ),
      status: 202,
      schema: z.object({ restoreId: z.string() }),
      extraErrors: { 422: "Invalid input, or a time outside every restorable window (the message lists them)" },
    }),
    async (c) => c.json({ restoreId: await s.restores.toTime(c.req.valid("json"), actor(c)) }, 202),
  );
}

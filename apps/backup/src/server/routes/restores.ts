/** @module server/routes/restores: restore jobs, and restore from an uploaded browser-download `.tar`. */
import { Readable } from "node:stream";
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppEnv, Services } from "../context.ts";
import { ApiError } from "../errors.ts";
import { CancelAnswer, ERRORS, IdParam, jsonRoute, SECURITY } from "./common.ts";
import { jobEvents } from "./events.ts";

export const Restore = z
  .object({
    id: z.string(),
    backupId: z.string().nullable(),
    source: z.enum(["backup", "upload", "point_in_time"]),
    targetDatabase: z.string(),
    clean: z.boolean(),
    status: z.enum(["pending", "restoring", "completed", "failed", "cancelled"]),
    bytesRestored: z.number(),
    error: z.string().nullable(),
    createdAt: z.string(),
    startedAt: z.string().nullable(),
    finishedAt: z.string().nullable(),
  })
  .openapi("Restore");

export function restoreRoutes(app: OpenAPIHono<AppEnv>, s: Services): void {
  const actor = (c: Context<AppEnv>) => ({ user: c.get("auth").user, ip: c.get("auth").ip });

  // Documented here, handled by a plain route: the zod validator would buffer the whole multipart
  // body, and the upload is streamed (the tar is unpacked and checked as it arrives).
  app.openAPIRegistry.registerPath({
    method: "post",
    path: "/api/restores",
    tags: ["restores"],
    summary: "Restore from an uploaded .tar (a browser download), checked against its manifest before the target is touched",
    security: SECURITY,
    request: {
      body: {
        required: true,
        content: {
          "multipart/form-data": {
            schema: z.object({
              file: z.string().openapi({ format: "binary", description: "The .tar from a browser download" }),
              targetDatabaseUrl: z.string(),
              clean: z.string().optional().openapi({ description: "true to drop the target's user schemas first" }),
              passphrase: z.string().optional().openapi({ description: "The key, when the backup is encrypted" }),
            }),
          },
        },
      },
    },
    responses: {
      202: { description: "Accepted", content: { "application/json": { schema: z.object({ restoreId: z.string() }) } } },
      ...ERRORS,
    },
  });
  app.post("/api/restores", async (c) => {
    const body = c.req.raw.body;
    if (!body) throw new ApiError("INVALID_INPUT", "send the .tar as multipart/form-data field `file`", "file");
    const restoreId = await s.restores.fromUpload(
      Readable.fromWeb(body as import("node:stream/web").ReadableStream),
      c.req.header("content-type") ?? "",
      actor(c),
    );
    return c.json({ restoreId }, 202);
  });

  app.openapi(
    jsonRoute({
      method: "get",
      path: "/api/restores",
      tags: ["restores"],
      summary: "Recent restores",
      schema: z.object({ items: z.array(Restore) }),
    }),
    async (c) => c.json({ items: (await s.store.restores.list(100)).map((r) => s.restores.view(r)) }, 200),
  );

  app.openapi(
    jsonRoute({
      method: "get",
      path: "/api/restores/{id}",
      tags: ["restores"],
      summary: "One restore",
      request: { params: IdParam },
      schema: Restore,
    }),
    async (c) => c.json(s.restores.view(await s.restores.get(c.req.valid("param").id)), 200),
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/api/restores/{id}/events",
      tags: ["restores"],
      summary: "Server-Sent Events of a restore (status, progress, done)",
      security: SECURITY,
      request: { params: IdParam },
      responses: {
        200: { description: "text/event-stream", content: { "text/event-stream": { schema: z.string() } } },
        ...ERRORS,
      },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      await s.restores.get(id);
      return jobEvents(c, s.jobs, id, async () => s.restores.view(await s.restores.get(id))) as never;
    },
  );

  app.openapi(
    jsonRoute({
      method: "post",
      path: "/api/restores/{id}/cancel",
      tags: ["restores"],
      summary: "Abort a running restore (the target is rolled back)",
      description:
        "Cancelled here, or (`cancelRequested: true`) requested from the server that runs it; either way the restore rolls back whole and the target stays as it was",
      request: { params: IdParam },
      schema: CancelAnswer,
      extraErrors: { 409: "Not running" },
    }),
    async (c) => {
      const { requested } = await s.restores.cancel(c.req.valid("param").id, actor(c));
      return c.json({ ok: true as const, cancelRequested: requested }, 200);
    },
  );
}

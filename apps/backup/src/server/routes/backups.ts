/** @module server/routes/backups: manual backups, their results, events, cancel, delete, verify, restore. */
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppEnv, Services } from "../context.ts";
import { BACKUP_STATUSES } from "../db/schema.ts";

import { CancelAnswer, ERRORS, IdParam, jsonBody, jsonRoute, Ok, SECURITY } from "./common.ts";
import { jobEvents } from "./events.ts";

const BackupDestination = z.object({
  id: z.string(),
  destinationId: z.string().nullable(),
  name: z.string(),
  status: z.enum(["pending", "uploading", "completed", "failed", "cancelled", "deleted"]),
  storageFilePath: z.string().nullable(),
  size: z.number().nullable(),
  bytesUploaded: z.number(),
  error: z.string().nullable(),
});

export const Backup = z
  .object({
    id: z.string(),
    projectId: z.string().nullable(),
    projectName: z.string(),
    backupType: z.enum(["full", "schema", "data"]),
    compressionType: z.enum(["gzip", "zstd", "none"]),
    includeMigrationHistory: z.boolean(),
    storageType: z.enum(["browser_download", "destination"]),
    status: z.enum(BACKUP_STATUSES),
    trigger: z.enum(["manual", "schedule"]),
    scheduleId: z.string().nullable(),
    storageDestinationId: z.string().nullable(),
    storageFilePath: z.string().nullable(),
    downloadUrl: z
      .string()
      .nullable()
      .openapi({ description: "Browser downloads: the one-time link (admins only, until expiresAt)" }),
    expiresAt: z.string().nullable(),
    bytesDumped: z.number(),
    size: z.number(),
    manifestSha256: z.string().nullable(),
    error: z.string().nullable(),
    createdAt: z.string(),
    startedAt: z.string().nullable(),
    finishedAt: z.string().nullable(),
    durationMs: z.number().nullable(),
    verifiedAt: z.string().nullable(),
    verifyStatus: z.enum(["ok", "failed"]).nullable(),
    verifyError: z.string().nullable(),
    destinations: z.array(BackupDestination),
    manifest: z.record(z.string(), z.unknown()).nullable().optional(),
  })
  .openapi("Backup");

const ManualBackupOptions = z
  .object({
    backupType: z.enum(["full", "schema", "data"]).default("full"),
    storageType: z.enum(["browser_download", "destination"]),
    storageDestinationId: z.string().optional(),
    storageDestinationIds: z.array(z.string()).max(20).optional(),
    compressionType: z.enum(["gzip", "zstd", "none"]).default("gzip"),
    includeMigrationHistory: z.boolean().optional().openapi({
      description:
        "Also back up supabase_migrations (default: the project's setting); skipped when the database has no such schema",
    }),
  })
  .openapi("ManualBackupOptions");

export const RestoreBody = z.object({
  targetDatabaseUrl: z.string().trim().min(1).max(4096),
  clean: z.boolean().default(false),
  passphrase: z.string().max(1024).optional(),
});

export function backupRoutes(app: OpenAPIHono<AppEnv>, s: Services): void {
  const actor = (c: Context<AppEnv>) => ({ user: c.get("auth").user, ip: c.get("auth").ip });
  const isAdmin = (c: Context<AppEnv>) => c.get("auth").user.role === "admin";
  const detail = async (c: Context<AppEnv>, id: string, manifest = true) => {
    const row = await s.backups.get(id);
    return s.backups.view(row, await s.store.backups.destinations(id), { admin: isAdmin(c), manifest });
  };

  app.openapi(
    jsonRoute({
      method: "post",
      path: "/api/projects/{id}/backups",
      tags: ["backups"],
      summary: "Start a manual backup (runs as a job; follow it at /api/backups/{backupId}/events)",
      request: { params: IdParam, ...jsonBody(ManualBackupOptions) },
      status: 202,
      schema: z.object({ backupId: z.string() }),
    }),
    async (c) => {
      const backupId = await s.backups.start(c.req.valid("param").id, c.req.valid("json"), actor(c));
      return c.json({ backupId }, 202);
    },
  );

  app.openapi(
    jsonRoute({
      method: "get",
      path: "/api/backups",
      tags: ["backups"],
      summary: "Backups, newest first (keyset pages: pass nextCursor as cursor)",
      request: {
        query: z.object({
          projectId: z.string().max(100).optional(),
          status: z.enum(BACKUP_STATUSES).optional(),
          cursor: z.string().max(300).optional(),
          limit: z.coerce.number().int().min(1).max(200).default(50),
        }),
      },
      schema: z.object({ items: z.array(Backup), nextCursor: z.string().nullable() }),
    }),
    async (c) => {
      const q = c.req.valid("query");
      const page = await s.store.backups.list({
        limit: q.limit,
        ...(q.projectId ? { projectId: q.projectId } : {}),
        ...(q.status ? { status: q.status } : {}),
        ...(q.cursor ? { cursor: q.cursor } : {}),
      });
      const dests = await s.store.backups.destinationsOf(page.items.map((b) => b.id));
      const items = page.items.map((b) =>
        s.backups.view(
          b,
          dests.filter((d) => d.backupId === b.id),
          { admin: isAdmin(c) },
        ),
      );
      return c.json({ items, nextCursor: page.nextCursor }, 200);
    },
  );

  app.openapi(
    jsonRoute({
      method: "get",
      path: "/api/backups/{id}",
      tags: ["backups"],
      summary: "One backup with its manifest",
      request: { params: IdParam },
      schema: Backup,
    }),
    async (c) => c.json(await detail(c, c.req.valid("param").id), 200),
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/api/backups/{id}/events",
      tags: ["backups"],
      summary: "Server-Sent Events: status, progress (phase, bytes, rate, per destination), done",
      security: SECURITY,
      request: { params: IdParam },
      responses: {
        200: { description: "text/event-stream", content: { "text/event-stream": { schema: z.string() } } },
        ...ERRORS,
      },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      await s.backups.get(id);
      return jobEvents(c, s.jobs, id, () => detail(c, id, false)) as never;
    },
  );

  app.openapi(
    jsonRoute({
      method: "post",
      path: "/api/backups/{id}/cancel",
      tags: ["backups"],
      summary: "Abort a running backup; its parts are removed",
      description: "Cancelled here, or (`cancelRequested: true`) requested from the server that runs it",
      request: { params: IdParam },
      schema: CancelAnswer,
      extraErrors: { 409: "Not running" },
    }),
    async (c) => {
      const { requested } = await s.backups.cancel(c.req.valid("param").id, actor(c));
      return c.json({ ok: true as const, cancelRequested: requested }, 200);
    },
  );

  app.openapi(
    jsonRoute({
      method: "delete",
      path: "/api/backups/{id}",
      tags: ["backups"],
      summary: "Remove the backup from its destinations",
      request: { params: IdParam },
      schema: Ok,
      extraErrors: { 409: "Still running" },
    }),
    async (c) => {
      await s.backups.delete(c.req.valid("param").id, actor(c));
      return c.json({ ok: true as const }, 200);
    },
  );

  app.openapi(
    jsonRoute({
      method: "post",
      path: "/api/backups/{id}/verify",
      tags: ["backups"],
      summary: "Read every file back and check it against the manifest",
      request: { params: IdParam },
      schema: z.object({
        ok: z.boolean(),
        verifiedAt: z.string(),
        error: z.string().nullable(),
        files: z.array(
          z.object({
            name: z.string(),
            ok: z.boolean(),
            plainBytes: z.number().optional(),
            code: z.string().optional(),
            error: z.string().optional(),
          }),
        ),
      }),
    }),
    async (c) => c.json(await s.backups.verify(c.req.valid("param").id, actor(c)), 200),
  );

  app.openapi(
    jsonRoute({
      method: "post",
      path: "/api/backups/{id}/restore",
      tags: ["backups"],
      summary: "Restore into a database (a job; follow it at /api/restores/{restoreId}/events)",
      request: { params: IdParam, ...jsonBody(RestoreBody) },
      status: 202,
      schema: z.object({ restoreId: z.string() }),
    }),
    async (c) => {
      const restoreId = await s.restores.fromBackup(c.req.valid("param").id, c.req.valid("json"), actor(c));
      return c.json({ restoreId }, 202);
    },
  );
}

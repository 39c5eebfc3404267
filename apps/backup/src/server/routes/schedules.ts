/** @module server/routes/schedules: scheduled backups (issue 12). */
import { type OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppEnv, Services } from "../context.ts";
import type { Scheduler } from "../schedules/scheduler.ts";
import type { ScheduleInput, ScheduleService } from "../schedules/service.ts";
import { IdParam, jsonBody, jsonRoute, Ok } from "./common.ts";

const Count = z.number().int().min(-1).max(100_000);

export const Retention = z
  .object({
    keepLast: Count.optional(),
    keepDaily: Count.optional(),
    keepWeekly: Count.optional(),
    keepMonthly: Count.optional(),
    keepYearly: Count.optional(),
    includeManual: z.boolean().optional().openapi({
      description: "Also prune manual and CLI backups of the project on the destination (default false: only scheduled ones)",
    }),
  })
  .strict()
  .openapi("Retention", { description: "Applied after each successful run, per project and destination; -1 = unlimited" });

const DrillIn = z
  .object({
    scratchDatabaseUrl: z
      .string()
      .trim()
      .min(1)
      .max(4096)
      .openapi({ description: "A disposable database: its contents are replaced" }),
    every: z.number().int().min(1).max(10_000),
  })
  .strict();

const Schedule = z
  .object({
    id: z.string(),
    name: z.string(),
    projectId: z.string(),
    projectName: z.string().nullable(),
    cron: z.string(),
    timezone: z.string(),
    backupType: z.enum(["full", "schema", "data"]),
    compressionType: z.enum(["gzip", "zstd", "none"]),
    includeMigrationHistory: z.boolean().nullable(),
    destinationIds: z.array(z.string()),
    retention: Retention.nullable(),
    drill: z.object({ every: z.number(), scratchDatabaseUrl: z.string(), hasPassword: z.boolean() }).nullable(),
    enabled: z.boolean(),
    nextRunAt: z.string().nullable(),
    nextRuns: z.array(z.string()).openapi({ description: "The next 5 run times (ISO 8601, UTC)" }),
    lastRunAt: z.string().nullable(),
    lastStatus: z.enum(["running", "completed", "failed", "skipped", "cancelled"]).nullable(),
    lastBackupId: z.string().nullable(),
    lastSuccessAt: z.string().nullable(),
    consecutiveFailures: z.number(),
    completedRuns: z.number(),
    running: z.boolean(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi("Schedule");

const Run = z
  .object({
    id: z.string(),
    scheduleId: z.string(),
    dueAt: z.string(),
    status: z.enum(["running", "completed", "failed", "skipped", "cancelled"]),
    reason: z.enum(["cron", "catch_up", "manual"]),
    backupId: z.string().nullable(),
    attempts: z.number(),
    delayMs: z.number().nullable(),
    error: z.string().nullable(),
    startedAt: z.string(),
    finishedAt: z.string().nullable(),
  })
  .openapi("ScheduleRun");

const fields = {
  name: z.string().trim().max(200).optional(),
  cron: z
    .string()
    .trim()
    .min(1)
    .max(200)
    .openapi({ description: '5 fields ("0 3 * * *") or 6 with seconds first ("*/30 * * * * *")', example: "0 3 * * *" }),
  timezone: z
    .string()
    .trim()
    .min(1)
    .max(100)
    .optional()
    .openapi({ description: "IANA time zone (default UTC)", example: "Europe/Berlin" }),
  backupType: z.enum(["full", "schema", "data"]).optional(),
  compressionType: z.enum(["gzip", "zstd", "none"]).optional(),
  compression: z.enum(["gzip", "zstd", "none"]).optional().openapi({ description: "Alias of compressionType" }),
  includeMigrationHistory: z.boolean().nullable().optional(),
  destinationIds: z
    .array(z.string().max(100))
    .max(20)
    .optional()
    .openapi({ description: "None or [] = the default destination" }),
  storageDestinationIds: z.array(z.string().max(100)).max(20).optional().openapi({ description: "Alias of destinationIds" }),
  retention: Retention.nullable().optional(),
  drill: DrillIn.nullable().optional(),
  enabled: z.boolean().optional(),
};

const CreateBody = z.object({ projectId: z.string().min(1).max(100), ...fields });
const PatchBody = z.object({ ...fields, cron: fields.cron.optional() });

type Body = z.infer<typeof PatchBody>;
function normalise(body: Body): Omit<ScheduleInput, "projectId" | "cron"> & { cron?: string } {
  const { compression, storageDestinationIds, ...rest } = body;
  const out: Omit<ScheduleInput, "projectId" | "cron"> & { cron?: string } = { ...rest };
  if (!out.compressionType && compression) out.compressionType = compression;
  if (!out.destinationIds && storageDestinationIds) out.destinationIds = storageDestinationIds;
  return out;
}

export function scheduleRoutes(app: OpenAPIHono<AppEnv>, _s: Services, schedules: ScheduleService, scheduler: Scheduler): void {
  const actor = (c: Context<AppEnv>) => ({ user: c.get("auth").user, ip: c.get("auth").ip });
  const view = async (id: string) => {
    const row = await schedules.get(id);
    return schedules.view(row, scheduler.isRunning(id));
  };

  app.openapi(
    jsonRoute({
      method: "get",
      path: "/api/schedules",
      tags: ["schedules"],
      summary: "Schedules, with the next 5 runs of each",
      request: { query: z.object({ projectId: z.string().max(100).optional() }) },
      schema: z.object({ items: z.array(Schedule) }),
    }),
    async (c) => {
      const { projectId } = c.req.valid("query");
      const rows = await _s.store.scheduler.schedules.list(projectId ? { projectId } : {});
      return c.json({ items: await Promise.all(rows.map((r) => schedules.view(r, scheduler.isRunning(r.id)))) }, 200);
    },
  );

  app.openapi(
    jsonRoute({
      method: "post",
      path: "/api/schedules",
      tags: ["schedules"],
      summary: "Add a schedule; an invalid cron or time zone is a 422 naming it",
      request: jsonBody(CreateBody),
      status: 201,
      schema: Schedule,
    }),
    async (c) => {
      const body = c.req.valid("json");
      const input = { ...normalise(body), projectId: body.projectId, cron: body.cron };
      const row = await schedules.create(input, actor(c));
      return c.json(await schedules.view(row), 201);
    },
  );

  app.openapi(
    jsonRoute({
      method: "get",
      path: "/api/schedules/{id}",
      tags: ["schedules"],
      summary: "One schedule with its next 5 runs",
      request: { params: IdParam },
      schema: Schedule,
    }),
    async (c) => c.json(await view(c.req.valid("param").id), 200),
  );

  app.openapi(
    jsonRoute({
      method: "patch",
      path: "/api/schedules/{id}",
      tags: ["schedules"],
      summary: "Change a schedule (a drill URL whose password is *** keeps the stored one)",
      request: { params: IdParam, ...jsonBody(PatchBody) },
      schema: Schedule,
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      await schedules.update(id, normalise(c.req.valid("json")), actor(c));
      return c.json(await view(id), 200);
    },
  );

  app.openapi(
    jsonRoute({
      method: "delete",
      path: "/api/schedules/{id}",
      tags: ["schedules"],
      summary: "Remove a schedule (its backups stay)",
      request: { params: IdParam },
      schema: Ok,
    }),
    async (c) => {
      await schedules.delete(c.req.valid("param").id, actor(c));
      return c.json({ ok: true as const }, 200);
    },
  );

  app.openapi(
    jsonRoute({
      method: "post",
      path: "/api/schedules/{id}/run",
      tags: ["schedules"],
      summary: "Run now (409 while a run of this schedule is queued or still going)",
      description:
        "The run: started by this server (SQLite metadata), or accepted into the shared queue (PostgreSQL metadata: any server with a free slot takes it; `backupId` is null until then, the run keeps this id)",
      request: { params: IdParam },
      status: 202,
      schema: Run,
      extraErrors: { 409: "A run is still going" },
    }),
    async (c) => {
      const run = await scheduler.runNow(c.req.valid("param").id, actor(c));
      return c.json(schedules.runView(run), 202);
    },
  );

  app.openapi(
    jsonRoute({
      method: "get",
      path: "/api/schedules/{id}/runs",
      tags: ["schedules"],
      summary: "The schedule's runs, newest first: completed, failed, skipped (overlap) and caught-up runs",
      request: { params: IdParam, query: z.object({ limit: z.coerce.number().int().min(1).max(500).default(50) }) },
      schema: z.object({ items: z.array(Run) }),
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      await schedules.get(id);
      const runs = await _s.store.scheduler.runs.list(id, c.req.valid("query").limit);
      return c.json({ items: runs.map((r) => schedules.runView(r)) }, 200);
    },
  );
}

/**
 * @module server/schedules/pg-repository
 * The scheduler's repositories on PostgreSQL, query for query the SQLite ones (sqlite-repository.ts).
 * The claims are single statements here too, one per scheduler pass whatever the number of due
 * schedules: UPDATE … FROM unnest(ids, expected, next) WHERE next_run_at = expected RETURNING id
 * (rows locked FOR UPDATE SKIP LOCKED, so of two servers exactly one gets each row back) and a
 * multi-row INSERT … ON CONFLICT DO NOTHING on the unique (schedule_id, due_at) index.
 */
import { and, asc, desc, eq, gte, isNotNull, isNull, lte, min, sql } from "drizzle-orm";
import type { NodePgDatabase } from "drizzle-orm/node-postgres";
import * as schema from "../db/pg/schema.ts";
import type { SchedulerRepositories } from "./repository.ts";

const { schedules, scheduleRuns, alerts, notificationChannels } = schema;

export function pgSchedulerRepositories(db: NodePgDatabase<typeof schema>): SchedulerRepositories {
  return {
    schedules: {
      async list(filter = {}) {
        const q = db.select().from(schedules);
        return (filter.projectId ? q.where(eq(schedules.projectId, filter.projectId)) : q).orderBy(
          asc(schedules.name),
          asc(schedules.id),
        );
      },
      async byId(id) {
        return db
          .select()
          .from(schedules)
          .where(eq(schedules.id, id))
          .then((x) => x[0]);
      },
      async create(record) {
        await db.insert(schedules).values(record);
      },
      async update(id, patch) {
        await db.update(schedules).set(patch).where(eq(schedules.id, id));
      },
      async delete(id) {
        await db.delete(schedules).where(eq(schedules.id, id));
      },
      async due(now) {
        return db
          .select()
          .from(schedules)
          .where(and(eq(schedules.enabled, true), isNotNull(schedules.nextRunAt), lte(schedules.nextRunAt, now)))
          .orderBy(asc(schedules.nextRunAt));
      },
      async earliestNextRun() {
        const row = await db
          .select({ at: min(schedules.nextRunAt) })
          .from(schedules)
          .where(eq(schedules.enabled, true))
          .then((x) => x[0]);
        return row?.at ? new Date(row.at) : undefined;
      },
      async claimDue(claims) {
        if (claims.length === 0) return new Set();
        // Three array parameters, not three per schedule: one statement for any number of schedules.
        // SKIP LOCKED: a row another server is claiming at this moment is its due time, not a wait
        // (and two passes locking the same rows in different orders cannot deadlock). A row locked for
        // another reason (a PATCH) stays due and the scheduler's next pass takes it at once.
        const result = await db.execute<{ id: string }>(sql`
          with v(id, expected, next) as (
            select * from unnest(
              ${sql.param(claims.map((c) => c.id))}::text[],
              ${sql.param(claims.map((c) => c.expected.toISOString()))}::timestamptz[],
              ${sql.param(claims.map((c) => c.next?.toISOString() ?? null))}::timestamptz[]
            )
          ), mine as (
            select s.id from ${schedules} as s join v on v.id = s.id and s.next_run_at = v.expected
            for update of s skip locked
          )
          update ${schedules} as s set next_run_at = v.next
          from v join mine on mine.id = v.id
          where s.id = v.id
          returning s.id`);
        return new Set(result.rows.map((r) => r.id));
      },
      async recordOutcome(id, o) {
        const patch: Record<string, unknown> = { lastRunAt: o.at, lastStatus: o.status, lastBackupId: o.backupId };
        if (o.success === true) {
          patch.lastSuccessAt = o.at;
          patch.consecutiveFailures = 0;
          patch.completedRuns = sql`${schedules.completedRuns} + 1`;
        } else if (o.success === false) {
          patch.consecutiveFailures = sql`${schedules.consecutiveFailures} + 1`;
        }
        await db.update(schedules).set(patch).where(eq(schedules.id, id));
        return db
          .select()
          .from(schedules)
          .where(eq(schedules.id, id))
          .then((x) => x[0]);
      },
    },
    runs: {
      async claim(run) {
        const result = await db
          .insert(scheduleRuns)
          .values(run)
          .onConflictDoNothing()
          .then((x) => x.rowCount);
        return result === 1;
      },
      async claimMany(runs) {
        if (runs.length === 0) return new Set();
        const rows = await db
          .insert(scheduleRuns)
          .values([...runs])
          .onConflictDoNothing()
          .returning({ id: scheduleRuns.id });
        return new Set(rows.map((r) => r.id));
      },
      async byId(id) {
        return db
          .select()
          .from(scheduleRuns)
          .where(eq(scheduleRuns.id, id))
          .then((x) => x[0]);
      },
      async byBackupId(backupId) {
        return db
          .select()
          .from(scheduleRuns)
          .where(eq(scheduleRuns.backupId, backupId))
          .then((x) => x[0]);
      },
      async update(id, patch) {
        await db.update(scheduleRuns).set(patch).where(eq(scheduleRuns.id, id));
      },
      async running(scheduleId) {
        const where = scheduleId
          ? and(eq(scheduleRuns.status, "running"), eq(scheduleRuns.scheduleId, scheduleId))
          : eq(scheduleRuns.status, "running");
        return db.select().from(scheduleRuns).where(where);
      },
      async list(scheduleId, limit) {
        return db
          .select()
          .from(scheduleRuns)
          .where(eq(scheduleRuns.scheduleId, scheduleId))
          .orderBy(desc(scheduleRuns.dueAt), desc(scheduleRuns.startedAt))
          .limit(limit);
      },
      async between(from, to) {
        return db
          .select()
          .from(scheduleRuns)
          .where(and(gte(scheduleRuns.dueAt, from), lte(scheduleRuns.dueAt, to)))
          .orderBy(asc(scheduleRuns.dueAt));
      },
      async heartbeat(owner, at) {
        await db
          .update(scheduleRuns)
          .set({ heartbeatAt: at })
          .where(and(eq(scheduleRuns.owner, owner), eq(scheduleRuns.status, "running")));
      },
    },
    alerts: {
      async open(kind, subjectType, subjectId) {
        return db
          .select()
          .from(alerts)
          .where(
            and(
              eq(alerts.kind, kind),
              eq(alerts.subjectType, subjectType),
              eq(alerts.subjectId, subjectId),
              isNull(alerts.resolvedAt),
              isNull(alerts.acknowledgedAt),
            ),
          )
          .then((x) => x[0]);
      },
      async create(record) {
        await db.insert(alerts).values(record);
      },
      async update(id, patch) {
        await db.update(alerts).set(patch).where(eq(alerts.id, id));
      },
      async byId(id) {
        return db
          .select()
          .from(alerts)
          .where(eq(alerts.id, id))
          .then((x) => x[0]);
      },
      async list(filter) {
        const where = [];
        if (!filter.includeAcknowledged) where.push(isNull(alerts.acknowledgedAt));
        if (filter.subjectType) where.push(eq(alerts.subjectType, filter.subjectType));
        if (filter.subjectId) where.push(eq(alerts.subjectId, filter.subjectId));
        return db
          .select()
          .from(alerts)
          .where(where.length ? and(...where) : undefined)
          .orderBy(desc(alerts.createdAt), desc(alerts.id))
          .limit(filter.limit);
      },
    },
    notifications: {
      async list() {
        return db.select().from(notificationChannels).orderBy(asc(notificationChannels.name));
      },
      async byId(id) {
        return db
          .select()
          .from(notificationChannels)
          .where(eq(notificationChannels.id, id))
          .then((x) => x[0]);
      },
      async create(record) {
        await db.insert(notificationChannels).values(record);
      },
      async update(id, patch) {
        await db.update(notificationChannels).set(patch).where(eq(notificationChannels.id, id));
      },
      async delete(id) {
        await db.delete(notificationChannels).where(eq(notificationChannels.id, id));
      },
    },
  };
}

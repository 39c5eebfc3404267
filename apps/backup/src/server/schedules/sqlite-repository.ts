/**
 * @module server/schedules/sqlite-repository
 * The scheduler's repositories on SQLite (Drizzle over better-sqlite3, the connection of
 * `db/sqlite/store.ts`). Claims are compare-and-set: UPDATE … WHERE next_run_at = ? per schedule and
 * INSERTs that the unique (schedule_id, due_at) index refuses the second time, a pass's batch in one
 * transaction (one process, no round trips: a loop costs microseconds here).
 */
import { and, asc, desc, eq, gte, isNotNull, isNull, lte, min, sql } from "drizzle-orm";
import type { BetterSQLite3Database } from "drizzle-orm/better-sqlite3";
import * as schema from "../db/schema.ts";
import type { SchedulerRepositories } from "./repository.ts";

const { schedules, scheduleRuns, alerts, notificationChannels } = schema;

export function sqliteSchedulerRepositories(db: BetterSQLite3Database<typeof schema>): SchedulerRepositories {
  return {
    schedules: {
      async list(filter = {}) {
        const q = db.select().from(schedules);
        return (filter.projectId ? q.where(eq(schedules.projectId, filter.projectId)) : q)
          .orderBy(asc(schedules.name), asc(schedules.id))
          .all();
      },
      async byId(id) {
        return db.select().from(schedules).where(eq(schedules.id, id)).get();
      },
      async create(record) {
        db.insert(schedules).values(record).run();
      },
      async update(id, patch) {
        db.update(schedules).set(patch).where(eq(schedules.id, id)).run();
      },
      async delete(id) {
        db.delete(schedules).where(eq(schedules.id, id)).run();
      },
      async due(now) {
        return db
          .select()
          .from(schedules)
          .where(and(eq(schedules.enabled, true), isNotNull(schedules.nextRunAt), lte(schedules.nextRunAt, now)))
          .orderBy(asc(schedules.nextRunAt))
          .all();
      },
      async earliestNextRun() {
        const row = db
          .select({ at: min(schedules.nextRunAt) })
          .from(schedules)
          .where(eq(schedules.enabled, true))
          .get();
        return row?.at ? new Date(row.at) : undefined;
      },
      async claimDue(claims) {
        return db.transaction((tx) => {
          const won = new Set<string>();
          for (const c of claims) {
            const { changes } = tx
              .update(schedules)
              .set({ nextRunAt: c.next })
              .where(and(eq(schedules.id, c.id), eq(schedules.nextRunAt, c.expected)))
              .run();
            if (changes === 1) won.add(c.id);
          }
          return won;
        });
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
        db.update(schedules).set(patch).where(eq(schedules.id, id)).run();
        return db.select().from(schedules).where(eq(schedules.id, id)).get();
      },
    },
    runs: {
      async claim(run) {
        const result = db.insert(scheduleRuns).values(run).onConflictDoNothing().run();
        return result.changes === 1;
      },
      async claimMany(runs) {
        return db.transaction((tx) => {
          const won = new Set<string>();
          for (const run of runs)
            if (tx.insert(scheduleRuns).values(run).onConflictDoNothing().run().changes === 1) won.add(run.id);
          return won;
        });
      },
      async byId(id) {
        return db.select().from(scheduleRuns).where(eq(scheduleRuns.id, id)).get();
      },
      async byBackupId(backupId) {
        return db.select().from(scheduleRuns).where(eq(scheduleRuns.backupId, backupId)).get();
      },
      async update(id, patch) {
        db.update(scheduleRuns).set(patch).where(eq(scheduleRuns.id, id)).run();
      },
      async running(scheduleId) {
        const where = scheduleId
          ? and(eq(scheduleRuns.status, "running"), eq(scheduleRuns.scheduleId, scheduleId))
          : eq(scheduleRuns.status, "running");
        return db.select().from(scheduleRuns).where(where).all();
      },
      async list(scheduleId, limit) {
        return db
          .select()
          .from(scheduleRuns)
          .where(eq(scheduleRuns.scheduleId, scheduleId))
          .orderBy(desc(scheduleRuns.dueAt), desc(scheduleRuns.startedAt))
          .limit(limit)
          .all();
      },
      async between(from, to) {
        return db
          .select()
          .from(scheduleRuns)
          .where(and(gte(scheduleRuns.dueAt, from), lte(scheduleRuns.dueAt, to)))
          .orderBy(asc(scheduleRuns.dueAt))
          .all();
      },
      async heartbeat(owner, at) {
        db.update(scheduleRuns)
          .set({ heartbeatAt: at })
          .where(and(eq(scheduleRuns.owner, owner), eq(scheduleRuns.status, "running")))
          .run();
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
          .get();
      },
      async create(record) {
        db.insert(alerts).values(record).run();
      },
      async update(id, patch) {
        db.update(alerts).set(patch).where(eq(alerts.id, id)).run();
      },
      async byId(id) {
        return db.select().from(alerts).where(eq(alerts.id, id)).get();
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
          .limit(filter.limit)
          .all();
      },
    },
    notifications: {
      async list() {
        return db.select().from(notificationChannels).orderBy(asc(notificationChannels.name)).all();
      },
      async byId(id) {
        return db.select().from(notificationChannels).where(eq(notificationChannels.id, id)).get();
      },
      async create(record) {
        db.insert(notificationChannels).values(record).run();
      },
      async update(id, patch) {
        db.update(notificationChannels).set(patch).where(eq(notificationChannels.id, id)).run();
      },
      async delete(id) {
        db.delete(notificationChannels).where(eq(notificationChannels.id, id)).run();
      },
    },
  };
}

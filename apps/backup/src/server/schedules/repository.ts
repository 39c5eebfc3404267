/**
 * @module server/schedules/repository
 * The scheduler's tables as the rest of the server sees them: plain records and async repositories,
 * one more part of the `MetadataStore` (`store.scheduler`). The claim operations (`claimDue`,
 * `runs.claim`) are compare-and-set / unique-key inserts, so two servers on one metadata database
 * never start the same due time twice, whatever the dialect. Both take a whole scheduler pass at
 * once: one statement on PostgreSQL whatever the number of schedules (a pass that makes a round
 * trip per schedule falls behind a 10 s interval with 100 schedules, bench/README.md).
 */
import type { alerts, notificationChannels, SCHEDULE_RUN_STATUSES, scheduleRuns, schedules } from "../db/schema.ts";

export type ScheduleRecord = typeof schedules.$inferSelect;
export type ScheduleRunRecord = typeof scheduleRuns.$inferSelect;
export type ScheduleRunStatus = (typeof SCHEDULE_RUN_STATUSES)[number];
export type AlertRecord = typeof alerts.$inferSelect;
export type NotificationChannelRecord = typeof notificationChannels.$inferSelect;

/** One schedule's due time taken by a scheduler pass: `nextRunAt` moves from `expected` to `next`. */
export interface DueClaim {
  readonly id: string;
  readonly expected: Date;
  readonly next: Date | null;
}

export interface ScheduleRepository {
  list(filter?: { projectId?: string }): Promise<ScheduleRecord[]>;
  byId(id: string): Promise<ScheduleRecord | undefined>;
  create(record: ScheduleRecord): Promise<void>;
  update(id: string, patch: Partial<ScheduleRecord>): Promise<void>;
  delete(id: string): Promise<void>;
  /** Enabled schedules whose `nextRunAt` is at or before `now`. */
  due(now: Date): Promise<ScheduleRecord[]>;
  /** The earliest `nextRunAt` of an enabled schedule (the scheduler sleeps until then). */
  earliestNextRun(): Promise<Date | undefined>;
  /**
   * For each claim, moves `nextRunAt` from `expected` to `next` only if it still is `expected`;
   * answers the ids of the schedules whose due time this caller won (of two servers claiming the
   * same due time, exactly one gets it).
   */
  claimDue(claims: readonly DueClaim[]): Promise<Set<string>>;
  /** Counter updates done in SQL so that concurrent finishers do not lose one. */
  recordOutcome(
    id: string,
    outcome: { at: Date; status: ScheduleRunStatus; backupId: string | null; success: boolean | null },
  ): Promise<ScheduleRecord | undefined>;
}

export interface ScheduleRunRepository {
  /** Inserts the run; false when a run for this schedule and due time already exists. */
  claim(run: ScheduleRunRecord): Promise<boolean>;
  /** Inserts the runs in one statement; answers the ids inserted (not those whose due time had a run already). */
  claimMany(runs: readonly ScheduleRunRecord[]): Promise<Set<string>>;
  byId(id: string): Promise<ScheduleRunRecord | undefined>;
  byBackupId(backupId: string): Promise<ScheduleRunRecord | undefined>;
  update(id: string, patch: Partial<ScheduleRunRecord>): Promise<void>;
  /** Runs in `running` (optionally of one schedule). */
  running(scheduleId?: string): Promise<ScheduleRunRecord[]>;
  /** Newest first. */
  list(scheduleId: string, limit: number): Promise<ScheduleRunRecord[]>;
  /** Every run of the schedule in a time window (benchmark, tests). */
  between(from: Date, to: Date): Promise<ScheduleRunRecord[]>;
  heartbeat(owner: string, at: Date): Promise<void>;
}

export interface AlertFilter {
  includeAcknowledged?: boolean;
  subjectType?: AlertRecord["subjectType"];
  subjectId?: string;
  limit: number;
}

export interface AlertRepository {
  /** The open (not resolved, not acknowledged) alert of this kind on this subject. */
  open(kind: string, subjectType: AlertRecord["subjectType"], subjectId: string): Promise<AlertRecord | undefined>;
  create(record: AlertRecord): Promise<void>;
  update(id: string, patch: Partial<AlertRecord>): Promise<void>;
  byId(id: string): Promise<AlertRecord | undefined>;
  /** Newest first. */
  list(filter: AlertFilter): Promise<AlertRecord[]>;
}

export interface NotificationChannelRepository {
  list(): Promise<NotificationChannelRecord[]>;
  byId(id: string): Promise<NotificationChannelRecord | undefined>;
  create(record: NotificationChannelRecord): Promise<void>;
  update(id: string, patch: Partial<NotificationChannelRecord>): Promise<void>;
  delete(id: string): Promise<void>;
}

export interface SchedulerRepositories {
  readonly schedules: ScheduleRepository;
  readonly runs: ScheduleRunRepository;
  readonly alerts: AlertRepository;
  readonly notifications: NotificationChannelRepository;
}

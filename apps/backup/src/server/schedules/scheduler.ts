/**
 * @module server/schedules/scheduler
 * The in-process scheduler. It sleeps until the earliest `next_run_at` (at most `pollMs`, so that
 * changes made by another server are seen), then takes every due schedule in one pass:
 *  1. claims the due times: each `next_run_at` moves to the next cron time after *now* (computed here
 *     with croner) by compare-and-set, all in one statement, so a run missed while the server was down
 *     is caught up once, not once per missed tick, and two servers on one metadata database never both
 *     win the same due time;
 *  2. skips (and records a `skipped` run) when the schedule's previous run is still going: with
 *     pg-boss, one query finds the claimed schedules that still have a run in the queue, and their
 *     skipped runs are inserted in one statement;
 *  3. sends the runs to the job queue (jobs/queue.ts): with SQLite each starts here at once; with
 *     PostgreSQL metadata they go through pg-boss in one insert, singletonKey `scheduleId:dueAt`, and
 *     whichever server has a free slot takes each;
 *  4. the server that takes it inserts the run (unique per schedule and due time) and starts one
 *     backup (trigger `schedule`) in its job runner, wrapped so that transient failures are retried
 *     with backoff inside the run, then retention and, every Nth time, a restore drill after a success.
 * When the job finishes, the run and the schedule's `lastRunAt`/`lastStatus` are written, alerts
 * raised or resolved and notifications sent. A dead man's switch checks every minute that each
 * enabled schedule completed a backup within twice its interval.
 */
import { randomUUID } from "node:crypto";
import { verifyBackup } from "@stowage/backup-core";
import { redact } from "@stowage/storage";
import type { Logger } from "pino";
import type { AlertService } from "../alerts/service.ts";
import type { Actor, AuditLog } from "../audit.ts";
import type { BackupRecord, MetadataStore } from "../db/store.ts";
import { ApiError } from "../errors.ts";
import type { JobQueue, JobStarted, ScheduledRunMessage } from "../jobs/queue.ts";
import type { JobBody, JobFinished, JobRunner } from "../jobs/runner.ts";
import type { Notice, NotificationService } from "../notifications/service.ts";
import type { BackupService } from "../services/backups.ts";
import type { DestinationService } from "../services/destinations.ts";
import type { Clock } from "./clock.ts";
import { cronInterval, nextRun } from "./cron.ts";
import type { ScheduleRecord, ScheduleRunRecord, ScheduleRunStatus } from "./repository.ts";
import { applyRetention } from "./retention.ts";
import type { ScheduleService } from "./service.ts";
import { isTransientFailure } from "./transient.ts";

export interface RetrySettings {
  /** Attempts in total (1 = no retry). */
  readonly attempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export interface SchedulerOptions {
  readonly clock: Clock;
  /** Longest sleep between two reads of the schedules (changes from other servers). */
  readonly pollMs?: number;
  readonly retry?: RetrySettings;
  /** How often the dead man's switch and stale-run checks run. */
  readonly watchMs?: number;
  /** A run whose server showed no sign of life for this long is stale (its server died). */
  readonly staleRunMs?: number;
  readonly heartbeatMs?: number;
  /** Called before a drill restores a backup: tests damage the backup here. */
  readonly beforeDrill?: (backup: BackupRecord) => Promise<void>;
}

export interface SchedulerDeps {
  readonly store: MetadataStore;
  readonly log: Logger;
  readonly jobs: JobRunner;
  readonly queue: JobQueue;
  /** This server process (the runs it takes carry it as `owner`). */
  readonly instanceId: string;
  readonly backups: BackupService;
  readonly destinations: DestinationService;
  readonly audit: AuditLog;
  readonly schedules: ScheduleService;
  readonly alerts: AlertService;
  readonly notifications: NotificationService;
}

interface RunContext {
  readonly runId: string;
  readonly scheduleId: string;
  /** Called once the run's end is written (the queue worker holding the run waits for it). */
  readonly ended?: () => void;
}

export const DEFAULT_RETRY: RetrySettings = { attempts: 3, baseDelayMs: 5_000, maxDelayMs: 60_000 };
const SYSTEM: Actor = {};

const human = (ms: number) =>
  ms % 86_400_000 === 0
    ? `${ms / 86_400_000} day(s)`
    : ms % 3_600_000 === 0
      ? `${ms / 3_600_000} hour(s)`
      : ms % 60_000 === 0
        ? `${ms / 60_000} minute(s)`
        : `${Math.round(ms / 1000)} second(s)`;

export class Scheduler {
  /** This process, as written on the runs it owns. */
  readonly owner: string;
  private readonly active = new Map<string, RunContext>();
  private readonly byBackup = new Map<string, RunContext>();
  private readonly pending = new Set<Promise<void>>();
  private cancelTimer: (() => void) | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private loop: Promise<void> = Promise.resolve();
  private lastWatch = Number.NEGATIVE_INFINITY;
  private stopped = true;
  private readonly clock: Clock;
  private readonly retry: RetrySettings;
  private readonly onFinished = (result: JobFinished) => {
    if (result.kind !== "backup") return;
    const ctx = this.byBackup.get(result.id);
    if (!ctx) return;
    this.byBackup.delete(result.id);
    this.track(this.finishRun(ctx, result.status as ScheduleRunStatus, result.id, result.error ?? null));
  };

  constructor(
    private readonly deps: SchedulerDeps,
    private readonly options: SchedulerOptions,
  ) {
    this.clock = options.clock;
    this.retry = options.retry ?? DEFAULT_RETRY;
    this.owner = deps.instanceId;
  }

  async start(): Promise<void> {
    this.stopped = false;
    this.deps.jobs.on("finished", this.onFinished);
    await this.failStaleRuns(true);
    const every = this.options.heartbeatMs ?? 30_000;
    this.heartbeat = setInterval(() => {
      void this.deps.store.scheduler.runs.heartbeat(this.owner, this.clock.now()).catch(() => {});
    }, every);
    this.heartbeat.unref();
    this.wake();
  }

  /** Stops the timers (running backups are the job runner's to abort). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.cancelTimer?.();
    clearInterval(this.heartbeat);
    await this.loop;
  }

  /** Waits for the bookkeeping of finished runs (after the job runner stopped). */
  async drain(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
    this.deps.jobs.off("finished", this.onFinished);
  }

  /** Re-reads the schedules now (a schedule was created or changed). */
  wake(): void {
    if (this.stopped) return;
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    this.loop = this.loop.then(
      () => this.cycle(),
      () => this.cycle(),
    );
  }

  /** Resolves when the scheduler loop, every run it started and their bookkeeping are done (tests). */
  async settle(): Promise<void> {
    for (;;) {
      await this.loop;
      await this.deps.queue.idle();
      await this.deps.jobs.idle();
      if (this.pending.size === 0 && this.byBackup.size === 0) break;
      await Promise.allSettled([...this.pending]);
    }
    await this.deps.notifications.idle();
  }

  /** Resolves when the current scheduler cycle (claims and starts) is done; runs may still be going. */
  async cycled(): Promise<void> {
    await this.loop;
  }

  isRunning(scheduleId: string): boolean {
    return this.active.has(scheduleId);
  }

  private track(task: Promise<void>): void {
    const guarded = task.catch((error) => this.deps.log.error({ err: error }, "scheduler bookkeeping failed"));
    this.pending.add(guarded);
    void guarded.finally(() => this.pending.delete(guarded));
  }

  private async cycle(): Promise<void> {
    if (this.stopped) return;
    try {
      await this.tick();
      const now = this.clock.now().getTime();
      if (now - this.lastWatch >= (this.options.watchMs ?? 60_000)) {
        this.lastWatch = now;
        await this.failStaleRuns(false);
        await this.checkMissed();
      }
    } catch (error) {
      this.deps.log.error({ err: error }, "scheduler cycle failed");
    }
    if (this.stopped) return;
    const poll = this.options.pollMs ?? 15_000;
    const earliest = await this.deps.store.scheduler.schedules.earliestNextRun().catch(() => undefined);
    const untilDue = earliest ? earliest.getTime() - this.clock.now().getTime() : poll;
    const watchIn = this.lastWatch + (this.options.watchMs ?? 60_000) - this.clock.now().getTime();
    this.cancelTimer = this.clock.setTimer(() => this.wake(), Math.max(0, Math.min(untilDue, poll, watchIn)));
  }

  /**
   * One pass: claims every due schedule, records the skipped ones and sends the others' runs to the
   * job queue. Round trips do not grow with the number of due schedules on PostgreSQL: read the due
   * schedules, claim them, ask the queue which still have a run, insert the skipped runs, insert the
   * jobs. Answers how many runs it sent and skipped.
   */
  async tick(): Promise<{ sent: number; skipped: number }> {
    const now = this.clock.now();
    const { schedules, runs } = this.deps.store.scheduler;
    const due = (await schedules.due(now)).map((schedule) => this.dueRun(schedule, now));
    if (due.length === 0) return { sent: 0, skipped: 0 };
    const won = await schedules.claimDue(due.map((d) => ({ id: d.schedule.id, expected: d.dueAt, next: d.next })));
    const claimed = due.filter((d) => won.has(d.schedule.id));
    // A run of this schedule still waiting in the shared queue counts as still going: skipped and
    // recorded now, not queued behind it (a backlog would only be skipped later, with a long delay).
    const pending = await this.deps.queue.pendingRuns(claimed.map((d) => d.schedule.id));
    const skipped = claimed.filter((d) => pending.has(d.schedule.id));
    if (skipped.length > 0) {
      const records = skipped.map((d) => this.skippedRun(this.runRecord(d.schedule.id, d.dueAt, d.reason, now)));
      const inserted = await runs.claimMany(records);
      const written = records.filter((r) => inserted.has(r.id));
      if (written.length > 0) {
        this.deps.log.warn(
          { skipped: written.map((r) => ({ schedule: r.scheduleId, dueAt: r.dueAt })) },
          `skipped ${written.length} scheduled run(s): the previous run is still going`,
        );
      }
    }
    const send = claimed.filter((d) => !pending.has(d.schedule.id));
    await this.deps.queue.sendScheduledRuns(
      send.map((d) => ({ scheduleId: d.schedule.id, dueAt: d.dueAt.toISOString(), reason: d.reason })),
    );
    return { sent: send.length, skipped: skipped.length };
  }

  /** The due time a pass claims for one schedule, its next time after now, and why it runs. */
  private dueRun(schedule: ScheduleRecord, now: Date) {
    const dueAt = schedule.nextRunAt!;
    const spec = { cron: schedule.cron, timezone: schedule.timezone };
    let next: Date | null = null;
    let afterDue: Date | null = null;
    try {
      next = nextRun(spec, now);
      afterDue = nextRun(spec, dueAt);
    } catch (error) {
      this.deps.log.error({ err: error, schedule: schedule.id }, "a stored schedule no longer parses; it is paused");
    }
    // Missed while the server was down (another tick came and went, or long overdue): one catch-up run.
    const late = now.getTime() - dueAt.getTime() > 60_000 || (afterDue !== null && afterDue.getTime() <= now.getTime());
    const reason: "cron" | "catch_up" = late ? "catch_up" : "cron";
    return { schedule, dueAt, next, reason };
  }

  /** The job queue's handler: starts the run here; `done` once its end is written. */
  async runQueued(message: ScheduledRunMessage): Promise<JobStarted> {
    const schedule = await this.deps.store.scheduler.schedules.byId(message.scheduleId);
    // Deleted or stopped meanwhile: nothing to run.
    if (!schedule || this.stopped) return { done: Promise.resolve() };
    let ended!: () => void;
    const done = new Promise<void>((resolve) => {
      ended = resolve;
    });
    const run = await this.startRun(schedule, new Date(message.dueAt), message.reason, {
      ended,
      ...(message.runId ? { runId: message.runId } : {}),
    });
    if (run?.status !== "running") ended();
    return { done };
  }

  /**
   * `POST /api/schedules/:id/run`. With SQLite the run starts here and its row is answered. With
   * several servers (pg-boss) it goes through the queue like a scheduled run, so any server with a
   * free slot takes it: the answer is the run as accepted (its id is the one the run row gets;
   * `backupId` stays null until a server started it, see `GET /api/schedules/:id/runs`).
   */
  async runNow(scheduleId: string, actor: Actor): Promise<ScheduleRunRecord> {
    const schedule = await this.deps.schedules.get(scheduleId);
    const { queue } = this.deps;
    if ((await this.busy(schedule.id)) || (queue.shared && (await queue.pendingRuns([schedule.id])).size > 0)) {
      throw new ApiError("CONFLICT", "a run of this schedule is still going; wait for it or cancel its backup");
    }
    // A run-now is its own due time; two in the same millisecond get consecutive ones.
    let run: ScheduleRunRecord | undefined;
    for (let bump = 0; !run && bump < 1000; bump++) {
      const dueAt = new Date(this.clock.now().getTime() + bump);
      if (!queue.shared) {
        run = await this.startRun(schedule, dueAt, "manual");
        continue;
      }
      const accepted = { ...this.runRecord(schedule.id, dueAt, "manual", this.clock.now()), owner: null, heartbeatAt: null };
      const message = { scheduleId: schedule.id, dueAt: dueAt.toISOString(), reason: "manual", runId: accepted.id } as const;
      if (await queue.sendScheduledRun(message)) run = accepted;
    }
    if (!run) throw new ApiError("CONFLICT", "a run of this schedule was just started");
    await this.deps.audit.record(actor, "schedule_run_requested", { type: "schedule", id: schedule.id }, { name: schedule.name });
    return run;
  }

  private async busy(scheduleId: string): Promise<boolean> {
    if (this.active.has(scheduleId)) return true;
    const staleMs = this.options.staleRunMs ?? 120_000;
    const now = this.clock.now().getTime();
    const running = await this.deps.store.scheduler.runs.running(scheduleId);
    return running.some((r) => now - (r.heartbeatAt ?? r.startedAt).getTime() < staleMs);
  }

  /** A run of this server starting now (`running`). */
  private runRecord(
    scheduleId: string,
    dueAt: Date,
    reason: ScheduleRunRecord["reason"],
    now: Date,
    id?: string,
  ): ScheduleRunRecord {
    return {
      id: id ?? randomUUID(),
      scheduleId,
      dueAt,
      status: "running",
      reason,
      backupId: null,
      attempts: 0,
      delayMs: Math.max(0, now.getTime() - dueAt.getTime()),
      error: null,
      owner: this.owner,
      heartbeatAt: now,
      startedAt: now,
      finishedAt: null,
    };
  }

  /** The record of a due time skipped because the schedule's previous run was still going. */
  private skippedRun(base: ScheduleRunRecord): ScheduleRunRecord {
    return {
      ...base,
      status: "skipped",
      error: "skipped: the previous run of this schedule was still going",
      finishedAt: base.startedAt,
    };
  }

  private async startRun(
    schedule: ScheduleRecord,
    dueAt: Date,
    reason: ScheduleRunRecord["reason"],
    options: { ended?: () => void; runId?: string } = {},
  ): Promise<ScheduleRunRecord | undefined> {
    const { ended } = options;
    const { store, log } = this.deps;
    const now = this.clock.now();
    const base = this.runRecord(schedule.id, dueAt, reason, now, options.runId);
    if (reason !== "manual" && (await this.busy(schedule.id))) {
      const skipped = this.skippedRun(base);
      if (await store.scheduler.runs.claim(skipped)) {
        log.warn({ schedule: schedule.id, dueAt }, "skipped a scheduled run: the previous one is still going");
        return skipped;
      }
      return undefined;
    }
    if (!(await store.scheduler.runs.claim(base))) return undefined;
    const ctx: RunContext = { runId: base.id, scheduleId: schedule.id, ...(ended ? { ended } : {}) };
    this.active.set(schedule.id, ctx);
    try {
      const backupId = await this.deps.backups.start(
        schedule.projectId,
        {
          backupType: schedule.backupType,
          storageType: "destination",
          storageDestinationIds: JSON.parse(schedule.destinationIds) as string[],
          compressionType: schedule.compression,
          includeMigrationHistory: schedule.includeMigrationHistory ?? undefined,
          trigger: "schedule",
          scheduleId: schedule.id,
          wrapJob: (body, id) => {
            // Registered before the job can start, so its `finished` event is never missed.
            this.byBackup.set(id, ctx);
            return this.wrap(schedule, ctx, body, id);
          },
        },
        SYSTEM,
      );
      base.backupId = backupId;
      await store.scheduler.runs.update(base.id, { backupId });
    } catch (error) {
      const message = error instanceof ApiError ? error.message : `the backup could not start: ${(error as Error).message}`;
      await this.finishRun(ctx, "failed", null, message);
      return { ...base, status: "failed", error: message };
    }
    return base;
  }

  /** The backup job with retries for transient failures, then retention and the drill. */
  private wrap(schedule: ScheduleRecord, ctx: RunContext, body: JobBody, backupId: string): JobBody {
    return async (signal, publish) => {
      const { store, log } = this.deps;
      let result: JobFinished;
      for (let attempt = 1; ; attempt++) {
        await store.scheduler.runs.update(ctx.runId, { attempts: attempt, heartbeatAt: this.clock.now() });
        result = await body(signal, publish);
        if (result.status !== "failed" || signal.aborted || attempt >= this.retry.attempts || !isTransientFailure(result.error))
          break;
        const ceiling = Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** (attempt - 1));
        const delay = Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
        log.warn(
          { schedule: schedule.id, backupId, attempt, error: result.error, retryInMs: delay },
          "scheduled backup failed; retrying",
        );
        publish({ type: "status", data: { id: backupId, status: "retrying", attempt, error: result.error, retryInMs: delay } });
        if (!(await abortableSleep(delay, signal))) break;
        await this.resetBackup(backupId);
      }
      if (result.status === "completed") {
        const fresh = (await store.scheduler.schedules.byId(schedule.id)) ?? schedule;
        const row = await store.backups.byId(backupId);
        if (row) {
          await this.retain(fresh, row);
          const every = fresh.drillEvery ?? 0;
          if (every > 0 && (fresh.completedRuns + 1) % every === 0) await this.drill(fresh, row);
        }
      }
      return result;
    };
  }

  /** Back to `pending` for another attempt on the same row: one backup row per run, whatever the attempts. */
  private async resetBackup(backupId: string): Promise<void> {
    const { store } = this.deps;
    await store.backups.update(backupId, {
      status: "pending",
      error: null,
      startedAt: null,
      finishedAt: null,
      storageFilePath: null,
      bytesDumped: 0,
      bytesStored: 0,
    });
    for (const d of await store.backups.destinations(backupId)) {
      await store.backups.updateDestination(d.id, {
        status: "pending",
        error: null,
        storageFilePath: null,
        bytesUploaded: 0,
        size: null,
      });
    }
  }

  private async retain(schedule: ScheduleRecord, backup: BackupRecord): Promise<void> {
    const policy = this.deps.schedules.retentionOf(schedule);
    if (!policy) return;
    try {
      const outcome = await applyRetention(this.deps, backup, policy, this.clock.now());
      if (outcome.removed.length)
        this.deps.log.info({ schedule: schedule.id, removed: outcome.removed }, "retention removed old backups");
      if (outcome.errors.length) throw new Error(outcome.errors.join("; "));
      await this.deps.alerts.resolve("retention_failed", "schedule", schedule.id);
    } catch (error) {
      const { created, alert } = await this.deps.alerts.raise({
        kind: "retention_failed",
        severity: "warning",
        subjectType: "schedule",
        subjectId: schedule.id,
        subjectName: schedule.name,
        message: `Retention after the scheduled backup of "${backup.projectName}" failed: ${(error as Error).message}`,
      });
      if (created) this.notify("warning", schedule, backup, alert.message, alert);
    }
  }

  /** Restores the backup into the scratch database and compares row counts (`verify --restore-test`). */
  private async drill(schedule: ScheduleRecord, backup: BackupRecord): Promise<void> {
    const { store, log } = this.deps;
    const url = this.deps.schedules.drillDatabaseUrl(schedule);
    if (!url) return;
    const secrets: string[] = [];
    try {
      const password = new URL(url).password;
      if (password) secrets.push(password, decodeURIComponent(password));
    } catch {}
    let ok = false;
    let verdict: string | null = null;
    try {
      await this.options.beforeDrill?.(backup);
      const { dest, folder } = await this.deps.backups.source(backup.id);
      try {
        const drillOnce = () => verifyBackup({ source: { destination: dest, folder }, restoreTestUrl: url, clean: true });
        let result = await drillOnce();
        // Another restore on the same cluster touching the same catalog rows (roles) is no verdict on the backup: once more.
        if (
          !result.restoreTest?.ok &&
          /tuple concurrently updated|deadlock detected|could not serialize/.test(result.restoreTest?.error ?? "")
        ) {
          result = await drillOnce();
        }
        const badFiles = result.files.filter((f) => !f.ok).map((f) => `${f.name}: ${f.error ?? f.code}`);
        const restore = result.restoreTest;
        ok = result.ok && !!restore?.ok;
        if (!ok) {
          verdict =
            [
              ...badFiles,
              ...(restore?.error ? [`restore: ${restore.error}`] : []),
              ...(restore?.mismatches ?? []).map((m) => `${m.table}: ${m.actual ?? "missing"} rows, expected ${m.expected}`),
            ].join("; ") || "the restore drill failed";
        }
      } finally {
        await dest.close().catch(() => {});
      }
    } catch (error) {
      verdict = `the restore drill failed: ${(error as Error).message}`;
    }
    verdict = verdict ? redact(verdict, secrets) : null;
    await store.backups.update(backup.id, {
      verifiedAt: this.clock.now(),
      verifyStatus: ok ? "ok" : "failed",
      verifyError: verdict,
    });
    log.info({ schedule: schedule.id, backupId: backup.id, ok }, "restore drill finished");
    if (ok) {
      await this.deps.alerts.resolve("drill_failed", "schedule", schedule.id);
      return;
    }
    const { alert } = await this.deps.alerts.raise({
      kind: "drill_failed",
      severity: "critical",
      subjectType: "schedule",
      subjectId: schedule.id,
      subjectName: schedule.name,
      message: `The restore drill of the backup of "${backup.projectName}" failed: ${verdict}`,
      details: { backupId: backup.id },
    });
    this.notify("failure", schedule, { ...backup, verifyStatus: "failed" }, alert.message, alert);
  }

  /** Writes the run's end and its consequences: schedule status, alerts, notifications. */
  private async finishRun(
    ctx: RunContext,
    status: ScheduleRunStatus,
    backupId: string | null,
    error: string | null,
  ): Promise<void> {
    try {
      await this.writeRunEnd(ctx, status, backupId, error);
    } finally {
      ctx.ended?.();
    }
  }

  private async writeRunEnd(
    ctx: RunContext,
    status: ScheduleRunStatus,
    backupId: string | null,
    error: string | null,
  ): Promise<void> {
    const { store, alerts } = this.deps;
    if (this.active.get(ctx.scheduleId) === ctx) this.active.delete(ctx.scheduleId);
    const now = this.clock.now();
    await store.scheduler.runs.update(ctx.runId, { status, error, finishedAt: now, ...(backupId ? { backupId } : {}) });
    const before = await store.scheduler.schedules.byId(ctx.scheduleId);
    if (!before) return;
    const success = status === "completed" ? true : status === "failed" ? false : null;
    const schedule =
      (await store.scheduler.schedules.recordOutcome(ctx.scheduleId, { at: now, status, backupId, success })) ?? before;
    const backup = backupId ? await store.backups.byId(backupId) : undefined;
    if (status === "completed") {
      const fixed = await alerts.resolve("backup_failed", "schedule", schedule.id);
      const found = await alerts.resolve("missed_backup", "schedule", schedule.id);
      if (before.consecutiveFailures > 0 || fixed || found) {
        this.notify("recovery", schedule, backup, `Scheduled backups of this project work again (schedule "${schedule.name}").`);
      }
      this.notify("success", schedule, backup, `Scheduled backup completed (schedule "${schedule.name}").`);
    } else if (status === "failed") {
      const project = await store.projects.byId(schedule.projectId);
      const { alert } = await alerts.raise({
        kind: "backup_failed",
        severity: "critical",
        subjectType: "schedule",
        subjectId: schedule.id,
        subjectName: schedule.name,
        message: `The scheduled backup of "${project?.name ?? schedule.name}" failed: ${error ?? "unknown error"}`,
        details: { backupId, consecutiveFailures: schedule.consecutiveFailures },
      });
      this.notify("failure", schedule, backup, alert.message, alert);
    }
  }

  /** The dead man's switch: an enabled schedule with no completed backup within twice its interval. */
  async checkMissed(): Promise<void> {
    const { store, alerts } = this.deps;
    const now = this.clock.now();
    for (const schedule of await store.scheduler.schedules.list()) {
      if (!schedule.enabled) continue;
      let interval: number | undefined;
      try {
        interval = cronInterval({ cron: schedule.cron, timezone: schedule.timezone }, now);
      } catch {
        continue;
      }
      if (!interval) continue;
      const since = schedule.lastSuccessAt ?? schedule.enabledAt ?? schedule.createdAt;
      if (now.getTime() - since.getTime() <= 2 * interval) continue;
      const project = await store.projects.byId(schedule.projectId);
      const { alert, created } = await alerts.raise({
        kind: "missed_backup",
        severity: "critical",
        subjectType: "schedule",
        subjectId: schedule.id,
        subjectName: schedule.name,
        message: `No completed backup of "${project?.name ?? schedule.name}" since ${since.toISOString()}: schedule "${schedule.name}" should complete one every ${human(interval)}${schedule.lastStatus ? ` (last run: ${schedule.lastStatus})` : " (no run has started)"}`,
        details: { lastSuccessAt: schedule.lastSuccessAt?.toISOString() ?? null, intervalMs: interval },
      });
      if (created) this.notify("missed", schedule, undefined, alert.message, alert);
    }
  }

  /**
   * Runs left `running` by a server that stopped: at start every such run of this (single-process
   * SQLite) server, and on PostgreSQL those whose owner has been silent for `staleRunMs`.
   */
  private async failStaleRuns(atStart: boolean): Promise<void> {
    const { store } = this.deps;
    const staleMs = this.options.staleRunMs ?? 120_000;
    const now = this.clock.now().getTime();
    for (const run of await store.scheduler.runs.running()) {
      if (run.owner === this.owner) continue;
      const backup = run.backupId ? await store.backups.byId(run.backupId) : undefined;
      const backupEnded = backup ? ["completed", "failed", "cancelled"].includes(backup.status) : false;
      const silent = now - (run.heartbeatAt ?? run.startedAt).getTime() > staleMs;
      if (!(silent || backupEnded || (atStart && store.dialect === "sqlite"))) continue;
      const status: ScheduleRunStatus = backup?.status === "completed" ? "completed" : "failed";
      await this.finishRun(
        { runId: run.id, scheduleId: run.scheduleId },
        status,
        run.backupId,
        status === "completed" ? null : "interrupted: the server stopped during this run",
      );
    }
  }

  private notify(
    event: Notice["event"],
    schedule: ScheduleRecord,
    backup: BackupRecord | undefined,
    message: string,
    alert?: { id: string; kind: string; severity: string },
  ): void {
    this.track(
      (async () => {
        const project = await this.deps.store.projects.byId(schedule.projectId);
        const title =
          event === "failure"
            ? `Backup failed: ${project?.name ?? schedule.name}`
            : event === "recovery"
              ? `Backups recovered: ${project?.name ?? schedule.name}`
              : event === "missed"
                ? `Backup missed: ${project?.name ?? schedule.name}`
                : event === "success"
                  ? `Backup completed: ${project?.name ?? schedule.name}`
                  : `Warning: ${project?.name ?? schedule.name}`;
        this.deps.notifications.dispatch({
          event,
          title,
          message,
          schedule: { id: schedule.id, name: schedule.name },
          project: project ? { id: project.id, name: project.name } : null,
          backup: backup
            ? {
                id: backup.id,
                status: backup.status,
                error: backup.error,
                size: backup.bytesStored,
                finishedAt: backup.finishedAt?.toISOString() ?? null,
              }
            : null,
          alert: alert ? { id: alert.id, kind: alert.kind, severity: alert.severity } : null,
        });
      })(),
    );
  }
}

/** Waits `ms`; false when the signal fired first. */
function abortableSleep(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

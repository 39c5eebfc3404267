/**
 * @module server/jobs/queue
 * Which server runs a job. The choice follows the metadata database (`DATABASE_URL`), never a flag:
 * - SQLite (`file:…`, the embedded default) is one server: a job is handed to this process's handler
 *   at once (`InProcessQueue`), no queue server needed.
 * - PostgreSQL (`postgres://…`) may have N `stowage serve` processes: jobs go through `pg-boss` in
 *   that same database (`PgBossQueue`). Each server takes at most `BACKUP_CONCURRENCY` jobs at a time
 *   (one pg-boss worker per slot; a worker holds its job until the backup ends), so the servers share
 *   the work and a job is fetched by exactly one of them (`FOR UPDATE SKIP LOCKED` inside pg-boss).
 * A scheduled run is sent with singletonKey `scheduleId:dueAt` and a job id derived from that key:
 * whichever server wins the due time (the compare-and-set on `next_run_at`), a second send of the
 * same due time is dropped by pg-boss, and the run row's unique (schedule, due time) stays the last
 * guard. A scheduler pass sends all its runs in one `insert` and asks which schedules still have a
 * run in the queue in one query (round trips per pass do not grow with the number of schedules).
 * A run-now (`POST /api/schedules/:id/run`) is a scheduled run too (reason `manual`, its run id
 * chosen by the request), so any server with a free slot takes it. Manual backups are sent with
 * their backup id as job id; the worker then claims the row (`owner` set where it is still null),
 * so a job delivered twice still runs once.
 */
import { createHash } from "node:crypto";
import PgBoss from "pg-boss";
import type { Logger } from "pino";

export interface ScheduledRunMessage {
  readonly scheduleId: string;
  /** ISO time of the due time the sender claimed (a run-now: the time of the request). */
  readonly dueAt: string;
  readonly reason: "cron" | "catch_up" | "manual";
  /** The run's id when the sender already answered it (a run-now's 202); otherwise the taker picks one. */
  readonly runId?: string;
}

/** A job this server took: answered once it started, with a promise of its end. */
export interface JobStarted {
  readonly done: Promise<void>;
}

export interface JobHandlers {
  backup(backupId: string): Promise<JobStarted>;
  scheduledRun(message: ScheduledRunMessage): Promise<JobStarted>;
}

export interface JobQueue {
  /** True when several servers may share the metadata database (and the work). */
  readonly shared: boolean;
  /** Connects (pg-boss: installs or migrates its schema, creates the queue). */
  start(): Promise<void>;
  /** Begins taking jobs; called once the handlers exist and crash recovery ran. */
  listen(handlers: JobHandlers): Promise<void>;
  sendBackup(backupId: string): Promise<void>;
  /** False when this due time was already sent (by this server or another one). */
  sendScheduledRun(message: ScheduledRunMessage): Promise<boolean>;
  /**
   * Sends a scheduler pass's runs at once (pg-boss: one insert; a due time already sent is dropped
   * by its job id and singletonKey). In-process: each is handed over in turn.
   */
  sendScheduledRuns(messages: readonly ScheduledRunMessage[]): Promise<void>;
  /** Which of these schedules have a run waiting in the queue or being run from it (any server); one query. */
  pendingRuns(scheduleIds: readonly string[]): Promise<Set<string>>;
  /** Resolves when no job is waiting or running, here or (pg-boss) on any server (tests, benchmark). */
  idle(): Promise<void>;
  /** Stops taking new jobs (running ones go on: the job runner aborts them). */
  stopTaking(): Promise<void>;
  /** Disconnects once the running jobs settled. */
  close(): Promise<void>;
}

/** One process: every job runs here, handed over at once. */
export class InProcessQueue implements JobQueue {
  readonly shared = false;
  private handlers: JobHandlers | undefined;
  private readonly inFlight = new Set<Promise<void>>();

  async start(): Promise<void> {}

  async listen(handlers: JobHandlers): Promise<void> {
    this.handlers = handlers;
  }

  async sendBackup(backupId: string): Promise<void> {
    this.track(await this.need().backup(backupId));
  }

  async sendScheduledRun(message: ScheduledRunMessage): Promise<boolean> {
    this.track(await this.need().scheduledRun(message));
    return true;
  }

  async sendScheduledRuns(messages: readonly ScheduledRunMessage[]): Promise<void> {
    for (const message of messages) await this.sendScheduledRun(message);
  }

  /** Runs start at once here (their run row says whether they are still going). */
  async pendingRuns(): Promise<Set<string>> {
    return new Set();
  }

  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  async stopTaking(): Promise<void> {}

  async close(): Promise<void> {}

  private need(): JobHandlers {
    if (!this.handlers) throw new Error("the job queue has no handlers yet");
    return this.handlers;
  }

  private track(started: JobStarted): void {
    const done = started.done.catch(() => {});
    this.inFlight.add(done);
    void done.finally(() => this.inFlight.delete(done));
  }
}

/** pg-boss's queue name (one queue for both kinds: one set of workers = `BACKUP_CONCURRENCY` slots). */
export const JOB_QUEUE = "stowage-jobs";
/**
 * Its policy: at most one queued and one active job per singletonKey. pg-boss writes it on every job
 * of the queue, and its partial index for this policy (`<partition>_i3` on name, state and singleton
 * key, `WHERE state <= 'active' AND policy = 'stately'`) is what `pendingRuns` reads.
 */
const QUEUE_POLICY = "stately";

type Message = { kind: "backup"; backupId: string } | ({ kind: "scheduled-run" } & ScheduledRunMessage);

/** A UUID derived from a key: the same due time always maps to the same pg-boss job id. */
export function jobIdOf(key: string): string {
  const h = createHash("sha256").update(key).digest();
  h[6] = (h[6]! & 0x0f) | 0x80; // version 8 (custom)
  h[8] = (h[8]! & 0x3f) | 0x80; // RFC 4122 variant
  const x = h.subarray(0, 16).toString("hex");
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}

export interface PgBossQueueOptions {
  readonly url: string;
  /** Jobs this server runs at once (`BACKUP_CONCURRENCY`). */
  readonly concurrency: number;
  readonly log: Logger;
  /** How often an idle worker asks for a job (pg-boss's minimum is 0.5 s). */
  readonly pollingIntervalSeconds?: number;
}

/** Several servers on one PostgreSQL metadata database: jobs through pg-boss in that database. */
export class PgBossQueue implements JobQueue {
  readonly shared = true;
  private readonly boss: PgBoss;
  private readonly workers: string[] = [];
  private readonly inFlight = new Set<Promise<unknown>>();
  private handlers: JobHandlers | undefined;

  constructor(private readonly options: PgBossQueueOptions) {
    this.boss = new PgBoss({
      connectionString: options.url,
      application_name: "stowage-jobs",
      max: Math.max(2, Math.min(options.concurrency + 2, 10)),
      // Cron is ours (croner, per schedule, with catch-up rules); pg-boss only carries the jobs.
      schedule: false,
      // Finished jobs leave the live table after an hour (pendingRuns reads only its unfinished rows).
      archiveCompletedAfterSeconds: 3600,
    });
    this.boss.on("error", (error) => options.log.warn({ err: error }, "job queue (pg-boss) error"));
  }

  async start(): Promise<void> {
    await this.boss.start();
    if (await this.boss.getQueue(JOB_QUEUE)) return;
    try {
      await this.boss.createQueue(JOB_QUEUE, {
        name: JOB_QUEUE,
        policy: QUEUE_POLICY,
        // Transient failures are retried inside a run (scheduler); a job is never delivered again.
        retryLimit: 0,
        // Just under pg-boss's 24 h maximum: a worker keeps its job for the whole backup.
        expireInSeconds: 24 * 3600 - 60,
        retentionMinutes: 24 * 60,
      });
    } catch (error) {
      // Another server created it at the same moment.
      if (!(await this.boss.getQueue(JOB_QUEUE))) throw error;
    }
  }

  async listen(handlers: JobHandlers): Promise<void> {
    this.handlers = handlers;
    for (let i = 0; i < this.options.concurrency; i++) {
      this.workers.push(
        await this.boss.work<Message>(
          JOB_QUEUE,
          { batchSize: 1, pollingIntervalSeconds: this.options.pollingIntervalSeconds ?? 1 },
          async ([job]) => {
            if (job) await this.run(job.data);
          },
        ),
      );
    }
  }

  async sendBackup(backupId: string): Promise<void> {
    await this.boss.send(JOB_QUEUE, { kind: "backup", backupId } satisfies Message, {
      id: backupId,
      singletonKey: `backup:${backupId}`,
    });
    this.nudge();
  }

  async sendScheduledRun(message: ScheduledRunMessage): Promise<boolean> {
    const singletonKey = `${message.scheduleId}:${message.dueAt}`;
    const id = await this.boss.send(JOB_QUEUE, { kind: "scheduled-run", ...message } satisfies Message, {
      id: jobIdOf(singletonKey),
      singletonKey,
    });
    this.nudge();
    return id !== null;
  }

  async sendScheduledRuns(messages: readonly ScheduledRunMessage[]): Promise<void> {
    if (messages.length === 0) return;
    // pg-boss's insert takes the queue's policy and options, and ON CONFLICT DO NOTHING drops a due
    // time another server already sent (same derived job id); it does not say which were dropped.
    await this.boss.insert(
      messages.map((message) => {
        const singletonKey = `${message.scheduleId}:${message.dueAt}`;
        return {
          name: JOB_QUEUE,
          id: jobIdOf(singletonKey),
          singletonKey,
          data: { kind: "scheduled-run", ...message } satisfies Message,
        };
      }),
    );
    this.nudge();
  }

  /**
   * The queue's unfinished jobs (created, retry, active) through pg-boss's own partial index for the
   * queue's policy: the conditions on `policy` and `state <= 'active'` are that index's predicate.
   * Without them the query read every job still in the table, finished ones included (they stay an
   * hour). EXPLAIN ANALYZE, 100 ids asked: 36,100 jobs of which 100 unfinished (the benchmark's hour)
   * 4.6 ms seq scan, 2,076 buffers → 0.18 ms index scan, 182 buffers; 10,000 jobs of which 1,000
   * unfinished 0.99 → 0.38 ms. An expression index on `data->>'scheduleId'` gave 0.21 and 0.19 ms:
   * not worth an index of ours inside pg-boss's schema (our migrations run before pg-boss creates
   * it, and pg-boss's own migrations do not know it). With 10,000 unfinished jobs and 1,000 ids
   * asked, every variant is a 3.5 ms seq scan.
   */
  async pendingRuns(scheduleIds: readonly string[]): Promise<Set<string>> {
    if (scheduleIds.length === 0) return new Set();
    const { rows } = await this.boss
      .getDb()
      .executeSql(
        `select distinct data->>'scheduleId' as id from pgboss.job where name = $1 and policy = '${QUEUE_POLICY}' and state <= 'active' and data->>'kind' = 'scheduled-run' and data->>'scheduleId' = any($2::text[])`,
        [JOB_QUEUE, [...scheduleIds]],
      );
    return new Set((rows as Array<{ id: string }>).map((r) => r.id));
  }

  async idle(): Promise<void> {
    for (;;) {
      if (this.inFlight.size > 0) {
        await Promise.allSettled([...this.inFlight]);
        continue;
      }
      if ((await this.boss.getQueueSize(JOB_QUEUE, { before: "completed" })) === 0 && this.inFlight.size === 0) return;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async stopTaking(): Promise<void> {
    for (const id of this.workers.splice(0)) await this.boss.offWork({ id });
  }

  async close(): Promise<void> {
    await this.stopTaking();
    await Promise.allSettled([...this.inFlight]);
    await this.boss.stop({ graceful: true, timeout: 5_000, wait: true });
  }

  /** This server's idle workers fetch at once instead of at their next poll (lower scheduling delay). */
  private nudge(): void {
    for (const id of this.workers) this.boss.notifyWorker(id);
  }

  private async run(message: Message): Promise<void> {
    const handlers = this.handlers!;
    const task = (async () => {
      const started =
        message.kind === "backup"
          ? await handlers.backup(message.backupId)
          : await handlers.scheduledRun({
              scheduleId: message.scheduleId,
              dueAt: message.dueAt,
              reason: message.reason,
              ...(message.runId ? { runId: message.runId } : {}),
            });
      await started.done;
    })();
    this.inFlight.add(task);
    try {
      await task;
    } finally {
      this.inFlight.delete(task);
    }
  }
}

/** The queue for this metadata database: pg-boss on PostgreSQL, in-process otherwise. */
export function jobQueueFor(databaseUrl: string, options: Omit<PgBossQueueOptions, "url">): JobQueue {
  return /^postgres(ql)?:\/\//i.test(databaseUrl) ? new PgBossQueue({ ...options, url: databaseUrl }) : new InProcessQueue();
}

/**
 * @module server/jobs/runner
 * Backups and restores run as jobs inside the server process: at most `concurrency` at a time (FIFO
 * beyond that), each with its own AbortController. Progress goes to per-job channels that the SSE
 * routes subscribe to; a late subscriber gets the last event first. `finished` is emitted once per
 * job with its final status: the hook for notifications and schedules (issue 12).
 */
import { EventEmitter } from "node:events";
import type { Logger } from "pino";

export type JobKind = "backup" | "restore";

export interface JobEvent {
  /** `status`: the row changed state; `progress`: bytes moved; `done`: final state, the stream ends. */
  readonly type: "status" | "progress" | "done";
  readonly data: Record<string, unknown>;
}

export interface JobFinished {
  readonly kind: JobKind;
  readonly id: string;
  /** Final status as written on the row (`completed`, `failed`, `cancelled`). */
  readonly status: string;
  readonly error?: string | null;
}

export type JobBody = (signal: AbortSignal, publish: (event: JobEvent) => void) => Promise<JobFinished>;

interface Job {
  readonly id: string;
  readonly kind: JobKind;
  readonly body: JobBody;
  readonly controller: AbortController;
  /** Called instead of the body when the job is cancelled while still queued. */
  readonly onCancelQueued: () => Promise<JobFinished>;
}

interface Channel {
  readonly emitter: EventEmitter;
  last?: JobEvent;
  done?: JobEvent;
}

export interface JobRunnerEvents {
  finished: [JobFinished];
}

export class JobRunner extends EventEmitter<JobRunnerEvents> {
  private readonly queue: Job[] = [];
  private readonly running = new Map<string, { job: Job; promise: Promise<void> }>();
  private readonly channels = new Map<string, Channel>();
  private stopped = false;

  constructor(
    readonly concurrency: number,
    private readonly log: Logger,
  ) {
    super();
    // One `finished` listener per job a queue worker waits for (whenFinished).
    this.setMaxListeners(0);
  }

  /** Resolves with the job's final status; call before `submit` so the event cannot be missed. */
  whenFinished(id: string): Promise<JobFinished> {
    return new Promise((resolve) => {
      const listener = (result: JobFinished) => {
        if (result.id !== id) return;
        this.off("finished", listener);
        resolve(result);
      };
      this.on("finished", listener);
    });
  }

  /** Queues a job; it starts as soon as a slot is free. */
  submit(id: string, kind: JobKind, body: JobBody, onCancelQueued: () => Promise<JobFinished>): void {
    if (this.stopped) throw new Error("the job runner is stopped");
    this.channel(id);
    this.queue.push({ id, kind, body, controller: new AbortController(), onCancelQueued });
    this.pump();
  }

  isActive(id: string): boolean {
    return this.running.has(id) || this.queue.some((j) => j.id === id);
  }

  get activeCount(): number {
    return this.running.size;
  }

  get queuedCount(): number {
    return this.queue.length;
  }

  /** Aborts a running job or drops a queued one. False when the job is not active here. */
  cancel(id: string): boolean {
    const at = this.queue.findIndex((j) => j.id === id);
    if (at >= 0) {
      const [job] = this.queue.splice(at, 1);
      void job!.onCancelQueued().then(
        (result) => this.finish(job!, result),
        (error) => this.log.error({ err: error, job: id }, "cancelling a queued job failed"),
      );
      return true;
    }
    const run = this.running.get(id);
    if (!run) return false;
    run.job.controller.abort(new Error("cancelled by a user"));
    return true;
  }

  /** Subscribes to a job's events; returns undefined when the job is unknown here (finished long ago). */
  subscribe(
    id: string,
    listener: (event: JobEvent) => void,
  ): { last?: JobEvent; done?: JobEvent; unsubscribe: () => void } | undefined {
    const channel = this.channels.get(id);
    if (!channel) return undefined;
    channel.emitter.on("event", listener);
    return {
      ...(channel.last ? { last: channel.last } : {}),
      ...(channel.done ? { done: channel.done } : {}),
      unsubscribe: () => channel.emitter.off("event", listener),
    };
  }

  /** Aborts everything and waits for the jobs to settle (shutdown). Queued jobs stay as they are on their rows. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.queue.splice(0);
    for (const { job } of this.running.values()) job.controller.abort(new Error("the server is stopping"));
    await Promise.allSettled([...this.running.values()].map((r) => r.promise));
  }

  /** Resolves when no job runs and none is queued (tests, benchmarks). */
  async idle(): Promise<void> {
    while (this.running.size > 0 || this.queue.length > 0) {
      await Promise.allSettled([...this.running.values()].map((r) => r.promise));
      await new Promise((r) => setImmediate(r));
    }
  }

  private channel(id: string): Channel {
    let channel = this.channels.get(id);
    if (!channel) {
      const emitter = new EventEmitter();
      emitter.setMaxListeners(100);
      channel = { emitter };
      this.channels.set(id, channel);
    }
    return channel;
  }

  private publish(id: string, event: JobEvent): void {
    const channel = this.channel(id);
    if (event.type === "done") channel.done = event;
    else channel.last = event;
    channel.emitter.emit("event", event);
  }

  private finish(job: Job, result: JobFinished): void {
    this.publish(job.id, { type: "done", data: { id: job.id, status: result.status, error: result.error ?? null } });
    this.emit("finished", result);
    // Keep the channel briefly so a subscriber that raced the end still sees `done`; then the row answers.
    setTimeout(() => this.channels.delete(job.id), 30_000).unref();
  }

  private pump(): void {
    while (!this.stopped && this.running.size < this.concurrency && this.queue.length > 0) {
      const job = this.queue.shift()!;
      const promise = (async () => {
        let result: JobFinished;
        try {
          result = await job.body(job.controller.signal, (event) => this.publish(job.id, event));
        } catch (error) {
          this.log.error({ err: error, job: job.id, kind: job.kind }, "job crashed");
          result = { kind: job.kind, id: job.id, status: "failed", error: (error as Error).message };
        }
        this.running.delete(job.id);
        this.finish(job, result);
        this.pump();
      })();
      this.running.set(job.id, { job, promise });
    }
  }
}

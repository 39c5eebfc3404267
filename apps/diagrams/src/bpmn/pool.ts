/**
 * @module bpmn/pool
 * Where the heavy work on untrusted BPMN runs: every parse of a document a client sends (admission
 * of a new diagram, a save, an import) and every diff of two versions. Parsing is synchronous CPU
 * work (hundreds of ms to seconds for multi-MB documents, ~1 GB for a crafted one before the element
 * cap): on the request thread it blocks every other request. The pool runs it on a few piscina
 * worker threads with a bounded queue:
 *  - `maxQueue` tasks wait at most (beyond one running per thread); one more is refused at once with 503 SERVER_BUSY and
 *    `Retry-After` (the client retries later; nothing is stored).
 *  - each task has a deadline (`taskTimeoutMs`): a task past it is aborted (its thread is replaced)
 *    and answered 503.
 *  - each thread has a heap ceiling (`maxHeapMb`); a document that would exhaust it ends its thread
 *    (replaced by piscina) and answers 422 TOO_MANY_ELEMENTS instead of taking the process down.
 * The size check (413) and nothing else runs here, before a document is copied to a worker.
 *
 * Except small documents: a document of at most `inlineMaxBytes` (default 32 KiB, a typical diagram
 * is 5–30 KB) is validated in the calling thread. Its parse takes well under a millisecond (0.4 ms
 * for a 7 KB diagram) and cannot exhaust memory (32 KiB is at most ~8,000 elements), while the hand-off
 * to a worker costs more than that on 2 cores, and a queue sized for multi-MB documents refused
 * ordinary saves: 16 concurrent saves against 1 thread + 8 queued answered half of them 503 (issue 17).
 *
 * `inThreadBpmn` does the same work in the calling thread: VALIDATION_THREADS=0 (development, tests
 * that do not exercise the pool).
 */
import { availableParallelism } from "node:os";
import { Piscina } from "piscina";
import { ApiError } from "../errors.ts";
import type { DiagramDiff } from "./diff.ts";
import { DEFAULT_MAX_DIAGRAM_ELEMENTS, tooManyElements } from "./element-count.ts";
import { type BpmnTask, runTask, type TaskOutcome } from "./tasks.ts";
import { assertDiagramSize, byteLength } from "./validate.ts";

export interface BpmnWork {
  /**
   * Admits `xml` as a diagram document: 413 over `maxBytes`, 422 TOO_MANY_ELEMENTS over the element
   * cap, 422 INVALID_BPMN when bpmn-moddle refuses it, 503 SERVER_BUSY when the pool is full.
   */
  validate(xml: string, maxBytes: number): Promise<void>;
  /** The semantic diff of two stored versions (same errors as validate, without the size check). */
  diff(oldXml: string, newXml: string): Promise<DiagramDiff>;
  close(): Promise<void>;
}

export interface BpmnPoolOptions {
  /** Worker threads (at least 1). */
  readonly threads: number;
  /** Tasks that may wait for a thread; one more answers 503. Default 8 per thread. */
  readonly maxQueue?: number;
  readonly maxElements?: number;
  /** Deadline of one task, waiting included. Default 30 s. */
  readonly taskTimeoutMs?: number;
  /** V8 old-generation ceiling per thread. Default 1024 MiB. */
  readonly maxHeapMb?: number;
  /** Documents of at most this many bytes are validated in the calling thread. Default 32 KiB; 0 sends all to the pool. */
  readonly inlineMaxBytes?: number;
}

/** Default `inlineMaxBytes`. */
export const INLINE_VALIDATION_MAX_BYTES = 32 * 1024;

/** Seconds a client is told to wait (`Retry-After`) when the queue is full. */
export const BUSY_RETRY_AFTER_SECONDS = 2;

/** Default pool size: every core but one (which the event loop and the database need), 1 to 4. */
export function defaultBpmnThreads(): number {
  return Math.max(1, Math.min(4, availableParallelism() - 1));
}

export function serverBusy(why: string): ApiError {
  return new ApiError(
    503,
    "SERVER_BUSY",
    `${why}; nothing was stored, retry in ${BUSY_RETRY_AFTER_SECONDS} seconds`,
    { retry_after: BUSY_RETRY_AFTER_SECONDS },
    { headers: { "Retry-After": String(BUSY_RETRY_AFTER_SECONDS) } },
  );
}

function unwrap<T>(outcome: TaskOutcome<unknown>): T {
  if (outcome.ok) return outcome.value as T;
  if (outcome.code === "TOO_MANY_ELEMENTS") throw tooManyElements(outcome.maxElements ?? 0);
  throw new ApiError(outcome.status, outcome.code, outcome.message);
}

function work(
  run: (task: BpmnTask) => Promise<TaskOutcome<unknown>>,
  maxElements: number,
  inlineMaxBytes = 0,
): Omit<BpmnWork, "close"> {
  return {
    async validate(xml, maxBytes) {
      // The size check first, here: an oversized document is never copied to a worker.
      const bytes = byteLength(xml);
      assertDiagramSize(bytes, maxBytes);
      const task = { op: "validate", xml, maxElements } as const;
      unwrap(await (bytes <= inlineMaxBytes ? runTask(task) : run(task)));
    },
    async diff(oldXml, newXml) {
      return unwrap<DiagramDiff>(await run({ op: "diff", oldXml, newXml, maxElements }));
    },
  };
}

/** Does the work in the calling thread (no queue, no deadline). */
export function inThreadBpmn(maxElements = DEFAULT_MAX_DIAGRAM_ELEMENTS): BpmnWork {
  return { ...work(runTask, maxElements), close: async () => {} };
}

/** Starts `threads` worker threads now and keeps them until `close`. */
export function createBpmnPool(options: BpmnPoolOptions): BpmnWork {
  const threads = Math.max(1, options.threads);
  const maxElements = options.maxElements ?? DEFAULT_MAX_DIAGRAM_ELEMENTS;
  const timeoutMs = options.taskTimeoutMs ?? 30_000;
  const maxQueue = options.maxQueue ?? threads * 8;
  const pool = new Piscina<BpmnTask, TaskOutcome<unknown>>({
    filename: new URL("./bpmn-worker.mjs", import.meta.url).href,
    minThreads: threads,
    maxThreads: threads,
    // Threads stay up: starting one (tsx + bpmn-moddle's type registry) costs far more than a parse.
    idleTimeout: Number.POSITIVE_INFINITY,
    resourceLimits: { maxOldGenerationSizeMb: options.maxHeapMb ?? 1024 },
  });
  // The bound is counted here: piscina's own maxQueue does not apply to tasks with an AbortSignal
  // (they wait in its skip queue), and every task here has one for its deadline.
  let inFlight = 0;
  const run = async (task: BpmnTask): Promise<TaskOutcome<unknown>> => {
    if (inFlight >= threads + maxQueue) throw serverBusy("the server is parsing too many diagrams at once");
    inFlight++;
    try {
      return await pool.run(task, { signal: AbortSignal.timeout(timeoutMs) });
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (error instanceof Error && error.name === "AbortError") {
        throw serverBusy(`the document was not processed within ${Math.round(timeoutMs / 1000)} s`);
      }
      if (code === "ERR_WORKER_OUT_OF_MEMORY") throw tooManyElements(maxElements);
      throw error;
    } finally {
      inFlight--;
    }
  };
  return {
    ...work(run, maxElements, options.inlineMaxBytes ?? INLINE_VALIDATION_MAX_BYTES),
    close: () => pool.destroy(),
  };
}

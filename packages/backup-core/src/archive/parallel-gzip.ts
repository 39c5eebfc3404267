/**
 * @module archive/parallel-gzip
 * gzip on several cores, as pigz does: the input is cut into blocks of `blockSize` bytes (1 MiB),
 * each block is deflated on its own into an independent gzip member on a worker thread, and the
 * members are written in input order. A file of concatenated members is a valid gzip file (RFC 1952
 * §2.2): `gunzip`, `zcat | psql`, Node's createGunzip and Stowage's restore/verify read it as one.
 *
 * Why members and not one stream: a member needs nothing from the one before it, so blocks compress
 * in any order on any thread. The price is the dictionary restarting every block plus 18 bytes of
 * header and trailer: on the bench dump (145 MB of md5 text and jsonb) 1 MiB members are 0.014 %
 * larger than one zlib level 6 stream (2 MiB: 0.009 %, 512 KiB: 0.04 %).
 *
 * Memory stays flat whatever the input size: at most `maxInFlight` blocks (2 per worker by default:
 * one deflating, one queued) are handed out; while that many are out, the stage neither reads its
 * source (backpressure upstream) nor hands out more; a slow consumer holds the stage at its `yield`,
 * so nothing piles up either. Block buffers travel to the worker and back by transfer (no copy) and
 * are reused.
 *
 * Workers start only once the input exceeds one block: a small file (roles.sql, most schemas) is
 * compressed in one zlib job on libuv's pool, as before, without paying a thread's start-up.
 * The worker is an eval'd CommonJS script with no execArgv, so it runs the same from the sources
 * (tsx, vitest) and from the esbuild bundle, and never loads a TypeScript loader of its own.
 *
 * Failures: a worker that throws, exits or cannot start fails the stage with
 * `BackupError("COMPRESSION_FAILED")`; the other workers are terminated. When the stage ends for any
 * reason (done, the pipeline's signal aborted, the consumer stopped, an error) every worker is
 * terminated before the stage returns. `liveGzipWorkers()` counts the threads not yet exited.
 */
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { gzip } from "node:zlib";
import { BackupError } from "../errors.ts";

/** Input bytes per gzip member. */
export const GZIP_BLOCK_BYTES = 1024 * 1024;

/** `STOWAGE_COMPRESS_THREADS`: how many gzip worker threads a backup may use. */
export const COMPRESS_THREADS_ENV = "STOWAGE_COMPRESS_THREADS";

/** Upper bound on threads: each one holds ~2 blocks and a V8 isolate (~5 MB). */
const MAX_THREADS = 64;

/**
 * The default is one thread per core but at most 3: measured peak RSS of a CLI backup (bundle) of the
 * 1.1 GiB bench database is 126 MiB with 2 threads, 137–140 with 3 and 145–154 with 4 (each thread
 * is an isolate plus its blocks in flight, and the garbage buffers V8 lets accumulate before it
 * collects), so 3 keep a backup under 150 MB on any machine. More can be asked for explicitly.
 */
const DEFAULT_MAX_THREADS = 3;

// Message protocol. To the worker: { id, buffer, length, level }. From it: { id, out, buffer } with
// `buffer` the input given back for reuse, or { id, error }.
const WORKER_SOURCE = `
"use strict";
const { parentPort } = require("node:worker_threads");
const zlib = require("node:zlib");
parentPort.on("message", (job) => {
  try {
    // One output buffer larger than deflate's worst case, so gzipSync allocates it once and returns
    // a view of it (no concatenation); it is transferred out whole, so no garbage stays here.
    const out = zlib.gzipSync(new Uint8Array(job.buffer, 0, job.length), {
      level: job.level,
      chunkSize: job.length + (job.length >>> 8) + 4096,
    });
    const own = out.byteOffset === 0 && out.buffer.byteLength >= out.length && out.buffer.byteLength > 4096;
    const body = own ? out.buffer : new Uint8Array(out).buffer;
    parentPort.postMessage({ id: job.id, out: body, length: out.length, buffer: job.buffer }, [body, job.buffer]);
  } catch (error) {
    parentPort.postMessage({ id: job.id, error: String(error && error.stack || error) });
  }
});
`;

let liveWorkers = 0;

/** Gzip worker threads started and not yet exited, in this process (tests assert it falls to 0). */
export function liveGzipWorkers(): number {
  return liveWorkers;
}

export interface ParallelGzipOptions {
  /** zlib level 1–9; default 6. */
  readonly level?: number;
  /** Worker threads; default `STOWAGE_COMPRESS_THREADS`, else the available cores (at most 3). */
  readonly threads?: number;
  /** Where `STOWAGE_COMPRESS_THREADS` is read; default process.env. */
  readonly env?: NodeJS.ProcessEnv;
  /** Input bytes per member; default 1 MiB. */
  readonly blockSize?: number;
  /** Blocks handed out and not yet written; default 2 per thread. */
  readonly maxInFlight?: number;
  /** Called with each worker as it starts (fault tests stop one mid-stream). */
  readonly onWorker?: (worker: Worker) => void;
}

/**
 * The thread count: an explicit option, else `STOWAGE_COMPRESS_THREADS`, else the available cores (at most 3).
 * Throws INVALID_OPTIONS for anything but a whole number from 1 to 64.
 */
export function compressThreads(threads?: number, env: NodeJS.ProcessEnv = process.env): number {
  const raw = threads ?? env[COMPRESS_THREADS_ENV];
  if (raw === undefined || raw === "") return Math.min(availableParallelism(), DEFAULT_MAX_THREADS);
  const n = typeof raw === "number" ? raw : /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : Number.NaN;
  if (!Number.isInteger(n) || n < 1 || n > MAX_THREADS) {
    throw new BackupError(
      "INVALID_OPTIONS",
      `${threads === undefined ? COMPRESS_THREADS_ENV : "compression threads"} must be a whole number from 1 to ${MAX_THREADS} (got ${String(raw)})`,
    );
  }
  return n;
}

interface Job {
  readonly id: number;
  readonly resolve: (out: Buffer) => void;
  readonly reject: (error: Error) => void;
  /** Input; detached while the worker holds it. */
  readonly buffer: ArrayBuffer;
  readonly length: number;
}

interface Slot {
  readonly worker: Worker;
  job: Job | undefined;
}

/** A fixed set of gzip worker threads sharing one queue of blocks; one per stage run. */
class GzipWorkers {
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private readonly spare: ArrayBuffer[] = [];
  private nextId = 0;
  private failure: Error | undefined;
  private readonly exits: Promise<void>[] = [];

  constructor(
    private readonly threads: number,
    private readonly level: number,
    private readonly blockSize: number,
    /** Block buffers kept for reuse: as many as can be out at once, so none is allocated twice. */
    private readonly maxSpare: number,
    private readonly onWorker?: (worker: Worker) => void,
  ) {}

  /** A block buffer to fill: one given back by a worker, or a new one. */
  takeBuffer(): ArrayBuffer {
    return this.spare.pop() ?? new ArrayBuffer(this.blockSize);
  }

  /** Deflates `length` bytes of `buffer` (which is transferred: do not touch it afterwards). */
  compress(buffer: ArrayBuffer, length: number): Promise<Buffer> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.slots.length === 0) this.start();
    return new Promise<Buffer>((resolve, reject) => {
      this.queue.push({ id: this.nextId++, resolve, reject, buffer, length });
      this.dispatch();
    });
  }

  private start(): void {
    for (let i = 0; i < this.threads; i++) {
      let worker: Worker;
      try {
        worker = new Worker(WORKER_SOURCE, { eval: true, execArgv: [], resourceLimits: { maxYoungGenerationSizeMb: 4 } });
      } catch (error) {
        this.fail(
          new BackupError("COMPRESSION_FAILED", `cannot start a gzip worker thread: ${(error as Error).message}`, {
            cause: error,
          }),
        );
        return;
      }
      liveWorkers++;
      const slot: Slot = { worker, job: undefined };
      this.slots.push(slot);
      this.exits.push(
        new Promise<void>((resolve) => {
          worker.once("exit", (code) => {
            liveWorkers--;
            if (!this.failure) {
              this.fail(new BackupError("COMPRESSION_FAILED", `a gzip worker thread stopped unexpectedly (exit code ${code})`));
            }
            resolve();
          });
        }),
      );
      worker.on("error", (error) => {
        this.fail(new BackupError("COMPRESSION_FAILED", `a gzip worker thread failed: ${error.message}`, { cause: error }));
      });
      worker.on(
        "message",
        (message: { id: number; out?: ArrayBuffer; length?: number; buffer?: ArrayBuffer; error?: string }) => {
          const job = slot.job;
          slot.job = undefined;
          if (!job || job.id !== message.id) return;
          if (message.error !== undefined || !message.out) {
            const error = new BackupError(
              "COMPRESSION_FAILED",
              `gzip failed in a worker thread: ${message.error ?? "no output"}`,
            );
            job.reject(error);
            this.fail(error);
            return;
          }
          if (message.buffer && this.spare.length < this.maxSpare) this.spare.push(message.buffer);
          job.resolve(Buffer.from(message.out, 0, message.length));
          this.dispatch();
        },
      );
      this.onWorker?.(worker);
    }
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (this.failure || this.queue.length === 0) return;
      if (slot.job) continue;
      const job = this.queue.shift()!;
      slot.job = job;
      slot.worker.postMessage({ id: job.id, buffer: job.buffer, length: job.length, level: this.level }, [job.buffer]);
    }
  }

  /** First failure wins: every waiting and running job is rejected with it, every worker stopped. */
  fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    for (const job of this.queue.splice(0)) job.reject(error);
    for (const slot of this.slots) {
      slot.job?.reject(error);
      slot.job = undefined;
    }
    for (const slot of this.slots) void slot.worker.terminate();
  }

  /** Stops every worker (idempotent) and resolves once all have exited. */
  async close(): Promise<void> {
    this.fail(new BackupError("ABORTED", "the gzip stage was closed"));
    await Promise.all(this.exits);
  }
}

/**
 * A pipeline stage writing a multi-member gzip file, blocks deflated on worker threads.
 * Takes `stream.pipeline`'s `{ signal }` second argument: an aborted pipeline stops the workers at once.
 */
export function parallelGzipStage(
  options: ParallelGzipOptions = {},
): (source: AsyncIterable<Buffer>, pipelineOptions?: { signal?: AbortSignal }) => AsyncGenerator<Buffer> {
  const level = options.level ?? 6;
  const threads = compressThreads(options.threads, options.env);
  const blockSize = options.blockSize ?? GZIP_BLOCK_BYTES;
  const maxInFlight = Math.max(1, options.maxInFlight ?? threads * 2);
  return async function* parallelGzip(source: AsyncIterable<Buffer>, pipelineOptions?: { signal?: AbortSignal }) {
    const workers = new GzipWorkers(threads, level, blockSize, maxInFlight + 1, options.onWorker);
    const signal = pipelineOptions?.signal;
    const onAbort = () => workers.fail(new BackupError("ABORTED", "the backup was aborted"));
    signal?.addEventListener("abort", onAbort, { once: true });
    /** Members in input order; `done` is set when the promise settled (so it can be yielded without waiting). */
    const pending: Array<{ promise: Promise<Buffer>; done: boolean }> = [];
    const track = (promise: Promise<Buffer>) => {
      const entry = { promise, done: false };
      // Settled entries are awaited in order later; this handler only marks them (and keeps a
      // rejection of a later block from being unhandled while an earlier one is awaited).
      promise.then(
        () => {
          entry.done = true;
        },
        () => {
          entry.done = true;
        },
      );
      pending.push(entry);
    };
    let buffer = new Uint8Array(workers.takeBuffer());
    let filled = 0;
    let handedOut = 0;
    try {
      for await (const chunk of source) {
        let offset = 0;
        while (offset < chunk.length) {
          if (filled === blockSize) {
            // A full block is handed out only once more input follows: an input of exactly one
            // block is then compressed without threads, like any smaller one.
            track(workers.compress(buffer.buffer as ArrayBuffer, filled));
            handedOut++;
            buffer = new Uint8Array(workers.takeBuffer());
            filled = 0;
            while (pending.length >= maxInFlight || pending[0]?.done) yield await pending.shift()!.promise;
          }
          const n = Math.min(chunk.length - offset, blockSize - filled);
          buffer.set(chunk.subarray(offset, offset + n), filled);
          filled += n;
          offset += n;
        }
      }
      if (handedOut === 0) {
        // The whole input fits in one block: one zlib job on libuv's pool, no threads started.
        yield await gzipOnce(buffer.subarray(0, filled), level);
      } else if (filled > 0) {
        track(workers.compress(buffer.buffer as ArrayBuffer, filled));
      }
      while (pending.length > 0) yield await pending.shift()!.promise;
    } finally {
      signal?.removeEventListener("abort", onAbort);
      await workers.close();
    }
  };
}

function gzipOnce(input: Uint8Array, level: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    gzip(input, { level }, (error, out) => {
      if (error) reject(new BackupError("COMPRESSION_FAILED", `gzip failed: ${error.message}`, { cause: error }));
      else resolve(out);
    });
  });
}

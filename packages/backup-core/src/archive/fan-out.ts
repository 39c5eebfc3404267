/**
 * @module archive/fan-out
 * Tees one stream of stored bytes to several destinations' `upload()` at once. Each destination
 * reads from its own PassThrough; a chunk is only accepted from upstream once every live
 * destination took it, so the slowest destination paces the dump and memory stays bounded
 * (one highWaterMark per destination). A destination whose upload fails is detached and the others
 * go on; when none is left the write fails, which stops the dump.
 */
import { PassThrough, Writable } from "node:stream";
import type { UploadResult } from "@stowage/storage";

export interface FanOutTarget {
  /** Display name of the destination. */
  readonly name: string;
  /** Starts the upload of `stream`; the promise settles when the destination stored (or refused) it. */
  start(stream: PassThrough): Promise<UploadResult>;
}

export type BranchOutcome =
  | { readonly ok: true; readonly result: UploadResult }
  | { readonly ok: false; readonly error: unknown };

interface Branch {
  readonly target: FanOutTarget;
  readonly stream: PassThrough;
  /** Settles (never rejects) when the upload ends either way. */
  readonly settled: Promise<BranchOutcome>;
  outcome?: BranchOutcome;
}

export class AllDestinationsFailedError extends Error {
  override readonly name = "AllDestinationsFailedError";
}

/** Per-destination buffer: 256 KiB, enough to keep an upload busy without growing with the file. */
const BRANCH_HIGH_WATER_MARK = 256 * 1024;

export class FanOut extends Writable {
  private readonly branches: Branch[];

  constructor(targets: readonly FanOutTarget[]) {
    super({ highWaterMark: BRANCH_HIGH_WATER_MARK });
    this.branches = targets.map((target) => {
      const stream = new PassThrough({ highWaterMark: BRANCH_HIGH_WATER_MARK });
      stream.on("error", () => {}); // reported through the upload's promise
      const branch: Branch = {
        target,
        stream,
        settled: Promise.resolve()
          .then(() => target.start(stream))
          .then(
            (result): BranchOutcome => ({ ok: true, result }),
            (error: unknown): BranchOutcome => ({ ok: false, error }),
          ),
      };
      void branch.settled.then((outcome) => {
        branch.outcome = outcome;
        if (!outcome.ok) stream.destroy();
      });
      return branch;
    });
  }

  private live(): Branch[] {
    return this.branches.filter((b) => !b.outcome || b.outcome.ok);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    const live = this.live().filter((b) => !b.stream.destroyed);
    if (live.length === 0) {
      callback(new AllDestinationsFailedError("every destination failed"));
      return;
    }
    const waits: Promise<unknown>[] = [];
    for (const branch of live) {
      if (!branch.stream.write(chunk)) {
        waits.push(drainOrClose(branch.stream));
      }
    }
    if (waits.length === 0) callback();
    else Promise.all(waits).then(() => callback(), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    for (const branch of this.live()) if (!branch.stream.destroyed) branch.stream.end();
    Promise.all(this.branches.map((b) => b.settled)).then(() => callback(), callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // Upstream failed: make every unfinished upload fail too, so none commits a truncated file.
    if (error) for (const branch of this.branches) if (!branch.outcome) branch.stream.destroy(error);
    callback(error);
  }

  /** Outcome of every target, in the order given; waits for uploads still running. */
  async outcomes(): Promise<BranchOutcome[]> {
    return Promise.all(this.branches.map((b) => b.settled));
  }
}

/** Resolves on 'drain', or on 'close' (a failed upload destroys its stream); removes both listeners. */
function drainOrClose(stream: PassThrough): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      stream.off("drain", done);
      stream.off("close", done);
      resolve();
    };
    stream.on("drain", done);
    stream.on("close", done);
  });
}

/**
 * archive/parallel-gzip: gzip members deflated on worker threads, written in order. Read back with
 * the Debian `gunzip` binary and Node's createGunzip (what restore/verify use); member boundaries at
 * odd sizes; size against one level-6 stream; the thread count; abort, a consumer that stops, a
 * worker that dies or throws; and the bound on what is read ahead of a slow consumer.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { availableParallelism } from "node:os";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { Worker } from "node:worker_threads";
import { createGunzip, gunzipSync, gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { compressionStage } from "../src/archive/compress.ts";
import { compressThreads, liveGzipWorkers, type ParallelGzipOptions, parallelGzipStage } from "../src/archive/parallel-gzip.ts";
import { BackupError } from "../src/errors.ts";

/** COPY-like rows (id, md5 text, jsonb) as pg_dump writes them: what backups compress. */
function dumpLike(bytes: number, seed = 0): Buffer {
  const lines: string[] = [];
  let size = 0;
  for (let i = seed; size < bytes; i++) {
    const md5 = createHash("md5").update(String(i)).digest("hex");
    const line = `${i}\t${md5}\t{"id": ${i}, "n": ${i % 1000}, "hash": "${md5.slice(0, 16)}", "tags": ["a${i % 7}", "b${i % 11}"]}\n`;
    lines.push(line);
    size += line.length;
  }
  return Buffer.from(lines.join("")).subarray(0, bytes);
}

/** Runs the stage over `input` cut into `chunk`-byte pieces; returns the members as yielded. */
async function compress(input: Buffer, options: ParallelGzipOptions, chunk = 7919): Promise<Buffer[]> {
  const pieces: Buffer[] = [];
  for (let o = 0; o < input.length; o += chunk) pieces.push(input.subarray(o, o + chunk));
  const members: Buffer[] = [];
  for await (const member of parallelGzipStage(options)(Readable.from(pieces))) members.push(member);
  return members;
}

/** `gunzip -c` (the Debian binary) over `gz`; resolves with its stdout. */
function gunzipBinary(gz: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn("gunzip", ["-c"], { stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    let stderr = "";
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => {
      stderr += b.toString();
    });
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve(Buffer.concat(out)) : reject(new Error(`gunzip ${code}: ${stderr}`))));
    child.stdin.end(gz);
  });
}

/** Waits until `check` holds, polling; fails after `ms` (generous: the machine is shared). */
async function until(check: () => boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("parallel gzip", { timeout: 180_000 }, () => {
  const BLOCK = 4096;
  it.each([
    ["0 bytes", 0],
    ["1 byte", 1],
    ["one block less one byte", BLOCK - 1],
    ["exactly one block", BLOCK],
    ["one block and one byte", BLOCK + 1],
    ["exactly three blocks", 3 * BLOCK],
    ["an odd size", 5 * BLOCK + 1237],
  ])("%s: one member per block, each its own slice, and gunzip reads the file whole", async (_name, size) => {
    const input = dumpLike(size);
    const members = await compress(input, { threads: 2, blockSize: BLOCK }, 1000);
    expect(members).toHaveLength(Math.max(1, Math.ceil(size / BLOCK)));
    members.forEach((member, i) => {
      expect(gunzipSync(member).equals(input.subarray(i * BLOCK, (i + 1) * BLOCK))).toBe(true);
    });
    const file = Buffer.concat(members);
    expect((await gunzipBinary(file)).equals(input)).toBe(true);
    expect(liveGzipWorkers()).toBe(0);
  });

  it("writes 1 MiB members by default that gunzip and createGunzip read, within 2% of one level-6 stream", async () => {
    const input = dumpLike(6 * 1024 * 1024 + 12345);
    const members = await compress(input, { threads: 2 }, 128 * 1024);
    expect(members).toHaveLength(7);
    const file = Buffer.concat(members);
    expect((await gunzipBinary(file)).equals(input)).toBe(true);
    const viaNode: Buffer[] = [];
    await pipeline(Readable.from([file]), createGunzip(), async (source: AsyncIterable<Buffer>) => {
      for await (const b of source) viaNode.push(b);
    });
    expect(Buffer.concat(viaNode).equals(input)).toBe(true);
    const single = gzipSync(input, { level: 6 }).length;
    expect(file.length / single).toBeLessThan(1.02);
  });

  it("is the gzip stage of compressionStage and keeps the level", async () => {
    const input = dumpLike(3 * 1024 * 1024);
    const fast = compressionStage("gzip", 1, { threads: 1 })!();
    const best = compressionStage("gzip", 9, { threads: 1 })!();
    const run = async (stage: ReturnType<NonNullable<ReturnType<typeof compressionStage>>>) => {
      const out: Buffer[] = [];
      await pipeline(Readable.from([input]), stage, async (source: AsyncIterable<Buffer>) => {
        for await (const b of source) out.push(b);
      });
      return Buffer.concat(out);
    };
    const [a, b] = [await run(fast), await run(best)];
    expect(gunzipSync(a).equals(input) && gunzipSync(b).equals(input)).toBe(true);
    expect(b.length).toBeLessThan(a.length);
  });

  it("takes the thread count from the option, else STOWAGE_COMPRESS_THREADS, and refuses nonsense", async () => {
    expect(compressThreads(3, { STOWAGE_COMPRESS_THREADS: "1" })).toBe(3);
    expect(compressThreads(undefined, { STOWAGE_COMPRESS_THREADS: "1" })).toBe(1);
    // Default: the available cores, at most 3 (memory: 4 threads reach 150 MB on a 1.1 GiB backup).
    expect(compressThreads(undefined, {})).toBe(Math.min(availableParallelism(), 3));
    expect(compressThreads(8, {})).toBe(8);
    for (const bad of ["0", "-1", "two", "1.5", "65"]) {
      expect(() => compressThreads(undefined, { STOWAGE_COMPRESS_THREADS: bad })).toThrow(/STOWAGE_COMPRESS_THREADS/);
      expect(
        BackupError.is(
          catchError(() => compressThreads(undefined, { STOWAGE_COMPRESS_THREADS: bad })),
          "INVALID_OPTIONS",
        ),
      ).toBe(true);
    }
    const started: Worker[] = [];
    await compress(dumpLike(5 * BLOCK), {
      env: { STOWAGE_COMPRESS_THREADS: "1" },
      blockSize: BLOCK,
      onWorker: (w) => started.push(w),
    });
    expect(started).toHaveLength(1);
  });

  it("starts no thread for an input that fits in one block", async () => {
    const started: Worker[] = [];
    const members = await compress(dumpLike(BLOCK), { threads: 2, blockSize: BLOCK, onWorker: (w) => started.push(w) });
    expect(members).toHaveLength(1);
    expect(started).toHaveLength(0);
  });

  it("stops every worker when the pipeline is aborted mid-stream", async () => {
    const controller = new AbortController();
    let pulled = 0;
    async function* endless() {
      for (;;) {
        pulled++;
        if (pulled === 40) controller.abort();
        yield dumpLike(BLOCK, pulled);
      }
    }
    const started: Worker[] = [];
    const run = pipeline(
      endless(),
      parallelGzipStage({ threads: 2, blockSize: BLOCK, onWorker: (w) => started.push(w) }),
      new Writable({ write: (_c, _e, cb) => cb() }),
      { signal: controller.signal },
    );
    await expect(run).rejects.toMatchObject({ name: "AbortError" });
    expect(started).toHaveLength(2);
    await until(() => liveGzipWorkers() === 0);
  });

  it("stops every worker when the consumer fails", async () => {
    let written = 0;
    const run = pipeline(
      Readable.from(Array.from({ length: 200 }, (_, i) => dumpLike(BLOCK, i))),
      parallelGzipStage({ threads: 2, blockSize: BLOCK }),
      new Writable({
        write: (_c, _e, cb) => {
          written++;
          cb(written === 3 ? new Error("destination gone") : null);
        },
      }),
    );
    await expect(run).rejects.toThrow("destination gone");
    await until(() => liveGzipWorkers() === 0);
  });

  it("surfaces a worker that dies mid-stream as COMPRESSION_FAILED and stops the others", async () => {
    let killed = false;
    const members = compress(dumpLike(400 * BLOCK), {
      threads: 2,
      blockSize: BLOCK,
      onWorker: (worker) => {
        // The first worker dies as soon as it runs (as if the thread crashed): the stage cannot finish.
        if (!killed) {
          killed = true;
          worker.once("online", () => void worker.terminate());
        }
      },
    });
    const error = await members.catch((e: unknown) => e);
    expect(BackupError.is(error, "COMPRESSION_FAILED")).toBe(true);
    expect((error as Error).message).toMatch(/gzip worker thread stopped unexpectedly/);
    await until(() => liveGzipWorkers() === 0);
  });

  it("surfaces an error thrown inside a worker as COMPRESSION_FAILED", async () => {
    // zlib refuses level 42 in the worker; it reports the error instead of a member.
    const error = await compress(dumpLike(4 * BLOCK), { threads: 1, level: 42, blockSize: BLOCK }).catch((e: unknown) => e);
    expect(BackupError.is(error, "COMPRESSION_FAILED")).toBe(true);
    expect((error as Error).message).toMatch(/gzip failed in a worker thread: RangeError/);
    await until(() => liveGzipWorkers() === 0);
  });

  it("reads no further ahead of a slow consumer than the blocks it may have out", async () => {
    const maxInFlight = 4;
    const chunk = 1000;
    let pulledBytes = 0;
    let written = 0;
    let maxLead = 0;
    async function* source() {
      for (let i = 0; i < 600; i++) {
        pulledBytes += chunk;
        maxLead = Math.max(maxLead, pulledBytes - written * BLOCK);
        yield dumpLike(chunk, i);
      }
    }
    await pipeline(
      source(),
      parallelGzipStage({ threads: 2, blockSize: BLOCK, maxInFlight }),
      new Writable({
        highWaterMark: 1,
        write: (_c, _e, cb) => {
          written++;
          setTimeout(cb, 2); // a slow destination
        },
      }),
    );
    expect(written).toBe(Math.ceil((600 * chunk) / BLOCK));
    // Out at once: maxInFlight blocks, the one being filled, one yielded, one buffered and one being written.
    expect(maxLead).toBeLessThanOrEqual((maxInFlight + 4) * BLOCK + chunk);
  });
});

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}

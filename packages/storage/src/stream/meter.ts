/**
 * @module stream/meter
 * Counts and hashes bytes as they flow, so every provider reports size and SHA-256 of what
 * it stored without a second read.
 *
 * The digest exists only once the meter's writable side has ended and `_flush` has run. A consumer
 * that knows the length (an HTTP PUT with Content-Length) can finish before that: the source's 'end'
 * reaches the meter a tick later than its last byte. So results read `await meter.totals()`, which
 * waits for the flush, never the `sha256` getter right after the consumer returns.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { Readable, Transform, type TransformCallback } from "node:stream";
import type { UploadSource } from "../contract.ts";

export interface MeteredTotals {
  readonly bytes: number;
  /** Hex SHA-256 of every byte that passed. */
  readonly sha256: string;
}

export class ByteMeter extends Transform {
  private readonly hash = createHash("sha256");
  bytes = 0;
  private digestHex: string | undefined;

  constructor(private readonly onProgress?: (bytes: number) => void) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    this.onProgress?.(this.bytes);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    this.digestHex = this.hash.digest("hex");
    callback();
  }

  /** Hex SHA-256 of everything that passed; only valid once the stream has ended (see `totals()`). */
  get sha256(): string {
    if (this.digestHex === undefined) throw new Error("ByteMeter: sha256 read before the stream ended");
    return this.digestHex;
  }

  /**
   * Size and digest once the input has ended and been flushed. Rejects when the meter fails or is
   * destroyed before its input ended (a truncated stream has no digest worth reporting).
   */
  totals(): Promise<MeteredTotals> {
    const settled = () => ({ bytes: this.bytes, sha256: this.digestHex as string });
    if (this.digestHex !== undefined) return Promise.resolve(settled());
    return new Promise((resolve, reject) => {
      const done = () => {
        cleanup();
        if (this.digestHex !== undefined) resolve(settled());
        else reject(this.errored ?? new Error("ByteMeter: the stream was closed before its input ended"));
      };
      const failed = (error: unknown) => {
        cleanup();
        reject(error);
      };
      const cleanup = () => {
        this.off("finish", done);
        this.off("close", done);
        this.off("error", failed);
      };
      this.once("finish", done);
      this.once("close", done);
      this.once("error", failed);
    });
  }
}

/** Opens an `UploadSource` as a readable stream. */
export function openSource(source: UploadSource): Readable {
  if (source instanceof Readable) return source;
  // Streams from another copy of the stream module (or a duck-typed pipe) fail instanceof.
  if ("pipe" in source && typeof source.pipe === "function") return source as unknown as Readable;
  return createReadStream(source.path);
}

/**
 * Pipes the source through a `ByteMeter`; returns the metered stream. Errors on the source are
 * forwarded so that consumers see them.
 */
export function meterSource(source: UploadSource, onProgress?: (bytes: number) => void): ByteMeter {
  const input = openSource(source);
  const meter = new ByteMeter(onProgress);
  input.on("error", (error) => meter.destroy(error));
  input.pipe(meter);
  return meter;
}

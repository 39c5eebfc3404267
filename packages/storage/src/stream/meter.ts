/**
 * @module stream/meter
 * Counts and hashes bytes as they flow, so every provider reports size and SHA-256 of what
 * it stored without a second read.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { Readable, Transform, type TransformCallback } from "node:stream";
import type { UploadSource } from "../contract.ts";

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

  /** Hex SHA-256 of everything that passed; only valid once the stream has ended. */
  get sha256(): string {
    if (this.digestHex === undefined) throw new Error("ByteMeter: sha256 read before the stream ended");
    return this.digestHex;
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

/**
 * @module archive/hasher
 * SHA-256 and byte count of what passes through: the stored and plain checksums of the manifest,
 * computed the same way when a backup is written (backup.ts) and when it is read back (read-part.ts).
 */
import { createHash } from "node:crypto";
import { Transform, type TransformCallback } from "node:stream";

export class Hasher extends Transform {
  private readonly hash = createHash("sha256");
  bytes = 0;
  /** Hex SHA-256, set once the input ended (undefined before: never read a digest early). */
  digest: string | undefined;

  constructor(private readonly onBytes?: (bytes: number) => void) {
    super();
  }

  /** The digest; throws if the stream has not ended yet (a result must not be read early). */
  get sha256(): string {
    if (this.digest === undefined) throw new Error("Hasher: sha256 read before the stream ended");
    return this.digest;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    this.onBytes?.(this.bytes);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    this.digest = this.hash.digest("hex");
    callback();
  }
}

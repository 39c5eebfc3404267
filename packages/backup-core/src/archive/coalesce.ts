/**
 * @module archive/coalesce
 * Gathers small chunks into bigger ones. pg_dump writes its output a few KB at a time (about 9 KB
 * per pipe read on average), and every chunk costs a trip through each stage of the backup
 * pipeline: a hash update, a zlib job on libuv's thread pool and the wake-ups in between. On two
 * cores shared with pg_dump and the server, that per-chunk overhead, not the bytes, was what made
 * the backup slower than `pg_dump | gzip`. One copy of the bytes (memcpy) is far cheaper.
 */
import { Transform, type TransformCallback } from "node:stream";

/** Output chunk size: big enough to amortise per-chunk costs, small enough to keep memory flat. */
export const COALESCE_BYTES = 128 * 1024;

/** A Transform that emits chunks of at least `size` bytes (the last one may be smaller). */
export function coalesce(size = COALESCE_BYTES): Transform {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      if (pendingBytes === 0 && chunk.length >= size) {
        callback(null, chunk);
        return;
      }
      pending.push(chunk);
      pendingBytes += chunk.length;
      if (pendingBytes >= size) {
        const out = Buffer.concat(pending, pendingBytes);
        pending = [];
        pendingBytes = 0;
        callback(null, out);
        return;
      }
      callback();
    },
    flush(callback: TransformCallback) {
      callback(null, pendingBytes > 0 ? Buffer.concat(pending, pendingBytes) : undefined);
    },
  });
}

/**
 * @module dump/line-transform
 * Streams that frame or rewrite a dump without holding it: a prefix/suffix wrapper (cheap, used on
 * the big data dump) and a line mapper (used on the small roles and schema dumps, where sed-like
 * rewriting is needed). Both keep at most one partial line in memory.
 */
import { Transform, type TransformCallback } from "node:stream";

/** Writes `prefix` before the first byte and `suffix` after the last; passes chunks through untouched. */
export function framed(prefix: string, suffix: string): Transform {
  let started = false;
  return new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      if (!started) {
        started = true;
        if (prefix) this.push(Buffer.from(prefix));
      }
      cb(null, chunk);
    },
    flush(cb: TransformCallback) {
      if (!started && prefix) this.push(Buffer.from(prefix));
      cb(null, suffix ? Buffer.from(suffix) : undefined);
    },
  });
}

/**
 * Applies `map` to every line (without its `\n`); `null` drops the line. `prefix`/`suffix` are
 * written around the output. Bytes are decoded as UTF-8 per whole line, so multi-byte characters
 * split across chunks are safe.
 */
export function mapLines(map: (line: string) => string | null, prefix = "", suffix = ""): Transform {
  let tail: Buffer = Buffer.alloc(0);
  let started = false;
  const start = (t: Transform) => {
    if (!started) {
      started = true;
      if (prefix) t.push(Buffer.from(prefix));
    }
  };
  const emit = (t: Transform, lines: string[]) => {
    const out: string[] = [];
    for (const line of lines) {
      const mapped = map(line);
      if (mapped !== null) out.push(mapped, "\n");
    }
    if (out.length) t.push(Buffer.from(out.join("")));
  };
  return new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      start(this);
      const data = tail.length ? Buffer.concat([tail, chunk]) : chunk;
      const last = data.lastIndexOf(0x0a);
      if (last < 0) {
        tail = data;
        return cb();
      }
      tail = data.subarray(last + 1);
      emit(this, data.subarray(0, last).toString("utf8").split("\n"));
      cb();
    },
    flush(cb: TransformCallback) {
      start(this);
      if (tail.length) emit(this, [tail.toString("utf8")]);
      cb(null, suffix ? Buffer.from(suffix) : undefined);
    },
  });
}

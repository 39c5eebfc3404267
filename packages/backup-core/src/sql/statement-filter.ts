/**
 * @module sql/statement-filter
 * A streaming filter for pg_dump's plain SQL that knows where COPY data is, so it can drop
 * top-level lines pg_dump writes without ever touching a data row:
 * - `BEGIN;` / `COMMIT;` (pg_dump wraps large-object contents in its own transaction, which would
 *   end the restore's; also `ROLLBACK;`, `END;`, `START TRANSACTION;`, `ABORT;`),
 * - `\restrict KEY` / `\unrestrict KEY` (pg_dump's own psql guard lines; the restore puts its own
 *   guard with a key nobody could know in advance around each part, and psql refuses a second one).
 *
 * COPY data starts after a line `COPY … FROM stdin;` and ends at a line `\.`; inside it, a backslash
 * at the start of a row is always escaped (`\\`), so no row can look like a command. Lines inside
 * COPY data are passed on as they arrive (a row may be huge); lines outside are looked at whole,
 * and they are short (statements pg_dump writes one per line in a data dump).
 *
 * Only for data dumps may transaction lines be dropped: in a schema dump a line `COMMIT;` can be
 * part of a procedure's body.
 */
import { Transform, type TransformCallback } from "node:stream";

export interface StatementFilterOptions {
  /** Drop top-level transaction control lines (data dumps only). */
  readonly dropTransactionControl?: boolean;
  /** Drop pg_dump's `\restrict` / `\unrestrict` lines. */
  readonly dropRestrict?: boolean;
  /** Called with each dropped line (for tests and diagnostics). */
  readonly onDropped?: (line: string) => void;
  /** Written before the first byte and after the last (as `framed`). */
  readonly prefix?: string;
  readonly suffix?: string;
}

const TRANSACTION_LINE = /^(?:BEGIN|COMMIT|ROLLBACK|END|ABORT|START TRANSACTION)(?: WORK| TRANSACTION)?\s*;\s*$/i;
const RESTRICT_LINE = /^\\(?:un)?restrict(?:\s|$)/;
const COPY_START = /^COPY .* FROM stdin;\s*$/;
const BACKSLASH = 0x5c;
const DOT = 0x2e;
const LF = 0x0a;
const CR = 0x0d;

export function statementFilter(options: StatementFilterOptions): Transform {
  let inCopy = false;
  /** COPY mode: bytes of the current row seen so far (up to 3), to spot `\.`. */
  let copyHead: number[] = [];
  /** Outside COPY: the current line's bytes so far. */
  let line: Buffer[] = [];
  let started = false;

  const decide = (whole: Buffer): boolean => {
    // Only short lines can be transaction or restrict lines; long ones are statements or COPY starts.
    const text = whole.length <= 4096 ? whole.toString("utf8") : whole.subarray(0, 64).toString("utf8");
    const bare = text.replace(/\r?\n$/, "");
    if (options.dropTransactionControl && whole.length <= 4096 && TRANSACTION_LINE.test(bare)) {
      options.onDropped?.(bare);
      return false;
    }
    if (options.dropRestrict && RESTRICT_LINE.test(bare)) {
      options.onDropped?.(bare);
      return false;
    }
    if (whole.length <= 1 << 20 && COPY_START.test(whole.toString("utf8").replace(/\r?\n$/, ""))) {
      inCopy = true;
      copyHead = [];
    }
    return true;
  };

  return new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      const out: Buffer[] = [];
      if (!started) {
        started = true;
        if (options.prefix) out.push(Buffer.from(options.prefix));
      }
      let pos = 0;
      while (pos < chunk.length) {
        if (inCopy) {
          // Pass rows on untouched; only look at the first bytes of each row for `\.`.
          const start = pos;
          while (pos < chunk.length) {
            const nl = chunk.indexOf(LF, pos);
            const end = nl < 0 ? chunk.length : nl + 1;
            for (let i = pos; i < end && copyHead.length < 3; i++) copyHead.push(chunk[i]!);
            pos = end;
            if (nl < 0) break;
            const h = copyHead;
            copyHead = [];
            if (h[0] === BACKSLASH && h[1] === DOT && (h[2] === LF || (h[2] === CR && chunk[nl - 1] === CR))) {
              inCopy = false;
              break;
            }
          }
          out.push(chunk.subarray(start, pos));
          continue;
        }
        const nl = chunk.indexOf(LF, pos);
        if (nl < 0) {
          line.push(chunk.subarray(pos));
          break;
        }
        line.push(chunk.subarray(pos, nl + 1));
        pos = nl + 1;
        const whole = line.length === 1 ? line[0]! : Buffer.concat(line);
        line = [];
        if (decide(whole)) out.push(whole);
      }
      if (out.length === 1) cb(null, out[0]);
      else {
        for (const b of out) this.push(b);
        cb();
      }
    },
    flush(cb: TransformCallback) {
      if (!started && options.prefix) this.push(Buffer.from(options.prefix));
      if (line.length) {
        const whole = Buffer.concat(line);
        line = [];
        if (decide(whole)) this.push(whole);
      }
      cb(null, options.suffix ? Buffer.from(options.suffix) : undefined);
    },
  });
}

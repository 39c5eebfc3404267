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
/** LF then `\.`: the start of the only row that can end COPY data. */
const ROW_START_MARKER = Buffer.from("\n\\.");

/** Whether a row starting with `head` is the end marker (`\.` then LF or CR LF), data, or not known yet. */
function endMarker(head: readonly number[]): "end" | "data" | "maybe" {
  const [a, b, c, d] = head;
  if (a !== BACKSLASH) return "data";
  if (head.length === 1) return "maybe";
  if (b !== DOT) return "data";
  if (head.length === 2) return "maybe";
  if (c === LF) return "end";
  if (c !== CR) return "data";
  if (head.length === 3) return "maybe";
  return d === LF ? "end" : "data";
}

export function statementFilter(options: StatementFilterOptions): Transform {
  let inCopy = false;
  /**
   * COPY mode: the first bytes of the current row while they could still be the end marker `\.`
   * (`[]` at a row start); `null` once the row is known to be data.
   */
  let copyHead: number[] | null = null;

  /**
   * Passes COPY rows through from `pos` and returns where COPY mode ended (just after the `\.` line)
   * or `chunk.length`. Rows are not visited one by one: one native search per chunk for LF `\` `.`
   * finds the only candidates (a data row never starts with a bare backslash: it is escaped as
   * `\\`), and only those few bytes, or a row start cut by a chunk boundary, are looked at here.
   * Per-row work in JavaScript was most of the restore's client CPU on tables of short rows.
   */
  const scanCopy = (chunk: Buffer, from: number): number => {
    let pos = from;
    while (pos < chunk.length) {
      if (copyHead !== null) {
        const byte = chunk[pos++]!;
        copyHead.push(byte);
        const verdict = endMarker(copyHead);
        if (verdict === "end") {
          inCopy = false;
          copyHead = null;
          return pos;
        }
        if (verdict === "data") copyHead = byte === LF ? [] : null;
        continue;
      }
      const hit = chunk.indexOf(ROW_START_MARKER, pos);
      if (hit >= 0) {
        pos = hit + 1;
        copyHead = [];
        continue;
      }
      // No whole candidate left; one may start in the last two bytes and go on in the next chunk.
      const last = chunk.length - 1;
      if (chunk[last] === LF) copyHead = [];
      else if (chunk[last] === BACKSLASH && chunk[last - 1] === LF) copyHead = [BACKSLASH];
      return chunk.length;
    }
    return pos;
  };
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
          const start = pos;
          pos = scanCopy(chunk, pos);
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

/**
 * @module repo/cursor
 * Opaque keyset cursors for lists ordered by `(updated_at DESC, id DESC)`.
 *
 * The cursor carries `updated_at` as PostgreSQL's own text form (`updated_at::text`, microseconds
 * included) and the row id; the next page's query compares `(updated_at, id) < ($ts, $id)` and
 * PostgreSQL parses the text back with the column's own type, so nothing passes through a JS Date
 * (milliseconds only) and no row is skipped or repeated. Encoded as base64url JSON so clients treat
 * it as an opaque string.
 */
import { z } from "zod";
import { ApiError } from "../errors.ts";

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

export interface CursorKey {
  /** `updated_at::text` of the last row of the previous page. */
  readonly updatedAt: string;
  readonly id: string;
}

/**
 * `updated_at::text` as PostgreSQL writes it with DateStyle ISO: `2026-12-02 08:28:54.123456+00`
 * (fraction and offset minutes optional). Checked here, calendar included, so a cursor that decodes
 * but carries something else answers 400 instead of reaching PostgreSQL's timestamp parser.
 */
const TIMESTAMP_TEXT = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(\.\d{1,6})?[+-](\d{2})(:\d{2}){0,2}$/;

function isTimestampText(text: string): boolean {
  const m = TIMESTAMP_TEXT.exec(text);
  if (!m) return false;
  const [year, month, day, hour, minute, second, offset] = [m[1], m[2], m[3], m[4], m[5], m[6], m[8]].map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  // setUTCFullYear, not Date.UTC: Date.UTC reads years 0-99 as 1900-1999, so a cursor at 0001-01-01
  // (a valid PostgreSQL timestamp) would be refused as a bad calendar day.
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  // A month or day out of range rolls over into another date (2026-02-30 → 2026-03-02). One
  // comparison of the whole date: separate year, month and day checks each duplicate the other two.
  return (
    year >= 1 && date.toISOString().startsWith(text.slice(0, 10)) && hour <= 23 && minute <= 59 && second <= 59 && offset <= 15
  );
}

const KeySchema = z.tuple([z.string().min(1).max(64).refine(isTimestampText), z.uuid()]);

export function encodeCursor(key: CursorKey): string {
  // Buffer.from(string) is UTF-8.
  return Buffer.from(JSON.stringify([key.updatedAt, key.id])).toString("base64url");
}

export function decodeCursor(cursor: string): CursorKey {
  try {
    const [updatedAt, id] = KeySchema.parse(JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")));
    return { updatedAt, id };
  } catch {
    throw new ApiError(400, "VALIDATION_FAILED", "cursor: not a cursor this API returned; pass next_cursor unchanged");
  }
}

export interface Page<T> {
  readonly items: T[];
  readonly next_cursor: string | null;
}

/**
 * Builds a page from `limit + 1` fetched rows: the extra row only says there is a next page.
 * Rows must carry `updated_at_key` (`updated_at::text`) and `id`.
 */
export function toPage<R extends { id: string; updated_at_key: string }, T>(
  rows: R[],
  limit: number,
  map: (row: R) => T,
): Page<T> {
  const hasMore = rows.length > limit;
  const shown = hasMore ? rows.slice(0, limit) : rows;
  const last = shown[shown.length - 1];
  return {
    items: shown.map(map),
    next_cursor: hasMore && last ? encodeCursor({ updatedAt: last.updated_at_key, id: last.id }) : null,
  };
}

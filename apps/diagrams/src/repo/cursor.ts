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

const KeySchema = z.tuple([z.string().min(1).max(64), z.uuid()]);

export function encodeCursor(key: CursorKey): string {
  return Buffer.from(JSON.stringify([key.updatedAt, key.id]), "utf8").toString("base64url");
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

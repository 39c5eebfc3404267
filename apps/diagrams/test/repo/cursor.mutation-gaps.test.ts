/**
 * Pure unit tests of `repo/cursor.ts` (issue 20, mutation testing). The API-level cases live in
 * test/api/pagination.test.ts; these pin each calendar and range check and the page boundary
 * without a database, so Stryker can rerun them in milliseconds.
 */
import { describe, expect, it } from "vitest";
import { ApiError } from "../../src/errors.ts";
import { DEFAULT_PAGE_SIZE, decodeCursor, encodeCursor, MAX_PAGE_SIZE, toPage } from "../../src/repo/cursor.ts";

const ID = "0b7f3a52-5d4e-4c1b-9a0e-1f2a3b4c5d6e";

function raw(value: unknown): string {
  return Buffer.from(JSON.stringify(value), "utf8").toString("base64url");
}

function rejects(cursor: string): void {
  let caught: unknown;
  try {
    decodeCursor(cursor);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(ApiError);
  const err = caught as ApiError;
  expect(err.status).toBe(400);
  expect(err.code).toBe("VALIDATION_FAILED");
  expect(err.message).toBe("cursor: not a cursor this API returned; pass next_cursor unchanged");
}

describe("cursor", () => {
  it("page sizes are 20 by default and at most 100", () => {
    expect(DEFAULT_PAGE_SIZE).toBe(20);
    expect(MAX_PAGE_SIZE).toBe(100);
  });

  it("round-trips PostgreSQL's timestamp text forms exactly", () => {
    for (const updatedAt of [
      "2026-12-02 08:28:54.123456+00",
      "2026-12-02 08:28:54+00",
      "2024-02-29 23:59:59.5-05:30",
      "1000-01-01 00:00:00+14:00:00",
      "2026-01-31 00:00:00+15",
      "2026-12-31 12:00:00-12",
    ]) {
      const cursor = encodeCursor({ updatedAt, id: ID });
      expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(decodeCursor(cursor)).toEqual({ updatedAt, id: ID });
    }
  });

  it("encodes as base64url JSON [updatedAt, id]", () => {
    expect(JSON.parse(Buffer.from(encodeCursor({ updatedAt: "t", id: "i" }), "base64url").toString("utf8"))).toEqual(["t", "i"]);
  });

  it("refuses each out-of-range field and calendar day", () => {
    for (const ts of [
      "2026-13-01 00:00:00+00", // month 13
      "2026-00-10 00:00:00+00", // month 0
      "2026-02-30 00:00:00+00", // Feb 30
      "2025-02-29 00:00:00+00", // not a leap year
      "2026-04-31 00:00:00+00", // April has 30 days
      "2026-01-00 00:00:00+00", // day 0
      "0000-06-15 00:00:00+00", // year 0
      "2026-01-01 24:00:00+00", // hour 24
      "2026-01-01 00:60:00+00", // minute 60
      "2026-01-01 00:00:60+00", // second 60
      "2026-01-01 00:00:00+16", // offset 16
      "2026-01-01 00:00:00.1234567+00", // 7 fraction digits
      "2026-01-01T00:00:00+00", // ISO T
      "2026-01-01 00:00:00Z",
      "2026-01-01 00:00:00", // no offset
      " 2026-01-01 00:00:00+00",
      "2026-01-01 00:00:00+00 ",
      "x2026-01-01 00:00:00+00",
      "2026-01-01 00:00:00+00:00:00:00",
      "2026-01-01 00:00:00+00x",
      "infinity",
      "",
    ]) {
      rejects(raw([ts, ID]));
    }
  });

  it("accepts the largest value of each field", () => {
    expect(decodeCursor(raw(["9999-12-31 23:59:59.999999+15:59", ID])).updatedAt).toBe("9999-12-31 23:59:59.999999+15:59");
    expect(decodeCursor(raw(["2026-01-01 00:00:00+15", ID])).id).toBe(ID);
  });

  it("accepts the years 0001-0099 PostgreSQL writes with four digits (Date.UTC would read them as 1900-1999)", () => {
    for (const ts of ["0001-01-01 00:00:00+00", "0004-02-29 12:00:00+00", "0099-12-31 23:59:59.999999+00"]) {
      expect(decodeCursor(raw([ts, ID])).updatedAt).toBe(ts);
    }
    // The proleptic Gregorian calendar holds there too: 0100 is not a leap year, 0003 neither.
    rejects(raw(["0100-02-29 00:00:00+00", ID]));
    rejects(raw(["0003-02-29 00:00:00+00", ID]));
  });

  it("refuses a timestamp text longer than 64 characters and bad shapes", () => {
    rejects(raw([`2026-01-01 00:00:00+00${":00".repeat(20)}`, ID]));
    rejects(raw(["2026-01-01 00:00:00+00", "not-a-uuid"]));
    rejects(raw(["2026-01-01 00:00:00+00"]));
    rejects(raw(["2026-01-01 00:00:00+00", ID, "extra"]));
    rejects(raw({ updatedAt: "2026-01-01 00:00:00+00", id: ID }));
    rejects("%%%");
    rejects("");
  });

  describe("toPage", () => {
    const rows = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `id${i}`, updated_at_key: `k${i}` }));
    const map = (r: { id: string }) => r.id;

    it("a page of exactly `limit` rows has no next cursor", () => {
      expect(toPage(rows(3), 3, map)).toEqual({ items: ["id0", "id1", "id2"], next_cursor: null });
    });

    it("an extra row yields a cursor at the last shown row and is not shown", () => {
      const page = toPage(rows(4), 3, map);
      expect(page.items).toEqual(["id0", "id1", "id2"]);
      expect(page.next_cursor).toBe(encodeCursor({ updatedAt: "k2", id: "id2" }));
    });

    it("fewer rows than the limit, and none at all", () => {
      expect(toPage(rows(1), 3, map)).toEqual({ items: ["id0"], next_cursor: null });
      expect(toPage([], 3, map)).toEqual({ items: [], next_cursor: null });
    });
  });
});

/**
 * The PostgreSQL metadata schema mirrors the SQLite one: same tables, same column names, same
 * indexes (names), so one set of repositories and routes serves both dialects.
 */
import { type PgTable, getTableConfig as pgConfig } from "drizzle-orm/pg-core";
import { type SQLiteTable, getTableConfig as sqliteConfig } from "drizzle-orm/sqlite-core";
import { describe, expect, it } from "vitest";
import * as pgSchema from "../../src/server/db/pg/schema.ts";
import * as sqliteSchema from "../../src/server/db/schema.ts";
import { isTransientFailure } from "../../src/server/schedules/transient.ts";

const tables = (
  mod: Record<string, unknown>,
  config: (t: unknown) => { name: string; columns: { name: string }[]; indexes: { config: { name?: string | undefined } }[] },
) =>
  Object.values(mod)
    .filter((v) => v && typeof v === "object" && Symbol.for("drizzle:IsDrizzleTable") in (v as object))
    .map((t) => config(t))
    .map((c) => ({
      name: c.name,
      columns: c.columns.map((x) => x.name).sort(),
      indexes: c.indexes.map((i) => i.config.name ?? "").sort(),
    }))
    .sort((a, b) => a.name.localeCompare(b.name));

describe("metadata schemas", () => {
  it("PostgreSQL has the same tables, columns and indexes as SQLite", () => {
    const lite = tables(sqliteSchema, (t) => sqliteConfig(t as SQLiteTable));
    const pg = tables(pgSchema, (t) => pgConfig(t as PgTable));
    expect(lite.map((t) => t.name)).toContain("schedule_runs");
    expect(pg).toEqual(lite);
  });
});

describe("transient failures", () => {
  it("retries unreachable destinations and databases, not permanent errors", () => {
    expect(isTransientFailure("s3://b: cannot reach http://127.0.0.1:1: check S3_ENDPOINT")).toBe(true);
    expect(isTransientFailure("connect ECONNREFUSED 127.0.0.1:5432")).toBe(true);
    expect(isTransientFailure("nextcloud answered HTTP 503")).toBe(true);
    expect(isTransientFailure("AUTH_FAILED: password authentication failed for user x")).toBe(false);
    expect(isTransientFailure('database "nope" does not exist')).toBe(false);
    expect(isTransientFailure(null)).toBe(false);
  });
});

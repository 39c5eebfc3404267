import { Readable } from "node:stream";
import { text } from "node:stream/consumers";
import { describe, expect, it } from "vitest";
import { supportsRestrict } from "../src/pg/tools.ts";
import { statementFilter } from "../src/sql/statement-filter.ts";

/** Feeds `input` in chunks of `size` bytes (every boundary gets exercised across sizes). */
async function filter(input: string, size: number, options: Parameters<typeof statementFilter>[0]): Promise<string> {
  const bytes = Buffer.from(input);
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
  return text(Readable.from(chunks).pipe(statementFilter(options)));
}

// What pg_dump --data-only writes around large objects, with COPY rows that look like the lines it drops.
const DUMP = [
  "\\restrict abcDEF123",
  "SET statement_timeout = 0;",
  'COPY "public"."t" ("x") FROM stdin;',
  "COMMIT;",
  "BEGIN;",
  "\\\\restrict not-a-command",
  "\\.",
  "SELECT pg_catalog.lo_create('16395');",
  "BEGIN;",
  "SELECT pg_catalog.lo_open('16395', 131072);",
  "SELECT pg_catalog.lowrite(0, '\\x68656c6c6f');",
  "SELECT pg_catalog.lo_close(0);",
  "COMMIT;",
  "\\unrestrict abcDEF123",
  "",
].join("\n");

describe("statementFilter", () => {
  it("drops pg_dump's BEGIN/COMMIT and \\restrict lines, never a COPY row, at every chunk boundary", async () => {
    const expected = [
      "SET statement_timeout = 0;",
      'COPY "public"."t" ("x") FROM stdin;',
      "COMMIT;",
      "BEGIN;",
      "\\\\restrict not-a-command",
      "\\.",
      "SELECT pg_catalog.lo_create('16395');",
      "SELECT pg_catalog.lo_open('16395', 131072);",
      "SELECT pg_catalog.lowrite(0, '\\x68656c6c6f');",
      "SELECT pg_catalog.lo_close(0);",
      "",
    ].join("\n");
    for (const size of [1, 2, 3, 5, 7, 64, 4096]) {
      expect(await filter(DUMP, size, { dropTransactionControl: true, dropRestrict: true })).toBe(expected);
    }
  });

  it("keeps transaction lines when told to (schema parts), keeps \\restrict unless told, frames the output", async () => {
    const out = await filter(DUMP, 4, { prefix: "P\n", suffix: "S\n" });
    expect(out).toBe(`P\n${DUMP}S\n`);
    const noRestrict = await filter(DUMP, 4, { dropRestrict: true });
    expect(noRestrict.match(/^(BEGIN|COMMIT);$/gm)).toHaveLength(4);
    expect(noRestrict).not.toMatch(/^\\(un)?restrict/m);
  });

  it("passes a last line without a newline, and reports what it drops", async () => {
    const dropped: string[] = [];
    const out = await filter("SELECT 1;\nCOMMIT;", 3, { dropTransactionControl: true, onDropped: (l) => dropped.push(l) });
    expect(out).toBe("SELECT 1;\n");
    expect(dropped).toEqual(["COMMIT;"]);
  });
});

describe("supportsRestrict", () => {
  it("knows which psql releases have \\restrict", () => {
    expect(supportsRestrict("psql (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)")).toBe(true);
    expect(supportsRestrict("psql (PostgreSQL) 15.14")).toBe(true);
    expect(supportsRestrict("psql (PostgreSQL) 15.13")).toBe(false);
    expect(supportsRestrict("psql (PostgreSQL) 17.5")).toBe(false);
    expect(supportsRestrict("psql (PostgreSQL) 17.6")).toBe(true);
    expect(supportsRestrict("psql (PostgreSQL) 13.22")).toBe(true);
    expect(supportsRestrict("psql (PostgreSQL) 12.22")).toBe(false);
    expect(supportsRestrict("psql (PostgreSQL) 18.0")).toBe(true);
    expect(supportsRestrict("not psql")).toBe(false);
  });
});

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

/** The filter's rule written plainly, line by line, to check the chunked one against. */
function referenceFilter(input: string): string {
  const out: string[] = [];
  let inCopy = false;
  for (const line of input.split(/(?<=\n)/)) {
    const bare = line.replace(/\r?\n$/, "");
    if (inCopy) {
      out.push(line);
      if (bare === "\\." && line.endsWith("\n")) inCopy = false;
      continue;
    }
    if (/^(BEGIN|COMMIT);$/.test(bare)) continue;
    out.push(line);
    if (/^COPY .* FROM stdin;$/.test(bare)) inCopy = true;
  }
  return out.join("");
}

describe("statementFilter COPY scanning", () => {
  it("finds the end of COPY data wherever chunk boundaries fall, for rows that look like the end marker", async () => {
    // Rows an end-marker search could mistake: escaped backslashes, a dot row, empty rows, CR LF ends,
    // an empty table (COPY line straight followed by `\.`), and COMMIT lines inside and after COPY.
    const dump = [
      'COPY "public"."a" ("x") FROM stdin;',
      "\\\\.",
      "\\.x",
      "",
      ".",
      "\\\\",
      "COMMIT;",
      "\\N",
      "\\.",
      "COMMIT;",
      'COPY "public"."empty" ("x") FROM stdin;',
      "\\.",
      "BEGIN;",
      'COPY "public"."crlf" ("x") FROM stdin;',
      "row\r",
      "\\.\r",
      "COMMIT;",
      "SELECT 1;",
      "",
    ].join("\n");
    const expected = referenceFilter(dump);
    expect(expected).toContain("\nCOMMIT;\n\\N\n"); // the COMMIT inside COPY data is kept
    expect(expected.match(/^COMMIT;$/gm)).toHaveLength(1);
    for (let size = 1; size <= dump.length; size++) {
      expect(await filter(dump, size, { dropTransactionControl: true })).toBe(expected);
    }
  });

  it("matches the plain rule on generated dumps in random chunks", async () => {
    let seed = 7;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const pieces = ["\\.", "\\\\", "\\", ".", "", "a", "COMMIT;", "\r", "x\\.y"];
    for (let round = 0; round < 40; round++) {
      const lines: string[] = [];
      for (let t = 0; t < 3; t++) {
        lines.push(`COPY "public"."t${t}" ("x") FROM stdin;`);
        for (let r = random(30); r > 0; r--) {
          let row = "";
          for (let k = random(4); k > 0; k--) row += pieces[random(pieces.length)];
          if (row === "\\." || row === "\\.\r") row = `d${row}`;
          lines.push(row);
        }
        lines.push(random(2) ? "\\." : "\\.\r", "COMMIT;");
      }
      const dump = `${lines.join("\n")}\n`;
      const bytes = Buffer.from(dump);
      const chunks: Buffer[] = [];
      for (let i = 0; i < bytes.length; ) {
        const n = 1 + random(9);
        chunks.push(bytes.subarray(i, i + n));
        i += n;
      }
      const out = await text(Readable.from(chunks).pipe(statementFilter({ dropTransactionControl: true })));
      expect(out).toBe(referenceFilter(dump));
    }
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

/**
 * The anchors of `dump/roles-filter.ts` (issue 20, mutation testing): `\restrict`, `CREATE ROLE "x";`
 * and `GRANT` are recognised only as whole statements at the start of a line. pg_dumpall writes a role's
 * comment as a string literal that keeps its newlines (`COMMENT ON ROLE … IS '…'`), so the text of a
 * comment can put those words mid-line or with text after them; such lines must pass through unchanged.
 */
import { describe, expect, it } from "vitest";
import { ROLES_LOCK_KEY, rolesLineFilter } from "../src/dump/roles-filter.ts";

function filter(lines: string[], supabase: boolean): string[] {
  const f = rolesLineFilter({ supabase, bootstrapSuperuser: "postgres" });
  return lines.flatMap((l) => {
    const out = f(l);
    return out === null ? [] : out.split("\n");
  });
}

const LOCK = `SELECT pg_advisory_xact_lock(${ROLES_LOCK_KEY});`;

describe("roles filter: statements only at the start of a line", () => {
  // A multi-line role comment, as pg_dumpall writes it, quoting the statements it talks about.
  const comment = [
    `COMMENT ON ROLE "ops" IS 'On-call team. psql users: \\restrict is pg_dump''s guard line;`,
    `CREATE ROLE "ops"; was run by hand, then`,
    `  CREATE ROLE "ops";`,
    `and its membership, GRANT "a" TO "ops" GRANTED BY "admin", was too';`,
  ];

  for (const supabase of [false, true]) {
    it(`${supabase ? "Supabase" : "plain"}: a comment that quotes them passes unchanged, after the lock line`, () => {
      expect(filter(comment, supabase)).toEqual([LOCK, ...comment]);
    });
  }

  it("the statements themselves are still rewritten (the same words at the start, nothing after)", () => {
    expect(filter([`CREATE ROLE "ops";`, `GRANT "a" TO "ops" GRANTED BY "admin";`, "\\restrict abc"], false)).toEqual([
      LOCK,
      `DO $stowage_role$ BEGIN CREATE ROLE "ops"; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $stowage_role$;`,
      `GRANT "a" TO "ops";`,
      "\\restrict abc",
    ]);
  });
});

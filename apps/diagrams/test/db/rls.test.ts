/**
 * RLS in the database itself, on real PostgreSQL: as owner A, other user B, viewer V, editor E and
 * anon, direct SQL through asUser (role authenticated/anon + JWT claims) sees and changes exactly
 * what the policies allow.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDatabase } from "../../src/db/create-database.ts";
import type { Database } from "../../src/db/database.ts";
import { attempt, createTestPgDatabase, type TestPgDatabase } from "./helpers.ts";
import { checkReads, checkWrite, writeCases } from "./rls-matrix.ts";
import { buildWorld, type World } from "./world.ts";

let testDb: TestPgDatabase;
let db: Database;
let w: World;

beforeAll(async () => {
  testDb = await createTestPgDatabase("stowage_rls");
  db = (await createDatabase({ databaseUrl: testDb.url })).db;
  w = await buildWorld(db, "rls");
});
afterAll(async () => {
  await db?.close();
  await testDb?.drop();
});

describe("RLS on PostgreSQL", () => {
  it("requests run as authenticated / anon with the claims, and auth.uid() is the caller", async () => {
    const r = await db.asUser(w.claims.A, (sql) =>
      sql.query<{ u: string; r: string; uid: string; sub: string }>(
        "select current_user u, auth.role() r, auth.uid() uid, auth.jwt() ->> 'sub' sub",
      ),
    );
    expect(r.rows[0]).toEqual({ u: "authenticated", r: "authenticated", uid: w.users.A, sub: w.users.A });
    const anon = await db.asUser(null, (sql) => sql.query<{ u: string; uid: null }>("select current_user u, auth.uid() uid"));
    expect(anon.rows[0]).toEqual({ u: "anon", uid: null });
    // SET LOCAL does not leak into the next transaction on the pooled connection.
    const after = await db.asService((sql) => sql.query<{ u: string }>("select current_user u"));
    expect(after.rows[0]?.u).not.toBe("authenticated");
  });

  it("each actor sees exactly the rows the policies allow (projects, diagrams, versions)", async () => {
    await checkReads(db, w, ["A", "B", "V", "E", "anon"]);
  });

  it("project_role() reports the caller's role", async () => {
    const role = async (actor: "A" | "B" | "V" | "E") =>
      (
        await db.asUser(w.claims[actor], (sql) =>
          sql.query<{ r: string | null }>("select stowage_private.project_role($1) r", [w.projects.P]),
        )
      ).rows[0]?.r;
    expect([await role("A"), await role("E"), await role("V"), await role("B")]).toEqual(["owner", "editor", "viewer", null]);
  });

  it("an editor's diagram in A's project is owned (and charged) to A", async () => {
    const r = await attempt(
      db,
      w.claims.E,
      "insert into diagrams (project_id, bpmn_xml) values ($1, '<x/>') returning profile_id, created_by",
      [w.projects.P],
    );
    expect(r).toMatchObject({ ok: true, rows: [{ profile_id: w.users.A, created_by: w.users.E }] });
  });

  it("public reads by anon stop when the row is trashed", async () => {
    expect((await attempt(db, null, "select 1 from diagrams where id = $1", [w.diagrams.dQ])).ok).toBe(true);
    await db.asUser(w.claims.A, (sql) => sql.query("update projects set deleted_at = now() where id = $1", [w.projects.Q]));
    expect(await attempt(db, null, "select 1 from projects where id = $1", [w.projects.Q])).toMatchObject({ rowCount: 0 });
    expect(await attempt(db, null, "select 1 from diagrams where id = $1", [w.diagrams.dQ])).toMatchObject({ rowCount: 0 });
    await db.asUser(w.claims.A, (sql) => sql.query("update projects set deleted_at = null where id = $1", [w.projects.Q]));
    expect(await attempt(db, null, "select 1 from diagrams where id = $1", [w.diagrams.dQ])).toMatchObject({ rowCount: 1 });
  });

  describe("writes", () => {
    for (const c of writeCases) {
      it(c.label, async () => {
        await checkWrite(db, w, c);
      });
    }
  });

  it("storage_used_bytes stayed equal to the bytes actually stored (XML, versions, JSON fields, thumbnails)", async () => {
    const r = await db.asService((sql) =>
      sql.query<{ id: string; used: number; real: number }>(
        `select p.id, p.storage_used_bytes used,
                coalesce((select sum(d.xml_bytes + octet_length(d.metadata::text) + coalesce(octet_length(d.thumbnail), 0))
                          from diagrams d where d.profile_id = p.id), 0)
              + coalesce((select sum(v.xml_bytes) from diagram_versions v join diagrams d on d.id = v.diagram_id where d.profile_id = p.id), 0)
              + coalesce((select sum(octet_length(pr.settings::text) + octet_length(pr.metadata::text))
                          from projects pr where pr.profile_id = p.id), 0) real
           from profiles p`,
      ),
    );
    expect(r.rows.length).toBe(4);
    for (const row of r.rows) expect(row.used, row.id).toBe(row.real);
    expect(r.rows.some((row) => row.used > 0)).toBe(true);
  });
});

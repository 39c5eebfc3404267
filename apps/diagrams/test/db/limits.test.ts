/**
 * Plan limits, storage accounting, version history and optimistic concurrency on real PostgreSQL,
 * including races between separate connections.
 */
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDatabase } from "../../src/db/create-database.ts";
import type { Database } from "../../src/db/database.ts";
import { attempt, claimsOf, createTestPgDatabase, createUser, type TestPgDatabase, XML } from "./helpers.ts";
import { generateLargeBpmn } from "./large-bpmn.ts";

let testDb: TestPgDatabase;
let db: Database;

beforeAll(async () => {
  testDb = await createTestPgDatabase("stowage_limits");
  db = (await createDatabase({ databaseUrl: testDb.url, poolSize: 12 })).db;
});
afterAll(async () => {
  await db?.close();
  await testDb?.drop();
});

const insertProject = (user: string, name: string) =>
  attempt(db, claimsOf(user), "insert into projects (name) values ($1) returning id", [name]);

async function newDiagram(user: string, projectId: string | null, xml = XML(1)): Promise<string> {
  const r = await db.asUser(claimsOf(user), (sql) =>
    sql.query<{ id: string }>("insert into diagrams (project_id, bpmn_xml) values ($1, $2) returning id", [projectId, xml]),
  );
  return r.rows[0]?.id as string;
}

describe("plan limits", () => {
  it("N parallel project creations at the FREE limit from separate connections never exceed it", async () => {
    const u = await createUser(db, "race@example.test");
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => insertProject(u, `p${i}`)));
    expect(results.filter((r) => r.ok)).toHaveLength(2);
    const refused = results.filter((r) => !r.ok);
    expect(refused).toHaveLength(6);
    for (const r of refused) expect(r).toMatchObject({ code: "SL402" });
    const count = await db.asService((sql) =>
      sql.query<{ n: number }>("select count(*) n from projects where profile_id = $1", [u]),
    );
    expect(count.rows[0]?.n).toBe(2);
  });

  it("the error names the limit and the plan, with a JSON detail", async () => {
    const u = await createUser(db, "msg@example.test");
    await insertProject(u, "a");
    await insertProject(u, "b");
    const error = await db
      .asUser(claimsOf(u), (sql) => sql.query("insert into projects (name) values ('c')"))
      .catch((e: unknown) => e as { code: string; message: string; detail: string });
    expect(error).toMatchObject({ code: "SL402", message: "FREE plan allows 2 projects; upgrade to PRO or delete a project" });
    expect(JSON.parse((error as { detail: string }).detail)).toEqual({ limit: "projects", plan: "FREE", max: 2 });
  });

  it("trashed projects do not count, restoring re-checks the limit", async () => {
    const u = await createUser(db, "trash@example.test");
    const a = await insertProject(u, "a");
    await insertProject(u, "b");
    const id = a.ok ? a.rows[0]?.id : undefined;
    await db.asUser(claimsOf(u), (sql) => sql.query("update projects set deleted_at = now() where id = $1", [id]));
    expect((await insertProject(u, "c")).ok).toBe(true);
    expect(await attempt(db, claimsOf(u), "update projects set deleted_at = null where id = $1", [id])).toMatchObject({
      ok: false,
      code: "SL402",
    });
  });

  it("diagrams per project (parallel) and personal-space diagrams are limited to 5 on FREE; PRO is not", async () => {
    const u = await createUser(db, "diag@example.test");
    const p = await insertProject(u, "p");
    const pid = p.ok ? p.rows[0]?.id : undefined;
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        attempt(db, claimsOf(u), "insert into diagrams (project_id, bpmn_xml) values ($1, $2)", [pid, XML(i)]),
      ),
    );
    expect(results.filter((r) => r.ok)).toHaveLength(5);
    expect(results.find((r) => !r.ok)).toMatchObject({ code: "SL402" });
    for (let i = 0; i < 5; i++) await newDiagram(u, null);
    const sixth = await attempt(db, claimsOf(u), "insert into diagrams (bpmn_xml) values ('<x/>')");
    expect(sixth).toMatchObject({ ok: false, code: "SL402" });
    await db.asService((sql) => sql.query("update profiles set plan = 'PRO' where id = $1", [u]));
    expect((await attempt(db, claimsOf(u), "insert into diagrams (bpmn_xml) values ('<x/>')")).ok).toBe(true);
    expect((await insertProject(u, "q")).ok).toBe(true);
    expect((await insertProject(u, "r")).ok).toBe(true);
  });

  it("total storage: a save past the plan's bytes is refused and changes nothing", async () => {
    const u = await createUser(db, "bytes@example.test");
    await db.asService((sql) => sql.query("update plan_limits set total_storage_bytes = 10000 where plan = 'ENTERPRISE'"));
    await db.asService((sql) => sql.query("update profiles set plan = 'ENTERPRISE' where id = $1", [u]));
    // 3000 in diagrams + 3000 in version 1 + 2 for its metadata `{}` (JSON fields count since 0007)
    const id = await newDiagram(u, null, "x".repeat(3000));
    const big = await attempt(db, claimsOf(u), "select * from save_diagram($1, 1, $2)", [id, "y".repeat(5000)]);
    expect(big).toMatchObject({ ok: false, code: "SL402" }); // 6000 + 2000 more in diagrams + 5000 in version 2 > 10000
    const used = await db.asService((sql) =>
      sql.query<{ b: number }>("select storage_used_bytes b from profiles where id = $1", [u]),
    );
    expect(used.rows[0]?.b).toBe(6002);
    const small = await attempt(db, claimsOf(u), "select * from save_diagram($1, 1, $2)", [id, "y".repeat(1000)]);
    expect(small).toMatchObject({ ok: true, rows: [{ version: 2 }] });
  });
});

describe("save_diagram and version history", () => {
  it("two saves of the same base version from separate connections: one wins, one gets SL409 with the current version", async () => {
    const u = await createUser(db, "race-save@example.test");
    const id = await newDiagram(u, null);
    const results = await Promise.all(
      [XML(2), XML(3)].map((xml) => attempt(db, claimsOf(u), "select * from save_diagram($1, 1, $2, 'mine')", [id, xml])),
    );
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect(results.find((r) => !r.ok)).toMatchObject({ code: "SL409" });
    // The error carries the current version for the client's 409 answer.
    const stale = await db
      .asUser(claimsOf(u), (sql) => sql.query("select * from save_diagram($1, 1, $2)", [id, XML(9)]))
      .catch((e: { code: string; detail: string }) => e);
    expect(stale).toMatchObject({ code: "SL409", detail: "2" });
    const versions = await db.asUser(claimsOf(u), (sql) =>
      sql.query<{ version: number }>("select version from diagram_versions where diagram_id = $1 order by version", [id]),
    );
    expect(versions.rows.map((r) => r.version)).toEqual([1, 2]);
  });

  it("FREE keeps 5 versions: the save creating v6 prunes v1; restore writes 'restored from vN'", async () => {
    const u = await createUser(db, "prune@example.test");
    const id = await newDiagram(u, null, XML(1));
    for (let v = 1; v <= 5; v++) {
      const r = await attempt(db, claimsOf(u), "select * from save_diagram($1, $2, $3, $4)", [
        id,
        v,
        XML(v + 1),
        `save ${v + 1}`,
      ]);
      expect(r).toMatchObject({ ok: true, rows: [{ version: v + 1 }] });
    }
    const list = async () =>
      (
        await db.asUser(claimsOf(u), (sql) =>
          sql.query<{ version: number; message: string; author_id: string }>(
            "select version, message, author_id from diagram_versions where diagram_id = $1 order by version",
            [id],
          ),
        )
      ).rows;
    expect((await list()).map((r) => r.version)).toEqual([2, 3, 4, 5, 6]);
    expect((await list())[4]).toEqual({ version: 6, message: "save 6", author_id: u });
    const restored = await attempt(db, claimsOf(u), "select * from restore_diagram_version($1, 3, 6)", [id]);
    expect(restored).toMatchObject({ ok: true, rows: [{ version: 7 }] });
    const current = await db.asUser(claimsOf(u), (sql) =>
      sql.query<{ bpmn_xml: string; version: number }>("select bpmn_xml, version from diagrams where id = $1", [id]),
    );
    expect(current.rows[0]).toEqual({ bpmn_xml: XML(3), version: 7 });
    const v7 = await db.asUser(claimsOf(u), (sql) =>
      sql.query("select message, metadata from diagram_versions where diagram_id = $1 and version = 7", [id]),
    );
    expect(v7.rows[0]).toEqual({ message: "restored from v3", metadata: { restored_from: 3 } });
    expect(await attempt(db, claimsOf(u), "select * from restore_diagram_version($1, 1, 7)", [id])).toMatchObject({
      ok: false,
      code: "SL404",
    });
    expect(await attempt(db, claimsOf(u), "select * from restore_diagram_version($1, 4, 5)", [id])).toMatchObject({
      ok: false,
      code: "SL409",
    });
  });

  it("real BPMN files and a 3 MB diagram round-trip byte-identical (diagram and version)", async () => {
    const u = await createUser(db, "bytes-identical@example.test", "PRO");
    const files = ["C.8.0.bpmn", "A.1.0.bpmn"].map((n) => readFileSync(`/work/shared/fixtures/bpmn/${n}`, "utf8"));
    files.push(generateLargeBpmn(3 * 1024 * 1024));
    const id = await newDiagram(u, null, files[0]);
    await db.asUser(claimsOf(u), (sql) => sql.query("select * from save_diagram($1, 1, $2)", [id, files[1]]));
    await db.asUser(claimsOf(u), (sql) => sql.query("select * from save_diagram($1, 2, $2)", [id, files[2]]));
    const rows = await db.asUser(claimsOf(u), (sql) =>
      sql.query<{ version: number; bpmn_xml: string }>(
        "select version, bpmn_xml from diagram_versions where diagram_id = $1 order by version",
        [id],
      ),
    );
    expect(rows.rows.map((r) => r.bpmn_xml === files[r.version - 1])).toEqual([true, true, true]);
    const current = await db.asUser(claimsOf(u), (sql) =>
      sql.query<{ bpmn_xml: string; c: string }>(
        "select bpmn_xml, pg_column_compression(bpmn_xml) c from diagrams where id = $1",
        [id],
      ),
    );
    expect(current.rows[0]?.bpmn_xml === files[2]).toBe(true);
    expect(current.rows[0]?.c).toBe("lz4");
  });
});

/**
 * The same migrations on embedded PGlite (temp data folder), with a smoke subset of the RLS matrix,
 * save concurrency, version pruning and plan limits; and the data survives a restart.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDatabase } from "../../src/db/create-database.ts";
import type { Database } from "../../src/db/database.ts";
import { loadMigrations } from "../../src/db/migrate.ts";
import { attempt, claimsOf, createUser, XML } from "./helpers.ts";
import { checkReads, checkWrite, writeCases } from "./rls-matrix.ts";
import { buildWorld, type World } from "./world.ts";

let dir: string;
let db: Database;
let w: World;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "stowage-pglite-"));
  const opened = await createDatabase({ dataDir: join(dir, "data") });
  expect(opened.db.kind).toBe("pglite");
  expect(opened.migrations.applied).toEqual((await loadMigrations()).map((m) => m.name));
  db = opened.db;
  w = await buildWorld(db, "lite");
  // PGlite boots a WebAssembly PostgreSQL: seconds on a quiet machine, 120 s measured at load 36.
}, 300_000);
afterAll(async () => {
  await db?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const SMOKE = new Set([
  "E renames dP",
  "V renames dP",
  "B renames dP",
  "E saves dP",
  "V saves dP",
  "B saves dP",
  "V creates a diagram in P",
  "E trashes dP",
  "E shares P with B",
  "anon reads collaborators",
  "A trashes dP",
  "E no longer sees trashed dP",
  "A sees dP in the trash",
]);

describe("PGlite", () => {
  it("reads: each actor sees exactly what the policies allow", async () => {
    await checkReads(db, w, ["A", "B", "V", "anon"]);
  });

  it("writes (smoke subset of the matrix, in order)", async () => {
    const cases = writeCases.filter((c) => SMOKE.has(c.label));
    expect(cases).toHaveLength(SMOKE.size);
    for (const c of cases) await checkWrite(db, w, c);
  });

  it("concurrent saves of one base version: one wins, one SL409 (transactions are serialised)", async () => {
    const u = await createUser(db, "lite-save@example.test");
    const r = await db.asUser(claimsOf(u), (sql) =>
      sql.query<{ id: string }>("insert into diagrams (bpmn_xml) values ($1) returning id", [XML(1)]),
    );
    const id = r.rows[0]?.id;
    const results = await Promise.all(
      [2, 3].map((n) => attempt(db, claimsOf(u), "select * from save_diagram($1, 1, $2)", [id, XML(n)])),
    );
    expect(results.map((x) => (x.ok ? "ok" : x.code)).sort()).toEqual(["SL409", "ok"]);
    for (let v = 2; v <= 6; v++) await attempt(db, claimsOf(u), "select * from save_diagram($1, $2, $3)", [id, v, XML(v)]);
    const versions = await db.asUser(claimsOf(u), (sql) =>
      sql.query<{ version: number }>("select version from diagram_versions where diagram_id = $1 order by version", [id]),
    );
    expect(versions.rows.map((x) => x.version)).toEqual([3, 4, 5, 6, 7]);
  });

  it("plan limits: parallel project creations stop at 2 on FREE", async () => {
    const u = await createUser(db, "lite-limit@example.test");
    const results = await Promise.all(
      [1, 2, 3, 4].map((n) => attempt(db, claimsOf(u), "insert into projects (name) values ($1)", [`p${n}`])),
    );
    expect(results.map((x) => (x.ok ? "ok" : x.code)).sort()).toEqual(["SL402", "SL402", "ok", "ok"]);
  });

  it("data persists in the folder across a restart, and migrations are not re-applied", async () => {
    await db.close();
    const reopened = await createDatabase({ dataDir: join(dir, "data") });
    db = reopened.db;
    expect(reopened.migrations.applied).toEqual([]);
    expect(await attempt(db, w.claims.A, "select 1 from projects where id = $1", [w.projects.Q])).toMatchObject({
      rowCount: 1,
    });
  }, 300_000);
});

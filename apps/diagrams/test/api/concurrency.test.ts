/**
 * Concurrency and pagination on real PostgreSQL: two saves of the same base version (one wins, one
 * 409, nothing lost), parallel creations at a plan limit (never exceeded, every extra 402), and
 * keyset pages that stay stable while rows are inserted, at microsecond precision.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultDiagramXml } from "../../src/bpmn/default-diagram.ts";
import { call, createPgHarness, type Harness, signUp } from "./harness.ts";

let h: Harness;
beforeAll(async () => {
  h = await createPgHarness();
});
afterAll(async () => {
  await h?.close();
});

const variant = (n: number) => defaultDiagramXml().replace('id="StartEvent_1" />', `id="StartEvent_1" name="v${n}" />`);

describe("concurrency", () => {
  it("two saves of the same base version: one wins, the other gets 409 with the current version", async () => {
    const u = await signUp(h, "race");
    const d = await call(h, "POST", "/diagrams", { token: u.token, json: {} });
    const id = d.body.diagram.id;
    for (let round = 0; round < 5; round++) {
      const base = round + 1;
      const results = await Promise.all(
        [1, 2].map((who) =>
          call(h, "PUT", `/diagrams/${id}/content`, {
            token: u.token,
            json: { bpmn_xml: variant(round * 10 + who), base_version: base },
          }),
        ),
      );
      const statuses = results.map((r) => r.status).sort();
      expect(statuses).toEqual([200, 409]);
      const loser = results.find((r) => r.status === 409)!;
      const winner = results.find((r) => r.status === 200)!;
      expect(loser.body.error).toMatchObject({ code: "STALE_VERSION", current_version: base + 1 });
      expect(winner.body.version).toBe(base + 1);
    }
    const final = await call(h, "GET", `/diagrams/${id}`, { token: u.token });
    expect(final.body.diagram.version).toBe(6);
  });

  it("parallel creations at a plan limit never exceed it; every extra answers 402", async () => {
    const u = await signUp(h, "limit");
    const projects = await Promise.all(
      Array.from({ length: 8 }, (_, i) => call(h, "POST", "/projects", { token: u.token, json: { name: `p${i}` } })),
    );
    expect(projects.filter((r) => r.status === 201)).toHaveLength(2);
    expect(projects.filter((r) => r.status === 402)).toHaveLength(6);
    const pid = projects.find((r) => r.status === 201)!.body.project.id;
    const diagrams = await Promise.all(
      Array.from({ length: 12 }, () => call(h, "POST", "/diagrams", { token: u.token, json: { project_id: pid } })),
    );
    expect(diagrams.filter((r) => r.status === 201)).toHaveLength(5);
    const refused = diagrams.filter((r) => r.status === 402);
    expect(refused).toHaveLength(7);
    expect(refused[0]!.body.error.message).toMatch(/FREE plan allows 5 diagrams per project/);
    const list = await call(h, "GET", `/diagrams?project_id=${pid}`, { token: u.token });
    expect(list.body.items).toHaveLength(5);
  });
});

describe("pagination", () => {
  it("walks every row exactly once while rows are inserted, keeping microsecond precision", async () => {
    const u = await signUp(h, "pages");
    const p = await call(h, "POST", "/projects", { token: u.token, json: { name: "Big" } });
    const pid = p.body.project.id;
    // Lift the plan so one project can hold many diagrams; seed 45 rows, several sharing one timestamp.
    await h.db.asService(async (sql) => {
      await sql.query("update public.profiles set plan = 'PRO' where id = $1", [u.id]);
      await sql.query(
        `insert into public.diagrams (project_id, profile_id, title, bpmn_xml, updated_at)
         select $1, $2, 'd' || g, $3, timestamptz '2025-01-01 00:00:00.000001' + (g / 3) * interval '1 microsecond'
         from generate_series(1, 45) g`,
        [pid, u.id, defaultDiagramXml()],
      );
    });
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const q: string = cursor ? `&cursor=${cursor}` : "";
      const res = await call(h, "GET", `/diagrams?project_id=${pid}&limit=10${q}`, { token: u.token });
      expect(res.status).toBe(200);
      seen.push(...res.body.items.map((d: { id: string }) => d.id));
      cursor = res.body.next_cursor;
      pages++;
      // A concurrent writer adds a diagram between pages: it sorts first, so it must not shift later pages.
      await call(h, "POST", "/diagrams", { token: u.token, json: { project_id: pid, title: `new ${pages}` } });
    } while (cursor);
    expect(pages).toBe(5);
    expect(seen).toHaveLength(45);
    expect(new Set(seen).size).toBe(45);
    const titles = await h.db.asService(async (sql) => {
      const { rows } = await sql.query<{ id: string }>(
        "select id from public.diagrams where project_id = $1 and title like 'd%' order by updated_at desc, id desc",
        [pid],
      );
      return rows.map((r) => r.id);
    });
    expect(seen).toEqual(titles);

    const first = await call(h, "GET", `/diagrams?project_id=${pid}`, { token: u.token });
    expect(first.body.items).toHaveLength(20);
    const bad = await call(h, "GET", `/diagrams?project_id=${pid}&cursor=garbage`, { token: u.token });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/^cursor:/);
    const over = await call(h, "GET", `/diagrams?project_id=${pid}&limit=101`, { token: u.token });
    expect(over.status).toBe(400);
    expect(over.body.error.message).toMatch(/^limit:/);
  });
});

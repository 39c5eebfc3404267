/**
 * The main flows of the API on the embedded PGlite database (the default of `stowage-diagrams`):
 * sign-up, project, diagram create/save/read, stale save, versions, diff, trash.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, createPgliteHarness, fixture, type Harness, signUp } from "./harness.ts";

describe("diagram API on PGlite", () => {
  let h: Harness;
  // PGlite boots a WebAssembly PostgreSQL: seconds on a quiet machine, 120 s measured at load 36.
  beforeAll(async () => {
    h = await createPgliteHarness();
  }, 300_000);
  afterAll(async () => {
    await h?.close();
  });

  it("runs the main flows", async () => {
    const alice = await signUp(h, "alice");
    const bob = await signUp(h, "bob");
    const project = await call(h, "POST", "/projects", { token: alice.token, json: { name: "Orders" } });
    expect(project.status).toBe(201);
    const pid = project.body.project.id;

    const xml = await fixture("C.1.0.bpmn");
    const created = await call(h, "POST", "/diagrams", {
      token: alice.token,
      json: { project_id: pid, title: "A", bpmn_xml: xml },
    });
    expect(created.status).toBe(201);
    const did = created.body.diagram.id;
    expect(created.body.diagram.version).toBe(1);

    const next = await fixture("C.1.1.bpmn");
    const saved = await call(h, "PUT", `/diagrams/${did}/content`, {
      token: alice.token,
      json: { bpmn_xml: next, base_version: 1, message: "second" },
    });
    expect(saved.status).toBe(200);
    expect(saved.body.version).toBe(2);

    const stale = await call(h, "PUT", `/diagrams/${did}/content`, {
      token: alice.token,
      json: { bpmn_xml: xml, base_version: 1 },
    });
    expect(stale.status).toBe(409);
    expect(stale.body.error).toMatchObject({ code: "STALE_VERSION", current_version: 2 });

    const read = await call(h, "GET", `/diagrams/${did}`, { token: alice.token });
    expect(read.body.diagram.bpmn_xml).toBe(next);
    const v1 = await call(h, "GET", `/diagrams/${did}/versions/1`, { token: alice.token });
    expect(v1.body.version.bpmn_xml).toBe(xml);

    const diff = await call(h, "GET", `/diagrams/${did}/diff?from=1&to=2`, { token: alice.token });
    expect(diff.status).toBe(200);
    expect(diff.body.removed.length + diff.body.added.length + diff.body.layout_changed.length).toBeGreaterThan(0);

    const list = await call(h, "GET", `/diagrams?project_id=${pid}`, { token: alice.token });
    expect(list.body.items.map((d: { id: string }) => d.id)).toEqual([did]);
    expect(list.body.items[0].bpmn_xml).toBeUndefined();

    expect((await call(h, "GET", `/diagrams/${did}`, { token: bob.token })).status).toBe(404);
    expect((await call(h, "DELETE", `/diagrams/${did}`, { token: alice.token })).status).toBe(204);
    expect((await call(h, "GET", `/diagrams/${did}`, { token: alice.token })).status).toBe(404);
    const trash = await call(h, "GET", "/diagrams/trash", { token: alice.token });
    expect(trash.body.items.map((d: { id: string }) => d.id)).toEqual([did]);
  });
});

/**
 * Every route of the diagram API on real PostgreSQL (fresh database per file): auth, projects,
 * collaborators, diagrams, import, versions, diff, validation, error shapes, byte-identical round trips.
 */
import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultDiagramXml } from "../../src/bpmn/default-diagram.ts";
import { call, createPgHarness, fixture, type Harness, signUp, TEST_SECRET, type TestUser } from "./harness.ts";

let h: Harness;
let alice: TestUser;
let bob: TestUser;
let carol: TestUser;

beforeAll(async () => {
  h = await createPgHarness({ maxDiagramBytes: 300 * 1024 });
  alice = await signUp(h, "alice");
  bob = await signUp(h, "bob");
  carol = await signUp(h, "carol");
});
afterAll(async () => {
  await h?.close();
});

const sign = (claims: Record<string, unknown>, exp: number) =>
  new SignJWT(claims)
    .setProtectedHeader({ alg: "HS256" })
    .setAudience("authenticated")
    .setIssuedAt()
    .setExpirationTime(exp)
    .sign(new TextEncoder().encode(TEST_SECRET));

describe("auth", () => {
  it("signs up, logs in, refuses wrong passwords and duplicate emails", async () => {
    const email = "Dora@Example.test";
    const up = await call(h, "POST", "/auth/signup", { json: { email, password: "long enough pw" } });
    expect(up.status).toBe(201);
    expect(up.body.user).toMatchObject({ email: "dora@example.test", plan: "FREE" });
    expect(typeof up.body.access_token).toBe("string");
    const again = await call(h, "POST", "/auth/signup", { json: { email, password: "long enough pw" } });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe("EMAIL_TAKEN");
    const login = await call(h, "POST", "/auth/login", { json: { email: "dora@example.test", password: "long enough pw" } });
    expect(login.status).toBe(200);
    const me = await call(h, "GET", "/auth/me", { token: login.body.access_token });
    expect(me.body.user).toMatchObject({ id: up.body.user.id, plan: "FREE" });
    const wrong = await call(h, "POST", "/auth/login", { json: { email, password: "not the password" } });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.code).toBe("UNAUTHORIZED");
    const bad = await call(h, "POST", "/auth/signup", { json: { email: "nope", password: "x" } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/email/);
    expect(bad.body.error.message).toMatch(/password/);
  });

  it("answers 401 for a bad, expired or foreign-signed token", async () => {
    expect((await call(h, "GET", "/projects", { token: "not.a.jwt" })).status).toBe(401);
    const expired = await sign({ sub: alice.id, role: "authenticated" }, Math.floor(Date.now() / 1000) - 60);
    const res = await call(h, "GET", "/projects", { token: expired });
    expect(res.status).toBe(401);
    expect(res.body.error.message).toMatch(/expired/);
    const forged = await new SignJWT({ sub: alice.id, role: "authenticated" })
      .setProtectedHeader({ alg: "HS256" })
      .setAudience("authenticated")
      .setExpirationTime("1h")
      .sign(new TextEncoder().encode("another-secret-another-secret-another-secret"));
    expect((await call(h, "GET", "/projects", { token: forged })).status).toBe(401);
    expect((await call(h, "GET", "/projects")).status).toBe(401);
    expect((await call(h, "GET", "/projects", { headers: { authorization: "Basic abc" } })).status).toBe(401);
  });
});

describe("projects", () => {
  it("creates, lists, gets, patches, trashes, restores and purges", async () => {
    const created = await call(h, "POST", "/projects", {
      token: alice.token,
      json: { name: "Billing", description: "d", settings: { grid: true }, metadata: { client: "ACME" } },
    });
    expect(created.status).toBe(201);
    const id = created.body.project.id;
    expect(created.body.project).toMatchObject({ name: "Billing", settings: { grid: true }, is_public: false });

    const patched = await call(h, "PATCH", `/projects/${id}`, {
      token: alice.token,
      json: { name: "Billing 2", description: null, metadata: { client: "ACME", tier: 1 }, is_public: true },
    });
    expect(patched.status).toBe(200);
    expect(patched.body.project).toMatchObject({ name: "Billing 2", description: null, is_public: true });
    expect((await call(h, "PATCH", `/projects/${id}`, { token: alice.token, json: {} })).status).toBe(400);
    const emptyName = await call(h, "PATCH", `/projects/${id}`, { token: alice.token, json: { name: " " } });
    expect(emptyName.status).toBe(400);
    expect(emptyName.body.error.message).toMatch(/^name:/);

    const list = await call(h, "GET", "/projects", { token: alice.token });
    expect(list.body.items.map((p: { id: string }) => p.id)).toContain(id);
    expect(list.body.next_cursor).toBeNull();

    // Public project: readable by anyone, even without a token; not listed as bob's.
    expect((await call(h, "GET", `/projects/${id}`)).status).toBe(200);
    expect((await call(h, "GET", "/projects", { token: bob.token })).body.items).toEqual([]);
    // Bob cannot change or delete it: 404, never 403.
    expect((await call(h, "PATCH", `/projects/${id}`, { token: bob.token, json: { name: "x" } })).status).toBe(404);
    expect((await call(h, "DELETE", `/projects/${id}`, { token: bob.token })).status).toBe(404);

    expect((await call(h, "DELETE", `/projects/${id}`, { token: alice.token })).status).toBe(204);
    expect((await call(h, "GET", `/projects/${id}`, { token: alice.token })).status).toBe(404);
    const trash = await call(h, "GET", "/projects/trash", { token: alice.token });
    expect(trash.body.items.map((p: { id: string }) => p.id)).toEqual([id]);
    const restored = await call(h, "POST", `/projects/${id}/restore`, { token: alice.token });
    expect(restored.status).toBe(200);
    expect(restored.body.project.deleted_at).toBeNull();
    expect((await call(h, "DELETE", `/projects/${id}?permanent=true`, { token: bob.token })).status).toBe(404);
    expect((await call(h, "DELETE", `/projects/${id}?permanent=true`, { token: alice.token })).status).toBe(204);
    expect((await call(h, "POST", `/projects/${id}/restore`, { token: alice.token })).status).toBe(404);
  });

  it("keeps a private project of another user invisible (404)", async () => {
    const p = await call(h, "POST", "/projects", { token: alice.token, json: { name: "Secret" } });
    const id = p.body.project.id;
    const res = await call(h, "GET", `/projects/${id}`, { token: bob.token });
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ error: { code: "NOT_FOUND", message: expect.any(String) } });
    expect((await call(h, "GET", `/diagrams?project_id=${id}`, { token: bob.token })).status).toBe(404);
    expect((await call(h, "GET", "/projects/not-a-uuid", { token: bob.token })).body.error.message).toMatch(/^projectId:/);
    await call(h, "DELETE", `/projects/${id}?permanent=true`, { token: alice.token });
  });

  it("enforces the FREE project limit with 402 naming limit and plan", async () => {
    const u = await signUp(h, "limits");
    for (const name of ["one", "two"]) {
      expect((await call(h, "POST", "/projects", { token: u.token, json: { name } })).status).toBe(201);
    }
    const third = await call(h, "POST", "/projects", { token: u.token, json: { name: "three" } });
    expect(third.status).toBe(402);
    expect(third.body.error.code).toBe("PLAN_LIMIT");
    expect(third.body.error.message).toMatch(/FREE/);
    expect(third.body.error.message).toMatch(/projects/);
    expect(third.body.error).toMatchObject({ limit: "projects", plan: "FREE" });
  });
});

describe("collaborators", () => {
  it("owner shares as viewer/editor, changes and removes roles; others get 404", async () => {
    const p = await call(h, "POST", "/projects", { token: alice.token, json: { name: "Shared" } });
    const pid = p.body.project.id;
    const d = await call(h, "POST", "/diagrams", { token: alice.token, json: { project_id: pid, title: "Flow" } });
    const did = d.body.diagram.id;

    expect((await call(h, "GET", `/diagrams/${did}`, { token: bob.token })).status).toBe(404);
    const add = await call(h, "POST", `/projects/${pid}/collaborators`, {
      token: alice.token,
      json: { email: bob.email, role: "viewer" },
    });
    expect(add.status).toBe(201);
    // An invitation: Bob is not a member until he accepts.
    expect(add.body.invitation).toMatchObject({ email: bob.email, user_id: null, role: "viewer" });
    expect((await call(h, "GET", `/diagrams/${did}`, { token: bob.token })).status).toBe(404);
    const mine = await call(h, "GET", "/invitations", { token: bob.token });
    expect(mine.body.items).toEqual([
      expect.objectContaining({ id: add.body.invitation.id, role: "viewer", project: { id: pid, name: "Shared" } }),
    ]);
    const accepted = await call(h, "POST", `/invitations/${add.body.invitation.id}/accept`, { token: bob.token });
    expect(accepted.status).toBe(200);
    expect(accepted.body.accepted).toEqual({ project_id: pid, role: "viewer" });
    // Bob sees the project as shared, reads the diagram, cannot save or share.
    const shared = await call(h, "GET", "/projects?scope=shared", { token: bob.token });
    expect(shared.body.items.map((x: { id: string }) => x.id)).toEqual([pid]);
    expect((await call(h, "GET", `/diagrams/${did}`, { token: bob.token })).status).toBe(200);
    const viewerSave = await call(h, "PUT", `/diagrams/${did}/content`, {
      token: bob.token,
      json: { bpmn_xml: defaultDiagramXml(), base_version: 1 },
    });
    expect(viewerSave.status).toBe(403);
    expect(viewerSave.body.error.code).toBe("READ_ONLY");
    const bobShares = await call(h, "PUT", `/projects/${pid}/collaborators/${carol.id}`, {
      token: bob.token,
      json: { role: "viewer" },
    });
    expect(bobShares.status).toBe(404);

    const editor = await call(h, "PUT", `/projects/${pid}/collaborators/${bob.id}`, {
      token: alice.token,
      json: { role: "editor" },
    });
    expect(editor.status).toBe(200);
    expect(editor.body.collaborator.role).toBe("editor");
    const editorSave = await call(h, "PUT", `/diagrams/${did}/content`, {
      token: bob.token,
      json: { bpmn_xml: defaultDiagramXml(), base_version: 1, message: "by bob" },
    });
    expect(editorSave.status).toBe(200);
    const versions = await call(h, "GET", `/diagrams/${did}/versions`, { token: alice.token });
    expect(versions.body.items[0]).toMatchObject({ version: 2, author_id: bob.id, message: "by bob" });
    // Editors cannot delete.
    expect((await call(h, "DELETE", `/diagrams/${did}`, { token: bob.token })).status).toBe(404);

    const list = await call(h, "GET", `/projects/${pid}/collaborators`, { token: alice.token });
    expect(list.body.items).toEqual([expect.objectContaining({ user_id: bob.id, role: "editor", email: bob.email })]);
    const bad = await call(h, "PUT", `/projects/${pid}/collaborators/${bob.id}`, { token: alice.token, json: { role: "admin" } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/^role:/);

    expect((await call(h, "DELETE", `/projects/${pid}/collaborators/${bob.id}`, { token: alice.token })).status).toBe(204);
    expect((await call(h, "GET", `/diagrams/${did}`, { token: bob.token })).status).toBe(404);
    expect((await call(h, "DELETE", `/projects/${pid}/collaborators/${bob.id}`, { token: alice.token })).status).toBe(404);
    await call(h, "DELETE", `/projects/${pid}?permanent=true`, { token: alice.token });
  });
});

describe("diagrams", () => {
  it("creates in the personal space with the default diagram, patches, moves, publishes, trashes, restores, purges", async () => {
    const created = await call(h, "POST", "/diagrams", { token: carol.token, json: {} });
    expect(created.status).toBe(201);
    const id = created.body.diagram.id;
    expect(created.body.diagram).toMatchObject({ title: "Untitled Diagram", project_id: null, version: 1, thumbnail_url: null });
    const read = await call(h, "GET", `/diagrams/${id}`, { token: carol.token });
    expect(read.body.diagram.bpmn_xml).toBe(defaultDiagramXml());
    const raw = await call(h, "GET", `/diagrams/${id}`, { token: carol.token, headers: { accept: "application/xml" } });
    expect(raw.headers.get("content-type")).toMatch(/application\/xml/);
    expect(raw.text).toBe(defaultDiagramXml());

    const personal = await call(h, "GET", "/diagrams", { token: carol.token });
    expect(personal.body.items.map((d: { id: string }) => d.id)).toEqual([id]);
    expect(Object.keys(personal.body.items[0]).sort()).toEqual(
      [
        "created_at",
        "deleted_at",
        "id",
        "is_public",
        "metadata",
        "profile_id",
        "project_id",
        "thumbnail_url",
        "title",
        "updated_at",
        "version",
        "xml_bytes",
      ].sort(),
    );

    const png =
      "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";
    const patched = await call(h, "PATCH", `/diagrams/${id}`, {
      token: carol.token,
      json: { title: "Renamed", is_public: true, metadata: { a: 1 }, thumbnail: png },
    });
    expect(patched.status).toBe(200);
    expect(patched.body.diagram).toMatchObject({ title: "Renamed", is_public: true, metadata: { a: 1 }, version: 1 });
    expect(patched.body.diagram.thumbnail_url).toBe(`/diagrams/${id}/thumbnail`);
    const thumb = await call(h, "GET", `/diagrams/${id}/thumbnail`);
    expect(thumb.status).toBe(200);
    expect(thumb.headers.get("content-type")).toBe("image/png");

    // Public: anonymous read works, anonymous write does not.
    expect((await call(h, "GET", `/diagrams/${id}`)).status).toBe(200);
    expect((await call(h, "GET", `/diagrams/${id}/versions`)).status).toBe(200);
    expect((await call(h, "PATCH", `/diagrams/${id}`, { json: { title: "x" } })).status).toBe(401);
    expect((await call(h, "PATCH", `/diagrams/${id}`, { token: bob.token, json: { title: "x" } })).status).toBe(404);

    // Move into a project and back to the personal space.
    const p = await call(h, "POST", "/projects", { token: carol.token, json: { name: "Target" } });
    const pid = p.body.project.id;
    const moved = await call(h, "PATCH", `/diagrams/${id}`, { token: carol.token, json: { project_id: pid } });
    expect(moved.body.diagram.project_id).toBe(pid);
    expect((await call(h, "GET", `/diagrams?project_id=${pid}`, { token: carol.token })).body.items).toHaveLength(1);
    expect((await call(h, "GET", "/diagrams", { token: carol.token })).body.items).toHaveLength(0);
    const back = await call(h, "PATCH", `/diagrams/${id}`, { token: carol.token, json: { project_id: null } });
    expect(back.body.diagram.project_id).toBeNull();
    // Moving into someone else's project: 404.
    const foreign = await call(h, "POST", "/projects", { token: bob.token, json: { name: "Bob's" } });
    const movedAway = await call(h, "PATCH", `/diagrams/${id}`, {
      token: carol.token,
      json: { project_id: foreign.body.project.id },
    });
    expect(movedAway.status).toBe(404);

    expect((await call(h, "DELETE", `/diagrams/${id}`, { token: carol.token })).status).toBe(204);
    expect((await call(h, "GET", `/diagrams/${id}`)).status).toBe(404);
    expect((await call(h, "GET", "/diagrams/trash", { token: carol.token })).body.items).toHaveLength(1);
    expect((await call(h, "POST", `/diagrams/${id}/restore`, { token: carol.token })).status).toBe(200);
    expect((await call(h, "DELETE", `/diagrams/${id}?permanent=true`, { token: carol.token })).status).toBe(204);
    expect((await call(h, "POST", `/diagrams/${id}/restore`, { token: carol.token })).status).toBe(404);
  });

  it("imports a .bpmn upload as multipart and as a raw XML body", async () => {
    const xml = await fixture("A.1.0.bpmn");
    const form = new FormData();
    form.set("file", new File([xml], "Order process.bpmn", { type: "application/octet-stream" }));
    const multi = await call(h, "POST", "/diagrams/import", { token: carol.token, body: form });
    expect(multi.status).toBe(201);
    expect(multi.body.diagram.title).toBe("Order process");
    const read = await call(h, "GET", `/diagrams/${multi.body.diagram.id}`, { token: carol.token });
    expect(read.body.diagram.bpmn_xml).toBe(xml);

    const raw = await call(h, "POST", "/diagrams/import?title=Raw", {
      token: carol.token,
      body: xml,
      headers: { "content-type": "application/xml" },
    });
    expect(raw.status).toBe(201);
    expect(raw.body.diagram.title).toBe("Raw");
    const wrongType = await call(h, "POST", "/diagrams/import", {
      token: carol.token,
      body: xml,
      headers: { "content-type": "text/plain" },
    });
    expect(wrongType.status).toBe(415);
    const latin1 = await call(h, "POST", "/diagrams/import", {
      token: carol.token,
      body: new Uint8Array([0x3c, 0x61, 0xe9, 0x3e]),
      headers: { "content-type": "application/xml" },
    });
    expect(latin1.status).toBe(422);
    for (const id of [multi.body.diagram.id, raw.body.diagram.id]) {
      await call(h, "DELETE", `/diagrams/${id}?permanent=true`, { token: carol.token });
    }
  });

  it("rejects malformed XML, non-BPMN documents and parser warnings with 422, oversize with 413", async () => {
    const cases: [string, RegExp][] = [
      ["<bpmn:definitions", /unparsable|unclosed/],
      ['<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"/>', /not a BPMN 2.0 document/],
      [
        defaultDiagramXml().replace(
          '<bpmn:startEvent id="StartEvent_1" />',
          '<bpmn:startEvent id="StartEvent_1" /><bpmn:task id="StartEvent_1" />',
        ),
        /duplicate ID <StartEvent_1>/,
      ],
      [
        defaultDiagramXml().replace(
          '<bpmn:startEvent id="StartEvent_1" />',
          '<bpmn:startEvent id="StartEvent_1" /><bpmn:bogus id="B" />',
        ),
        /unknown type <bpmn:Bogus>/,
      ],
    ];
    for (const [xml, message] of cases) {
      const res = await call(h, "POST", "/diagrams", { token: carol.token, json: { bpmn_xml: xml } });
      expect(res.status, xml).toBe(422);
      expect(res.body.error.code).toBe("INVALID_BPMN");
      expect(res.body.error.message).toMatch(message);
    }
    // The harness allows 300 KiB per diagram.
    const big = defaultDiagramXml().replace("</bpmn:definitions>", `<!-- ${"x".repeat(310 * 1024)} --></bpmn:definitions>`);
    const tooBig = await call(h, "POST", "/diagrams", { token: carol.token, json: { bpmn_xml: big } });
    expect(tooBig.status).toBe(413);
    expect(tooBig.body.error.code).toBe("PAYLOAD_TOO_LARGE");
    const hugeBody = await call(h, "POST", "/diagrams", { token: carol.token, json: { bpmn_xml: "x".repeat(700 * 1024) } });
    expect(hugeBody.status).toBe(413);
    const missing = await call(h, "PUT", "/diagrams/00000000-0000-4000-8000-000000000000/content", {
      token: carol.token,
      json: { bpmn_xml: defaultDiagramXml() },
    });
    expect(missing.status).toBe(400);
    expect(missing.body.error.message).toMatch(/base_version/);
  });
});

describe("versions", () => {
  it("round-trips real-world files byte-identical, lists, restores, diffs and prunes on FREE", async () => {
    const files = ["C.1.0.bpmn", "C.1.1.bpmn", "C.8.0.bpmn", "A.1.0.bpmn"];
    const xmls = await Promise.all(files.map(fixture));
    const created = await call(h, "POST", "/diagrams", { token: alice.token, json: { title: "History", bpmn_xml: xmls[0] } });
    const id = created.body.diagram.id;
    for (let i = 1; i < xmls.length; i++) {
      const saved = await call(h, "PUT", `/diagrams/${id}/content`, {
        token: alice.token,
        json: { bpmn_xml: xmls[i], base_version: i, message: `save ${i + 1}` },
      });
      expect(saved.status, files[i]).toBe(200);
      expect(saved.body.version).toBe(i + 1);
      const read = await call(h, "GET", `/diagrams/${id}`, { token: alice.token, headers: { "accept-encoding": "gzip" } });
      expect(read.headers.get("content-encoding")).toBe("gzip");
      expect(read.body.diagram.bpmn_xml === xmls[i], `${files[i]} read back`).toBe(true);
    }
    for (let i = 0; i < xmls.length; i++) {
      const v = await call(h, "GET", `/diagrams/${id}/versions/${i + 1}`, { token: alice.token });
      expect(v.body.version.bpmn_xml === xmls[i], `${files[i]} version read`).toBe(true);
      expect(v.body.version.xml_bytes).toBe(Buffer.byteLength(xmls[i]!));
    }

    const page1 = await call(h, "GET", `/diagrams/${id}/versions?limit=3`, { token: alice.token });
    expect(page1.body.items.map((v: { version: number }) => v.version)).toEqual([4, 3, 2]);
    expect(page1.body.items[0].bpmn_xml).toBeUndefined();
    const page2 = await call(h, "GET", `/diagrams/${id}/versions?limit=3&cursor=${page1.body.next_cursor}`, {
      token: alice.token,
    });
    expect(page2.body.items.map((v: { version: number }) => v.version)).toEqual([1]);
    expect(page2.body.next_cursor).toBeNull();

    const diff = await call(h, "GET", `/diagrams/${id}/diff?from=1&to=2`, { token: alice.token });
    expect(diff.status).toBe(200);
    expect(diff.body).toMatchObject({ from: 1, to: 2 });
    expect(diff.body.added.length).toBe(1);
    expect(diff.body.removed.length).toBe(3);
    expect(diff.body.layout_changed.length).toBeGreaterThan(0);
    expect((await call(h, "GET", `/diagrams/${id}/diff?from=99`, { token: alice.token })).status).toBe(404);

    const stale = await call(h, "POST", `/diagrams/${id}/versions/2/restore`, { token: alice.token, json: { base_version: 1 } });
    expect(stale.status).toBe(409);
    expect(stale.body.error.current_version).toBe(4);
    const restored = await call(h, "POST", `/diagrams/${id}/versions/2/restore`, { token: alice.token });
    expect(restored.status).toBe(200);
    expect(restored.body).toMatchObject({ version: 5, restored_from: 2 });
    const v5 = await call(h, "GET", `/diagrams/${id}/versions/5`, { token: alice.token });
    expect(v5.body.version.message).toBe("restored from v2");
    expect(v5.body.version.bpmn_xml === xmls[1]).toBe(true);

    // FREE keeps 5 versions: the sixth save prunes v1.
    const sixth = await call(h, "PUT", `/diagrams/${id}/content`, {
      token: alice.token,
      json: { bpmn_xml: xmls[0], base_version: 5 },
    });
    expect(sixth.body.version).toBe(6);
    expect((await call(h, "GET", `/diagrams/${id}/versions/1`, { token: alice.token })).status).toBe(404);
    const all = await call(h, "GET", `/diagrams/${id}/versions`, { token: alice.token });
    expect(all.body.items.map((v: { version: number }) => v.version)).toEqual([6, 5, 4, 3, 2]);
    expect((await call(h, "GET", `/diagrams/${id}/versions/2`, { token: bob.token })).status).toBe(404);
  });
});

describe("openapi", () => {
  it("serves an OpenAPI 3.1 document naming every route", async () => {
    const res = await call(h, "GET", "/openapi.json");
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe("3.1.0");
    expect(Object.keys(res.body.paths)).toEqual(
      expect.arrayContaining([
        "/auth/signup",
        "/auth/login",
        "/projects",
        "/projects/{projectId}/collaborators",
        "/diagrams/{diagramId}/content",
        "/diagrams/{diagramId}/diff",
        "/invitations",
        "/invitations/{invitationId}/accept",
        "/projects/{projectId}/invitations",
      ]),
    );
    expect(res.body.paths["/auth/signup"].post.requestBody.content["application/json"].schema.properties.email).toBeDefined();
  });

  it("answers unknown routes with the error shape", async () => {
    const res = await call(h, "GET", "/nope");
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe("NOT_FOUND");
  });
});

/**
 * What the web app (issue 16) needs of the API, on real PostgreSQL: GET /auth/config, GET /usage,
 * title search on GET /diagrams (`q`), and the server's web-app wrapper, which serves the built SPA
 * at `/` with its fallback but never in front of an API route.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openApiDocument } from "../../src/api/openapi.ts";
import { routeGroups } from "../../src/app.ts";
import { apiPrefixesOf, isApiPath, withWebApp } from "../../src/http/web-app.ts";
import type { ObjectServices } from "../../src/objects/services.ts";
import { objectRouteGroups } from "../../src/objects/wiring.ts";
import { call, createPgHarness, type Harness, signUp, type TestUser } from "./harness.ts";

let h: Harness;
let alice: TestUser;
let bob: TestUser;

beforeAll(async () => {
  h = await createPgHarness();
  alice = await signUp(h, "alice");
  bob = await signUp(h, "bob");
}, 120_000);
afterAll(async () => {
  await h?.close();
});

const createProject = async (u: TestUser, name: string) =>
  (await call(h, "POST", "/projects", { token: u.token, json: { name } })).body.project.id as string;
const createDiagram = async (u: TestUser, title: string, projectId: string | null = null) => {
  const res = await call(h, "POST", "/diagrams", { token: u.token, json: { title, project_id: projectId } });
  expect(res.status).toBe(201);
  return res.body.diagram as { id: string; version: number };
};
const titles = (res: { body: { items: { title: string }[] } }) => res.body.items.map((d) => d.title).sort();

describe("GET /auth/config", () => {
  it("says local accounts are on and foreign tokens are not, with the service's own secret", async () => {
    const res = await call(h, "GET", "/auth/config");
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ local_signup: true, external_tokens: false });
  });

  it("says Supabase tokens only, when the secret is shared and local sign-up is off", async () => {
    const other = await createPgHarness({ localSignup: false, externalTokens: true });
    try {
      expect((await call(other, "GET", "/auth/config")).body).toEqual({ local_signup: false, external_tokens: true });
      expect(
        (await call(other, "POST", "/auth/signup", { json: { email: "x@example.test", password: "long enough" } })).status,
      ).toBe(403);
    } finally {
      await other.close();
    }
  }, 120_000);
});

describe("GET /usage", () => {
  it("counts projects, diagrams (live and trashed), versions kept and bytes against the FREE plan's limits", async () => {
    const carol = await signUp(h, "carol");
    const empty = await call(h, "GET", "/usage", { token: carol.token });
    expect(empty.status).toBe(200);
    expect(empty.body).toEqual({
      plan: "FREE",
      limits: {
        projects: 2,
        diagrams_per_project: 5,
        personal_diagrams: 5,
        versions_kept: 5,
        total_storage_bytes: 100 * 1024 * 1024,
        export_formats: ["xml"],
      },
      used: { projects: 0, diagrams: 0, diagrams_in_trash: 0, versions: 0, bytes: 0 },
    });

    const project = await createProject(carol, "Usage");
    const inProject = await createDiagram(carol, "In project", project);
    const personal = await createDiagram(carol, "Personal");
    const trashed = await createDiagram(carol, "Trashed");
    const xml = (await call(h, "GET", `/diagrams/${inProject.id}`, { token: carol.token })).body.diagram.bpmn_xml as string;
    const saved = await call(h, "PUT", `/diagrams/${inProject.id}/content`, {
      token: carol.token,
      json: { bpmn_xml: xml.replace("</bpmn:definitions>", "<!-- v2 --></bpmn:definitions>"), base_version: inProject.version },
    });
    expect(saved.status).toBe(200);
    expect((await call(h, "DELETE", `/diagrams/${trashed.id}`, { token: carol.token })).status).toBe(204);
    // Bob's diagrams are not carol's: they must not be counted.
    await createDiagram(bob, "Not carol's");

    const res = await call(h, "GET", "/usage", { token: carol.token });
    const me = await call(h, "GET", "/auth/me", { token: carol.token });
    const versions = await call(h, "GET", `/diagrams/${inProject.id}/versions`, { token: carol.token });
    expect(versions.status).toBe(200);
    expect(res.body.used).toMatchObject({ projects: 1, diagrams: 2, diagrams_in_trash: 1 });
    // One version per created diagram, one more for the save.
    expect(res.body.used.versions).toBe(4);
    expect(res.body.used.bytes).toBe(Number(me.body.user.storage_used_bytes));
    expect(res.body.used.bytes).toBeGreaterThan(0);
    expect(personal.id).toBeTruthy();
  });

  it("needs a signed-in user", async () => {
    const res = await call(h, "GET", "/usage");
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe("UNAUTHORIZED");
  });
});

describe("GET /diagrams?q= (title search)", () => {
  it("finds titles over the personal space, own and shared projects, never others' or trashed ones", async () => {
    const dave = await signUp(h, "dave");
    const erin = await signUp(h, "erin");
    const own = await createProject(dave, "Dave's");
    const shared = await createProject(erin, "Erin's");
    const invite = await call(h, "POST", `/projects/${shared}/collaborators`, {
      token: erin.token,
      json: { user_id: dave.id, role: "viewer" },
    });
    expect(invite.status).toBe(201);
    expect((await call(h, "POST", `/invitations/${invite.body.invitation.id}/accept`, { token: dave.token })).status).toBe(200);

    await createDiagram(dave, "Order intake personal");
    await createDiagram(dave, "Order intake in project", own);
    await createDiagram(erin, "Order intake shared", shared);
    await createDiagram(erin, "Order intake erin private");
    const gone = await createDiagram(dave, "Order intake trashed");
    await call(h, "DELETE", `/diagrams/${gone.id}`, { token: dave.token });
    await createDiagram(dave, "Invoice");

    const res = await call(h, "GET", "/diagrams?q=ORDER%20intake", { token: dave.token });
    expect(res.status).toBe(200);
    expect(titles(res)).toEqual(["Order intake in project", "Order intake personal", "Order intake shared"]);
    expect(res.body.items.every((d: object) => !("bpmn_xml" in d))).toBe(true);

    const inProject = await call(h, "GET", `/diagrams?project_id=${own}&q=order`, { token: dave.token });
    expect(titles(inProject)).toEqual(["Order intake in project"]);
    // Without q the list is still the personal space only.
    expect(titles(await call(h, "GET", "/diagrams", { token: dave.token }))).toEqual(["Invoice", "Order intake personal"]);
  });

  it("matches % and _ literally and pages with the cursor", async () => {
    const fay = await signUp(h, "fay");
    // FREE keeps 5 diagrams in the personal space: the pages are in a project.
    for (const t of ["100% done", "100 percent", "a_b", "axb"]) await createDiagram(fay, t);
    const project = await createProject(fay, "Pages");
    for (const t of ["p1 page", "p2 page", "p3 page"]) await createDiagram(fay, t, project);
    expect(titles(await call(h, "GET", "/diagrams?q=100%25", { token: fay.token }))).toEqual(["100% done"]);
    expect(titles(await call(h, "GET", "/diagrams?q=a_b", { token: fay.token }))).toEqual(["a_b"]);
    const first = await call(h, "GET", "/diagrams?q=page&limit=2", { token: fay.token });
    expect(first.body.items).toHaveLength(2);
    expect(first.body.next_cursor).toEqual(expect.any(String));
    const second = await call(h, "GET", `/diagrams?q=page&limit=2&cursor=${first.body.next_cursor}`, { token: fay.token });
    expect(second.body.items).toHaveLength(1);
    expect(second.body.next_cursor).toBeNull();
    expect([...titles(first), ...titles(second)].sort()).toEqual(["p1 page", "p2 page", "p3 page"]);
  });

  it("refuses an empty or overlong q", async () => {
    const empty = await call(h, "GET", "/diagrams?q=%20", { token: alice.token });
    expect(empty.status).toBe(400);
    expect(empty.body.error.message).toMatch(/^q: /);
    expect((await call(h, "GET", `/diagrams?q=${"x".repeat(201)}`, { token: alice.token })).status).toBe(400);
  });
});

describe("the web app in front of the API", () => {
  let dist: string;
  const apiPrefixes = apiPrefixesOf([...routeGroups, ...objectRouteGroups({} as ObjectServices)]);
  let fetchApp: (request: Request) => Promise<Response>;

  beforeAll(async () => {
    dist = await mkdtemp(path.join(tmpdir(), "stowage-web-dist-"));
    await mkdir(path.join(dist, "assets"));
    await writeFile(path.join(dist, "index.html"), "<!doctype html><title>app</title>");
    await writeFile(path.join(dist, "assets", "index-abc.js"), "console.log(1)");
    const wrapped = withWebApp(async (r: Request) => h.app.fetch(r), { apiPrefixes, distDir: dist });
    fetchApp = async (r) => wrapped(r);
  });
  afterAll(async () => {
    if (dist) await rm(dist, { recursive: true, force: true });
  });

  const get = (p: string, init?: RequestInit) => fetchApp(new Request(`http://local${p}`, init));
  const errorCode = async (res: Response) => ((await res.json()) as { error: { code: string } }).error.code;

  it("covers every documented route and every route group with an API prefix, and no client route", () => {
    const documented = Object.keys((openApiDocument() as { paths: Record<string, unknown> }).paths);
    expect(documented.length).toBeGreaterThan(20);
    for (const p of documented) expect(isApiPath(p.replace(/\{[^}]+\}/g, "x"), apiPrefixes), p).toBe(true);
    for (const p of ["/objects/public/a", "/metrics", "/diagrams/x/exports", "/projects/x/backups", "/usage", "/auth/config"]) {
      expect(isApiPath(p, apiPrefixes), p).toBe(true);
    }
    for (const p of ["/", "/d/x", "/d/x/history", "/p/x", "/p/x/settings", "/trash", "/plan", "/import", "/signin", "/signup"]) {
      expect(isApiPath(p, apiPrefixes), p).toBe(false);
    }
    // A prefix matches whole segments only.
    expect(isApiPath("/projectsx", apiPrefixes)).toBe(false);
  });

  it("serves the page at / and for client routes, assets with their types, and 404 for a missing file", async () => {
    const root = await get("/");
    expect(root.status).toBe(200);
    expect(root.headers.get("content-type")).toMatch(/^text\/html/);
    expect(root.headers.get("content-security-policy")).toMatch(/script-src 'self'/);
    expect(root.headers.get("cache-control")).toBe("no-cache");
    expect(await root.text()).toContain("<title>app</title>");
    const client = await get("/d/3f2a1c4e-0000-4000-8000-000000000000/history", { headers: { accept: "text/html" } });
    expect(client.status).toBe(200);
    expect(await client.text()).toContain("<title>app</title>");
    const asset = await get("/assets/index-abc.js");
    expect(asset.headers.get("content-type")).toMatch(/^text\/javascript/);
    expect(asset.headers.get("cache-control")).toMatch(/immutable/);
    expect((await get("/assets/missing.js")).status).toBe(404);
    const traversal = await get("/assets/..%2F..%2Fetc%2Fpasswd");
    expect(traversal.status).toBe(404);
  });

  it("leaves API routes to the API, even when a browser asks for HTML", async () => {
    const projects = await get("/projects", { headers: { accept: "text/html" } });
    expect(projects.status).toBe(401);
    expect(await errorCode(projects)).toBe("UNAUTHORIZED");
    const openapi = await get("/openapi.json");
    expect(openapi.headers.get("content-type")).toMatch(/application\/json/);
    const config = await get("/auth/config");
    expect(await config.json()).toEqual({ local_signup: true, external_tokens: false });
    const signup = await fetchApp(new Request("http://local/", { method: "POST" }));
    expect(signup.status).toBe(404);
    expect(await errorCode(signup)).toBe("NOT_FOUND");
  });

  it("passes everything to the API when the app was not built", async () => {
    const bare = withWebApp(async (r: Request) => h.app.fetch(r), { apiPrefixes, distDir: path.join(dist, "nope") });
    const res = await bare(new Request("http://local/"));
    expect(res.status).toBe(404);
    expect(await errorCode(res)).toBe("NOT_FOUND");
  });
});

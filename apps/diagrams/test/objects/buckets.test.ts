/**
 * Buckets, the object routes and signed URLs, against a real service (HTTP, PostgreSQL, Chromium,
 * objects in a folder): where exports land, what moving a diagram to private does, the seed's
 * Cache-Control, signatures that expire or are tampered with, links only for callers RLS lets see
 * the diagram, and plan gating of formats.
 */
import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  api,
  bucketKeys,
  createDiagram,
  createProject,
  createUser,
  FIXTURES,
  type ObjectHarness,
  startObjectService,
  type TestUser,
} from "./harness.ts";

let h: ObjectHarness;
let owner: TestUser;
let stranger: TestUser;
let xml: string;

beforeAll(async () => {
  h = await startObjectService({ THUMBNAIL_DEBOUNCE_MS: "50" });
  owner = await createUser(h, "PRO");
  stranger = await createUser(h, "PRO");
  xml = await readFile(`${FIXTURES}/A.1.0.bpmn`, "utf8");
  // Start the browser here (hook timeout), not inside the first test.
  await h.services.renderer.render(xml, "svg");
});
afterAll(async () => {
  await h?.close();
});

describe("buckets", () => {
  it("keeps a private diagram's export in the private bucket, behind a signed URL", async () => {
    const d = await createDiagram(h, owner, xml);
    const res = await api(h, "POST", `/diagrams/${d.id}/exports`, { token: owner.token, json: { format: "svg" } });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ format: "svg" });
    expect(res.body.size).toBeGreaterThan(1000);
    expect(res.body.url).toMatch(
      new RegExp(`/objects/private/exports/${owner.id}/personal/${d.id}/\\d+-\\w+\\.svg\\?exp=\\d+&sig=[0-9a-f]{64}$`),
    );
    expect(Date.parse(res.body.expiresAt)).toBeGreaterThan(Date.now() + 3500_000);
    expect((await bucketKeys(h, "public")).filter((k) => k.includes(d.id))).toEqual([]);

    const file = await api(h, "GET", res.body.url);
    expect(file.status).toBe(200);
    expect(file.headers.get("content-type")).toBe("image/svg+xml");
    expect(file.headers.get("x-content-type-options")).toBe("nosniff");
    expect(file.headers.get("content-security-policy")).toContain("sandbox");
    expect(file.bytes.toString("utf8")).toContain("<svg");
    expect(file.bytes.length).toBe(res.body.size);
  });

  it("puts a public diagram's export in the public bucket and moves it out when the diagram turns private", async () => {
    const d = await createDiagram(h, owner, xml, { is_public: true });
    const res = await api(h, "POST", `/diagrams/${d.id}/exports`, { token: owner.token, json: { format: "xml" } });
    expect(res.status).toBe(201);
    expect(res.body.url).toMatch(/\/objects\/public\/exports\/.+\.xml$/);
    expect(res.body.expiresAt).toBeUndefined();
    const anon = await api(h, "GET", res.body.url);
    expect(anon.status).toBe(200);
    expect(anon.headers.get("cache-control")).toBe("public, max-age=3600");
    expect(anon.headers.get("content-disposition")).toMatch(/^attachment/);
    expect(anon.bytes.toString("utf8")).toBe(xml);
    expect((await bucketKeys(h, "public")).some((k) => k.includes(d.id))).toBe(true);

    const patch = await api(h, "PATCH", `/diagrams/${d.id}`, { token: owner.token, json: { is_public: false } });
    expect(patch.status).toBe(200);
    expect((await bucketKeys(h, "public")).filter((k) => k.includes(d.id))).toEqual([]);
    expect((await bucketKeys(h, "private")).some((k) => k.includes(d.id))).toBe(true);
    expect((await api(h, "GET", res.body.url)).status).toBe(404);

    // The list now hands out signed links, and they work.
    const list = await api(h, "GET", `/diagrams/${d.id}/exports`, { token: owner.token });
    expect(list.status).toBe(200);
    expect(list.body.exports).toHaveLength(1);
    expect(list.body.exports[0].url).toMatch(/\/objects\/private\/.+\?exp=\d+&sig=/);
    expect((await api(h, "GET", list.body.exports[0].url)).bytes.toString("utf8")).toBe(xml);
  });

  it("moves the objects of a project's diagrams when the project stops being public", async () => {
    const project = await createProject(h, owner, { is_public: true });
    const d = await createDiagram(h, owner, xml, { project_id: project });
    const res = await api(h, "POST", `/diagrams/${d.id}/exports`, { token: owner.token, json: { format: "xml" } });
    expect(res.body.url).toMatch(new RegExp(`/objects/public/exports/${owner.id}/${project}/${d.id}/`));
    const patch = await api(h, "PATCH", `/projects/${project}`, { token: owner.token, json: { is_public: false } });
    expect(patch.status).toBe(200);
    expect((await bucketKeys(h, "public")).filter((k) => k.includes(d.id))).toEqual([]);
  });

  it("serves thumbnails of public diagrams with a 24-hour Cache-Control", async () => {
    const d = await createDiagram(h, owner, xml, { is_public: true });
    await h.services.thumbnails.idle();
    expect(await bucketKeys(h, "public")).toContain(`thumbnails/${d.id}/preview.png`);
    const res = await api(h, "GET", `/objects/public/thumbnails/${d.id}/preview.png`);
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("public, max-age=86400");
    expect(res.headers.get("content-type")).toBe("image/png");

    // The diagram read links the rendered thumbnail; the link redirects to the object.
    const read = await api(h, "GET", `/diagrams/${d.id}`);
    expect(read.body.diagram.thumbnail_url).toBe(`/diagrams/${d.id}/thumbnail`);
    const link = await fetch(new URL(read.body.diagram.thumbnail_url, h.url), { redirect: "manual" });
    expect(link.status).toBe(302);
    expect(link.headers.get("location")).toBe(`/objects/public/thumbnails/${d.id}/preview.png`);
  });

  it("links a private diagram's thumbnail through a signed URL, for readers only", async () => {
    const d = await createDiagram(h, owner, xml);
    await h.services.thumbnails.idle();
    expect(await bucketKeys(h, "private")).toContain(`thumbnails/${d.id}/preview.png`);
    const list = await api(h, "GET", "/diagrams", { token: owner.token });
    const mine = list.body.items;
    expect(mine.find((x: { id: string }) => x.id === d.id).thumbnail_url).toBe(`/diagrams/${d.id}/thumbnail`);
    const link = await fetch(new URL(`/diagrams/${d.id}/thumbnail`, h.url), {
      redirect: "manual",
      headers: { authorization: `Bearer ${owner.token}` },
    });
    expect(link.status).toBe(302);
    const location = link.headers.get("location")!;
    expect(location).toMatch(new RegExp(`^/objects/private/thumbnails/${d.id}/preview\\.png\\?exp=\\d+&sig=[0-9a-f]{64}$`));
    const png = await api(h, "GET", location);
    expect(png.status).toBe(200);
    expect(png.bytes.subarray(1, 4).toString("latin1")).toBe("PNG");
    expect((await api(h, "GET", `/diagrams/${d.id}/thumbnail`, { token: stranger.token })).status).toBe(404);
  });

  it("refuses paths that climb out of the bucket", async () => {
    for (const p of ["/objects/public/..%2Fprivate%2Fx", "/objects/public/a/%2E%2E/b", "/objects/public/"]) {
      expect((await api(h, "GET", p)).status).toBe(404);
    }
  });
});

describe("signed URLs", () => {
  let url: URL;
  beforeAll(async () => {
    const d = await createDiagram(h, owner, xml);
    const res = await api(h, "POST", `/diagrams/${d.id}/exports`, { token: owner.token, json: { format: "xml" } });
    url = new URL(res.body.url, h.url);
  });

  it("answers 403 to a tampered signature, expiry or path", async () => {
    const sig = url.searchParams.get("sig")!;
    const flipped = new URL(url);
    flipped.searchParams.set("sig", (sig[0] === "a" ? "b" : "a") + sig.slice(1));
    expect((await api(h, "GET", flipped.toString())).status).toBe(403);
    const later = new URL(url);
    later.searchParams.set("exp", String(Number(url.searchParams.get("exp")) + 3600));
    expect((await api(h, "GET", later.toString())).status).toBe(403);
    const other = new URL(url);
    other.pathname = other.pathname.replace(/\.xml$/, ".svg");
    expect((await api(h, "GET", other.toString())).status).toBe(403);
    const bare = new URL(url);
    bare.search = "";
    const res = await api(h, "GET", bare.toString());
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe("FORBIDDEN");
  });

  it("answers 403 once the link has expired", async () => {
    const objectPath = decodeURIComponent(url.pathname.slice("/objects/private/".length));
    const { exp, sig } = h.services.signer.sign(objectPath, -5);
    const res = await api(h, "GET", `${url.pathname}?exp=${exp}&sig=${sig}`);
    expect(res.status).toBe(403);
    expect(res.body.error.message).toMatch(/expired/);
    const fresh = h.services.signer.sign(objectPath, 60);
    expect((await api(h, "GET", `${url.pathname}?exp=${fresh.exp}&sig=${fresh.sig}`)).status).toBe(200);
  });

  it("issues links only to callers RLS lets see the diagram", async () => {
    const d = await createDiagram(h, owner, xml);
    await api(h, "POST", `/diagrams/${d.id}/exports`, { token: owner.token, json: { format: "xml" } });
    const theirs = await api(h, "GET", `/diagrams/${d.id}/exports`, { token: stranger.token });
    expect(theirs.status).toBe(200);
    expect(theirs.body.exports).toEqual([]);
    expect((await api(h, "GET", `/diagrams/${d.id}/exports`)).body.exports).toEqual([]);
    const create = await api(h, "POST", `/diagrams/${d.id}/exports`, { token: stranger.token, json: { format: "xml" } });
    expect(create.status).toBe(404);
    // A public diagram's exports are listed to anyone, but only members create them (they cost the owner's storage).
    const pub = await createDiagram(h, owner, xml, { is_public: true });
    await api(h, "POST", `/diagrams/${pub.id}/exports`, { token: owner.token, json: { format: "xml" } });
    expect((await api(h, "GET", `/diagrams/${pub.id}/exports`)).body.exports).toHaveLength(1);
    expect((await api(h, "POST", `/diagrams/${pub.id}/exports`, { token: stranger.token, json: { format: "xml" } })).status).toBe(
      404,
    );
  });
});

describe("plan gating", () => {
  it("gives FREE users XML exports only, with a 402 naming the plan and the format", async () => {
    const free = await createUser(h, "FREE");
    const d = await createDiagram(h, free, xml);
    const png = await api(h, "POST", `/diagrams/${d.id}/exports`, { token: free.token, json: { format: "png" } });
    expect(png.status).toBe(402);
    expect(png.body.error).toMatchObject({ code: "PLAN_LIMIT", plan: "FREE", format: "png" });
    expect(png.body.error.message).toMatch(/FREE plan .*PNG/);
    expect((await api(h, "POST", `/diagrams/${d.id}/exports`, { token: free.token, json: { format: "xml" } })).status).toBe(201);
    const bad = await api(h, "POST", `/diagrams/${d.id}/exports`, { token: free.token, json: { format: "gif" } });
    expect(bad.status).toBe(400);
  });

  it("exports an older version when asked, and 404s a version that does not exist", async () => {
    const d = await createDiagram(h, owner, xml);
    const save = await api(h, "PUT", `/diagrams/${d.id}/content`, {
      token: owner.token,
      json: { bpmn_xml: xml.replace("</bpmn:definitions>", "</bpmn:definitions>\n"), base_version: 1 },
    });
    expect(save.status).toBe(200);
    const v1 = await api(h, "POST", `/diagrams/${d.id}/exports`, { token: owner.token, json: { format: "xml", version: 1 } });
    expect(v1.status).toBe(201);
    expect(v1.body.version).toBe(1);
    expect((await api(h, "GET", v1.body.url)).bytes.toString("utf8")).toBe(xml);
    const v9 = await api(h, "POST", `/diagrams/${d.id}/exports`, { token: owner.token, json: { format: "xml", version: 9 } });
    expect(v9.status).toBe(404);
  });
});

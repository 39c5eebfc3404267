/**
 * Content that comes back out (issue 14): user content is served with nosniff and a sandboxing CSP,
 * stored XML as a download, thumbnails only as raster images checked by their bytes, never a
 * redirect to a stored link.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultDiagramXml } from "../../src/bpmn/default-diagram.ts";
import { call, createPgHarness, type Harness, signUp, type TestUser } from "./harness.ts";

const PNG =
  "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";
const SVG = `data:image/svg+xml;base64,${Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>').toString("base64")}`;
/** Says PNG, holds HTML. */
const FAKE_PNG = `data:image/png;base64,${Buffer.from("<html><script>alert(1)</script></html>").toString("base64")}`;

let h: Harness;
let u: TestUser;
let id: string;
beforeAll(async () => {
  h = await createPgHarness();
  u = await signUp(h, "content");
  // XHTML script inside extensionElements passes BPMN validation: it must never run from our origin.
  const xml = defaultDiagramXml().replace(
    '<bpmn:startEvent id="StartEvent_1" />',
    '<bpmn:startEvent id="StartEvent_1"><bpmn:extensionElements><x:script xmlns:x="http://www.w3.org/1999/xhtml">alert(document.cookie)</x:script></bpmn:extensionElements></bpmn:startEvent>',
  );
  const d = await call(h, "POST", "/diagrams", {
    token: u.token,
    json: { title: 'Ünïcode "plan"', bpmn_xml: xml, is_public: true },
  });
  expect(d.status).toBe(201);
  id = d.body.diagram.id;
});
afterAll(async () => {
  await h?.close();
});

describe("serving user content", () => {
  it("XML comes as an attachment with nosniff and a sandboxing CSP", async () => {
    const ways: { url: string; headers: Record<string, string> }[] = [
      { url: `/diagrams/${id}?format=xml`, headers: {} },
      { url: `/diagrams/${id}`, headers: { accept: "application/xml" } },
    ];
    for (const opts of ways) {
      const res = await call(h, "GET", opts.url, { headers: opts.headers });
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("application/xml; charset=utf-8");
      expect(res.headers.get("content-disposition")).toMatch(/^attachment; filename="_n_code _plan_.bpmn"; filename\*=UTF-8''/);
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      expect(res.headers.get("content-security-policy")).toBe("default-src 'none'; sandbox");
      expect(res.text).toContain("alert(document.cookie)"); // byte-identical, just never rendered
    }
    // Every answer, JSON included, says nosniff.
    expect((await call(h, "GET", `/diagrams/${id}`)).headers.get("x-content-type-options")).toBe("nosniff");
    expect((await call(h, "GET", "/nope")).headers.get("x-content-type-options")).toBe("nosniff");
  });

  it("thumbnails: PNG/JPEG/WebP by their bytes only; SVG, disguised files and links are refused", async () => {
    for (const thumbnail of [SVG, FAKE_PNG, "https://evil.example/x.png", "http://127.0.0.1/x"]) {
      const res = await call(h, "PATCH", `/diagrams/${id}`, { token: u.token, json: { thumbnail } });
      expect(res.status, thumbnail.slice(0, 30)).toBe(400);
      expect(res.body.error.message).toMatch(/^thumbnail: .*image\/png, image\/jpeg or image\/webp/);
    }
    const ok = await call(h, "PATCH", `/diagrams/${id}`, { token: u.token, json: { thumbnail: PNG } });
    expect(ok.status).toBe(200);
    const img = await call(h, "GET", `/diagrams/${id}/thumbnail`);
    expect(img.status).toBe(200);
    expect(img.headers.get("content-type")).toBe("image/png");
    expect(img.headers.get("x-content-type-options")).toBe("nosniff");
    expect(img.headers.get("content-security-policy")).toBe("default-src 'none'; sandbox");
  });

  it("thumbnails stored before these rules (a link, an SVG) are neither redirected to nor served", async () => {
    for (const stored of ["https://evil.example/track.png", SVG]) {
      await h.db.asService((sql) => sql.query("update public.diagrams set thumbnail = $2 where id = $1", [id, stored]));
      const res = await call(h, "GET", `/diagrams/${id}/thumbnail`);
      expect(res.status).toBe(404);
      expect(res.headers.get("location")).toBeNull();
      const meta = await call(h, "GET", `/diagrams/${id}`);
      expect(meta.body.diagram.thumbnail_url).toBe(stored.startsWith("data:") ? `/diagrams/${id}/thumbnail` : null);
    }
  });
});

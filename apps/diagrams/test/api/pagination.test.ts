/**
 * Cursors and numbers from clients (issues 14 and 20): a crafted cursor, a cursor that decodes but
 * carries a bad timestamp, a version number past 2^31 — all 400, never 500. Project pagination, and
 * the boundary where the last page is exactly full: no next_cursor leading to an empty page.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeCursor, encodeCursor } from "../../src/repo/cursor.ts";
import { call, createPgHarness, type Harness, signUp, type TestUser } from "./harness.ts";

let h: Harness;
let u: TestUser;
beforeAll(async () => {
  h = await createPgHarness();
  u = await signUp(h, "pages");
  await h.db.asService((sql) => sql.query("update public.profiles set plan = 'PRO' where id = $1", [u.id]));
});
afterAll(async () => {
  await h?.close();
});

const UUID = "3f1e5c2a-8b4d-4c6e-9a7b-1d2e3f4a5b6c";
const crafted = (ts: unknown, id: unknown = UUID) => Buffer.from(JSON.stringify([ts, id])).toString("base64url");

async function allPages(path: string, limit: number) {
  const pages: string[][] = [];
  let cursor: string | null = null;
  for (let i = 0; i < 20; i++) {
    const sep = path.includes("?") ? "&" : "?";
    const res = await call(h, "GET", `${path}${sep}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`, {
      token: u.token,
    });
    expect(res.status).toBe(200);
    pages.push(res.body.items.map((x: { id?: string; version?: number }) => String(x.id ?? x.version)));
    cursor = res.body.next_cursor;
    if (!cursor) break;
  }
  return pages;
}

describe("cursors", () => {
  it("a cursor that decodes but carries a bad timestamp answers 400 on /diagrams and /projects", async () => {
    const bad = [
      "not a time",
      "2026-13-45 10:00:00+00",
      "2026-02-30 10:00:00.123456+00",
      "2026-12-02 25:00:00+00",
      "99999-12-02 10:00:00+00",
      "2026-12-02T10:00:00Z",
      "infinity",
      "2026-12-02 10:00:00+00; drop table x",
    ];
    for (const path of ["/diagrams", "/projects", "/projects/trash", "/diagrams/trash"]) {
      for (const ts of bad) {
        const res = await call(h, "GET", `${path}?cursor=${crafted(ts)}`, { token: u.token });
        expect(res.status, `${path} ${ts}`).toBe(400);
        expect(res.body.error.message).toMatch(/^cursor: /);
      }
      for (const garbage of ["%%%", crafted("2026-12-02 10:00:00+00", "not-a-uuid"), "W10", crafted(5)]) {
        expect((await call(h, "GET", `${path}?cursor=${encodeURIComponent(garbage)}`, { token: u.token })).status).toBe(400);
      }
    }
    // The forms PostgreSQL writes are accepted.
    for (const ts of ["2026-12-02 10:00:00+00", "2026-12-02 10:00:00.5+05:30", "2024-02-29 23:59:59.999999-08"]) {
      expect(decodeCursor(encodeCursor({ updatedAt: ts, id: UUID }))).toEqual({ updatedAt: ts, id: UUID });
    }
  });

  it("version numbers and version cursors past 2^31 answer 400", async () => {
    const d = await call(h, "POST", "/diagrams", { token: u.token, json: {} });
    const id = d.body.diagram.id;
    const big = "2147483648";
    const cases: [string, string, object?][] = [
      ["GET", `/diagrams/${id}/versions/${big}`],
      ["GET", `/diagrams/${id}/versions?cursor=${big}`],
      ["GET", `/diagrams/${id}/versions?cursor=99999999999999999999`],
      ["GET", `/diagrams/${id}/diff?from=${big}`],
      ["GET", `/diagrams/${id}/diff?from=1&to=${big}`],
      ["POST", `/diagrams/${id}/versions/${big}/restore`],
      ["POST", `/diagrams/${id}/versions/1/restore`, { base_version: 2 ** 31 }],
      ["PUT", `/diagrams/${id}/content`, { bpmn_xml: "<x/>", base_version: 2 ** 31 }],
    ];
    for (const [method, url, json] of cases) {
      const res = await call(h, method, url, { token: u.token, ...(json ? { json } : {}) });
      expect(res.status, `${method} ${url}`).toBe(400);
      expect(res.body.error.code).toBe("VALIDATION_FAILED");
    }
    expect((await call(h, "GET", `/diagrams/${id}/versions/2147483647`, { token: u.token })).status).toBe(404);
  });
});

describe("pagination boundaries", () => {
  it("/projects pages through every project once, newest first; a full last page has no next_cursor", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      ids.push((await call(h, "POST", "/projects", { token: u.token, json: { name: `P${i}` } })).body.project.id);
    }
    const newestFirst = [...ids].reverse();
    expect(await allPages("/projects", 3)).toEqual([newestFirst.slice(0, 3), newestFirst.slice(3, 6)]);
    expect(await allPages("/projects", 2)).toEqual([newestFirst.slice(0, 2), newestFirst.slice(2, 4), newestFirst.slice(4, 6)]);
    expect(await allPages("/projects", 6)).toEqual([newestFirst]);
    expect(await allPages("/projects", 4)).toEqual([newestFirst.slice(0, 4), newestFirst.slice(4, 6)]);
    // Shared scope and the trash page the same way.
    await call(h, "DELETE", `/projects/${ids[0]}`, { token: u.token });
    await call(h, "DELETE", `/projects/${ids[1]}`, { token: u.token });
    expect(await allPages("/projects/trash", 2)).toEqual([[ids[1], ids[0]]]);
    expect(await allPages("/projects?scope=shared", 2)).toEqual([[]]);
  });

  it("/diagrams and version history: a full last page has no next_cursor", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 4; i++)
      ids.push((await call(h, "POST", "/diagrams", { token: u.token, json: { title: `D${i}` } })).body.diagram.id);
    const newestFirst = [...ids].reverse();
    const pages = await allPages("/diagrams", 2);
    expect(pages.flat()).toEqual(expect.arrayContaining(newestFirst));
    expect(pages.every((p) => p.length > 0)).toBe(true);
    expect(pages.flat().length).toBe(new Set(pages.flat()).size);
    const id = ids[0]!;
    for (let v = 1; v < 4; v++) {
      await call(h, "PUT", `/diagrams/${id}/content`, {
        token: u.token,
        json: { bpmn_xml: (await call(h, "GET", `/diagrams/${id}?format=xml`, { token: u.token })).text, base_version: v },
      });
    }
    expect(await allPages(`/diagrams/${id}/versions`, 2)).toEqual([
      ["4", "3"],
      ["2", "1"],
    ]);
    expect(await allPages(`/diagrams/${id}/versions`, 4)).toEqual([["4", "3", "2", "1"]]);
  });
});

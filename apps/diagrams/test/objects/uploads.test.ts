/**
 * Attachments, imports and quotas against a real service: multipart streamed to the private bucket,
 * RLS on the attachments table (editors add and delete, viewers read), the 50 MB per-file limit,
 * imports where one bad file does not stop the others and a failed file leaves nothing, and plan
 * quotas counting every byte: refused before storing when the size is known, aborted mid-stream
 * otherwise, never exceeded by concurrent uploads.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  api,
  bucketKeys,
  createProject,
  createUser,
  FIXTURES,
  type ObjectHarness,
  startObjectService,
  type TestUser,
} from "./harness.ts";

let h: ObjectHarness;
let owner: TestUser;
let editor: TestUser;
let viewer: TestUser;
let stranger: TestUser;
let project: string;

async function addCollaborator(projectId: string, user: TestUser, role: "editor" | "viewer") {
  // Membership is the core's business (invitations); the tests put the row in place directly.
  await h.db.asService((sql) =>
    sql.query(
      "insert into public.collaborators (project_id, user_id, role, invited_by) select $1, $2, $3, profile_id from public.projects where id = $1",
      [projectId, user.id, role],
    ),
  );
}

function form(files: Array<{ name: string; bytes: Buffer | string; type?: string }>): FormData {
  const f = new FormData();
  for (const file of files)
    f.append("file", new Blob([file.bytes], { type: file.type ?? "application/octet-stream" }), file.name);
  return f;
}

async function storageUsed(user: TestUser): Promise<number> {
  return h.db.asService(async (sql) => {
    const { rows } = await sql.query<{ storage_used_bytes: number }>(
      "select storage_used_bytes from public.profiles where id = $1",
      [user.id],
    );
    return rows[0]!.storage_used_bytes;
  });
}

async function objectCount(projectId: string, kind: string): Promise<number> {
  return h.db.asService(async (sql) => {
    const { rows } = await sql.query<{ n: number }>(
      "select count(*)::int as n from public.stored_objects where project_id = $1 and kind = $2",
      [projectId, kind],
    );
    return rows[0]!.n;
  });
}

beforeAll(async () => {
  h = await startObjectService();
  owner = await createUser(h, "PRO");
  editor = await createUser(h, "FREE");
  viewer = await createUser(h, "FREE");
  stranger = await createUser(h, "PRO");
  project = await createProject(h, owner);
  await addCollaborator(project, editor, "editor");
  await addCollaborator(project, viewer, "viewer");
});
afterAll(async () => {
  await h?.close();
});

describe("attachments", () => {
  it("stores files from an editor, lists them to viewers and hands out signed links", async () => {
    const notes = Buffer.from("meeting notes\n".repeat(1000));
    const image = Buffer.alloc(300_000, 7);
    const before = await storageUsed(owner);
    const res = await api(h, "POST", `/projects/${project}/attachments`, {
      token: editor.token,
      body: form([
        { name: "notes.txt", bytes: notes, type: "text/plain" },
        { name: "../../évil name.png", bytes: image, type: "image/png" },
      ]),
    });
    expect(res.status).toBe(201);
    expect(res.body.attachments).toHaveLength(2);
    expect(res.body.attachments[0]).toMatchObject({
      name: "notes.txt",
      size: notes.length,
      content_type: "text/plain",
      sha256: createHash("sha256").update(notes).digest("hex"),
      created_by: editor.id,
    });
    // Charged to the project's owner, not to the editor who uploaded.
    expect((await storageUsed(owner)) - before).toBe(notes.length + image.length);
    expect(await storageUsed(editor)).toBe(0);
    const keys = await bucketKeys(h, "private");
    expect(keys.filter((k) => k.startsWith(`projects/${owner.id}/${project}/attachments/`))).toHaveLength(2);
    expect(keys.some((k) => k.includes(".."))).toBe(false);

    const list = await api(h, "GET", `/projects/${project}/attachments`, { token: viewer.token });
    expect(list.status).toBe(200);
    expect(list.body.attachments.map((a: { name: string }) => a.name).sort()).toEqual(["notes.txt", "évil name.png"]);
    const one = await api(h, "GET", `/projects/${project}/attachments/${res.body.attachments[1].id}`, { token: viewer.token });
    expect(one.status).toBe(200);
    expect(one.body.attachment.url).toMatch(/\/objects\/private\/projects\/.+\?exp=\d+&sig=[0-9a-f]{64}$/);
    const file = await api(h, "GET", one.body.attachment.url);
    expect(file.status).toBe(200);
    expect(file.bytes.equals(image)).toBe(true);
    expect(file.headers.get("content-security-policy")).toContain("sandbox");
  });

  it("lets viewers read but not add or delete, and strangers see nothing", async () => {
    const added = await api(h, "POST", `/projects/${project}/attachments`, {
      token: owner.token,
      body: form([{ name: "a.txt", bytes: "a" }]),
    });
    expect(added.status).toBe(201);
    const id = added.body.attachments[0].id;
    expect(
      (
        await api(h, "POST", `/projects/${project}/attachments`, {
          token: viewer.token,
          body: form([{ name: "v.txt", bytes: "v" }]),
        })
      ).status,
    ).toBe(403);
    expect((await api(h, "DELETE", `/projects/${project}/attachments/${id}`, { token: viewer.token })).status).toBe(404);
    expect((await api(h, "GET", `/projects/${project}/attachments`, { token: stranger.token })).status).toBe(404);
    expect((await api(h, "GET", `/projects/${project}/attachments/${id}`, { token: stranger.token })).status).toBe(404);
    expect(
      (
        await api(h, "POST", `/projects/${project}/attachments`, {
          token: stranger.token,
          body: form([{ name: "s.txt", bytes: "s" }]),
        })
      ).status,
    ).toBe(404);

    const used = await storageUsed(owner);
    const path = (
      await h.db.asService((sql) => sql.query<{ path: string }>("select path from public.stored_objects where id = $1", [id]))
    ).rows[0]!.path;
    expect(await bucketKeys(h, "private")).toContain(path);
    expect((await api(h, "DELETE", `/projects/${project}/attachments/${id}`, { token: editor.token })).status).toBe(204);
    expect(await storageUsed(owner)).toBe(used - 1);
    expect(await bucketKeys(h, "private")).not.toContain(path);
  });

  it("refuses a file over 50 MB and keeps nothing of it", async () => {
    const count = await objectCount(project, "attachment");
    const used = await storageUsed(owner);
    const big = Buffer.alloc(50 * 1024 * 1024 + 1, 1);
    const res = await api(h, "POST", `/projects/${project}/attachments`, {
      token: owner.token,
      body: form([{ name: "big.bin", bytes: big }]),
    });
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe("PAYLOAD_TOO_LARGE");
    expect(await objectCount(project, "attachment")).toBe(count);
    expect(await storageUsed(owner)).toBe(used);
    await h.services.store.sweep();
    expect((await bucketKeys(h, "private")).filter((k) => k.endsWith("big.bin"))).toEqual([]);
  });
});

describe("imports", () => {
  it("creates a diagram per good file and reports each bad one, leaving nothing for it", async () => {
    const a = await readFile(`${FIXTURES}/A.1.0.bpmn`);
    const c = await readFile(`${FIXTURES}/C.1.0.bpmn`);
    const res = await api(h, "POST", `/projects/${project}/imports`, {
      token: editor.token,
      body: form([
        { name: "first.bpmn", bytes: a },
        { name: "broken.bpmn", bytes: "<definitions>not bpmn" },
        { name: "latin1.bpmn", bytes: Buffer.from([0x3c, 0xe9, 0xff, 0x3e]) },
        { name: "second.bpmn", bytes: c },
      ]),
    });
    expect(res.status).toBe(201);
    expect(res.body.created).toBe(2);
    expect(res.body.results.map((r: { status: number }) => r.status)).toEqual([201, 422, 422, 201]);
    expect(res.body.results[2].error.message).toMatch(/UTF-8/);
    const first = res.body.results[0].diagram;
    expect(first.title).toBe("first");
    const got = await api(h, "GET", `/diagrams/${first.id}?format=xml`, { token: viewer.token });
    expect(got.bytes.equals(a)).toBe(true);
    const versions = await h.db.asService((sql) =>
      sql.query<{ message: string; author_id: string }>(
        "select message, author_id from public.diagram_versions where diagram_id = $1",
        [first.id],
      ),
    );
    expect(versions.rows).toEqual([{ message: "imported from first.bpmn", author_id: editor.id }]);
    const imports = await h.db.asService((sql) =>
      sql.query<{ name: string; diagram_id: string }>(
        "select name, diagram_id from public.stored_objects where project_id = $1 and kind = 'import' order by name",
        [project],
      ),
    );
    expect(imports.rows.map((r) => r.name)).toEqual(["first.bpmn", "second.bpmn"]);
    expect(imports.rows.every((r) => r.diagram_id)).toBe(true);
  });

  it("leaves nothing for a file the plan refuses", async () => {
    const free = await createUser(h, "FREE");
    const p = await createProject(h, free);
    const xml = await readFile(`${FIXTURES}/A.1.0.bpmn`);
    const files = Array.from({ length: 6 }, (_, i) => ({ name: `d${i}.bpmn`, bytes: xml }));
    const res = await api(h, "POST", `/projects/${p}/imports`, { token: free.token, body: form(files) });
    expect(res.status).toBe(201);
    expect(res.body.results.map((r: { status: number }) => r.status)).toEqual([201, 201, 201, 201, 201, 402]);
    expect(res.body.results[5].error.code).toBe("PLAN_LIMIT");
    expect(await objectCount(p, "import")).toBe(5);
  });

  it("answers 403 to viewers and 415 to a body that is not multipart", async () => {
    expect(
      (
        await api(h, "POST", `/projects/${project}/imports`, {
          token: viewer.token,
          body: form([{ name: "x.bpmn", bytes: "x" }]),
        })
      ).status,
    ).toBe(403);
    expect((await api(h, "POST", `/projects/${project}/imports`, { token: owner.token, json: { x: 1 } })).status).toBe(415);
  });
});

describe("quotas", () => {
  const LIMIT = 100 * 1024 * 1024;

  async function fillTo(user: TestUser, bytes: number) {
    await h.db.asService((sql) =>
      sql.query("update public.profiles set storage_used_bytes = $2 where id = $1", [user.id, bytes]),
    );
  }

  it("refuses an upload that would pass the plan total, before or while it streams", async () => {
    const free = await createUser(h, "FREE");
    const p = await createProject(h, free);
    await fillTo(free, LIMIT - 3 * 1024 * 1024);
    const res = await api(h, "POST", `/projects/${p}/attachments`, {
      token: free.token,
      body: form([{ name: "too-big.bin", bytes: Buffer.alloc(4 * 1024 * 1024, 2) }]),
    });
    expect(res.status).toBe(402);
    expect(res.body.error).toMatchObject({ code: "PLAN_LIMIT", limit: "total_storage", plan: "FREE" });
    expect(await storageUsed(free)).toBe(LIMIT - 3 * 1024 * 1024);
    expect(await objectCount(p, "attachment")).toBe(0);
    await h.services.store.sweep();
    expect((await bucketKeys(h, "private")).filter((k) => k.includes(p))).toEqual([]);

    // A file that fits is stored and counted.
    const ok = await api(h, "POST", `/projects/${p}/attachments`, {
      token: free.token,
      body: form([{ name: "ok.bin", bytes: Buffer.alloc(1000, 3) }]),
    });
    expect(ok.status).toBe(201);
    expect(await storageUsed(free)).toBe(LIMIT - 3 * 1024 * 1024 + 1000);
  });

  it("never lets concurrent uploads pass the total together", async () => {
    const free = await createUser(h, "FREE");
    const p = await createProject(h, free);
    const room = 3 * 1024 * 1024;
    await fillTo(free, LIMIT - room);
    const size = 900 * 1024;
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        api(h, "POST", `/projects/${p}/attachments`, {
          token: free.token,
          body: form([{ name: `c${i}.bin`, bytes: Buffer.alloc(size, i) }]),
        }),
      ),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.every((s) => s === 201 || s === 402)).toBe(true);
    const stored = statuses.filter((s) => s === 201).length;
    expect(stored).toBeGreaterThanOrEqual(1);
    expect(stored).toBeLessThanOrEqual(3);
    const used = await storageUsed(free);
    expect(used).toBeLessThanOrEqual(LIMIT);
    expect(used).toBe(LIMIT - room + stored * size);
    expect(await objectCount(p, "attachment")).toBe(stored);
  });

  it("counts exports and refuses one over the total", async () => {
    const pro = await createUser(h, "PRO");
    const xml = await readFile(`${FIXTURES}/A.1.0.bpmn`, "utf8");
    const d = await api(h, "POST", "/diagrams", { token: pro.token, json: { bpmn_xml: xml } });
    const before = await storageUsed(pro);
    const ok = await api(h, "POST", `/diagrams/${d.body.diagram.id}/exports`, { token: pro.token, json: { format: "xml" } });
    expect(ok.status).toBe(201);
    expect((await storageUsed(pro)) - before).toBe(ok.body.size);
    await fillTo(pro, 10 * 1024 * 1024 * 1024 - 10);
    const refused = await api(h, "POST", `/diagrams/${d.body.diagram.id}/exports`, { token: pro.token, json: { format: "xml" } });
    expect(refused.status).toBe(402);
    expect(refused.body.error.limit).toBe("total_storage");
  });
});

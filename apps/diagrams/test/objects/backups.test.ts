/**
 * Project backups against a real service: the seed's format written gzipped to the private bucket,
 * a restore that equals its source (diagrams, every version with its author, message and time,
 * attachments' bytes) under fresh ids, a tampered backup or one over the plan leaving nothing
 * behind (also when the bad value comes last, or a value or the whole backup is over its limit: the
 * restore streams), retention, owners only, and automatic backups that run once across processes.
 */
import { readFile } from "node:fs/promises";
import { Readable } from "node:stream";
import { gunzipSync, gzipSync } from "node:zlib";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inThreadBpmn } from "../../src/bpmn/pool.ts";
import { BackupScheduler } from "../../src/objects/backup-scheduler.ts";
import { pruneBackups } from "../../src/objects/project-backup.ts";
import { restoreProjectBackup } from "../../src/objects/project-restore.ts";
import { api, createProject, createUser, FIXTURES, type ObjectHarness, startObjectService, type TestUser } from "./harness.ts";

let h: ObjectHarness;
let owner: TestUser;
let editor: TestUser;
let stranger: TestUser;
let xmlA: string;
let xmlC: string;

const edited = (xml: string, n: number) => xml.replace("</bpmn:definitions>", `</bpmn:definitions>${"\n".repeat(n)}`);

async function q<T>(text: string, params: unknown[] = []): Promise<T[]> {
  return h.db.asService(async (sql) => (await sql.query<T>(text, params)).rows);
}

/** A project with two diagrams (one saved by an editor with messages) and an attachment. */
async function seedProject(user: TestUser): Promise<string> {
  const project = await createProject(h, user);
  await h.db.asService((sql) =>
    sql.query("insert into public.collaborators (project_id, user_id, role, invited_by) values ($1, $2, 'editor', $3)", [
      project,
      editor.id,
      user.id,
    ]),
  );
  const a = await api(h, "POST", "/diagrams", {
    token: user.token,
    json: { project_id: project, title: "Order", bpmn_xml: xmlA },
  });
  expect(a.status).toBe(201);
  for (let v = 1; v <= 3; v++) {
    const who = v % 2 ? editor : user;
    const res = await api(h, "PUT", `/diagrams/${a.body.diagram.id}/content`, {
      token: who.token,
      json: { bpmn_xml: edited(xmlA, v), base_version: v, message: `change ${v}` },
    });
    expect(res.status).toBe(200);
  }
  expect(
    (await api(h, "POST", "/diagrams", { token: user.token, json: { project_id: project, title: "Vacation", bpmn_xml: xmlC } }))
      .status,
  ).toBe(201);
  const f = new FormData();
  f.append("file", new Blob([Buffer.alloc(20_000, 9)]), "spec.pdf");
  expect((await api(h, "POST", `/projects/${project}/attachments`, { token: user.token, body: f })).status).toBe(201);
  return project;
}

/** The project's content without ids: what a restore must reproduce. */
async function snapshot(projectId: string) {
  const diagrams = await q<{
    id: string;
    title: string;
    bpmn_xml: string;
    version: number;
    created_by: string;
    created_at: Date;
  }>("select id, title, bpmn_xml, version, created_by, created_at from public.diagrams where project_id = $1 order by title", [
    projectId,
  ]);
  const out = [];
  for (const d of diagrams) {
    const versions = await q(
      "select version, bpmn_xml, author_id, message, metadata, created_at from public.diagram_versions where diagram_id = $1 order by version",
      [d.id],
    );
    out.push({
      title: d.title,
      bpmn_xml: d.bpmn_xml,
      version: d.version,
      created_by: d.created_by,
      created_at: d.created_at,
      versions,
    });
  }
  const attachments = await q(
    "select name, size_bytes, sha256, content_type from public.stored_objects where project_id = $1 and kind = 'attachment'",
    [projectId],
  );
  return { diagrams: out, attachments };
}

beforeAll(async () => {
  h = await startObjectService({ BACKUP_CHECK_INTERVAL_MS: "0" });
  owner = await createUser(h, "PRO");
  editor = await createUser(h, "PRO");
  stranger = await createUser(h, "PRO");
  xmlA = await readFile(`${FIXTURES}/A.1.0.bpmn`, "utf8");
  xmlC = await readFile(`${FIXTURES}/C.1.0.bpmn`, "utf8");
});
afterAll(async () => {
  await h?.close();
});

describe("project backups", () => {
  it("writes the seed's format, gzipped, and restores it as an equal new project", async () => {
    const project = await seedProject(owner);
    const backup = await api(h, "POST", `/projects/${project}/backups`, { token: owner.token });
    expect(backup.status).toBe(201);
    expect(backup.body.backup).toMatchObject({ diagrams: 2, versions: 5, attachments: 1, trigger: "manual" });
    expect(backup.body.backup.url).toMatch(
      new RegExp(`/objects/private/projects/${owner.id}/${project}/backups/.+\\.json\\.gz\\?exp=`),
    );

    const file = await api(h, "GET", backup.body.backup.url);
    const doc = JSON.parse(gunzipSync(file.bytes).toString("utf8"));
    expect(doc).toMatchObject({ version: "1.0", project: { id: project, name: expect.any(String) } });
    expect(Date.parse(doc.timestamp)).toBeGreaterThan(Date.now() - 60_000);
    expect(doc.diagrams.map((d: { title: string; versions: unknown[] }) => [d.title, d.versions.length])).toEqual([
      ["Order", 4],
      ["Vacation", 1],
    ]);
    expect(doc.attachments[0]).toMatchObject({ name: "spec.pdf", size: 20_000, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });

    const list = await api(h, "GET", `/projects/${project}/backups`, { token: owner.token });
    expect(list.body.backups.map((b: { id: string }) => b.id)).toEqual([backup.body.backup.id]);

    const restored = await api(h, "POST", `/projects/${project}/backups/${backup.body.backup.id}/restore`, {
      token: owner.token,
    });
    expect(restored.status).toBe(201);
    expect(restored.body).toMatchObject({ diagrams: 2, versions: 5, attachments: 1 });
    const copy = restored.body.project_id;
    expect(copy).not.toBe(project);
    const [before, after] = [await snapshot(project), await snapshot(copy)];
    expect(after).toEqual(before);
    expect(after.diagrams[0]!.versions.map((v) => (v as { message: string }).message)).toEqual([
      null,
      "change 1",
      "change 2",
      "change 3",
    ]);
    // Fresh ids everywhere; the restored project is the caller's, private, with its own attachment bytes.
    const ids = await q<{ n: number }>(
      "select count(*)::int as n from public.diagrams a join public.diagrams b on a.id = b.id where a.project_id = $1 and b.project_id = $2",
      [project, copy],
    );
    expect(ids[0]!.n).toBe(0);
    const [p] = await q<{ profile_id: string; is_public: boolean }>(
      "select profile_id, is_public from public.projects where id = $1",
      [copy],
    );
    expect(p).toEqual({ profile_id: owner.id, is_public: false });
    const att = await api(h, "GET", `/projects/${copy}/attachments`, { token: owner.token });
    const one = await api(h, "GET", `/projects/${copy}/attachments/${att.body.attachments[0].id}`, { token: owner.token });
    expect(one.body.attachment.url).toContain(`/projects/${owner.id}/${copy}/attachments/`);
    expect((await api(h, "GET", one.body.attachment.url)).bytes.equals(Buffer.alloc(20_000, 9))).toBe(true);
  });

  it("refuses a tampered backup and creates nothing", async () => {
    const project = await seedProject(owner);
    const backup = await api(h, "POST", `/projects/${project}/backups`, { token: owner.token });
    const [row] = await q<{ path: string }>("select path from public.stored_objects where id = $1", [backup.body.backup.id]);
    const doc = JSON.parse(gunzipSync((await api(h, "GET", backup.body.backup.url)).bytes).toString("utf8"));
    doc.diagrams[0].versions[1].bpmn_xml = doc.diagrams[0].versions[1].bpmn_xml.replace("Task", "Tusk");
    await h.services.buckets.private.upload(Readable.from([gzipSync(JSON.stringify(doc))]), row!.path);
    const projects = (await q("select id from public.projects")).length;
    const objects = (await h.services.buckets.private.list("projects/")).length;

    const res = await api(h, "POST", `/projects/${project}/backups/${backup.body.backup.id}/restore`, { token: owner.token });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe("INVALID_BACKUP");
    expect(res.body.error.message).toMatch(/checksum.*nothing was created/);
    expect((await q("select id from public.projects")).length).toBe(projects);
    expect((await h.services.buckets.private.list("projects/")).length).toBe(objects);

    await h.services.buckets.private.upload(Readable.from([Buffer.from("not gzip")]), row!.path);
    expect(
      (await api(h, "POST", `/projects/${project}/backups/${backup.body.backup.id}/restore`, { token: owner.token })).status,
    ).toBe(422);
  });

  it("streams the restore: a late bad value, a value larger than any diagram, or a backup over the cap leaves nothing", async () => {
    const project = await seedProject(owner);
    const backup = await api(h, "POST", `/projects/${project}/backups`, { token: owner.token });
    const [row] = await q<{ path: string }>("select path from public.stored_objects where id = $1", [backup.body.backup.id]);
    const original = (await api(h, "GET", backup.body.backup.url)).bytes;
    const doc = JSON.parse(gunzipSync(original).toString("utf8"));
    const counts = async () => ({
      projects: (await q("select id from public.projects")).length,
      diagrams: (await q("select id from public.diagrams")).length,
      versions: (await q("select 1 from public.diagram_versions")).length,
      objects: (await h.services.buckets.private.list("projects/")).length,
    });
    const before = await counts();
    const restore = () => api(h, "POST", `/projects/${project}/backups/${backup.body.backup.id}/restore`, { token: owner.token });
    const upload = (value: unknown) =>
      h.services.buckets.private.upload(Readable.from([gzipSync(JSON.stringify(value))]), row!.path);

    // The attachment is the last value: every diagram and version was written, and its copy made,
    // before its checksum fails. All of it goes.
    await upload({ ...doc, attachments: doc.attachments.map((a: object) => ({ ...a, sha256: "0".repeat(64) })) });
    let res = await restore();
    expect(res.status).toBe(422);
    expect(res.body.error.message).toMatch(/attachment "spec.pdf" does not match its checksum; nothing was created/);
    expect(await counts()).toEqual(before);

    // A string far larger than MAX_DIAGRAM_BYTES (5 MiB here) is refused while it streams in.
    const huge = structuredClone(doc);
    huge.diagrams[1].versions[0].bpmn_xml = "x".repeat(12 * 1024 * 1024);
    await upload(huge);
    res = await restore();
    expect(res.status).toBe(422);
    expect(res.body.error.message).toMatch(/holds a value larger than \d+ bytes/);
    expect(await counts()).toEqual(before);

    // Over the decompressed-size cap (lowered here): refused part way, nothing kept.
    await h.services.buckets.private.upload(Readable.from([original]), row!.path);
    const claims = { sub: owner.id, role: "authenticated" as const };
    const target = { bucket: "private" as const, path: row!.path };
    await expect(
      restoreProjectBackup(h.db, h.services.store, inThreadBpmn(), claims, target, 5 * 1024 * 1024, {
        maxJsonBytes: Math.floor(gunzipSync(original).length / 2),
      }),
    ).rejects.toMatchObject({ code: "INVALID_BACKUP", message: expect.stringMatching(/larger than \d+ bytes uncompressed/) });
    expect(await counts()).toEqual(before);

    // Cut short (a truncated upload): not valid JSON, nothing kept.
    await h.services.buckets.private.upload(
      Readable.from([gzipSync(gunzipSync(original).subarray(0, Math.floor(gunzipSync(original).length * 0.8)))]),
      row!.path,
    );
    res = await restore();
    expect(res.status).toBe(422);
    expect(res.body.error.message).toMatch(/not valid JSON/);
    expect(await counts()).toEqual(before);

    // The untouched backup still restores, with the same counts as its record.
    await h.services.buckets.private.upload(Readable.from([original]), row!.path);
    res = await restore();
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ diagrams: 2, versions: 5, attachments: 1 });
  });

  it("answers 402 when the restored project would pass the plan, leaving nothing", async () => {
    const free = await createUser(h, "FREE");
    const project = await seedProject(free);
    const backup = await api(h, "POST", `/projects/${project}/backups`, { token: free.token });
    expect(backup.status).toBe(201);
    await createProject(h, free); // FREE allows 2 projects
    const objects = (await h.services.buckets.private.list("projects/")).length;
    const res = await api(h, "POST", `/projects/${project}/backups/${backup.body.backup.id}/restore`, { token: free.token });
    expect(res.status).toBe(402);
    expect(res.body.error).toMatchObject({ code: "PLAN_LIMIT", limit: "projects", plan: "FREE" });
    expect((await q("select id from public.projects where profile_id = $1", [free.id])).length).toBe(2);
    expect((await h.services.buckets.private.list("projects/")).length).toBe(objects);
  });

  it("is for owners only", async () => {
    const project = await createProject(h, owner);
    await h.db.asService((sql) =>
      sql.query("insert into public.collaborators (project_id, user_id, role, invited_by) values ($1, $2, 'editor', $3)", [
        project,
        editor.id,
        owner.id,
      ]),
    );
    expect((await api(h, "POST", `/projects/${project}/backups`, { token: editor.token })).status).toBe(403);
    expect((await api(h, "GET", `/projects/${project}/backups`, { token: editor.token })).status).toBe(403);
    expect((await api(h, "POST", `/projects/${project}/backups`, { token: stranger.token })).status).toBe(404);
  });

  it("keeps the newest backups and deletes the others with their bytes", async () => {
    const project = await createProject(h, owner);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++)
      ids.push((await api(h, "POST", `/projects/${project}/backups`, { token: owner.token })).body.backup.id);
    const paths = await q<{ path: string }>(
      "select path from public.stored_objects where project_id = $1 and kind = 'backup' order by created_at",
      [project],
    );
    expect(await pruneBackups(h.db, h.services.store, project, 2)).toBe(1);
    const left = await api(h, "GET", `/projects/${project}/backups`, { token: owner.token });
    expect(left.body.backups.map((b: { id: string }) => b.id)).toEqual([ids[2], ids[1]]);
    const keys = (await h.services.buckets.private.list("")).map((o) => o.key);
    expect(keys).not.toContain(paths[0]!.path);
    expect(keys).toContain(paths[2]!.path);
  });
});

describe("automatic backups", () => {
  const count = async (projectId: string) =>
    (
      await q<{ n: number }>("select count(*)::int as n from public.stored_objects where project_id = $1 and kind = 'backup'", [
        projectId,
      ])
    )[0]!.n;

  it("backs up ENTERPRISE projects after changes, once across processes, at most once per debounce period", async () => {
    const ent = await createUser(h, "ENTERPRISE");
    const project = await createProject(h, ent);
    const logger = pino({ level: "silent" });
    const a = new BackupScheduler(h.db, h.services.store, logger, 60_000);
    const b = new BackupScheduler(h.db, h.services.store, logger, 60_000);
    await a.tick();
    expect(await count(project)).toBe(0); // no change yet
    const d = await api(h, "POST", "/diagrams", { token: ent.token, json: { project_id: project, bpmn_xml: xmlA } });
    await api(h, "PUT", `/diagrams/${d.body.diagram.id}/content`, {
      token: ent.token,
      json: { bpmn_xml: edited(xmlA, 1), base_version: 1 },
    });
    await new Promise((r) => setTimeout(r, 200)); // the change mark is written after the answer
    const ran = await Promise.all([a.tick(), b.tick()]);
    expect(ran[0] + ran[1]).toBe(1);
    expect(await count(project)).toBe(1);
    await api(h, "PUT", `/diagrams/${d.body.diagram.id}/content`, {
      token: ent.token,
      json: { bpmn_xml: edited(xmlA, 2), base_version: 2 },
    });
    await new Promise((r) => setTimeout(r, 200));
    expect(await a.tick()).toBe(0); // within the debounce period
    expect(await count(project)).toBe(1);
  });

  it("backs up PRO projects daily and FREE projects never", async () => {
    const pro = await createUser(h, "PRO");
    const free = await createUser(h, "FREE");
    const proProject = await createProject(h, pro);
    const freeProject = await createProject(h, free);
    const s = new BackupScheduler(h.db, h.services.store, pino({ level: "silent" }), 60_000);
    await s.tick();
    expect(await count(proProject)).toBe(1);
    expect(await count(freeProject)).toBe(0);
    await s.tick();
    expect(await count(proProject)).toBe(1);
    await h.db.asService((sql) =>
      sql.query(
        "update stowage_private.project_backup_state set last_auto_at = now() - interval '25 hours' where project_id = $1",
        [proProject],
      ),
    );
    await s.tick();
    expect(await count(proProject)).toBe(2);
  });
});

/**
 * The whole manual flow through the API, against real servers: SQLite metadata, the local
 * PostgreSQL as source and restore target, a local folder and s3rver as destinations.
 * Backup to two destinations; browser download as a `.tar` (extracted, `stowage verify` passes,
 * checksums equal the manifest, one-time link); verify; restore from a destination and from an
 * uploaded `.tar`; delete; and no secret in any answer, log line or the metadata file.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { adminQuery, createDatabase, dropDatabase, psql, uniqueName } from "../../../../packages/backup-core/test/helpers/pg.ts";
import { type S3TestServer, startS3Server } from "../../../../packages/storage/test/servers/s3-server.ts";
import { type Json, startTestServer, type TestServer } from "./harness.ts";

const run = promisify(execFile);
const BIN = new URL("../../bin/stowage.js", import.meta.url).pathname;

// Real backups, child processes and CLI runs: minutes, not seconds, when every core is busy (load 40 seen).
vi.setConfig({ testTimeout: 300_000, hookTimeout: 300_000 });
let t: TestServer;
let s3: S3TestServer;
let work: string;
const source = uniqueName("srv_src");
const restoreTarget = uniqueName("srv_dst");
const uploadTarget = uniqueName("srv_up");
const role = uniqueName("srv_role");
const PASSWORD = `pw-${createHash("sha256").update(role).digest("hex").slice(0, 20)}`;
let sourceUrl: string;
let projectId: string;
let localId: string;
let s3Id: string;
/** Every JSON answer seen, to search for secrets at the end. */
const answers: string[] = [];

function remember<T extends { text: string }>(res: T): T {
  answers.push(res.text);
  return res;
}

async function waitDone(backupId: string): Promise<Json> {
  const events = await t.admin.events(`/api/backups/${backupId}/events`);
  const done = events.find((e) => e.event === "done");
  expect(done, JSON.stringify(events.slice(-3))).toBeDefined();
  return events;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "stowage-flow-"));
  await createDatabase(source);
  await adminQuery(`CREATE ROLE "${role}" LOGIN PASSWORD '${PASSWORD}'`);
  await adminQuery(`GRANT ALL ON DATABASE "${source}" TO "${role}"`);
  await psql(`postgresql://postgres@127.0.0.1:5432/${source}`, {
    sql: `create table items (id int primary key, name text not null);
          insert into items select g, 'item ' || g from generate_series(1, 5000) g;
          create table notes (id serial primary key, body text);
          insert into notes (body) values ('hello'), ('world');`,
  });
  // The URL carries a password (trust auth ignores it): it must never come back or be stored in clear.
  sourceUrl = `postgresql://postgres:${PASSWORD}@127.0.0.1:5432/${source}`;
  s3 = await startS3Server({ buckets: ["flow"] });
  t = await startTestServer();
});

afterAll(async () => {
  await t?.close();
  await s3?.stop();
  await dropDatabase(source);
  await dropDatabase(restoreTarget);
  await dropDatabase(uploadTarget);
  await adminQuery(`DROP ROLE IF EXISTS "${role}"`).catch(() => {});
  await rm(work, { recursive: true, force: true });
});

describe("destinations", () => {
  it("creates the default local destination from the environment on first start", async () => {
    const res = remember(await t.admin.get("/api/destinations"));
    expect(res.status).toBe(200);
    expect(res.body.items).toHaveLength(1);
    expect(res.body.items[0]).toMatchObject({ name: "Default", type: "local_mapped", isDefault: true });
    expect(res.body.items[0].config.basePath).toBe(t.localStoragePath);
    localId = res.body.items[0].id;
  });

  it("refuses an invalid config with 422 naming the field, and an unreachable one with the provider's message", async () => {
    const bad = await t.admin.post("/api/destinations", { name: "bad", type: "s3", config: { bucket: "flow" } });
    expect(bad.status).toBe(422);
    expect(bad.body.error.code).toBe("INVALID_CONFIG");
    expect(bad.body.error.message).toMatch(/accessKeyId/);
    const relative = await t.admin.post("/api/destinations", {
      name: "rel",
      type: "local_mapped",
      config: { basePath: "backups" },
    });
    expect(relative.status).toBe(422);
    expect(relative.body.error.field).toBe("config.basePath");
    const down = await t.admin.post("/api/destinations", {
      name: "down",
      type: "s3",
      config: {
        endpoint: "http://127.0.0.1:9",
        bucket: "flow",
        accessKeyId: "x",
        secretAccessKey: "y",
        forcePathStyle: true,
        region: "us-east-1",
      },
    });
    expect(down.status).toBe(422);
    expect(down.body.error.code).toBe("CONNECTION_FAILED");
    expect(down.body.error.message.length).toBeGreaterThan(10);
    expect((await t.admin.get("/api/destinations")).body.items).toHaveLength(1);
  });

  it("creates an s3 destination, answers its secret as { set: true }, keeps it on a PATCH that omits it", async () => {
    const res = remember(
      await t.admin.post("/api/destinations", {
        name: "s3rver",
        type: "s3",
        config: {
          endpoint: s3.endpoint,
          region: "us-east-1",
          bucket: "flow",
          prefix: "stowage",
          accessKeyId: s3.accessKeyId,
          secretAccessKey: s3.secretAccessKey,
          forcePathStyle: true,
        },
      }),
    );
    expect(res.status, res.text).toBe(201);
    expect(res.body.config.secretAccessKey).toEqual({ set: true });
    expect(res.body.validationStatus).toBe("valid");
    s3Id = res.body.id;
    const patched = remember(await t.admin.patch(`/api/destinations/${s3Id}`, { config: { prefix: "stowage2" } }));
    expect(patched.status, patched.text).toBe(200);
    expect(patched.body.config).toMatchObject({ prefix: "stowage2", secretAccessKey: { set: true } });
    const back = remember(
      await t.admin.patch(`/api/destinations/${s3Id}`, { config: { prefix: "stowage", secretAccessKey: { set: true } } }),
    );
    expect(back.status, back.text).toBe(200);
    const test = remember(await t.admin.post(`/api/destinations/${s3Id}/test`));
    expect(test.body).toMatchObject({ valid: true });
    expect(typeof test.body.lastTested).toBe("string");
    const one = remember(await t.admin.get(`/api/destinations/${s3Id}`));
    expect(one.body.lastValidated).toBe(test.body.lastTested);
  });

  it("test reports a broken destination and records it", async () => {
    const extra = await mkdtemp(join(tmpdir(), "stowage-extra-"));
    const created = await t.admin.post("/api/destinations", { name: "temp", type: "local_mapped", config: { basePath: extra } });
    expect(created.status).toBe(201);
    // The folder is replaced by a plain file: not a place backups can go.
    await rm(extra, { recursive: true });
    await writeFile(extra, "not a folder");
    const test = await t.admin.post(`/api/destinations/${created.body.id}/test`);
    expect(test.body.valid).toBe(false);
    expect(test.body.error).toBeTruthy();
    const row = await t.admin.get(`/api/destinations/${created.body.id}`);
    expect(row.body).toMatchObject({ validationStatus: "invalid" });
    expect((await t.admin.delete(`/api/destinations/${created.body.id}`)).status).toBe(200);
    expect((await t.admin.get(`/api/destinations/${created.body.id}`)).status).toBe(404);
    await rm(extra, { force: true });
  });
});

describe("projects", () => {
  it("stores the URL encrypted and never answers its password", async () => {
    const res = remember(await t.admin.post("/api/projects", { name: "shop", databaseUrl: sourceUrl }));
    expect(res.status, res.text).toBe(201);
    expect(res.body.databaseUrl).toBe(`postgresql://postgres:***@127.0.0.1:5432/${source}`);
    expect(res.body.hasPassword).toBe(true);
    projectId = res.body.id;
    const bad = await t.admin.post("/api/projects", { name: "bad", databaseUrl: "mysql://x@y/z" });
    expect(bad.status).toBe(422);
    expect(bad.body.error.field).toBe("databaseUrl");
    const dup = await t.admin.post("/api/projects", { name: "shop", databaseUrl: sourceUrl });
    expect(dup.status).toBe(409);
  });

  it("tests the connection: version, plain PostgreSQL, size; and an unreachable one in words", async () => {
    const res = remember(await t.admin.post(`/api/projects/${projectId}/test`));
    expect(res.body).toMatchObject({ ok: true, supabase: false });
    expect(res.body.serverVersion).toMatch(/^\d+/);
    expect(res.body.sizeBytes).toBeGreaterThan(0);
    const other = await t.admin.post("/api/projects", {
      name: "nowhere",
      databaseUrl: "postgresql://u:p4ssw0rd-x@127.0.0.1:9/db",
    });
    const failed = remember(await t.admin.post(`/api/projects/${other.body.id}/test`));
    expect(failed.body.ok).toBe(false);
    expect(failed.body.error).toMatch(/cannot reach/);
    expect(failed.body.error).not.toContain("p4ssw0rd-x");
    // A PATCH that sends the masked URL back keeps the password.
    const patched = remember(
      await t.admin.patch(`/api/projects/${projectId}`, {
        databaseUrl: res.body.databaseUrl ?? `postgresql://postgres:***@127.0.0.1:5432/${source}`,
      }),
    );
    expect(patched.status).toBe(200);
    expect(patched.body.hasPassword).toBe(true);
    expect((await t.admin.delete(`/api/projects/${other.body.id}`)).status).toBe(200);
  });
});

describe("manual backups", () => {
  let backupId: string;

  it("backs up to two destinations with one dump; per-destination rows; checksums equal the manifest", async () => {
    const res = remember(
      await t.admin.post(`/api/projects/${projectId}/backups`, {
        backupType: "full",
        storageType: "destination",
        storageDestinationIds: [localId, s3Id],
        compressionType: "gzip",
        includeMigrationHistory: true,
      }),
    );
    expect(res.status, res.text).toBe(202);
    backupId = res.body.backupId;
    const events = await waitDone(backupId);
    expect(events.some((e: Json) => e.event === "progress" && e.data.bytesDumped > 0)).toBe(true);
    const progress = events.filter((e: Json) => e.event === "progress").at(-1);
    expect(progress.data.destinations).toHaveLength(2);
    const detail = remember(await t.admin.get(`/api/backups/${backupId}`));
    expect(detail.body.status, detail.body.error).toBe("completed");
    expect(detail.body.destinations.map((d: Json) => d.status)).toEqual(["completed", "completed"]);
    const manifest = detail.body.manifest;
    expect(manifest.files.length).toBeGreaterThanOrEqual(3);
    expect(manifest.migrationHistory).toBe(false); // no supabase_migrations schema: skipped, and the manifest says so
    expect(detail.body.size).toBe(manifest.files.reduce((n: number, f: Json) => n + f.size, 0));
    // The bytes on the local destination are the ones the manifest names.
    const folder = join(t.localStoragePath, detail.body.storageFilePath);
    const rawManifest = await readFile(join(folder, "manifest.json"), "utf8");
    expect(createHash("sha256").update(rawManifest).digest("hex")).toBe(detail.body.manifestSha256);
    for (const file of manifest.files) {
      const bytes = await readFile(join(folder, file.name));
      expect(createHash("sha256").update(bytes).digest("hex")).toBe(file.sha256);
    }
    const list = remember(await t.admin.get(`/api/backups?projectId=${projectId}&status=completed`));
    expect(list.body.items.map((b: Json) => b.id)).toContain(backupId);
    const dests = remember(await t.admin.get(`/api/destinations/${s3Id}`));
    expect(dests.body.totalBackups).toBe(1);
    expect(dests.body.totalSize).toBe(detail.body.size);
  });

  it("verifies a stored backup", async () => {
    const res = remember(await t.admin.post(`/api/backups/${backupId}/verify`));
    expect(res.status, res.text).toBe(200);
    expect(res.body.ok).toBe(true);
    expect((await t.admin.get(`/api/backups/${backupId}`)).body.verifyStatus).toBe("ok");
  });

  it("restores a stored backup into another database as a job with events", async () => {
    await createDatabase(restoreTarget);
    const res = remember(
      await t.admin.post(`/api/backups/${backupId}/restore`, {
        targetDatabaseUrl: `postgresql://postgres:${PASSWORD}@127.0.0.1:5432/${restoreTarget}`,
        clean: false,
      }),
    );
    expect(res.status, res.text).toBe(202);
    const events = await t.admin.events(`/api/restores/${res.body.restoreId}/events`);
    const done = events.find((e) => e.event === "done");
    expect(done?.data.status, JSON.stringify(done?.data)).toBe("completed");
    expect(done?.data.targetDatabase).not.toContain(PASSWORD);
    const rows = await adminQuery<{ n: string }>("select count(*)::text as n from items", restoreTarget);
    expect(rows[0]!.n).toBe("5000");
  });

  it("pages the list with a keyset cursor", async () => {
    const second = await t.admin.post(`/api/projects/${projectId}/backups`, {
      backupType: "schema",
      storageType: "destination",
      compressionType: "none",
    });
    await waitDone(second.body.backupId);
    const first = await t.admin.get("/api/backups?limit=1");
    expect(first.body.items).toHaveLength(1);
    expect(first.body.items[0].id).toBe(second.body.backupId);
    expect(first.body.nextCursor).toBeTruthy();
    const next = await t.admin.get(`/api/backups?limit=1&cursor=${encodeURIComponent(first.body.nextCursor)}`);
    expect(next.body.items[0].id).toBe(backupId);
    const one = await t.admin.get(`/api/backups/${second.body.backupId}`);
    expect(one.body.destinations).toHaveLength(1);
    expect(one.body.destinations[0].destinationId).toBe(localId); // no destination chosen: the default
  });

  it("deletes a backup from every destination", async () => {
    const detail = await t.admin.get(`/api/backups/${backupId}`);
    const res = remember(await t.admin.delete(`/api/backups/${backupId}`));
    expect(res.status, res.text).toBe(200);
    expect(await readdir(join(t.localStoragePath, detail.body.storageFilePath)).catch(() => [])).toEqual([]);
    expect((await t.admin.get(`/api/backups/${backupId}`)).status).toBe(404);
    expect((await t.admin.get(`/api/destinations/${s3Id}`)).body.totalBackups).toBe(0);
  });
});

describe("browser download", () => {
  let tarPath: string;

  it("stages one .tar, streams it once, and it verifies", async () => {
    const res = remember(
      await t.admin.post(`/api/projects/${projectId}/backups`, {
        backupType: "full",
        storageType: "browser_download",
        compressionType: "gzip",
      }),
    );
    expect(res.status).toBe(202);
    const events = await waitDone(res.body.backupId);
    expect(events.some((e: Json) => e.event === "status" && e.data.status === "uploading")).toBe(true);
    const detail = remember(await t.admin.get(`/api/backups/${res.body.backupId}`));
    expect(detail.body.status, detail.body.error).toBe("completed");
    expect(detail.body.downloadUrl).toMatch(/^\/api\/backup\/download\/[A-Za-z0-9_-]{43}$/);
    expect(new Date(detail.body.expiresAt).getTime()).toBeGreaterThan(Date.now() + 3500_000);
    const download = await fetch(`${t.url}${detail.body.downloadUrl}`);
    expect(download.status).toBe(200);
    const base = `shop-${detail.body.manifest.startedAt.replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z")}`;
    expect(download.headers.get("content-disposition")).toContain(`${base}.tar`);
    const bytes = Buffer.from(await download.arrayBuffer());
    tarPath = join(work, `${base}.tar`);
    await writeFile(tarPath, bytes);
    // One-time: a second request finds nothing (409 only while the first one is still being completed).
    let again = 0;
    for (let i = 0; i < 50; i++) {
      again = (await fetch(`${t.url}${detail.body.downloadUrl}`)).status;
      if (again !== 409) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(again).toBe(404);
    const staged = await readdir(join(t.dataDir, "staging", "downloads", "objects", res.body.backupId)).catch(() => []);
    expect(staged).toEqual([]);
    // The .tar: one top-level folder, manifest.json first, the parts as stored.
    const out = join(work, "x");
    await run("mkdir", ["-p", out]);
    const { stdout: listing } = await run("tar", ["-tf", tarPath]);
    const names = listing.trim().split("\n");
    expect(names[0]).toBe(`${base}/`);
    expect(names[1]).toBe(`${base}/manifest.json`);
    await run("tar", ["-xf", tarPath, "-C", out]);
    const manifest = JSON.parse(await readFile(join(out, base, "manifest.json"), "utf8"));
    for (const file of manifest.files) {
      const data = await readFile(join(out, base, file.name));
      expect(createHash("sha256").update(data).digest("hex")).toBe(file.sha256);
    }
    // `stowage verify` accepts the downloaded .tar itself, and the folder it holds (exit code 0 either way).
    const env = { ...process.env, STOWAGE_PASSPHRASE: "" };
    const verifyTar = await run(process.execPath, [BIN, "verify", tarPath], { env });
    expect(verifyTar.stdout + verifyTar.stderr).toMatch(/ok|verified|pass/i);
    const verifyFolder = await run(process.execPath, [BIN, "verify", join(out, base)], { env });
    expect(verifyFolder.stdout + verifyFolder.stderr).toMatch(/ok|verified|pass/i);
  });

  it("restores from the uploaded .tar, after checking it against its manifest", async () => {
    await createDatabase(uploadTarget);
    const form = new FormData();
    form.set("targetDatabaseUrl", `postgresql://postgres@127.0.0.1:5432/${uploadTarget}`);
    form.set("clean", "false");
    form.set("file", new Blob([await readFile(tarPath)]), "backup.tar");
    const res = await t.admin.raw("POST", "/api/restores", { body: form });
    const body = (await res.json()) as Json;
    expect(res.status, JSON.stringify(body)).toBe(202);
    const events = await t.admin.events(`/api/restores/${body.restoreId}/events`);
    expect(events.find((e) => e.event === "done")?.data.status).toBe("completed");
    const rows = await adminQuery<{ n: string }>("select count(*)::text as n from notes", uploadTarget);
    expect(rows[0]!.n).toBe("2");
  });

  it("refuses a tampered .tar before touching the target", async () => {
    const bytes = await readFile(tarPath);
    // Flip one byte inside the last part's data (well past the headers of the first entries).
    const damaged = Buffer.from(bytes);
    const at = damaged.length - 2048;
    damaged[at] = (damaged[at] ?? 0) ^ 0xff;
    const form = new FormData();
    form.set("targetDatabaseUrl", `postgresql://postgres@127.0.0.1:5432/${uploadTarget}`);
    form.set("file", new Blob([damaged]), "backup.tar");
    const res = await t.admin.raw("POST", "/api/restores", { body: form });
    const body = (await res.json()) as Json;
    expect(res.status).toBe(422);
    expect(body.error.message).toMatch(/checksum|not a valid tar|damaged/);
    const hostile = new FormData();
    hostile.set("targetDatabaseUrl", `postgresql://postgres@127.0.0.1:5432/${uploadTarget}`);
    hostile.set("file", new Blob([Buffer.from("definitely not a tar archive".padEnd(1024, "x"))]), "x.tar");
    const res2 = await t.admin.raw("POST", "/api/restores", { body: hostile });
    expect(res2.status).toBe(422);
    expect(await readdir(join(t.dataDir, "staging", "uploads")).catch(() => [])).toHaveLength(0);
  });
});

describe("secrets", () => {
  it("never appear in an answer, a log line or the metadata file", async () => {
    const audit = remember(await t.admin.get("/api/audit?limit=200"));
    expect(audit.status).toBe(200);
    const actions = audit.body.items.map((e: Json) => e.action);
    for (const a of [
      "setup",
      "destination_created",
      "destination_changed",
      "project_created",
      "backup_started",
      "backup_downloaded",
      "restore_started",
      "backup_deleted",
    ]) {
      expect(actions).toContain(a);
    }
    const all = answers.join("\n");
    expect(all).not.toContain(PASSWORD);
    expect(all).not.toContain("p4ssw0rd-x");
    expect(all).not.toMatch(/"secretAccessKey":"/);
    const logs = t.logs.lines.join("\n");
    expect(logs).not.toContain(PASSWORD);
    expect(logs).not.toContain("p4ssw0rd-x");
    // The metadata file and its write-ahead log, byte for byte.
    const files = (await readdir(t.dataDir)).filter((n) => n.startsWith("app.db"));
    expect(files).toContain("app.db");
    for (const name of files) {
      const bytes = await readFile(join(t.dataDir, name));
      for (const secret of [PASSWORD, "p4ssw0rd-x", s3.secretAccessKey, "/api/backup/download/"]) {
        expect(bytes.includes(Buffer.from(secret)), `${secret} in ${name}`).toBe(false);
      }
    }
  });
});

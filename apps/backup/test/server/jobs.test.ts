/**
 * Jobs under stress: the concurrency limit, cancel mid-backup (parts removed, `cancelled`), a server
 * killed during a backup (row `failed` as interrupted at the next start, no manifest and no parts
 * left), and start-up refusing a wrong or missing secret key.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createDatabase, dropDatabase, psql, uniqueName } from "../../../../packages/backup-core/test/helpers/pg.ts";
import { startServer } from "../../src/server/server.ts";
import { ADMIN_EMAIL, ADMIN_PASSWORD, ApiClient, type Json, startChildServer, startTestServer, testEnv } from "./harness.ts";

// Real backups, child processes and CLI runs: minutes, not seconds, when every core is busy (load 40 seen).
vi.setConfig({ testTimeout: 300_000, hookTimeout: 300_000 });
const big = uniqueName("srv_big");
const small = uniqueName("srv_small");
let bigUrl: string;
let smallUrl: string;
const dirs: string[] = [];

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "stowage-jobs-"));
  dirs.push(dir);
  return dir;
}

/** Every regular file under `dir` (recursively), relative. */
async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string, rel: string) => {
    for (const entry of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      if (entry.isDirectory()) await walk(join(d, entry.name), `${rel}${entry.name}/`);
      else out.push(`${rel}${entry.name}`);
    }
  };
  await walk(dir, "");
  return out;
}

/** Waits until the backup's event stream reports dumped bytes. */
async function untilDumping(client: ApiClient, backupId: string): Promise<void> {
  const events = await client.events(`/api/backups/${backupId}/events`, (e) => e.event === "progress" && e.data.bytesDumped > 0);
  expect(
    events.some((e) => e.event === "progress"),
    JSON.stringify(events.at(-1)),
  ).toBe(true);
}

beforeAll(async () => {
  // ~150 MB of SQL: gzip at level 6 takes several seconds, long enough to act mid-dump.
  bigUrl = await createDatabase(big);
  await psql(bigUrl, {
    sql: "create table filler as select g as id, md5(g::text) || md5((g * 7)::text) || md5((g * 13)::text) as body from generate_series(1, 1500000) g",
  });
  smallUrl = await createDatabase(small);
  await psql(smallUrl, { sql: "create table t (id int); insert into t values (1), (2), (3);" });
}, 180_000);

afterAll(async () => {
  await dropDatabase(big);
  await dropDatabase(small);
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

describe("job runner", () => {
  it("runs at most BACKUP_CONCURRENCY backups, cancels a running one (parts removed) and a queued one", async () => {
    const t = await startTestServer({ env: { BACKUP_CONCURRENCY: "1" } });
    try {
      const pb = await t.admin.post("/api/projects", { name: "big", databaseUrl: bigUrl });
      const ps = await t.admin.post("/api/projects", { name: "small", databaseUrl: smallUrl });
      const a = await t.admin.post(`/api/projects/${pb.body.id}/backups`, {
        storageType: "destination",
        compressionType: "gzip",
      });
      const b = await t.admin.post(`/api/projects/${ps.body.id}/backups`, {
        storageType: "destination",
        compressionType: "gzip",
      });
      const c = await t.admin.post(`/api/projects/${ps.body.id}/backups`, {
        storageType: "destination",
        compressionType: "gzip",
      });
      await untilDumping(t.admin, a.body.backupId);
      expect((await t.admin.get(`/api/backups/${b.body.backupId}`)).body.status).toBe("pending");
      expect((await t.admin.post(`/api/backups/${c.body.backupId}/cancel`)).status).toBe(200);
      expect((await t.admin.post(`/api/backups/${a.body.backupId}/cancel`)).status).toBe(200);
      const events = await t.admin.events(`/api/backups/${a.body.backupId}/events`);
      expect(events.at(-1)?.event).toBe("done");
      const done = await t.admin.get(`/api/backups/${a.body.backupId}`);
      expect(done.body.status).toBe("cancelled");
      expect(done.body.destinations[0].status).toBe("cancelled");
      expect(await filesUnder(join(t.localStoragePath, "big"))).toEqual([]);
      expect((await t.admin.post(`/api/backups/${a.body.backupId}/cancel`)).status).toBe(409);
      // The queued one was dropped; the waiting one runs once the slot is free.
      expect((await t.admin.get(`/api/backups/${c.body.backupId}`)).body.status).toBe("cancelled");
      await t.admin.events(`/api/backups/${b.body.backupId}/events`);
      expect((await t.admin.get(`/api/backups/${b.body.backupId}`)).body.status).toBe("completed");
      const audit = await t.admin.get("/api/audit?action=backup_cancelled");
      expect(audit.body.items).toHaveLength(2);
    } finally {
      await t.close();
    }
  });

  it("marks a backup interrupted by a killed server as failed at the next start, leaving no manifest and no parts", async () => {
    const dataDir = await tempDir();
    const child = await startChildServer(dataDir);
    let killed = false;
    try {
      const client = new ApiClient(child.url);
      expect((await client.post("/api/setup", { email: ADMIN_EMAIL, password: ADMIN_PASSWORD })).status).toBe(201);
      const p = await client.post("/api/projects", { name: "big", databaseUrl: bigUrl });
      const b = await client.post(`/api/projects/${p.body.id}/backups`, { storageType: "destination", compressionType: "gzip" });
      expect(b.status).toBe(202);
      await untilDumping(client, b.body.backupId);
      const before = await client.get(`/api/backups/${b.body.backupId}`);
      expect(before.body.storageFilePath).toMatch(/^big\//);
      await child.kill();
      killed = true;
      // Something was written before the kill: the test would prove nothing otherwise.
      const partial = await filesUnder(join(dataDir, "backups"));
      expect(partial.length).toBeGreaterThan(0);

      const t = await startTestServer({ dataDir });
      try {
        const row = await t.admin.get(`/api/backups/${b.body.backupId}`);
        expect(row.body.status).toBe("failed");
        expect(row.body.error).toBe("interrupted: the server stopped during this backup");
        expect(row.body.destinations[0].status).toBe("failed");
        const left = await filesUnder(join(dataDir, "backups"));
        expect(left.filter((f) => f.endsWith("manifest.json"))).toEqual([]);
        expect(left.filter((f) => !f.startsWith(".") && !f.includes("/."))).toEqual([]);
        // A new backup works after recovery.
        const again = await t.admin.post(`/api/projects/${p.body.id}/backups`, {
          backupType: "schema",
          storageType: "destination",
          compressionType: "none",
        });
        await t.admin.events(`/api/backups/${again.body.backupId}/events`);
        expect((await t.admin.get(`/api/backups/${again.body.backupId}`)).body.status).toBe("completed");
      } finally {
        await t.close();
      }
    } finally {
      if (!killed) await child.kill();
    }
  });
});

describe("secret key at start", () => {
  it("refuses a wrong STOWAGE_SECRET_KEY, a missing key file, and a malformed key, naming the variable and the file", async () => {
    const dataDir = await tempDir();
    const key = randomBytes(32).toString("base64");
    const first = await startTestServer({ dataDir, env: { STOWAGE_SECRET_KEY: key } });
    await first.admin.post("/api/projects", { name: "p", databaseUrl: "postgresql://u:secret-pw@h/db" });
    await first.close();

    const wrong = randomBytes(32).toString("base64");
    await expect(startServer({ env: testEnv(dataDir, { STOWAGE_SECRET_KEY: wrong, LOG_LEVEL: "silent" }) })).rejects.toThrow(
      /STOWAGE_SECRET_KEY is not the key this database was created with/,
    );
    await expect(startServer({ env: testEnv(dataDir, { STOWAGE_SECRET_KEY: "c2hvcnQ=", LOG_LEVEL: "silent" }) })).rejects.toThrow(
      /STOWAGE_SECRET_KEY must be 32 random bytes/,
    );
    // Without the variable, no key file exists for this database: refused, and no new key is made up.
    const missing = startServer({ env: testEnv(dataDir, { LOG_LEVEL: "silent" }) });
    await expect(missing).rejects.toThrow(/STOWAGE_SECRET_KEY is not set and .*secret\.key does not exist/);
    await expect(stat(join(dataDir, "secret.key"))).rejects.toThrow();

    // As a process: exit code 1 and one line on stderr naming the variable.
    const child = startChildServer(dataDir, { STOWAGE_SECRET_KEY: wrong });
    const error = (await child.then(
      (c) => {
        void c.kill();
        return undefined;
      },
      (e: unknown) => e,
    )) as { code: number; stderr: string };
    expect(error.code, error.stderr).toBe(1);
    expect(error.stderr).toMatch(/^stowage serve: .*STOWAGE_SECRET_KEY/m);

    // The right key still opens it, and the stored secret decrypts (the project answers its masked URL).
    const again = await startTestServer({ dataDir, env: { STOWAGE_SECRET_KEY: key } });
    try {
      const projects = await again.admin.get("/api/projects");
      expect(projects.body.items.map((p: Json) => p.databaseUrl)).toEqual(["postgresql://u:***@h/db"]);
    } finally {
      await again.close();
    }
  });

  it("creates a 0600 key file on first start and refuses a key file that does not match", async () => {
    const dataDir = await tempDir();
    const first = await startTestServer({ dataDir });
    await first.close();
    const info = await stat(join(dataDir, "secret.key"));
    expect(info.mode & 0o777).toBe(0o600);
    // The metadata file (users, session hashes, encrypted secrets) and the default backup folder are private too.
    expect((await stat(join(dataDir, "app.db"))).mode & 0o777).toBe(0o600);
    expect((await stat(join(dataDir, "backups"))).mode & 0o777).toBe(0o700);
    const { writeFile } = await import("node:fs/promises");
    await writeFile(join(dataDir, "secret.key"), `${randomBytes(32).toString("base64")}\n`, { mode: 0o600 });
    await expect(startServer({ env: testEnv(dataDir, { LOG_LEVEL: "silent" }) })).rejects.toThrow(
      /the key file .*secret\.key is not the key/,
    );
  });
});

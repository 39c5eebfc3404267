/**
 * Crash recovery with several servers on one PostgreSQL metadata database (issue 12): a server that
 * starts while another one runs a backup leaves that backup alone (it is the other server's, and
 * that server's heartbeat is fresh), and when the other server is killed its backup is failed as
 * interrupted by the live one once the heartbeat is older than JOB_STALE_AFTER. A cancel taken by one
 * server's API for a backup that the other runs is recorded on the row and carried out by the owner's
 * heartbeat loop; the same for a restore, whose target stays as it was (the restore rolls back whole).
 * The backup is held in `dumping` by a lock the test keeps on the source table (pg_dump waits for
 * it), so the timing does not depend on how fast the machine is. The restore is held while it reads
 * its data part: a proxy in front of the test S3 server does not answer that GET. (A lock in the
 * target would not do: the engine's abort reaches a restore through the part it reads, not a psql
 * that waits on a lock.)
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, request, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

vi.setConfig({ testTimeout: 300_000, hookTimeout: 180_000 });

import { createDatabase, dropDatabase, psql, uniqueName } from "../../../../packages/backup-core/test/helpers/pg.ts";
import { startS3Server } from "../../../../packages/storage/test/servers/s3-server.ts";
import { INTERRUPTED } from "../../src/server/jobs/recovery.ts";
import {
  ADMIN_EMAIL,
  ADMIN_PASSWORD,
  ApiClient,
  type ChildServer,
  type Json,
  startChildServer,
  startTestServer,
  type TestServer,
} from "./harness.ts";

const metadata = uniqueName("jobs_meta");
const source = uniqueName("jobs_src");
let sourceUrl: string;
const dirs: string[] = [];

/** Both servers: one metadata database, one secret key, a heartbeat every second, stale after 10 s. */
const sharedEnv = {
  DATABASE_URL: `postgres://postgres@127.0.0.1:5432/${metadata}`,
  STOWAGE_SECRET_KEY: randomBytes(32).toString("base64"),
  JOB_HEARTBEAT_INTERVAL: "1s",
  JOB_STALE_AFTER: "10s",
};

/** Polls until `check` answers a value (not undefined); fails after `timeoutMs` with the last state. */
async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 150_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A lock on the source's `items` that pg_dump waits for: a backup stays in `dumping` until it is released. */
async function holdItems(): Promise<pg.Client> {
  const lock = new pg.Client({ connectionString: sourceUrl });
  await lock.connect();
  await lock.query("begin");
  await lock.query("lock table items in access exclusive mode");
  return lock;
}

/** Server A as a child process with a signed-in client; the first one sets up the admin and the project "held". */
async function startServerA(): Promise<{ a: ChildServer; client: ApiClient; projectId: string }> {
  const dataA = await mkdtemp(join(tmpdir(), "stowage-jobs-pg-"));
  dirs.push(dataA);
  const a = await startChildServer(dataA, sharedEnv);
  const client = new ApiClient(a.url);
  const setup = await client.post("/api/setup", { email: ADMIN_EMAIL, password: ADMIN_PASSWORD });
  if (setup.status !== 201) expect((await client.login(ADMIN_EMAIL, ADMIN_PASSWORD)).status).toBe(200);
  const projects = await client.get("/api/projects");
  const held = projects.body.items.find((p: { name: string }) => p.name === "held");
  const projectId = held?.id ?? (await client.post("/api/projects", { name: "held", databaseUrl: sourceUrl })).body.id;
  return { a, client, projectId };
}

/** Starts a backup on A and waits until it is dumping (held there by `holdItems`). */
async function startHeldBackup(client: ApiClient, projectId: string): Promise<string> {
  const started = await client.post(`/api/projects/${projectId}/backups`, {
    storageType: "destination",
    compressionType: "gzip",
  });
  expect(started.status).toBe(202);
  const id: string = started.body.backupId;
  await until("the backup to be dumping on server A", async () => {
    const row = await client.get(`/api/backups/${id}`);
    return row.body.status === "dumping" ? true : undefined;
  });
  return id;
}

/**
 * Cancels through B a job that server A runs: B records the request on the row and answers so, and
 * A's heartbeat (every second) aborts the job. Answers the job as B's API shows it at the end.
 */
async function cancelOnOtherServer(b: TestServer, kind: "backups" | "restores", id: string): Promise<Json> {
  const asked = Date.now();
  const cancel = await b.admin.post(`/api/${kind}/${id}/cancel`);
  expect(cancel.status, cancel.text).toBe(200);
  expect(cancel.body).toEqual({ ok: true, cancelRequested: true });
  expect((await b.server.services.store[kind].byId(id))?.cancelRequestedAt).toBeInstanceOf(Date);
  const done = await until(
    `A to cancel its job (${kind})`,
    async () => {
      const row = await b.admin.get(`/api/${kind}/${id}`);
      return ["cancelled", "failed", "completed"].includes(row.body.status) ? row.body : undefined;
    },
    60_000,
  );
  expect(done.status, done.error ?? "").toBe("cancelled");
  expect(Date.now() - asked).toBeLessThan(30_000);
  // Nothing left to cancel: a second request is a 409 naming the state.
  const again = await b.admin.post(`/api/${kind}/${id}/cancel`);
  expect(again.status).toBe(409);
  expect(again.body.error.message).toMatch(/already cancelled/);
  // Audited once, where it was asked, with the server it was asked of.
  const action = kind === "backups" ? "backup_cancelled" : "restore_cancelled";
  const audit = await b.admin.get(`/api/audit?action=${action}`);
  const events = audit.body.items.filter((e: Json) => e.targetId === id);
  expect(events, JSON.stringify(audit.body)).toHaveLength(1);
  expect(events[0].details.requestedFrom).toEqual(expect.any(String));
  expect(events[0].details.requestedFrom).not.toBe(b.server.services.instanceId);
  return done;
}

/**
 * A proxy in front of an S3 server that, once `holdDataParts()` was called, leaves every GET of a
 * backup's `data.sql…` part unanswered; `held` resolves at the first one.
 */
async function dataPartHoldingProxy(upstream: string): Promise<{
  url: string;
  holdDataParts(): void;
  held: Promise<void>;
  close(): Promise<void>;
}> {
  const target = new URL(upstream);
  let holding = false;
  let onHeld = () => {};
  const held = new Promise<void>((resolve) => {
    onHeld = resolve;
  });
  const waiting = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    if (holding && req.method === "GET" && /\/data\.sql/.test(req.url ?? "")) {
      waiting.add(res);
      onHeld();
      return;
    }
    // Host is passed unchanged: the request's SigV4 signature covers it.
    const forward = request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on("error", () => res.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    holdDataParts: () => {
      holding = true;
    },
    held,
    async close() {
      for (const res of waiting) res.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

beforeAll(async () => {
  [sourceUrl] = await Promise.all([createDatabase(source), createDatabase(metadata)]);
  await psql(sourceUrl, { sql: "create table items (id int primary key); insert into items select generate_series(1, 100);" });
});

afterAll(async () => {
  await Promise.all([dropDatabase(source), dropDatabase(metadata)]);
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

describe("recovery with two servers on one PostgreSQL metadata database", () => {
  it("leaves another live server's running backup alone, and fails a killed server's backup once its heartbeat is stale", async () => {
    // Held until the end: pg_dump of `items` waits for this lock, so the backup stays in `dumping`.
    const lock = await holdItems();
    let a: ChildServer | undefined;
    let b: TestServer | undefined;
    try {
      const started = await startServerA();
      a = started.a;
      const id = await startHeldBackup(started.client, started.projectId);

      // Server B starts while A's backup runs: its start-up recovery must leave the row alone.
      b = await startTestServer({ env: sharedEnv });
      const store = b.server.services.store;
      const atStart = await store.backups.byId(id);
      expect(atStart?.status, JSON.stringify({ error: atStart?.error, owner: atStart?.owner })).toBe("dumping");
      expect(atStart?.owner).toBeTruthy();
      expect(atStart?.owner).not.toBe(b.server.services.instanceId);
      const ownerA = atStart!.owner!;

      // Several of B's periodic sweeps later (one per second), A's heartbeat has moved on and the row is still A's.
      const bStarted = Date.now();
      const alive = await until("A's heartbeat to move on after B started", async () => {
        const row = await store.backups.byId(id);
        return row?.heartbeatAt && row.heartbeatAt.getTime() > bStarted + 3_000 ? row : undefined;
      });
      expect(alive.status).toBe("dumping");
      expect(alive.owner).toBe(ownerA);
      expect(alive.error).toBeNull();

      // A dies without a word. B fails its backup once A's heartbeat is older than JOB_STALE_AFTER (10 s).
      const lastSign = (await store.backups.byId(id))!.heartbeatAt!.getTime();
      await a.kill();
      a = undefined;
      const failed = await until("B to recover A's backup", async () => {
        const row = await b!.admin.get(`/api/backups/${id}`);
        return row.body.status === "failed" ? row.body : undefined;
      });
      expect(failed.error).toBe(INTERRUPTED);
      expect(failed.destinations.map((d: { status: string }) => d.status)).toEqual(["failed"]);
      expect(Date.now() - lastSign).toBeGreaterThan(10_000);
      const row = await store.backups.byId(id);
      expect(row?.owner).toBe(ownerA);
      expect(b.logs.lines.some((l) => l.includes("marked jobs of a silent server as failed"))).toBe(true);
    } finally {
      await a?.kill();
      await b?.close();
      await lock.query("rollback").catch(() => {});
      await lock.end().catch(() => {});
    }
  });

  it("cancels a backup running on the other server: the request is recorded and that server's heartbeat aborts it", async () => {
    const lock = await holdItems();
    let a: ChildServer | undefined;
    let b: TestServer | undefined;
    try {
      const started = await startServerA();
      a = started.a;
      const id = await startHeldBackup(started.client, started.projectId);
      b = await startTestServer({ env: sharedEnv });
      const store = b.server.services.store;
      const ownerA = (await store.backups.byId(id))?.owner;
      expect(ownerA).toBeTruthy();
      expect(ownerA).not.toBe(b.server.services.instanceId);

      // Cancelled through B, carried out by A: its parts are removed.
      const done = await cancelOnOtherServer(b, "backups", id);
      expect(done.destinations.map((d: { status: string }) => d.status)).toEqual(["cancelled"]);
      const row = await store.backups.byId(id);
      expect(row?.owner).toBe(ownerA);
    } finally {
      await a?.stop().catch(() => a?.kill());
      await b?.close();
      await lock.query("rollback").catch(() => {});
      await lock.end().catch(() => {});
    }
  });
  it("cancels a restore running on the other server: that server's heartbeat aborts it and the target stays empty", async () => {
    const s3 = await startS3Server({ buckets: ["held"] });
    const proxy = await dataPartHoldingProxy(s3.endpoint);
    const target = uniqueName("jobs_target");
    const targetUrl = await createDatabase(target);
    const targetClient = new pg.Client({ connectionString: targetUrl });
    await targetClient.connect();
    let a: ChildServer | undefined;
    let b: TestServer | undefined;
    try {
      const started = await startServerA();
      a = started.a;
      const client = started.client;
      const destination = await client.post("/api/destinations", {
        name: "held-s3",
        type: "s3",
        config: {
          endpoint: proxy.url,
          region: "us-east-1",
          bucket: "held",
          accessKeyId: s3.accessKeyId,
          secretAccessKey: s3.secretAccessKey,
          forcePathStyle: true,
        },
      });
      expect(destination.status, destination.text).toBe(201);
      const backup = await client.post(`/api/projects/${started.projectId}/backups`, {
        storageType: "destination",
        storageDestinationIds: [destination.body.id],
        compressionType: "gzip",
      });
      expect(backup.status, backup.text).toBe(202);
      const backupId: string = backup.body.backupId;
      const made = await until("the backup to end", async () => {
        const row = await client.get(`/api/backups/${backupId}`);
        return ["completed", "failed", "cancelled"].includes(row.body.status) ? row.body : undefined;
      });
      expect(made.status, made.error ?? "").toBe("completed");
      b = await startTestServer({ env: sharedEnv });
      const store = b.server.services.store;

      // A restores into the empty target and stops at the data part: roles and schema already went
      // into the restore's open transaction (its new table is locked there, invisible to others).
      proxy.holdDataParts();
      const restore = await client.post(`/api/backups/${backupId}/restore`, { targetDatabaseUrl: targetUrl, clean: false });
      expect(restore.status, restore.text).toBe(202);
      const id: string = restore.body.restoreId;
      await proxy.held;
      await until("the restore's transaction to hold its new table", async () => {
        // A restore that ended meanwhile (roles.sql can lose a race with another test file's ALTER ROLE
        // three times) is the failure to report, not a 150 s wait.
        const row = await client.get(`/api/restores/${id}`);
        if (!["pending", "restoring"].includes(row.body.status)) {
          throw new Error(`the restore ended before it was cancelled: ${row.body.status} ${row.body.error ?? ""}`);
        }
        const { rows } = await targetClient.query(
          "select count(*)::int as n from pg_locks where database = (select oid from pg_database where datname = current_database()) and locktype = 'relation' and mode = 'AccessExclusiveLock' and pid <> pg_backend_pid()",
        );
        return rows[0].n > 0 ? true : undefined;
      });
      const running = await store.restores.byId(id);
      expect(running?.status).toBe("restoring");
      expect(running?.owner).toBeTruthy();
      expect(running?.owner).not.toBe(b.server.services.instanceId);

      // Cancelled through B, carried out by A: the restore rolls back whole.
      await cancelOnOtherServer(b, "restores", id);
      expect((await store.restores.byId(id))?.owner).toBe(running?.owner);
      // The target is as it was: empty, no table.
      const { rows: relations } = await targetClient.query(
        "select count(*)::int as n from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast')",
      );
      expect(relations[0].n).toBe(0);
      expect((await targetClient.query("select to_regclass('public.items') as t")).rows[0].t).toBeNull();
    } finally {
      await a?.stop().catch(() => a?.kill());
      await b?.close();
      await proxy.close();
      await s3.stop();
      await targetClient.end().catch(() => {});
      await dropDatabase(target);
    }
  });
});

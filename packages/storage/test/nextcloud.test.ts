/**
 * The nextcloud provider in Nextcloud mode against a test server that follows Nextcloud's documented
 * WebDAV and chunked-upload-v2 protocol (test/servers/nextcloud-fake.ts), which refuses any PUT without
 * a Content-Length: the shared suite passing proves unknown-length streams go through chunking.
 */
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { buffer } from "node:stream/consumers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StorageDestination } from "../src/contract.ts";
import { StorageError } from "../src/errors.ts";
import { nextcloudConfigSchema } from "../src/providers/nextcloud/config.ts";
import { nextcloudDescription } from "../src/providers/nextcloud/description.ts";
import { NextcloudDestination } from "../src/providers/nextcloud/provider.ts";
import { describeStorageContract, endlessStream, generatedStream } from "./contract/suite.ts";
import { uploadThenKill } from "./servers/kill-mid-upload.ts";
import { type NextcloudFake, startNextcloudFake } from "./servers/nextcloud-fake-process.ts";
import { freePort } from "./servers/webdav-process.ts";

const MiB = 1024 * 1024;
/** An e-mail login whose user ID differs (as with LDAP or e-mail logins): DAV paths need the ID. */
const USER = "alice@example.com";
const USER_ID = "5e1f0c2a-ldap-alice";
const PASSWORD = "app-password-1234";

async function quotaUser(fake: NextcloudFake, name: string) {
  await mkdir(join(fake.filesDir(name), "backups"), { recursive: true });
}

describeStorageContract("nextcloud (chunked upload v2)", async () => {
  const root = await mkdtemp(join(tmpdir(), "stowage-ncfake-"));
  const fake = await startNextcloudFake(root, [
    { name: USER, id: USER_ID, password: PASSWORD, quotaBytes: null },
    { name: "quota-user", password: PASSWORD, quotaBytes: 100_000 },
  ]);
  await mkdir(join(fake.filesDir(USER), "Backups"), { recursive: true });
  await quotaUser(fake, "quota-user");
  const config = (overrides: Record<string, unknown> = {}) => ({
    mode: "nextcloud",
    serverUrl: fake.url,
    username: USER,
    password: PASSWORD,
    basePath: "/Backups",
    chunkSizeBytes: 5 * MiB,
    ...overrides,
  });
  const extra: StorageDestination[] = [];
  const make = (overrides: Record<string, unknown> = {}) => {
    const d = new NextcloudDestination(config(overrides));
    extra.push(d);
    return d;
  };
  const closedPort = await freePort();
  return {
    destination: new NextcloudDestination(config()),
    multipartBytes: 12 * MiB,
    async withWrongCredentials() {
      return make({ password: "wrong-secret-value" });
    },
    async withMissingContainer() {
      return make({ basePath: "/not-there", mustExist: true });
    },
    async withMissingBaseFolder() {
      return make({ basePath: `/new-${Date.now()}/several/levels` });
    },
    async unreachable() {
      return make({ serverUrl: `http://127.0.0.1:${closedPort}` });
    },
    async withQuota(bytes) {
      expect(bytes).toBe(100_000); // the fake's quota-user is configured with this quota
      return make({ username: "quota-user", basePath: "/backups" });
    },
    async killServerMidUpload(key) {
      // Past the first 5 MiB chunk, so the kill hits a chunked upload in flight.
      const uploadError = await uploadThenKill(make(), key, 6 * MiB, fake);
      return { uploadError, destination: make() };
    },
    badConfigs: [
      {
        config: { mode: "nextcloud", serverUrl: "not a url", username: "x" },
        field: "serverUrl",
      },
      {
        config: { mode: "nextcloud", serverUrl: "http://127.0.0.1" },
        field: "username",
      },
      {
        config: {
          serverUrl: "http://127.0.0.1",
          username: "x",
          chunkSizeBytes: 1000,
        },
        field: "chunkSizeBytes",
      },
    ],
    async teardown() {
      for (const d of extra) await d.close();
      await fake.stop();
      await rm(root, { recursive: true, force: true });
    },
  };
});

describe("nextcloud chunked upload v2 (against the Nextcloud test server)", () => {
  let root: string;
  let fake: NextcloudFake;
  let d: NextcloudDestination;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "stowage-ncfake-"));
    fake = await startNextcloudFake(root, [
      { name: USER, id: USER_ID, password: PASSWORD, quotaBytes: null },
      { name: "small", password: PASSWORD, quotaBytes: 6 * MiB },
    ]);
    await mkdir(fake.filesDir(USER), { recursive: true });
    await quotaUser(fake, "small");
    d = new NextcloudDestination({
      serverUrl: fake.url,
      username: USER,
      password: PASSWORD,
      basePath: "/",
      chunkSizeBytes: 5 * MiB,
    });
  });

  afterAll(async () => {
    await d?.close();
    await fake?.stop();
    if (root) await rm(root, { recursive: true, force: true });
  });

  const uploadFolders = async () => readdir(fake.uploadsDir(USER)).catch(() => [] as string[]);

  it("a ~12 MiB stream of unknown length goes as 3 numbered chunks, arrives byte-identical, leaves no upload folder", async () => {
    const before = (await fake.requests()).length;
    const total = 12 * MiB + 12_345;
    const { stream, sha256 } = generatedStream(total, 7);
    const result = await d.upload(stream, "db/dump.sql.gz");
    expect(result.size).toBe(total);
    expect(result.sha256).toBe(sha256);
    const onDisk = await readFile(join(fake.filesDir(USER), "db", "dump.sql.gz"));
    expect(createHash("sha256").update(onDisk).digest("hex")).toBe(sha256);
    expect(await uploadFolders()).toEqual([]);

    const requests = (await fake.requests()).slice(before);
    const chunkPuts = requests.filter((r) => r.method === "PUT" && r.path.includes("/remote.php/dav/uploads/"));
    expect(chunkPuts.map((r) => r.path.split("/").pop())).toEqual(["00001", "00002", "00003"]);
    expect(chunkPuts.map((r) => Number(r.contentLength))).toEqual([5 * MiB, 5 * MiB, 2 * MiB + 12_345]);
    const destination = `${fake.url}/remote.php/dav/files/${encodeURIComponent(USER_ID)}/db/dump.sql.gz`;
    const protocol = requests.filter((r) => r.path.includes("/remote.php/dav/uploads/"));
    expect(protocol.map((r) => r.method)).toEqual(["MKCOL", "PUT", "PUT", "PUT", "MOVE"]);
    for (const r of protocol) expect(r.destination).toBe(destination);
    const move = protocol[4];
    expect(move?.path).toMatch(/\/\.file$/);
    expect(move?.totalLength).toBe(String(total));
    // Nothing was ever sent without a Content-Length.
    expect(requests.filter((r) => r.method === "PUT" && r.contentLength === null)).toEqual([]);
  }, 60_000);

  it("chunked upload to a key with spaces, unicode, '%', '#' and '?' lands under that exact key", async () => {
    const key = "odd names/ünï %41 #1?.bin";
    const { stream, sha256 } = generatedStream(6 * MiB, 3);
    expect((await d.upload(stream, key)).sha256).toBe(sha256);
    expect((await d.list("odd names/")).map((o) => o.key)).toEqual([key]);
    const back = await buffer(await d.download(key));
    expect(createHash("sha256").update(back).digest("hex")).toBe(sha256);
  }, 30_000);

  it("a stream shorter than one chunk goes as one PUT with Content-Length to a temp name, then MOVE", async () => {
    const before = (await fake.requests()).length;
    await d.upload(Readable.from([Buffer.from("small payload")]), "db/small.txt");
    const requests = (await fake.requests()).slice(before);
    const put = requests.find((r) => r.method === "PUT");
    expect(put?.contentLength).toBe("13");
    expect(put?.path).toMatch(/\/db\/\.stowage-partial-[0-9a-f]{16}$/);
    expect(requests.some((r) => r.method === "MOVE" && r.destination?.endsWith("/db/small.txt"))).toBe(true);
    expect(await readdir(join(fake.filesDir(USER), "db"))).not.toContainEqual(expect.stringMatching(/^\.stowage-partial-/));
  });

  it("a known size is announced in OC-Total-Length on every chunk", async () => {
    const file = join(root, "known.bin");
    await writeFile(file, Buffer.alloc(6 * MiB, 3));
    const before = (await fake.requests()).length;
    await d.upload({ path: file }, "db/known.bin");
    const chunkPuts = (await fake.requests()).slice(before).filter((r) => r.method === "PUT");
    expect(chunkPuts.map((r) => r.totalLength)).toEqual([String(6 * MiB), String(6 * MiB)]);
    expect((await d.stat("db/known.bin")).size).toBe(6 * MiB);
  });

  it("an aborted chunked upload deletes its upload folder and leaves nothing under the key", async () => {
    const controller = new AbortController();
    const upload = d.upload(endlessStream(), "db/aborted.bin", {
      signal: controller.signal,
      onProgress: (bytes) => {
        if (bytes > 7 * MiB) controller.abort();
      },
    });
    const error = await upload.catch((e: unknown) => e);
    expect(StorageError.is(error, "INTERRUPTED"), String(error)).toBe(true);
    expect(await uploadFolders()).toEqual([]);
    const requests = await fake.requests();
    expect(requests.some((r) => r.method === "DELETE" && r.path.includes("/remote.php/dav/uploads/") && r.status === 204)).toBe(
      true,
    );
    await expect(d.stat("db/aborted.bin")).rejects.toMatchObject({
      code: "NOT_FOUND",
    });
  }, 30_000);

  it("an abort while the base folder is still being checked is INTERRUPTED (no stray stream error)", async () => {
    const fresh = new NextcloudDestination({
      serverUrl: fake.url,
      username: USER,
      password: PASSWORD,
      basePath: "/",
    });
    try {
      const controller = new AbortController();
      const upload = fresh.upload(endlessStream(), "early/abort.bin", {
        signal: controller.signal,
      });
      controller.abort();
      const error = await upload.catch((e: unknown) => e);
      expect(StorageError.is(error, "INTERRUPTED"), String(error)).toBe(true);
      await expect(fresh.stat("early/abort.bin")).rejects.toMatchObject({
        code: "NOT_FOUND",
      });
    } finally {
      await fresh.close();
    }
  });

  it("quota: a chunked upload over quota fails with QUOTA_EXCEEDED and removes its upload folder", async () => {
    const small = new NextcloudDestination({
      serverUrl: fake.url,
      username: "small",
      password: PASSWORD,
      basePath: "/backups",
      chunkSizeBytes: 5 * MiB,
    });
    try {
      const free = await small.getAvailableSpace();
      expect(free).toBe(6 * MiB);
      const { stream } = generatedStream(11 * MiB);
      const error = await small.upload(stream, "big.bin").catch((e: unknown) => e);
      expect(StorageError.is(error, "QUOTA_EXCEEDED"), String(error)).toBe(true);
      expect((error as StorageError).message).toContain(small.name);
      expect(await readdir(fake.uploadsDir("small")).catch(() => [])).toEqual([]);
      expect(await small.list("")).toEqual([]);
    } finally {
      await small.close();
    }
  }, 30_000);

  it("webdav mode against the same server: a known length is sent as Content-Length, quota maps to QUOTA_EXCEEDED", async () => {
    const dav = new NextcloudDestination({
      mode: "webdav",
      serverUrl: `${fake.url}/remote.php/dav/files/small`,
      username: "small",
      password: PASSWORD,
      basePath: "/backups",
    });
    try {
      const file = join(root, "seven.bin");
      await writeFile(file, Buffer.alloc(7 * MiB, 1));
      const error = await dav.upload({ path: file }, "seven.bin").catch((e: unknown) => e);
      expect(StorageError.is(error, "QUOTA_EXCEEDED"), String(error)).toBe(true);
      const again = await dav.upload({ path: file }, "seven-again.bin", { size: 7 * MiB }).catch((e: unknown) => e);
      expect(StorageError.is(again, "QUOTA_EXCEEDED")).toBe(true);
      await writeFile(file, "fits");
      expect((await dav.upload({ path: file }, "fits.txt")).size).toBe(4);
      expect((await buffer(await dav.download("fits.txt"))).toString()).toBe("fits");
    } finally {
      await dav.close();
    }
  });

  it("the test server refuses a PUT without Content-Length (what makes the suite above prove chunking)", async () => {
    const dav = new NextcloudDestination({
      mode: "webdav",
      serverUrl: `${fake.url}/remote.php/dav/files/${encodeURIComponent(USER_ID)}`,
      username: USER,
      password: PASSWORD,
    });
    try {
      const { stream } = generatedStream(300_000);
      const error = await dav.upload(stream, "plain/streamed.bin").catch((e: unknown) => e);
      expect(StorageError.is(error, "UNKNOWN"), String(error)).toBe(true);
      expect((error as Error).message).toContain("HTTP 411");
      expect(await readdir(join(fake.filesDir(USER), "plain"))).toEqual([]);
    } finally {
      await dav.close();
    }
  });

  it("reads the user ID from OCS and builds every DAV path from it, not from the login name", async () => {
    const fresh = new NextcloudDestination({ serverUrl: fake.url, username: USER, password: PASSWORD, basePath: "/ocs-check" });
    try {
      const before = (await fake.requests()).length;
      expect((await fresh.validateConnection()).ok).toBe(true);
      await fresh.upload(Readable.from([Buffer.from("id")]), "x.txt");
      const requests = (await fake.requests()).slice(before);
      const ocs = requests.filter((r) => r.path.startsWith("/ocs/"));
      expect(ocs.map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual(["GET /ocs/v1.php/cloud/user 200"]);
      const dav = requests.filter((r) => r.path.startsWith("/remote.php/dav/"));
      expect(dav.length).toBeGreaterThan(2);
      for (const r of dav) expect(r.path.startsWith(`/remote.php/dav/files/${USER_ID}`), r.path).toBe(true);
      expect(await readFile(join(fake.filesDir(USER), "ocs-check", "x.txt"), "utf8")).toBe("id");
    } finally {
      await fresh.close();
    }
    // What the provider did before: paths from the login name, which names no user on the server.
    const byLogin = new NextcloudDestination({
      mode: "webdav",
      serverUrl: `${fake.url}/remote.php/dav/files/${encodeURIComponent(USER)}`,
      username: USER,
      password: PASSWORD,
    });
    try {
      expect((await byLogin.validateConnection()).ok).toBe(false);
    } finally {
      await byLogin.close();
    }
    // The test server is as strict as Nextcloud: OCS without OCS-APIRequest is refused (CSRF check).
    const auth = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString("base64")}`;
    const bare = await fetch(`${fake.url}/ocs/v1.php/cloud/user?format=json`, { headers: { Authorization: auth } });
    expect(bare.status).toBe(401);
    expect(((await bare.json()) as { ocs: { meta: { statuscode: number } } }).ocs.meta.statuscode).toBe(997);
  });

  it("delete moves to the trash bin; with purgeTrash the deleted file is removed from it too", async () => {
    const trashItems = async () => (await readdir(fake.trashDir(USER)).catch(() => [] as string[])).sort();
    const keep = new NextcloudDestination({ serverUrl: fake.url, username: USER, password: PASSWORD, basePath: "/trash-test" });
    const purge = new NextcloudDestination({
      serverUrl: fake.url,
      username: USER,
      password: PASSWORD,
      basePath: "/trash-test",
      purgeTrash: true,
    });
    try {
      const before = await trashItems();
      await keep.upload(Readable.from([Buffer.from("old")]), "db/a.bin");
      await keep.delete("db/a.bin");
      // Plain WebDAV delete: the bytes are still on the server, in the trash bin.
      const afterPlain = await trashItems();
      const kept = afterPlain.filter((n) => !before.includes(n));
      expect(kept).toEqual([expect.stringMatching(/^a\.bin\.d\d+$/)]);

      await purge.upload(Readable.from([Buffer.from("new")]), "db/a.bin");
      await purge.upload(Readable.from([Buffer.from("other")]), "db/b.bin");
      const requestsBefore = (await fake.requests()).length;
      await purge.delete("db/a.bin");
      await purge.delete("db/b.bin");
      await purge.delete("db/never-there.bin");
      // Only the items these deletes created are gone: the earlier a.bin stays (it was not ours to purge).
      expect(await trashItems()).toEqual(afterPlain);
      expect(await purge.list("db/")).toEqual([]);
      const log = (await fake.requests()).slice(requestsBefore);
      const trashDeletes = log.filter(
        (r) => r.method === "DELETE" && r.path.startsWith(`/remote.php/dav/trashbin/${USER_ID}/trash/`),
      );
      expect(trashDeletes.map((r) => r.status)).toEqual([204, 204]);
    } finally {
      await keep.close();
      await purge.close();
    }
  });

  it("purge_trash in the URL and NEXTCLOUD_PURGE_TRASH set purgeTrash, which plain WebDAV refuses", async () => {
    const form = nextcloudDescription.url;
    const parsed = nextcloudConfigSchema.parse(
      form?.parse(new URL("nextcloud+https://bob@cloud.example.com/b?purge_trash=true"), {}, "x"),
    );
    expect(parsed.purgeTrash).toBe(true);
    expect(form?.print(parsed)).toBe("nextcloud+https://bob@cloud.example.com/b?purge_trash=true");
    expect(
      nextcloudConfigSchema.parse(
        nextcloudDescription.fromEnv({ NEXTCLOUD_URL: "https://c.example", NEXTCLOUD_USERNAME: "b", NEXTCLOUD_PURGE_TRASH: "1" }),
      ).purgeTrash,
    ).toBe(true);
    const error = await new NextcloudDestination()
      .configure({ mode: "webdav", serverUrl: "https://dav.example", purgeTrash: true })
      .catch((e: unknown) => e);
    expect(StorageError.is(error, "INVALID_CONFIG")).toBe(true);
    expect((error as Error).message).toContain("purgeTrash");
  });

  it("wrong app password: AUTH with a hint about app passwords, no password in the message", async () => {
    const bad = new NextcloudDestination({
      serverUrl: fake.url,
      username: USER,
      password: "not-the-app-password",
      basePath: "/",
    });
    try {
      const error = await bad.list("").catch((e: unknown) => e);
      expect(StorageError.is(error, "AUTH")).toBe(true);
      expect((error as Error).message).toContain("app password");
      expect((error as Error).message).toContain("NEXTCLOUD_PASSWORD");
      expect((error as Error).message).not.toContain("not-the-app-password");
    } finally {
      await bad.close();
    }
  });
});

describe("nextcloud behind a reverse proxy (504 on assembly, 423 meanwhile) and transient chunk failures", () => {
  let root: string;
  let fake: NextcloudFake;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "stowage-ncproxy-"));
    fake = await startNextcloudFake(root, [{ name: USER, id: USER_ID, password: PASSWORD, quotaBytes: null }], {
      assemblyDelayMs: 1500,
      failChunkOnce: "00002",
    });
    await mkdir(join(fake.filesDir(USER), "Backups"), { recursive: true });
  }, 120_000);

  afterAll(async () => {
    await fake?.stop();
    await rm(root, { recursive: true, force: true });
  });

  it("retries the failed chunk, waits out the 504 and the 423s, then checks the stored size", async () => {
    const d = new NextcloudDestination({
      serverUrl: fake.url,
      username: USER,
      password: PASSWORD,
      basePath: "/Backups",
      chunkSizeBytes: 5 * MiB,
    });
    try {
      const { stream, sha256 } = generatedStream(12 * MiB, 5);
      const result = await d.upload(stream, "proxy/big.bin");
      expect(result.size).toBe(12 * MiB);
      expect(result.sha256).toBe(sha256);
      const stored = await readFile(join(fake.filesDir(USER), "Backups", "proxy", "big.bin"));
      expect(createHash("sha256").update(stored).digest("hex")).toBe(sha256);
      const log = await fake.requests();
      const chunk2 = log.filter((r) => r.method === "PUT" && r.path.endsWith("/00002"));
      expect(chunk2.map((r) => r.status)).toEqual([503, 201]);
      expect(log.some((r) => r.method === "MOVE" && r.path.endsWith("/.file") && r.status === 504)).toBe(true);
      expect(log.some((r) => r.method === "PROPFIND" && r.path.includes("/uploads/") && r.status === 423)).toBe(true);
      // Nothing is left in the uploads folder, and no partial file anywhere.
      expect((await d.list("")).map((o) => o.key)).toEqual(["proxy/big.bin"]);
      expect(await readdir(fake.uploadsDir(USER))).toEqual([]);
    } finally {
      await d.close();
    }
  }, 120_000);
});

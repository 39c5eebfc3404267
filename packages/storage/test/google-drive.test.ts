import { createServer } from "node:net";
import { Readable } from "node:stream";
import { buffer } from "node:stream/consumers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StorageError } from "../src/errors.ts";
import { GoogleDriveDestination } from "../src/providers/google-drive/provider.ts";
import { describeStorageContract, endlessStream, generatedStream } from "./contract/suite.ts";
import {
  type DriveEmulator,
  type DriveRole,
  type ServiceAccountKey,
  startDriveEmulator,
  unknownServiceAccountKey,
} from "./servers/drive-emulator.ts";

const CHUNK = 256 * 1024;

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function destinationFor(emu: DriveEmulator, folderId: string, credentials: object, extra: object = {}): GoogleDriveDestination {
  return new GoogleDriveDestination({
    folderId,
    ...credentials,
    rootUrl: emu.rootUrl,
    tokenUrl: emu.tokenUrl,
    chunkSizeBytes: CHUNK,
    maxRetries: 3,
    ...extra,
  });
}

async function failure(promise: Promise<unknown>): Promise<StorageError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, "expected the call to fail").toBeInstanceOf(StorageError);
  return error as StorageError;
}

// The recommended setup: a service account that is a Manager of a shared drive. The emulator lists
// shared-drive items only with corpora=drive and refuses service-account files outside shared drives.
describeStorageContract("google_drive (emulator, shared drive)", async () => {
  const emu = await startDriveEmulator();
  const key = await emu.serviceAccount();
  const driveId = await emu.sharedDrive("Backups", [{ email: key.client_email, role: "organizer" }]);
  const folderId = await emu.folder("backups", driveId);
  const destination = destinationFor(emu, folderId, { serviceAccountKey: key });
  return {
    destination,
    // 12 chunks of 256 KiB and a bit: a stream of unknown length crossing many resumable chunks.
    multipartBytes: 3 * 1024 * 1024 + 12_345,
    async withWrongCredentials() {
      const user = await emu.oauthUser();
      return destinationFor(emu, folderId, {
        oauth: { clientId: user.clientId, clientSecret: "wrong-secret-value", refreshToken: "wrong-secret-value" },
      });
    },
    async withMissingContainer() {
      return destinationFor(emu, "1NoSuchFolderIdXyz", { serviceAccountKey: key });
    },
    async unreachable() {
      const port = await closedPort();
      return new GoogleDriveDestination({
        folderId,
        serviceAccountKey: key,
        rootUrl: `http://127.0.0.1:${port}/`,
        tokenUrl: `http://127.0.0.1:${port}/token`,
      });
    },
    async withQuota(bytes) {
      // Quota is per user (shared drives use the organisation's pool): a personal Drive through OAuth.
      const limited = await emu.oauthUser({ quotaBytes: bytes });
      return destinationFor(emu, await emu.folder("quota"), { oauth: limited });
    },
    async killServerMidUpload(uploadKey) {
      let killing: Promise<void> | undefined;
      const uploadError = await destination
        .upload(endlessStream(), uploadKey, {
          onProgress: (bytes) => {
            if (bytes > 1024 * 1024 && !killing) killing = emu.kill();
          },
        })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      await killing;
      await emu.restart();
      return { uploadError, destination };
    },
    badConfigs: [
      { config: { folderId, serviceAccountKey: key, chunkSizeBytes: 300_000 }, field: "chunkSizeBytes" },
      { config: { folderId }, field: "serviceAccountKey" },
      { config: { serviceAccountKey: key }, field: "folderId" },
      { config: { folderId, serviceAccountKey: "{not json" }, field: "serviceAccountKey" },
      {
        config: { folderId, serviceAccountKey: { ...key, private_key: "wrong-secret-value" } },
        field: "serviceAccountKey.private_key",
      },
      { config: { folderId, oauth: { clientId: "id", clientSecret: "", refreshToken: "r" } }, field: "oauth.clientSecret" },
      { config: { folderId, serviceAccountKey: key, rootUrl: "not a url" }, field: "rootUrl" },
    ],
    async teardown() {
      await emu.stop();
    },
  };
});

describe("google_drive specifics (emulator)", () => {
  let emu: DriveEmulator;
  let key: ServiceAccountKey;

  beforeAll(async () => {
    emu = await startDriveEmulator();
    key = await emu.serviceAccount();
  }, 60_000);

  /** A folder in a new shared drive where `account` (the suite's service account by default) has `role`. */
  const sharedFolder = async (name: string, role: DriveRole = "organizer", account: ServiceAccountKey = key) =>
    emu.folder(name, await emu.sharedDrive(`drive ${name}`, [{ email: account.client_email, role }]));

  afterAll(async () => {
    await emu?.stop();
  });

  const delta = (before: Record<string, number>, after: Record<string, number>, name: string) =>
    (after[name] ?? 0) - (before[name] ?? 0);

  it("uploads a ~3 MiB stream in many 256 KiB resumable chunks and reads it back", async () => {
    const d = destinationFor(emu, await sharedFolder("chunks"), { serviceAccountKey: key });
    const before = await emu.stats();
    const { stream, sha256 } = generatedStream(3 * 1024 * 1024 + 1000, 7);
    const result = await d.upload(stream, "db/2024/dump.sql.gz");
    const after = await emu.stats();
    expect(result.sha256).toBe(sha256);
    expect(result.url).toBe(`https://drive.google.com/file/d/${result.storagePath}/view`);
    expect(result.etag).toMatch(/^[0-9a-f]{32}$/);
    // 12 full chunks answered 308, the last one 200.
    expect(delta(before, after, "upload.chunk 308")).toBe(12);
    expect(delta(before, after, "upload.chunk 200")).toBe(1);
    expect(delta(before, after, "upload.resumable 200")).toBe(1);
    expect((await d.stat("db/2024/dump.sql.gz")).size).toBe(3 * 1024 * 1024 + 1000);
    const back = await buffer(await d.download("db/2024/dump.sql.gz"));
    expect(back.length).toBe(3 * 1024 * 1024 + 1000);
  });

  it("retries injected 429, 503 and 403 userRateLimitExceeded answers, then succeeds", async () => {
    const d = destinationFor(emu, await sharedFolder("retries"), { serviceAccountKey: key });
    await emu.fault({ method: "GET", path: "/drive/v3/files", query: "q=", status: 429, count: 2, retryAfter: 0 });
    // The third chunk PUT fails twice: the client asks the session for its Range, then resends.
    await emu.fault({ method: "PUT", path: "/upload/drive/v3/files", query: "upload_id=", status: 503, count: 2, skip: 2 });
    await emu.fault({ method: "PATCH", path: "/drive/v3/files/", status: 403, reason: "userRateLimitExceeded", count: 1 });
    await emu.fault({ method: "POST", path: "/token", status: 503, count: 1 });
    const before = await emu.stats();
    const { stream, sha256 } = generatedStream(5 * CHUNK + 10, 3);
    const result = await d.upload(stream, "r/retried.bin");
    const after = await emu.stats();
    expect(result.sha256).toBe(sha256);
    expect(delta(before, after, "files.list 429")).toBe(2);
    expect(delta(before, after, "upload.chunk 503")).toBe(2);
    expect(delta(before, after, "files.update 403")).toBe(1);
    expect(delta(before, after, "token 503")).toBe(1);
    const back = await buffer(await d.download("r/retried.bin"));
    expect(back.length).toBe(5 * CHUNK + 10);
  });

  it("lists with corpora=user (never allDrives) and treats incompleteSearch as an error, retried", async () => {
    const d = destinationFor(emu, await emu.folder("incomplete"), { oauth: await emu.oauthUser() }, { maxRetries: 1 });
    await d.upload(Readable.from([Buffer.from("{}")]), "db/2026/manifest.json");
    await d.upload(Readable.from([Buffer.from("x")]), "db/2026/part-1.bin");
    // The emulator leaves a file out of every allDrives answer, as Drive may: the list must still be whole.
    expect((await d.list("")).map((o) => o.key)).toEqual(["db/2026/manifest.json", "db/2026/part-1.bin"]);
    // One incomplete answer: retried with the shared policy, and the list is whole.
    await emu.fault({ method: "GET", path: "/drive/v3/files", query: "q=", status: 200, count: 1 });
    expect((await d.list("db/")).map((o) => o.key)).toEqual(["db/2026/manifest.json", "db/2026/part-1.bin"]);
    // Incomplete every time: an error that says so, never a short list.
    await emu.fault({ method: "GET", path: "/drive/v3/files", query: "q=", status: 200, count: 2 });
    const error = await failure(d.list("db/"));
    expect(error.code).toBe("UNREACHABLE");
    expect(error.message).toContain("incompleteSearch");
  });

  it("gives up after maxRetries with UNREACHABLE, leaving nothing behind", async () => {
    const d = destinationFor(emu, await sharedFolder("giveup"), { serviceAccountKey: key }, { maxRetries: 1 });
    await d.validateConnection();
    await emu.fault({ method: "PUT", path: "/upload/drive/v3/files", query: "upload_id=", status: 500, count: 3 });
    const error = await failure(d.upload(Readable.from([Buffer.alloc(10)]), "g/x.bin"));
    expect(error.code).toBe("UNREACHABLE");
    expect(error.message).toContain("HTTP 500");
    expect(await d.list("")).toEqual([]);
  });

  it("a service account on a folder outside a shared drive: validateConnection says what to do; uploads get Google's quota error", async () => {
    const d = destinationFor(emu, await emu.folder("sa-my-drive"), { serviceAccountKey: key });
    const check = await d.validateConnection();
    expect(check.ok).toBe(false);
    expect(check.error).toContain("not in a shared drive");
    expect(check.error).toContain(key.client_email);
    expect(check.error).toContain("GOOGLE_DRIVE_IMPERSONATE");
    expect(check.error).toContain("OAuth");
    expect(d.capabilities.reportsFreeSpace).toBe(false);
    expect(await d.getAvailableSpace()).toBeNull();
    const error = await failure(d.upload(Readable.from([Buffer.alloc(5000)]), "q/too-big.bin"));
    expect(error.code).toBe("QUOTA_EXCEEDED");
    expect(error.message).toContain("Service Accounts do not have storage quota");
    expect(error.message).toContain("use a folder in a shared drive");
    expect(error.message).not.toContain("PRIVATE KEY");
    expect(await d.list("")).toEqual([]);
  });

  it("domain-wide delegation: the service account acts as the Workspace user, in that user's Drive and quota", async () => {
    const delegating = await emu.serviceAccount({ domainWideDelegation: true });
    await emu.workspaceUser({ email: "backup@corp.example", quotaBytes: 50_000 });
    const folder = await emu.folder("delegated");
    const d = destinationFor(emu, folder, { serviceAccountKey: delegating, subject: "backup@corp.example" });
    const check = await d.validateConnection();
    expect(check.ok, check.error).toBe(true);
    await d.upload(Readable.from([Buffer.from("as the user")]), "db/x.txt");
    expect((await buffer(await d.download("db/x.txt"))).toString()).toBe("as the user");
    expect(await d.getAvailableSpace()).toBe(50_000 - 11);
    // A service account the Workspace admin did not allow to delegate gets no token for the user.
    const refused = destinationFor(emu, folder, { serviceAccountKey: key, subject: "backup@corp.example" });
    const error = await failure(refused.stat("db/x.txt"));
    expect(error.code).toBe("AUTH");
    expect(error.message).toContain("Client is unauthorized");
  });

  it("reports the shared drive role; a Content manager trashes instead of deleting; a Contributor is warned and cannot delete", async () => {
    const manager = destinationFor(emu, await sharedFolder("as-manager", "organizer"), { serviceAccountKey: key });
    const managerCheck = await manager.validateConnection();
    expect(managerCheck.ok, managerCheck.error).toBe(true);
    expect(managerCheck.details?.[0]).toContain('shared drive "drive as-manager"');
    expect(managerCheck.details?.[0]).toContain("Manager (organizer)");
    expect(managerCheck.warnings).toBeUndefined();

    const contentManager = destinationFor(emu, await sharedFolder("as-content-manager", "fileOrganizer"), {
      serviceAccountKey: key,
    });
    const contentCheck = await contentManager.validateConnection();
    expect(contentCheck.ok, contentCheck.error).toBe(true);
    expect(contentCheck.details?.[0]).toContain("Content manager (fileOrganizer)");
    expect(contentCheck.warnings?.[0]).toContain("trash");
    await contentManager.upload(Readable.from([Buffer.from("v1")]), "db/a.txt");
    await contentManager.upload(Readable.from([Buffer.from("v2")]), "db/a.txt");
    const before = await emu.stats();
    await contentManager.delete("db/a.txt");
    const after = await emu.stats();
    // Moved to the drive's trash (files.update trashed=true), never files.delete (which would be refused).
    expect((after["files.update 200"] ?? 0) - (before["files.update 200"] ?? 0)).toBe(1);
    expect((after["files.delete 403"] ?? 0) - (before["files.delete 403"] ?? 0)).toBe(0);
    expect(await contentManager.list("")).toEqual([]);

    const contributor = destinationFor(emu, await sharedFolder("as-contributor", "writer"), { serviceAccountKey: key });
    const contributorCheck = await contributor.validateConnection();
    expect(contributorCheck.ok, contributorCheck.error).toBe(true);
    expect(contributorCheck.warnings?.[0]).toContain("Contributor");
    expect(contributorCheck.warnings?.[0]).toContain("prune");
    await contributor.upload(Readable.from([Buffer.from("new")]), "db/b.txt");
    const refused = await failure(contributor.delete("db/b.txt"));
    expect(refused.code).toBe("AUTH");
    expect(refused.message).toContain("needs the Manager role (organizer)");
    expect(refused.message).toContain("Contributor (writer)");
    expect((await contributor.list("")).map((o) => o.key)).toEqual(["db/b.txt"]);

    const viewer = destinationFor(emu, await sharedFolder("as-viewer", "reader"), { serviceAccountKey: key });
    const viewerCheck = await viewer.validateConnection();
    expect(viewerCheck.ok).toBe(false);
    expect(viewerCheck.error).toContain("cannot add files");
  });

  it("shared-drive items are invisible without supportsAllDrives and to non-members, as on Drive", async () => {
    const folder = await sharedFolder("visibility");
    const blind = destinationFor(emu, folder, { serviceAccountKey: key }, { supportsAllDrives: false });
    expect((await blind.validateConnection()).ok).toBe(false);
    const outsider = await emu.serviceAccount();
    const stranger = destinationFor(emu, folder, { serviceAccountKey: outsider });
    const error = await failure(stranger.list(""));
    expect(error.code).toBe("NOT_FOUND");
    expect(error.message).toContain(outsider.client_email);
  });

  it("works with an OAuth client and refresh token", async () => {
    const user = await emu.oauthUser({ quotaBytes: 50_000 });
    const d = destinationFor(emu, await emu.folder("personal"), { oauth: user });
    expect((await d.validateConnection()).ok).toBe(true);
    await d.upload(Readable.from([Buffer.from("hello drive")]), "notes/hello.txt");
    expect((await buffer(await d.download("notes/hello.txt"))).toString()).toBe("hello drive");
    expect(await d.getAvailableSpace()).toBe(50_000 - 11);
    const error = await failure(d.upload(Readable.from([Buffer.alloc(60_000)]), "notes/big.bin"));
    expect(error.code).toBe("QUOTA_EXCEEDED");
    expect(error.message).not.toContain("service accounts");
    expect(error.message).not.toContain(user.refreshToken);
    expect(error.message).not.toContain(user.clientSecret);
  });

  it("refuses a service account key the server does not know, without leaking the key", async () => {
    const stranger = unknownServiceAccountKey(emu.tokenUrl);
    const d = destinationFor(emu, await emu.folder("stranger"), { serviceAccountKey: stranger });
    const check = await d.validateConnection();
    expect(check.ok).toBe(false);
    expect(check.error).toContain("Google refused the credentials");
    const error = await failure(d.stat("x"));
    expect(error.code).toBe("AUTH");
    expect(error.message).toContain("Invalid JWT Signature");
    const keyBody = stranger.private_key.split("\n")[1] as string;
    expect(error.message).not.toContain(keyBody);
    expect(check.error).not.toContain(keyBody);
  });

  it("keeps names with quotes intact (q escaping)", async () => {
    const d = destinationFor(emu, await sharedFolder("quotes"), { serviceAccountKey: key });
    const tricky = "it's here/a 'quoted' name.txt";
    await d.upload(Readable.from([Buffer.from("q")]), tricky);
    await d.upload(Readable.from([Buffer.from("other")]), "it's here/plain.txt");
    expect((await buffer(await d.download(tricky))).toString()).toBe("q");
    expect((await d.list("it's here/")).map((o) => o.key)).toEqual([tricky, "it's here/plain.txt"]);
  });

  it("names the missing folder", async () => {
    const d = destinationFor(emu, "1MissingFolder", { serviceAccountKey: key });
    const error = await failure(d.list(""));
    expect(error.code).toBe("NOT_FOUND");
    expect(error.message).toContain("1MissingFolder");
    expect(error.message).toContain(key.client_email);
  });

  it("fails fast when the host is unreachable", async () => {
    const port = await closedPort();
    const d = new GoogleDriveDestination({
      folderId: "x",
      serviceAccountKey: key,
      rootUrl: `http://127.0.0.1:${port}/`,
      tokenUrl: `http://127.0.0.1:${port}/token`,
    });
    const started = Date.now();
    const error = await failure(d.upload(Readable.from([Buffer.from("x")]), "a.txt"));
    expect(error.code).toBe("UNREACHABLE");
    expect(error.message).toContain(`127.0.0.1:${port}`);
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

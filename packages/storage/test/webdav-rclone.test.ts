/**
 * The nextcloud provider in plain-WebDAV mode against a real WebDAV server from Debian
 * (`rclone serve webdav`), run through the shared conformance suite.
 */
import { mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { buffer } from "node:stream/consumers";
import { describe, expect, it } from "vitest";
import type { StorageDestination } from "../src/contract.ts";
import { StorageError } from "../src/errors.ts";
import { NextcloudDestination } from "../src/providers/nextcloud/provider.ts";
import { describeStorageContract, endlessStream } from "./contract/suite.ts";
import { uploadThenKill } from "./servers/kill-mid-upload.ts";
import { startRcloneWebdav } from "./servers/rclone-webdav.ts";
import { freePort } from "./servers/webdav-process.ts";

describeStorageContract("nextcloud (webdav mode, rclone)", async () => {
  const root = await mkdtemp(join(tmpdir(), "stowage-rclone-"));
  const served = join(root, "served");
  await mkdir(join(served, "backups"), { recursive: true });
  const server = await startRcloneWebdav(served);
  const config = (overrides: Record<string, unknown> = {}) => ({
    mode: "webdav",
    serverUrl: server.url,
    username: server.user,
    password: server.password,
    basePath: "/backups",
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
    multipartBytes: 8 * 1024 * 1024,
    async withWrongCredentials() {
      return make({ password: "wrong-secret-value" });
    },
    async withMissingContainer() {
      return make({ basePath: "/not-there", mustExist: true });
    },
    async withMissingBaseFolder() {
      // webdav+http://host/new/levels: the missing folders are part of the server URL's own path.
      return make({ serverUrl: `${server.url}/new-${Date.now()}/levels`, basePath: "/deeper" });
    },
    async unreachable() {
      return make({ serverUrl: `http://127.0.0.1:${closedPort}` });
    },
    async killServerMidUpload(key) {
      const d = make();
      const uploadError = await uploadThenKill(d, key, 2 * 1024 * 1024, server);
      return { uploadError, destination: make() };
    },
    badConfigs: [
      { config: { mode: "webdav", serverUrl: "not a url" }, field: "serverUrl" },
      { config: { mode: "ftp", serverUrl: "http://127.0.0.1" }, field: "mode" },
      { config: { mode: "webdav", serverUrl: "http://127.0.0.1", basePath: "/a/../b" }, field: "basePath" },
    ],
    async teardown() {
      for (const d of extra) await d.close();
      await server.stop();
      await rm(root, { recursive: true, force: true });
    },
  };
});

/** Runs `fn` against a fresh rclone WebDAV server over a temp folder, then stops and removes both. */
async function withRclone(fn: (d: NextcloudDestination, root: string) => Promise<void>): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), "stowage-rclone-"));
  const server = await startRcloneWebdav(root);
  const d = new NextcloudDestination({ mode: "webdav", serverUrl: server.url, username: server.user, password: server.password });
  try {
    await fn(d, root);
  } finally {
    await d.close();
    await server.stop();
    await rm(root, { recursive: true, force: true });
  }
}

describe("nextcloud provider, webdav mode specifics (rclone)", () => {
  it("keeps temp files out of sight and leaves none after a completed upload", async () => {
    await withRclone(async (d, root) => {
      const result = await d.upload(Readable.from([Buffer.from("hello")]), "t/a.txt");
      expect(result.storagePath).toBe("/t/a.txt");
      expect(await readdir(join(root, "t"))).toEqual(["a.txt"]);
      expect(d.capabilities.reportsFreeSpace).toBe(false);
      expect(await d.getAvailableSpace()).toBeNull();
    });
  });

  it("keys with spaces, unicode, '%', '#' and '?' round-trip and list back unchanged", async () => {
    await withRclone(async (d) => {
      const keys = ["odd names/a b.txt", "odd names/ünï cödé %41.txt", "odd names/hash#and?query.txt"];
      for (const key of keys) await d.upload(Readable.from([Buffer.from(key)]), key);
      expect((await d.list("odd names/")).map((o) => o.key)).toEqual([...keys].sort());
      for (const key of keys) expect((await buffer(await d.download(key))).toString()).toBe(key);
    });
  });

  it("an aborted streaming PUT leaves no temp file on the server", async () => {
    await withRclone(async (d, root) => {
      const controller = new AbortController();
      const upload = d.upload(endlessStream(), "ab/x.bin", { signal: controller.signal });
      setTimeout(() => controller.abort(), 400);
      const error = await upload.catch((e: unknown) => e);
      expect(StorageError.is(error, "INTERRUPTED")).toBe(true);
      // rclone may still be closing the file it received; give it a moment.
      let left: string[] = [];
      for (let i = 0; i < 20; i++) {
        left = await readdir(join(root, "ab"));
        if (left.length === 0) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(left).toEqual([]);
    });
  });
});

import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { StorageError } from "../src/errors.ts";
import { LocalMappedDestination } from "../src/providers/local-mapped/provider.ts";
import { describeStorageContract } from "./contract/suite.ts";

describeStorageContract("local_mapped", async () => {
  const root = await mkdtemp(join(tmpdir(), "stowage-local-"));
  const basePath = join(root, "backups");
  await mkdir(basePath);
  return {
    destination: new LocalMappedDestination({ basePath }),
    multipartBytes: 12 * 1024 * 1024,
    async withMissingContainer() {
      return new LocalMappedDestination({ basePath: join(root, "not-mounted"), mustExist: true });
    },
    async withMissingBaseFolder() {
      return new LocalMappedDestination({ basePath: join(root, "new", "several", "levels") });
    },
    async withQuota(bytes) {
      const quotaPath = join(root, "quota");
      await mkdir(quotaPath, { recursive: true });
      return new LocalMappedDestination({ basePath: quotaPath, maxSize: bytes });
    },
    badConfigs: [
      { config: { basePath: "relative/path" }, field: "basePath" },
      { config: {}, field: "basePath" },
      { config: { basePath: "/tmp", maxSize: -1 }, field: "maxSize" },
    ],
    async teardown() {
      await rm(root, { recursive: true, force: true });
    },
  };
});

describe("local_mapped specifics", () => {
  it("refuses keys that escape the base folder through a symlink", async () => {
    const root = await mkdtemp(join(tmpdir(), "stowage-local-"));
    const basePath = join(root, "base");
    const outside = join(root, "outside");
    await mkdir(basePath);
    await mkdir(outside);
    await writeFile(join(outside, "secret.txt"), "secret");
    await symlink(outside, join(basePath, "link"));
    const d = new LocalMappedDestination({ basePath });
    try {
      for (const op of [
        () => d.upload(Readable.from([Buffer.from("x")]), "link/evil.txt"),
        () => d.download("link/secret.txt"),
        () => d.stat("link/secret.txt"),
        () => d.delete("link/secret.txt"),
      ]) {
        const error = await op().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(StorageError);
        expect((error as StorageError).code).toBe("INVALID_KEY");
        expect((error as StorageError).message).toContain("symlink");
      }
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it("maxSize counts what is already stored", async () => {
    const root = await mkdtemp(join(tmpdir(), "stowage-local-"));
    const d = new LocalMappedDestination({ basePath: root, maxSize: 1000 });
    try {
      await d.upload(Readable.from([Buffer.alloc(600)]), "a.bin");
      expect(await d.getAvailableSpace()).toBe(400);
      const error = await d.upload(Readable.from([Buffer.alloc(600)]), "b.bin").catch((e: unknown) => e);
      expect((error as StorageError).code).toBe("QUOTA_EXCEEDED");
      // Replacing a.bin with the same size fits: the old copy does not count against it.
      await d.upload(Readable.from([Buffer.alloc(900)]), "a.bin");
      expect((await d.stat("a.bin")).size).toBe(900);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

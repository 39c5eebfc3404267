import { mkdir, mkdtemp, rm, stat, symlink, writeFile } from "node:fs/promises";
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

  it("creates the base folder on first upload, private (files 0600, folders 0700), unless mustExist", async () => {
    const root = await mkdtemp(join(tmpdir(), "stowage-local-"));
    try {
      const basePath = join(root, "srv", "backups", "mydb");
      const d = new LocalMappedDestination({ basePath });
      expect((await d.validateConnection()).ok).toBe(true);
      await d.upload(Readable.from([Buffer.from("rows")]), "2026/part-1.sql.gz");
      for (const folder of [join(root, "srv"), join(root, "srv", "backups"), basePath, join(basePath, "2026")]) {
        expect((await stat(folder)).mode & 0o777, folder).toBe(0o700);
      }
      expect((await stat(join(basePath, "2026", "part-1.sql.gz"))).mode & 0o777).toBe(0o600);

      const strict = new LocalMappedDestination({ basePath: join(root, "not-mounted"), mustExist: true });
      const check = await strict.validateConnection();
      expect(check.ok).toBe(false);
      expect(check.error).toContain(join(root, "not-mounted"));
      const error = await strict.upload(Readable.from([Buffer.from("x")]), "x.bin").catch((e: unknown) => e);
      expect(StorageError.is(error, "NOT_FOUND")).toBe(true);
      expect((error as Error).message).toContain(`the folder ${join(root, "not-mounted")} does not exist`);
      await expect(stat(join(root, "not-mounted"))).rejects.toThrow();
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it("names the exact folder that cannot be created", async () => {
    const root = await mkdtemp(join(tmpdir(), "stowage-local-"));
    try {
      await writeFile(join(root, "a-file"), "in the way");
      const blocked = new LocalMappedDestination({ basePath: join(root, "a-file", "backups") });
      const error = await blocked.upload(Readable.from([Buffer.from("x")]), "x.bin").catch((e: unknown) => e);
      expect(StorageError.is(error, "NOT_FOUND"), String(error)).toBe(true);
      expect((error as Error).message).toContain(`${join(root, "a-file")} is a file, not a folder`);
      await mkdir(join(root, "locked"), { mode: 0o500 });
      const locked = new LocalMappedDestination({ basePath: join(root, "locked", "deeper", "backups") });
      const denied = await locked.upload(Readable.from([Buffer.from("x")]), "x.bin").catch((e: unknown) => e);
      // root ignores permission bits; as any other user the parent is named.
      if (process.getuid?.() !== 0) {
        expect(StorageError.is(denied, "AUTH"), String(denied)).toBe(true);
        expect((denied as Error).message).toContain(`${join(root, "locked")} is not writable`);
      } else {
        expect(denied).toMatchObject({ size: 1 }); // as root the folders can be created: it was stored
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

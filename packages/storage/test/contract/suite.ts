/**
 * @module test/contract/suite
 * The conformance suite every storage provider runs unchanged, each against a real server.
 * A provider's test file supplies a `ContractHarness`; the suite asserts the contract's semantics.
 */
import { createHash, randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { buffer } from "node:stream/consumers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StorageDestination, StorageType } from "../../src/contract.ts";
import { StorageError, type StorageErrorCode } from "../../src/errors.ts";

export interface ContractHarness {
  /** A configured destination on an empty namespace (fresh folder, bucket or prefix). */
  destination: StorageDestination;
  /** Size of the "multi-part" round trip: big enough to cross at least two parts/chunks. */
  multipartBytes: number;
  /** Same server, wrong password/secret (use the text `wrong-secret-value`): every call fails with AUTH. Omit only for backends without credentials. */
  withWrongCredentials?(): Promise<StorageDestination>;
  /** Same server, a bucket/folder that does not exist and must not be created (`mustExist`, or a bucket). */
  withMissingContainer(): Promise<StorageDestination>;
  /**
   * Same server, a base folder (several levels) that does not exist yet: the first upload creates it.
   * Omit only for backends whose container cannot be created by an upload (an S3 bucket, a Drive folder id).
   */
  withMissingBaseFolder?(): Promise<StorageDestination>;
  /** A destination pointing at a closed port or nonexistent host. */
  unreachable?(): Promise<StorageDestination>;
  /** A destination whose quota is `bytes`; uploading more fails with QUOTA_EXCEEDED. Omit when the backend has no quota. */
  withQuota?(bytes: number): Promise<StorageDestination>;
  /**
   * Starts an upload of a long stream, kills the server while it runs, restarts it and returns the
   * destination to inspect. Omit only where the server runs in-process and cannot be killed.
   */
  killServerMidUpload?(key: string): Promise<{ uploadError: unknown; destination: StorageDestination }>;
  /** Config objects that must be refused, each with a field name the message must contain. */
  badConfigs: Array<{ config: unknown; field: string }>;
  /**
   * Only for runs against real services (the opt-in smoke tests), where the server is not ours: checks
   * that need control of the server (a tiny quota, killing it), each with the reason. Those checks are
   * reported as skipped with the reason, never as passed.
   */
  cannotTest?: Readonly<Partial<Record<"quota" | "killServer", string>>>;
  teardown(): Promise<void>;
}

/** A stream of `total` pseudo-random bytes in uneven chunks, length unknown to the consumer. */
export function generatedStream(total: number, seed = 1): { stream: Readable; sha256: string } {
  const hash = createHash("sha256");
  const chunks: Buffer[] = [];
  let produced = 0;
  let n = seed;
  while (produced < total) {
    const size = Math.min(total - produced, 65_536 + ((n * 7919) % 50_000));
    const chunk = Buffer.alloc(size, n % 251);
    chunk.writeUInt32LE(n >>> 0, 0 % Math.max(1, size - 4));
    chunks.push(chunk);
    hash.update(chunk);
    produced += size;
    n++;
  }
  let i = 0;
  const stream = new Readable({
    read() {
      this.push(i < chunks.length ? chunks[i++] : null);
    },
  });
  return { stream, sha256: hash.digest("hex") };
}

/** An endless stream (until aborted or destroyed), for interruption tests. */
export function endlessStream(chunkBytes = 256 * 1024, delayMs = 5): Readable {
  const chunk = randomBytes(chunkBytes);
  return new Readable({
    read() {
      setTimeout(() => this.push(chunk), delayMs);
    },
  });
}

async function expectStorageError(
  promise: Promise<unknown>,
  code: StorageErrorCode,
  mustMention?: string,
): Promise<StorageError> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  expect(caught, `expected a StorageError ${code}, got success`).toBeDefined();
  expect(caught).toBeInstanceOf(StorageError);
  const error = caught as StorageError;
  expect(error.code, error.message).toBe(code);
  if (mustMention) expect(error.message).toContain(mustMention);
  return error;
}

/** Backends on this machine's file system: no credentials, no network. */
const LOCAL_TYPES = ["local_mapped", "browser_download"];

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

export function describeStorageContract(label: StorageType | string, setup: () => Promise<ContractHarness>): void {
  describe(`storage contract: ${label}`, () => {
    let h: ContractHarness;
    let d: StorageDestination;

    beforeAll(async () => {
      h = await setup();
      d = h.destination;
    }, 120_000);

    afterAll(async () => {
      await h?.destination.close();
      await h?.teardown();
    }, 60_000);

    it("validates the connection", async () => {
      const check = await d.validateConnection();
      expect(check.ok, check.error).toBe(true);
      expect(check.latencyMs).toBeGreaterThanOrEqual(0);
    });

    it("round-trips 0 bytes", async () => {
      const result = await d.upload(Readable.from([]), "rt/empty.bin");
      expect(result.size).toBe(0);
      expect(result.sha256).toBe(sha(Buffer.alloc(0)));
      expect((await buffer(await d.download("rt/empty.bin"))).length).toBe(0);
      expect((await d.stat("rt/empty.bin")).size).toBe(0);
    });

    it("round-trips 1 byte", async () => {
      const result = await d.upload(Readable.from([Buffer.from("x")]), "rt/one.bin");
      expect(result.size).toBe(1);
      const back = await buffer(await d.download("rt/one.bin"));
      expect(back.toString()).toBe("x");
      expect(result.sha256).toBe(sha(back));
    });

    it("round-trips a multi-part stream of unknown length, reporting progress", async () => {
      const { stream, sha256 } = generatedStream(h.multipartBytes);
      let lastProgress = 0;
      const result = await d.upload(stream, "rt/deep/folder/big.bin", {
        onProgress: (bytes) => {
          expect(bytes).toBeGreaterThanOrEqual(lastProgress);
          lastProgress = bytes;
        },
      });
      expect(result.size).toBe(h.multipartBytes);
      expect(result.sha256).toBe(sha256);
      expect(lastProgress).toBe(h.multipartBytes);
      const back = await buffer(await d.download("rt/deep/folder/big.bin"));
      expect(back.length).toBe(h.multipartBytes);
      expect(sha(back)).toBe(sha256);
      const info = await d.stat("rt/deep/folder/big.bin");
      expect(info.size).toBe(h.multipartBytes);
      expect(info.key).toBe("rt/deep/folder/big.bin");
    }, 120_000);

    it("uploads from a file path", async () => {
      const { writeFile, mkdtemp, rm } = await import("node:fs/promises");
      const { join } = await import("node:path");
      const { tmpdir } = await import("node:os");
      const dir = await mkdtemp(join(tmpdir(), "stowage-contract-"));
      const file = join(dir, "f.txt");
      await writeFile(file, "from a file");
      try {
        const result = await d.upload({ path: file }, "rt/from-file.txt", { size: 11 });
        expect(result.size).toBe(11);
        expect((await buffer(await d.download("rt/from-file.txt"))).toString()).toBe("from a file");
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    it("replaces an existing object", async () => {
      await d.upload(Readable.from([Buffer.from("first version")]), "rt/replace.txt");
      await d.upload(Readable.from([Buffer.from("second")]), "rt/replace.txt");
      expect((await buffer(await d.download("rt/replace.txt"))).toString()).toBe("second");
      const matches = (await d.list("rt/replace")).filter((o) => o.key === "rt/replace.txt");
      expect(matches).toHaveLength(1);
    });

    it("lists by prefix, sorted, with sizes", async () => {
      await d.upload(Readable.from([Buffer.from("aa")]), "ls/a/1.txt");
      await d.upload(Readable.from([Buffer.from("bbb")]), "ls/a/2.txt");
      await d.upload(Readable.from([Buffer.from("c")]), "ls/b/3.txt");
      await d.upload(Readable.from([Buffer.from("d")]), "ls/ab.txt");
      const inA = await d.list("ls/a/");
      expect(inA.map((o) => o.key)).toEqual(["ls/a/1.txt", "ls/a/2.txt"]);
      expect(inA.map((o) => o.size)).toEqual([2, 3]);
      const all = await d.list("ls/");
      expect(all.map((o) => o.key)).toEqual(["ls/a/1.txt", "ls/a/2.txt", "ls/ab.txt", "ls/b/3.txt"]);
      expect(await d.list("nothing-here/")).toEqual([]);
    });

    it("lists more than 1,000 keys (all pages)", async () => {
      const keys = Array.from({ length: 1005 }, (_, i) => `many/k${String(i).padStart(5, "0")}`);
      const queue = [...keys];
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          for (let key = queue.shift(); key; key = queue.shift()) await d.upload(Readable.from([Buffer.from(key)]), key);
        }),
      );
      const listed = await d.list("many/");
      expect(listed.length).toBe(1005);
      expect(listed.map((o) => o.key)).toEqual(keys);
    }, 300_000);

    it("stat and download of a missing key throw NOT_FOUND", async () => {
      await expectStorageError(d.stat("nope/missing.bin"), "NOT_FOUND");
      await expectStorageError(d.download("nope/missing.bin"), "NOT_FOUND");
    });

    it("delete is idempotent", async () => {
      await d.upload(Readable.from([Buffer.from("gone")]), "del/x.txt");
      await d.delete("del/x.txt");
      await expectStorageError(d.stat("del/x.txt"), "NOT_FOUND");
      await d.delete("del/x.txt");
      await d.delete("del/never-existed.txt");
      expect(await d.list("del/")).toEqual([]);
    });

    it("an aborted upload leaves nothing behind", async () => {
      const controller = new AbortController();
      const upload = d.upload(endlessStream(), "abort/partial.bin", { signal: controller.signal });
      setTimeout(() => controller.abort(), 600);
      await expectStorageError(upload, "INTERRUPTED");
      await expectStorageError(d.stat("abort/partial.bin"), "NOT_FOUND");
      expect(await d.list("abort/")).toEqual([]);
    }, 60_000);

    it("a source stream that fails leaves nothing behind", async () => {
      let sent = 0;
      const failing = new Readable({
        read() {
          sent++;
          if (sent > 20) this.destroy(new Error("pg_dump exited with code 1"));
          else this.push(Buffer.alloc(64 * 1024, 1));
        },
      });
      const error = await expectStorageError(d.upload(failing, "fail/partial.bin"), "INTERRUPTED", "pg_dump exited with code 1");
      expect(error.message).toContain(d.name);
      await expectStorageError(d.stat("fail/partial.bin"), "NOT_FOUND");
      expect(await d.list("fail/")).toEqual([]);
    }, 60_000);

    it("refuses unsafe keys with INVALID_KEY", async () => {
      for (const key of ["../escape.txt", "a/../../escape.txt", "/etc/passwd", "a//b", "", "a\\b", "a/./b", "trailing/"]) {
        await expectStorageError(d.upload(Readable.from([Buffer.from("x")]), key), "INVALID_KEY");
      }
      await expectStorageError(d.download("../x"), "INVALID_KEY");
      await expectStorageError(d.delete("../x"), "INVALID_KEY");
    });

    it("refuses bad config naming the field", async () => {
      for (const bad of h.badConfigs) {
        const error = await expectStorageError(d.configure(bad.config), "INVALID_CONFIG");
        expect(error.message).toContain(bad.field);
      }
    });

    it("reports available space as a number or null, as its capabilities declare", async () => {
      const space = await d.getAvailableSpace();
      if (d.capabilities.reportsFreeSpace) expect(typeof space).toBe("number");
      else expect(space).toBeNull();
      if (typeof space === "number") expect(space).toBeGreaterThanOrEqual(0);
    });

    it("wrong credentials: AUTH, and no secret in the message", async (ctx) => {
      if (!h.withWrongCredentials) {
        ctx.annotate?.("this backend has no credentials");
        expect(LOCAL_TYPES).toContain(d.type);
        return;
      }
      const bad = await h.withWrongCredentials();
      try {
        const check = await bad.validateConnection();
        expect(check.ok).toBe(false);
        expect(check.error).toBeTruthy();
        const error = await expectStorageError(bad.upload(Readable.from([Buffer.from("x")]), "auth/x.txt"), "AUTH");
        expect(error.message).toContain(bad.name);
        expect(error.message).not.toMatch(/wrong-secret-value/);
        expect(check.error).not.toMatch(/wrong-secret-value/);
      } finally {
        await bad.close();
      }
    });

    it("missing bucket or folder: validateConnection says so, upload fails with NOT_FOUND", async () => {
      const missing = await h.withMissingContainer();
      try {
        const check = await missing.validateConnection();
        expect(check.ok).toBe(false);
        expect(check.error).toBeTruthy();
        await expectStorageError(missing.upload(Readable.from([Buffer.from("x")]), "m/x.txt"), "NOT_FOUND");
      } finally {
        await missing.close();
      }
    });

    it("creates missing base folders on the first upload", async (ctx) => {
      if (!h.withMissingBaseFolder) {
        ctx.annotate?.("the container is a bucket or a folder id: it cannot be created by an upload");
        expect(["s3", "google_drive"]).toContain(d.type);
        return;
      }
      const fresh = await h.withMissingBaseFolder();
      try {
        const check = await fresh.validateConnection();
        expect(check.ok, check.error).toBe(true);
        expect(await fresh.list("")).toEqual([]);
        await fresh.upload(Readable.from([Buffer.from("first")]), "db/first.txt");
        expect((await buffer(await fresh.download("db/first.txt"))).toString()).toBe("first");
        expect((await fresh.list("")).map((o) => o.key)).toEqual(["db/first.txt"]);
        // A second destination on the same folder finds it in place.
        await fresh.upload(Readable.from([Buffer.from("second")]), "second.txt");
        expect((await fresh.list("")).map((o) => o.key)).toEqual(["db/first.txt", "second.txt"]);
      } finally {
        await fresh.close();
      }
    });

    it("unreachable host: UNREACHABLE, and validateConnection does not throw", async (ctx) => {
      if (!h.unreachable) {
        ctx.annotate?.("this backend has no network");
        expect(LOCAL_TYPES).toContain(d.type);
        return;
      }
      const gone = await h.unreachable();
      try {
        const check = await gone.validateConnection();
        expect(check.ok).toBe(false);
        expect(check.error).toBeTruthy();
        await expectStorageError(gone.upload(Readable.from([Buffer.from("x")]), "u/x.txt"), "UNREACHABLE");
      } finally {
        await gone.close();
      }
    }, 60_000);

    it("quota exceeded: QUOTA_EXCEEDED and nothing left behind", async (ctx) => {
      if (h.cannotTest?.quota) return ctx.skip(`not run against a real service: ${h.cannotTest.quota}`);
      if (!h.withQuota) {
        ctx.annotate?.("this backend has no quota to exceed");
        expect(d.capabilities.reportsFreeSpace).toBe(false);
        return;
      }
      const limited = await h.withQuota(100_000);
      try {
        const { stream } = generatedStream(300_000);
        await expectStorageError(limited.upload(stream, "quota/too-big.bin"), "QUOTA_EXCEEDED");
        await expectStorageError(limited.stat("quota/too-big.bin"), "NOT_FOUND");
      } finally {
        await limited.close();
      }
    }, 60_000);

    it("killing the server mid-upload leaves nothing visible", async (ctx) => {
      if (h.cannotTest?.killServer) return ctx.skip(`not run against a real service: ${h.cannotTest.killServer}`);
      if (!h.killServerMidUpload) {
        ctx.annotate?.("server runs in-process; interruption covered by the abort test");
        expect(LOCAL_TYPES).toContain(d.type);
        return;
      }
      const { uploadError, destination } = await h.killServerMidUpload("kill/partial.bin");
      expect(uploadError).toBeInstanceOf(StorageError);
      expect(["UNREACHABLE", "INTERRUPTED"]).toContain((uploadError as StorageError).code);
      await expectStorageError(destination.stat("kill/partial.bin"), "NOT_FOUND");
      expect((await destination.list("kill/")).map((o) => o.key)).toEqual([]);
    }, 120_000);
  });
}

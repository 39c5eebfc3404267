/**
 * The S3 provider's own multipart uploader (providers/s3/multipart-upload.ts) against the test S3
 * server: part sizes and order as the server received them (its request log), single PutObject for
 * small bodies, spool files (private, bounded, always removed), and a failed part sent again.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { buffer } from "node:stream/consumers";
import { ListMultipartUploadsCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { StorageError } from "../src/errors.ts";
import { MiB } from "../src/providers/s3/part-size.ts";
import { S3Destination } from "../src/providers/s3/provider.ts";
import { endlessStream, generatedStream } from "./contract/suite.ts";
import { type S3TestServer, startS3Server } from "./servers/s3-server.ts";

const BUCKET = "stowage-multipart";
const PART = 5 * MiB;

interface LoggedRequest {
  op: string;
  key: string;
  partNumber?: number;
  contentLength?: number;
  chunked: boolean;
  status?: number;
}

let server: S3TestServer;
let spoolDir: string;
let prefix: string;

beforeAll(async () => {
  server = await startS3Server({ buckets: [BUCKET] });
}, 60_000);

afterAll(async () => {
  await server?.stop();
});

beforeEach(async () => {
  spoolDir = await mkdtemp(join(tmpdir(), "stowage-spool-test-"));
  prefix = `run-${randomBytes(4).toString("hex")}`;
});

afterEach(async () => {
  await rm(spoolDir, { recursive: true, force: true });
});

function destination(overrides: Record<string, unknown> = {}): S3Destination {
  return new S3Destination({
    endpoint: server.endpoint,
    region: "us-east-1",
    bucket: BUCKET,
    prefix,
    accessKeyId: server.accessKeyId,
    secretAccessKey: server.secretAccessKey,
    forcePathStyle: true,
    partSizeBytes: PART,
    spoolDir,
    ...overrides,
  });
}

/** What the server received for one object key, in arrival order. */
async function requestsFor(key: string): Promise<LoggedRequest[]> {
  const answer = await fetch(`${server.endpoint}/__stowage/requests`);
  if (!answer.ok) throw new Error(`request log: HTTP ${answer.status}`);
  const all = (await answer.json()) as LoggedRequest[];
  return all.filter((r) => r.key === `${prefix}/${key}`);
}

async function failNextPart(status: number, code: string): Promise<void> {
  const answer = await fetch(`${server.endpoint}/__stowage/fail-next-part?status=${status}&code=${code}`, { method: "POST" });
  if (answer.status !== 204) throw new Error(`fail-next-part: HTTP ${answer.status}`);
}

async function pendingUploads(): Promise<string[]> {
  const client = new S3Client({
    endpoint: server.endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
  });
  try {
    const answer = await client.send(new ListMultipartUploadsCommand({ Bucket: BUCKET }));
    return (answer.Uploads ?? []).map((u) => u.Key ?? "").filter((k) => k.startsWith(`${prefix}/`));
  } finally {
    client.destroy();
  }
}

/** Every file under the spool directory (the per-upload folders and the part files in them). */
async function spoolFiles(): Promise<string[]> {
  const entries = await readdir(spoolDir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

async function waitUntil(predicate: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe("s3 multipart uploader", () => {
  it("sends every part but the last at exactly the part size, in order, with Content-Length", async () => {
    const d = destination();
    try {
      const total = 2 * PART + 2 * MiB + 123;
      const { stream, sha256 } = generatedStream(total, 7);
      const result = await d.upload(stream, "parts/uneven.bin");
      expect(result.size).toBe(total);
      expect(result.sha256).toBe(sha256);

      const log = await requestsFor("parts/uneven.bin");
      expect(log.map((r) => r.op)).toEqual([
        "CreateMultipartUpload",
        "UploadPart",
        "UploadPart",
        "UploadPart",
        "CompleteMultipartUpload",
      ]);
      const parts = log.filter((r) => r.op === "UploadPart").sort((a, b) => (a.partNumber ?? 0) - (b.partNumber ?? 0));
      expect(parts.map((p) => p.partNumber)).toEqual([1, 2, 3]);
      expect(parts.map((p) => p.contentLength)).toEqual([PART, PART, 2 * MiB + 123]);
      expect(log.every((r) => !r.chunked && r.status === 200)).toBe(true);

      const back = await buffer(await d.download("parts/uneven.bin"));
      expect(back.length).toBe(total);
      expect(await spoolFiles()).toEqual([]);
      expect(await readdir(spoolDir)).toEqual([]);
    } finally {
      await d.close();
    }
  }, 60_000);

  it("a body of exactly two parts is two equal parts, with no empty third one", async () => {
    const d = destination();
    try {
      const { stream } = generatedStream(2 * PART, 8);
      await d.upload(stream, "parts/even.bin");
      const parts = (await requestsFor("parts/even.bin")).filter((r) => r.op === "UploadPart");
      expect(parts.map((p) => p.contentLength)).toEqual([PART, PART]);
    } finally {
      await d.close();
    }
  }, 60_000);

  it.each([
    ["0 bytes", 0],
    ["1 KiB", 1024],
    ["exactly one part", PART],
  ])(
    "%s goes up as one PutObject with Content-Length, no multipart upload",
    async (_label, size) => {
      const d = destination();
      try {
        const { stream, sha256 } = generatedStream(size, 9);
        const key = `single/${size}.bin`;
        const result = await d.upload(stream, key);
        expect(result.size).toBe(size);
        const log = await requestsFor(key);
        expect(log.map((r) => [r.op, r.contentLength, r.chunked, r.status])).toEqual([["PutObject", size, false, 200]]);
        const back = await buffer(await d.download(key));
        expect(back.length).toBe(size);
        expect(result.sha256).toBe(sha256);
        expect(await readdir(spoolDir)).toEqual([]);
      } finally {
        await d.close();
      }
    },
    60_000,
  );

  it("spools private files, at most queueSize + 1 parts at once, and removes them on abort", async () => {
    const d = destination({ queueSize: 2 });
    try {
      const controller = new AbortController();
      let sent = 0;
      const outcome = d
        .upload(endlessStream(256 * 1024, 1), "spool/aborted.bin", {
          signal: controller.signal,
          onProgress: (bytes) => (sent = bytes),
        })
        .then(
          () => undefined,
          (error: unknown) => error,
        );
      let mostFiles = 0;
      let checkedModes = false;
      await waitUntil(
        async () => {
          const files = await spoolFiles().catch(() => [] as string[]);
          mostFiles = Math.max(mostFiles, files.length);
          if (!checkedModes && files[0]) {
            const file = await stat(files[0]).catch(() => undefined);
            const folder = await stat(join(files[0], "..")).catch(() => undefined);
            if (file && folder) {
              expect(file.mode & 0o777).toBe(0o600);
              expect(folder.mode & 0o777).toBe(0o700);
              checkedModes = true;
            }
          }
          // Also until one spool file was caught and its modes read: under load a part can be spooled and
          // sent between two polls, and the mode check must not depend on catching one in six parts.
          return checkedModes && sent > 6 * PART;
        },
        60_000,
        "six parts to pass and a spool file to be seen",
      );
      expect(checkedModes).toBe(true);
      expect(mostFiles).toBeGreaterThan(0);
      expect(mostFiles).toBeLessThanOrEqual(3);
      controller.abort();
      const error = await outcome;
      expect(StorageError.is(error, "INTERRUPTED"), String(error)).toBe(true);
      // The spool clean-up and the AbortMultipartUpload may still be in flight when the rejection arrives.
      await waitUntil(async () => (await readdir(spoolDir)).length === 0, 30_000, "the spool folder to be empty");
      await waitUntil(async () => (await pendingUploads()).length === 0, 30_000, "the multipart upload to be aborted");
      expect(await readdir(spoolDir)).toEqual([]);
      expect(await pendingUploads()).toEqual([]);
    } finally {
      await d.close();
    }
  }, 150_000);

  it("removes spool files and aborts the upload when the source fails", async () => {
    const d = destination();
    try {
      let chunks = 0;
      const failing = new Readable({
        read() {
          chunks++;
          if (chunks > 200) this.destroy(new Error("pg_dump exited with code 1"));
          else this.push(Buffer.alloc(64 * 1024, 7));
        },
      });
      const error = await d.upload(failing, "spool/source-failed.bin").catch((e: unknown) => e);
      expect(StorageError.is(error, "INTERRUPTED"), String(error)).toBe(true);
      expect((error as StorageError).message).toContain("pg_dump exited with code 1");
      expect((await requestsFor("spool/source-failed.bin")).map((r) => r.op)).toContain("AbortMultipartUpload");
      expect(await readdir(spoolDir)).toEqual([]);
      expect(await pendingUploads()).toEqual([]);
    } finally {
      await d.close();
    }
  }, 60_000);

  it("a refused part fails the upload at once (no retry), aborts it and removes spool files", async () => {
    const d = destination();
    try {
      await failNextPart(403, "AccessDenied");
      const { stream } = generatedStream(3 * PART, 10);
      const error = await d.upload(stream, "spool/refused.bin").catch((e: unknown) => e);
      expect(StorageError.is(error, "AUTH"), String(error)).toBe(true);
      const log = await requestsFor("spool/refused.bin");
      expect(log.filter((r) => r.status === 403)).toHaveLength(1);
      expect(log.map((r) => r.op)).toContain("AbortMultipartUpload");
      expect(log.map((r) => r.op)).not.toContain("CompleteMultipartUpload");
      expect(await readdir(spoolDir)).toEqual([]);
      expect(await pendingUploads()).toEqual([]);
      await expect(d.stat("spool/refused.bin")).rejects.toMatchObject({ code: "NOT_FOUND" });
    } finally {
      await d.close();
    }
  }, 60_000);

  it("sends a part that failed with a 500 again from its spool file", async () => {
    const d = destination();
    try {
      await failNextPart(500, "InternalError");
      const total = 2 * PART + 1000;
      const { stream, sha256 } = generatedStream(total, 11);
      const result = await d.upload(stream, "retry/part.bin");
      expect(result.sha256).toBe(sha256);
      const parts = (await requestsFor("retry/part.bin")).filter((r) => r.op === "UploadPart");
      const failed = parts.find((p) => p.status === 500);
      expect(failed, JSON.stringify(parts)).toBeDefined();
      expect(parts.filter((p) => p.partNumber === failed?.partNumber).map((p) => p.status)).toEqual([500, 200]);
      expect(
        parts
          .filter((p) => p.status === 200)
          .map((p) => p.partNumber)
          .sort(),
      ).toEqual([1, 2, 3]);
      const back = await buffer(await d.download("retry/part.bin"));
      expect(back.length).toBe(total);
      expect(await readdir(spoolDir)).toEqual([]);
    } finally {
      await d.close();
    }
  }, 60_000);

  it("a spool directory that does not exist is INVALID_CONFIG naming S3_SPOOL_DIR; a relative one is refused", async () => {
    const missing = join(spoolDir, "no", "such", "dir");
    const d = destination({ spoolDir: missing });
    try {
      const error = await d.upload(Readable.from([Buffer.from("x")]), "spool/x.bin").catch((e: unknown) => e);
      expect(StorageError.is(error, "INVALID_CONFIG"), String(error)).toBe(true);
      expect((error as StorageError).message).toContain(missing);
      expect((error as StorageError).message).toContain("S3_SPOOL_DIR");
      expect(await requestsFor("spool/x.bin")).toEqual([]);
    } finally {
      await d.close();
    }
    expect(() => destination({ spoolDir: "relative/dir" })).toThrow(/spoolDir/);
  });
});

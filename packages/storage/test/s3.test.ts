import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import { Readable } from "node:stream";
import { buffer } from "node:stream/consumers";
import { HeadObjectCommand, ListMultipartUploadsCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StorageError } from "../src/errors.ts";
import { classifyS3Error, mapS3Error } from "../src/providers/s3/errors.ts";
import {
  choosePartSize,
  DEFAULT_UNKNOWN_LENGTH_PART_SIZE,
  MAX_PART_SIZE,
  MAX_PARTS,
  MIN_PART_SIZE,
  MiB,
  maxObjectSize,
  TiB,
} from "../src/providers/s3/part-size.ts";
import { S3Destination } from "../src/providers/s3/provider.ts";
import { describeStorageContract, endlessStream, generatedStream } from "./contract/suite.ts";
import { type S3TestServer, startS3Server } from "./servers/s3-server.ts";

const BUCKET = "stowage-test";
/** The smallest part S3 allows, so ~12 MiB really is a three-part multipart upload. */
const TEST_PART_SIZE = 5 * MiB;

function configFor(server: S3TestServer, overrides: Record<string, unknown> = {}) {
  return {
    endpoint: server.endpoint,
    region: "us-east-1",
    bucket: BUCKET,
    prefix: `run-${randomBytes(4).toString("hex")}`,
    accessKeyId: server.accessKeyId,
    secretAccessKey: server.secretAccessKey,
    forcePathStyle: true,
    partSizeBytes: TEST_PART_SIZE,
    ...overrides,
  };
}

/** A port nothing listens on: bind one, note it, close it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (!address || typeof address !== "object") throw new Error("no port");
  return address.port;
}

/** Pending multipart uploads in the bucket, through the S3 API (ListMultipartUploads). */
async function pendingUploads(server: S3TestServer, keyPrefix: string): Promise<string[]> {
  const client = new S3Client({
    endpoint: server.endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
  });
  try {
    const answer = await client.send(new ListMultipartUploadsCommand({ Bucket: BUCKET }));
    return (answer.Uploads ?? []).map((u) => u.Key ?? "").filter((k) => k.startsWith(keyPrefix));
  } finally {
    client.destroy();
  }
}

/** Resolves once `predicate` holds, polling; fails loudly after `ms`. */
async function waitUntil(predicate: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describeStorageContract("s3 (Object Lock bucket)", async () => {
  // The bucket behaves as one with Object Lock: every upload needs Content-MD5 or x-amz-checksum-*.
  const server = await startS3Server({ buckets: [BUCKET], objectLockBuckets: [BUCKET] });
  const destination = new S3Destination(configFor(server));
  return {
    destination,
    multipartBytes: 12 * MiB,
    async withWrongCredentials() {
      // Right key id, wrong secret: the server's SigV4 check answers 403 SignatureDoesNotMatch.
      return new S3Destination(configFor(server, { secretAccessKey: "wrong-secret-value" }));
    },
    async withMissingContainer() {
      return new S3Destination(configFor(server, { bucket: "no-such-bucket" }));
    },
    async unreachable() {
      return new S3Destination(configFor(server, { endpoint: `http://127.0.0.1:${await closedPort()}` }));
    },
    async killServerMidUpload(key) {
      let sent = 0;
      const upload = destination.upload(endlessStream(256 * 1024, 1), key, { onProgress: (bytes) => (sent = bytes) }).then(
        () => undefined,
        (error: unknown) => error,
      );
      // Past two parts: the multipart upload exists on the server and parts are in flight.
      await waitUntil(() => sent > 2 * TEST_PART_SIZE, 30_000, "the upload to pass two parts");
      await server.kill();
      const uploadError = await upload;
      await server.restart();
      return { uploadError, destination };
    },
    badConfigs: [
      { config: { ...configFor(server), bucket: undefined }, field: "bucket" },
      { config: { ...configFor(server), endpoint: "not a url" }, field: "endpoint" },
      { config: { ...configFor(server), partSizeBytes: 4 * MiB }, field: "partSizeBytes" },
      { config: { ...configFor(server), accessKeyId: "" }, field: "accessKeyId" },
      { config: { ...configFor(server), prefix: "a/../b" }, field: "prefix" },
    ],
    async teardown() {
      await server.stop();
    },
  };
});

describe("s3 part size", () => {
  it("lets a stream of unknown length reach at least 1 TiB in 10,000 parts", () => {
    const size = choosePartSize({});
    expect(size).toBe(DEFAULT_UNKNOWN_LENGTH_PART_SIZE);
    expect(maxObjectSize(size)).toBeGreaterThanOrEqual(TiB);
    expect(size * MAX_PARTS).toBeGreaterThanOrEqual(1024 ** 4);
    // …and is not much larger than needed: memory is partSize × queueSize.
    expect(size).toBeLessThanOrEqual(128 * MiB);
  });

  it("sizes parts from a known length, with headroom under the 10,000-part limit", () => {
    expect(choosePartSize({ sizeHint: 1024 })).toBe(16 * MiB);
    const twoTiB = 2 * TiB;
    const size = choosePartSize({ sizeHint: twoTiB });
    expect(Math.ceil(twoTiB / size)).toBeLessThanOrEqual(9_000);
    expect(size % MiB).toBe(0);
  });

  it("keeps a configured size unless a known length would not fit", () => {
    expect(choosePartSize({ configured: 5 * MiB })).toBe(5 * MiB);
    expect(choosePartSize({ configured: 5 * MiB, sizeHint: 10 * MiB })).toBe(5 * MiB);
    const big = choosePartSize({ configured: 5 * MiB, sizeHint: TiB });
    expect(TiB / big).toBeLessThanOrEqual(MAX_PARTS);
  });

  it("stays within S3's part limits", () => {
    expect(choosePartSize({ sizeHint: 100 * TiB })).toBe(MAX_PART_SIZE);
    expect(choosePartSize({ sizeHint: 0 })).toBeGreaterThanOrEqual(MIN_PART_SIZE);
  });
});

describe("s3 error mapping", () => {
  const ctx = { name: "s3://b/p", bucket: "b", endpoint: "http://127.0.0.1:9", secrets: ["sekrit-value"] };
  /** The shape of an AWS SDK v3 service exception. */
  const sdkError = (name: string, status: number, message = name) =>
    Object.assign(new Error(message), { name, $metadata: { httpStatusCode: status } });

  it.each([
    ["InvalidAccessKeyId", 403, "AUTH"],
    ["SignatureDoesNotMatch", 403, "AUTH"],
    ["AccessDenied", 403, "AUTH"],
    ["Forbidden", 403, "AUTH"],
    ["NoSuchBucket", 404, "NOT_FOUND"],
    ["NoSuchKey", 404, "NOT_FOUND"],
    ["NotFound", 404, "NOT_FOUND"],
    ["QuotaExceeded", 403, "QUOTA_EXCEEDED"],
    ["EntityTooLarge", 400, "QUOTA_EXCEEDED"],
    ["XMinioStorageFull", 507, "QUOTA_EXCEEDED"],
    ["Unknown", 507, "QUOTA_EXCEEDED"],
    ["PreconditionFailed", 412, "CONFLICT"],
    ["InternalError", 500, "UNKNOWN"],
  ] as const)("%s (HTTP %i) is %s", (name, status, code) => {
    expect(classifyS3Error(sdkError(name, status))).toBe(code);
  });

  it("maps socket errors to UNREACHABLE and aborts to INTERRUPTED", () => {
    expect(classifyS3Error(Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }))).toBe("UNREACHABLE");
    expect(classifyS3Error(Object.assign(new Error("timed out"), { name: "TimeoutError" }))).toBe("UNREACHABLE");
    expect(classifyS3Error(Object.assign(new Error("aborted"), { name: "AbortError" }))).toBe("INTERRUPTED");
  });

  it("names the destination and redacts secrets the server echoed", () => {
    const error = mapS3Error(sdkError("InternalError", 500, "bad request signed with sekrit-value"), ctx, "upload of k");
    expect(error.message).toContain("s3://b/p: upload of k");
    expect(error.message).not.toContain("sekrit-value");
    const missing = mapS3Error(sdkError("NoSuchBucket", 404), ctx, "upload of k");
    expect(missing.message).toContain('bucket "b" does not exist at http://127.0.0.1:9');
  });
});

describe("s3 specifics", () => {
  let server: S3TestServer;

  beforeAll(async () => {
    server = await startS3Server({ buckets: [BUCKET] });
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
  });

  it("an aborted multipart upload leaves no pending multipart upload on the server", async () => {
    const config = configFor(server);
    const d = new S3Destination(config);
    try {
      const controller = new AbortController();
      let sent = 0;
      const upload = d.upload(endlessStream(256 * 1024, 1), "abort/big.bin", {
        signal: controller.signal,
        onProgress: (bytes) => (sent = bytes),
      });
      const outcome = upload.then(
        () => undefined,
        (error: unknown) => error,
      );
      await waitUntil(
        async () => sent > 2 * TEST_PART_SIZE && (await pendingUploads(server, config.prefix)).length > 0,
        30_000,
        "a pending multipart upload",
      );
      controller.abort();
      const error = await outcome;
      expect(StorageError.is(error, "INTERRUPTED"), String(error)).toBe(true);
      expect(await pendingUploads(server, config.prefix)).toEqual([]);
      expect(await d.list("abort/")).toEqual([]);
    } finally {
      await d.close();
    }
  }, 60_000);

  it("a failing source aborts the multipart upload too", async () => {
    const config = configFor(server);
    const d = new S3Destination(config);
    try {
      let chunks = 0;
      const failing = new Readable({
        read() {
          chunks++;
          if (chunks > 200) this.destroy(new Error("pg_dump exited with code 1"));
          else this.push(Buffer.alloc(64 * 1024, 7)); // 12.5 MiB before failing: two parts sent
        },
      });
      const error = await d.upload(failing, "fail/big.bin").catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StorageError);
      expect((error as StorageError).message).toContain("pg_dump exited with code 1");
      expect(await pendingUploads(server, config.prefix)).toEqual([]);
    } finally {
      await d.close();
    }
  }, 60_000);

  it("keeps keys relative to the prefix and isolates prefixes", async () => {
    const config = configFor(server);
    const a = new S3Destination(config);
    const b = new S3Destination({ ...config, prefix: `${config.prefix}-other` });
    const root = new S3Destination({ ...config, prefix: "" });
    try {
      const result = await a.upload(Readable.from([Buffer.from("hello")]), "x/y.txt");
      expect(result.storagePath).toBe(`${config.prefix}/x/y.txt`);
      expect(result.url).toBe(`s3://${BUCKET}/${config.prefix}/x/y.txt`);
      expect((await a.list()).map((o) => o.key)).toEqual(["x/y.txt"]);
      expect(await b.list()).toEqual([]);
      expect((await root.list(`${config.prefix}/`)).map((o) => o.key)).toEqual([`${config.prefix}/x/y.txt`]);
      expect((await buffer(await root.download(`${config.prefix}/x/y.txt`))).toString()).toBe("hello");
    } finally {
      await Promise.all([a.close(), b.close(), root.close()]);
    }
  });

  it("an unknown access key id is AUTH too, and validateConnection names the env variables", async () => {
    const d = new S3Destination(configFor(server, { accessKeyId: "NOT-A-KEY", secretAccessKey: "wrong-secret-value" }));
    try {
      const check = await d.validateConnection();
      expect(check.ok).toBe(false);
      expect(check.error).toContain("S3_ACCESS_KEY_ID/S3_SECRET_ACCESS_KEY");
      const error = await d.stat("x").catch((e: unknown) => e);
      expect(StorageError.is(error, "AUTH"), String(error)).toBe(true);
      expect((error as StorageError).message).not.toContain("wrong-secret-value");
    } finally {
      await d.close();
    }
  });

  it("validateConnection names the missing bucket and the unreachable endpoint", async () => {
    const missing = new S3Destination(configFor(server, { bucket: "no-such-bucket" }));
    const endpoint = `http://127.0.0.1:${await closedPort()}`;
    const gone = new S3Destination(configFor(server, { endpoint }));
    try {
      expect((await missing.validateConnection()).error).toContain('bucket "no-such-bucket" does not exist');
      const started = Date.now();
      const check = await gone.validateConnection();
      expect(check.error).toContain(`cannot reach ${endpoint}`);
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      await Promise.all([missing.close(), gone.close()]);
    }
  });

  it("never sends Content-Encoding, so R2 does not decompress .gz dumps", async () => {
    const d = new S3Destination(configFor(server));
    const raw = new S3Client({
      endpoint: server.endpoint,
      region: "us-east-1",
      forcePathStyle: true,
      credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
    });
    try {
      const result = await d.upload(Readable.from([Buffer.from([0x1f, 0x8b, 8, 0])]), "dump.sql.gz", {
        contentType: "application/gzip",
      });
      const head = await raw.send(new HeadObjectCommand({ Bucket: BUCKET, Key: result.storagePath }));
      expect(head.ContentEncoding).toBeUndefined();
      expect(head.ContentType).toBe("application/gzip");
    } finally {
      raw.destroy();
      await d.close();
    }
  });

  it("Object Lock bucket: the server refuses an upload without a checksum, and every request of ours has one", async () => {
    const locked = await startS3Server({ buckets: [BUCKET], objectLockBuckets: [BUCKET] });
    const raw = new S3Client({
      endpoint: locked.endpoint,
      region: "us-east-1",
      forcePathStyle: true,
      credentials: { accessKeyId: locked.accessKeyId, secretAccessKey: locked.secretAccessKey },
      // As the provider runs it: no SDK checksum for PutObject (the SDK's default would add a CRC32).
      requestChecksumCalculation: "WHEN_REQUIRED",
      maxAttempts: 1,
    });
    const d = new S3Destination(configFor(locked));
    try {
      // What S3 does with Object Lock, and what the provider did before it sent Content-MD5.
      const refused = await raw
        .send(new PutObjectCommand({ Bucket: BUCKET, Key: "plain.txt", Body: "no checksum" }))
        .catch((e: unknown) => e as { name?: string; message?: string });
      expect(refused).toMatchObject({ name: "InvalidRequest" });
      expect((refused as Error).message).toContain("Content-MD5 OR x-amz-checksum-");
      // A wrong Content-MD5 is refused too: the header is checked, not merely required.
      const wrong = await raw
        .send(new PutObjectCommand({ Bucket: BUCKET, Key: "wrong.txt", Body: "abc", ContentMD5: "AAAAAAAAAAAAAAAAAAAAAA==" }))
        .catch((e: unknown) => e as { name?: string });
      expect(wrong).toMatchObject({ name: "BadDigest" });

      const small = await d.upload(Readable.from([Buffer.from("one part")]), "locked/small.txt");
      const { stream, sha256 } = generatedStream(12 * MiB + 7, 4);
      const big = await d.upload(stream, "locked/big.bin");
      expect(big.sha256).toBe(sha256);
      expect((await buffer(await d.download("locked/big.bin"))).length).toBe(12 * MiB + 7);
      expect((await d.stat("locked/small.txt")).size).toBe(8);
      const log = (await (await fetch(`${locked.endpoint}/__stowage/requests`)).json()) as Array<{
        op: string;
        key: string;
        contentMd5: boolean;
        status: number;
      }>;
      const ours = log.filter((r) => r.key === small.storagePath || r.key === big.storagePath);
      const writes = ours.filter((r) => ["PutObject", "UploadPart", "CompleteMultipartUpload"].includes(r.op));
      expect(writes.map((r) => r.op)).toEqual(["PutObject", "UploadPart", "UploadPart", "UploadPart", "CompleteMultipartUpload"]);
      expect(writes.every((r) => r.contentMd5 && r.status === 200)).toBe(true);
    } finally {
      raw.destroy();
      await d.close();
      await locked.stop();
    }
  }, 120_000);
});

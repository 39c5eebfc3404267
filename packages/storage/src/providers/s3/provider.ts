/**
 * @module providers/s3/provider
 * S3-compatible object storage: AWS S3, Cloudflare R2 (`region: auto`), MinIO (`forcePathStyle`).
 * Uploads stream as a multipart upload of fixed-size parts, each spooled to a temp file first so
 * memory stays bounded (multipart-upload.ts), or as one PUT when the whole stream fits in a part;
 * S3 only makes an object visible when the upload completes, and on failure or abort the multipart
 * upload is aborted so no parts are left billed.
 */
import { stat as statFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { Readable } from "node:stream";
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
} from "@aws-sdk/client-s3";
import type { DownloadOptions, StorageObjectInfo, UploadOptions, UploadResult, UploadSource } from "../../contract.ts";
import { redact, StorageError } from "../../errors.ts";
import { DestinationLayer } from "../../layer/destination-layer.ts";
import type { DriverContext, StorageDriver } from "../../layer/provider.ts";
import { meterSource } from "../../stream/meter.ts";
import type { S3Config } from "./config.ts";
import { s3Description } from "./description.ts";
import { classifyS3Error, mapS3Error, type S3ErrorContext, s3ErrorCode } from "./errors.ts";
import { spooledUpload, TooManyPartsError } from "./multipart-upload.ts";
import { choosePartSize, MAX_PARTS, MiB, maxObjectSize } from "./part-size.ts";
import { SpoolError } from "./spool.ts";

/**
 * Network limits. A closed port or dead host must fail within seconds (UNREACHABLE), not after the
 * SDK's default minutes of retries (retries follow the layer's one policy, layer/retry.ts).
 */
const CONNECTION_TIMEOUT_MS = 5_000;
/** Socket idle time before a request is given up (a hung server); not a cap on a long part upload. */
const SOCKET_IDLE_TIMEOUT_MS = 120_000;

const SILENT_LOGGER = { debug() {}, info() {}, warn() {}, error() {} };

export class S3Driver implements StorageDriver {
  private clientInstance: S3Client | undefined;

  constructor(
    private readonly cfg: S3Config,
    private readonly context: DriverContext,
  ) {}

  private get name(): string {
    return this.context.name;
  }

  /** The bucket prefix without edge slashes; "" when objects live at the bucket's root. */
  private get prefix(): string {
    return this.cfg.prefix.replace(/^\/+|\/+$/g, "");
  }

  /** Where requests go, for messages: the configured endpoint or AWS's regional one. */
  private get endpoint(): string {
    return this.cfg.endpoint ?? `https://s3.${this.cfg.region}.amazonaws.com`;
  }

  private get errorContext(): S3ErrorContext {
    return {
      name: this.name,
      bucket: this.cfg.bucket,
      endpoint: this.endpoint,
      secrets: [this.cfg.secretAccessKey, this.cfg.sessionToken],
    };
  }

  private get client(): S3Client {
    if (!this.clientInstance) {
      const c = this.cfg;
      this.clientInstance = new S3Client({
        endpoint: c.endpoint,
        region: c.region,
        forcePathStyle: c.forcePathStyle,
        credentials: { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, sessionToken: c.sessionToken },
        // R2 and MinIO reject or mishandle the SDK's default CRC32 trailers (aws-chunked encoding).
        requestChecksumCalculation: "WHEN_REQUIRED",
        responseChecksumValidation: "WHEN_REQUIRED",
        // One retry policy for the whole storage layer (layer/retry.ts): the SDK sends each request once.
        maxAttempts: 1,
        // A bucket in another region than configured answers 301: follow it rather than fail.
        followRegionRedirects: true,
        // Options for the SDK's own NodeHttpHandler.
        requestHandler: { connectionTimeout: CONNECTION_TIMEOUT_MS, socketTimeout: SOCKET_IDLE_TIMEOUT_MS },
        // The SDK's default logger is silent, except that it prints "non-retryable streaming request"
        // to the console for every failed part: parts are retried from their spool file instead.
        logger: SILENT_LOGGER,
      });
    }
    return this.clientInstance;
  }

  /** The object key in the bucket for a destination-relative key. */
  private objectKey(key: string): string {
    return this.prefix ? `${this.prefix}/${key}` : key;
  }

  /** The destination-relative key for an object key in the bucket. */
  private relativeKey(objectKey: string): string {
    return this.prefix ? objectKey.slice(this.prefix.length + 1) : objectKey;
  }

  private fail(error: unknown, what: string): StorageError {
    return mapS3Error(error, this.errorContext, what);
  }

  async upload(source: UploadSource, key: string, options: UploadOptions): Promise<UploadResult> {
    const objectKey = this.objectKey(key);
    const what = `upload of ${key}`;
    const { signal } = options;
    const sizeHint = options.size ?? (await sizeOfFileSource(source));
    const partSize = choosePartSize({ configured: this.cfg.partSizeBytes, sizeHint });
    const meter = meterSource(source, options.onProgress);

    // Cancels the part requests in flight, so an abort or a failing source takes effect at once
    // rather than after a 100 MiB part has been sent.
    const inFlight = new AbortController();
    const abortError = () => Object.assign(new Error("upload aborted by the caller"), { name: "AbortError" });
    const onAbort = () => {
      inFlight.abort();
      meter.destroy(abortError());
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    meter.once("error", () => inFlight.abort());

    try {
      const result = await spooledUpload({
        client: this.client,
        bucket: this.cfg.bucket,
        key: objectKey,
        body: meter,
        partSize,
        queueSize: this.cfg.queueSize,
        spoolDir: this.cfg.spoolDir ?? tmpdir(),
        contentType: options.contentType ?? "application/octet-stream",
        metadata: options.metadata ? { ...options.metadata } : undefined,
        signal: inFlight.signal,
        policy: this.context.policy,
      });
      const { bytes, sha256 } = await meter.totals();
      return {
        storagePath: objectKey,
        url: `s3://${this.cfg.bucket}/${objectKey}`,
        etag: result.etag,
        size: bytes,
        sha256,
      };
    } catch (error) {
      if (signal?.aborted) {
        throw new StorageError(
          "INTERRUPTED",
          this.name,
          `${what}: aborted; the multipart upload was cancelled and nothing was stored`,
          {
            cause: error,
          },
        );
      }
      if (error instanceof TooManyPartsError) {
        throw new StorageError(
          "QUOTA_EXCEEDED",
          this.name,
          `${what}: the stream is larger than ${MAX_PARTS} parts of ${partSize} bytes (${maxObjectSize(partSize)} bytes); raise partSizeBytes or pass the size`,
          { cause: error },
        );
      }
      if (error instanceof SpoolError) throw this.spoolFailure(error, what, partSize);
      // A failing source (pg_dump exiting) is not the server's fault: say so rather than "unknown".
      if (meter.destroyed && meter.errored && !classifyS3ErrorIsServer(error)) {
        throw new StorageError(
          "INTERRUPTED",
          this.name,
          redact(
            `${what}: the source stream failed (${(error as Error).message}); nothing was stored`,
            this.errorContext.secrets,
          ),
          { cause: error },
        );
      }
      throw this.fail(error, what);
    } finally {
      signal?.removeEventListener("abort", onAbort);
      if (!meter.destroyed) meter.destroy();
    }
  }

  /** The local spool directory, not the server, is the problem: say which and what to change. */
  private spoolFailure(error: SpoolError, what: string, partSize: number): StorageError {
    const room = `(queueSize + 1) × part size = ${Math.ceil(((this.cfg.queueSize + 1) * partSize) / MiB)} MiB`;
    const fix = `set S3_SPOOL_DIR (config spoolDir) to a writable directory with ${room} free`;
    const full = error.fsCode === "ENOSPC" || error.fsCode === "EDQUOT";
    const code = full
      ? "QUOTA_EXCEEDED"
      : error.fsCode === "ENOENT" || error.fsCode === "EACCES" || error.fsCode === "ENOTDIR" || error.fsCode === "EROFS"
        ? "INVALID_CONFIG"
        : "UNKNOWN";
    return new StorageError(code, this.name, `${what}: ${error.message}; ${fix}; nothing was stored`, { cause: error });
  }

  async download(key: string, options: DownloadOptions): Promise<Readable> {
    const objectKey = this.objectKey(key);
    try {
      const response = await this.client.send(new GetObjectCommand({ Bucket: this.cfg.bucket, Key: objectKey }), {
        abortSignal: options.signal,
      });
      const body = response.Body;
      if (body instanceof Readable) return body;
      // Node's SDK always answers with an IncomingMessage; anything else means an unexpected runtime.
      if (!body) return Readable.from([]);
      return Readable.fromWeb((body as { transformToWebStream(): ReadableStream }).transformToWebStream() as never);
    } catch (error) {
      throw this.fail(error, `download of ${key}`);
    }
  }

  async stat(key: string): Promise<StorageObjectInfo> {
    const objectKey = this.objectKey(key);
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.cfg.bucket, Key: objectKey }));
      return {
        key,
        size: head.ContentLength ?? 0,
        modifiedAt: head.LastModified ?? new Date(0),
        etag: head.ETag,
      };
    } catch (error) {
      throw this.fail(error, `stat of ${key}`);
    }
  }

  async delete(key: string): Promise<void> {
    const objectKey = this.objectKey(key);
    try {
      // S3's DeleteObject already succeeds for a missing key.
      await this.client.send(new DeleteObjectCommand({ Bucket: this.cfg.bucket, Key: objectKey }));
    } catch (error) {
      const mapped = this.fail(error, `delete of ${key}`);
      // Some S3-compatible servers answer NoSuchKey instead; deleting what is gone is not an error.
      if (mapped.code === "NOT_FOUND" && s3ErrorCode(error).code !== "NoSuchBucket") return;
      throw mapped;
    }
  }

  async list(prefix: string): Promise<StorageObjectInfo[]> {
    const fullPrefix = this.prefix ? `${this.prefix}/${prefix}` : prefix;
    const out: StorageObjectInfo[] = [];
    let continuationToken: string | undefined;
    try {
      do {
        const page = await this.client.send(
          new ListObjectsV2Command({
            Bucket: this.cfg.bucket,
            Prefix: fullPrefix || undefined,
            ContinuationToken: continuationToken,
          }),
        );
        for (const object of page.Contents ?? []) {
          if (!object.Key) continue;
          out.push({
            key: this.relativeKey(object.Key),
            size: object.Size ?? 0,
            modifiedAt: object.LastModified ?? new Date(0),
            etag: object.ETag,
          });
        }
        continuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (continuationToken);
    } catch (error) {
      throw this.fail(error, `list of ${prefix || "/"}`);
    }
    return out;
  }

  async checkConnection(): Promise<void> {
    const ctx = this.errorContext;
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: ctx.bucket }));
    } catch (error) {
      throw new StorageError(classifyS3Error(error), this.name, redact(this.connectionMessage(error, ctx), ctx.secrets));
    }
  }

  /** HeadBucket answers have no body: explain by HTTP status. */
  private connectionMessage(error: unknown, ctx: S3ErrorContext): string {
    const { status } = s3ErrorCode(error);
    const code = classifyS3Error(error);
    if (code === "AUTH") {
      return `the server refused the credentials for bucket "${ctx.bucket}" (HTTP ${status ?? "403"}): check S3_ACCESS_KEY_ID/S3_SECRET_ACCESS_KEY and that the key may access this bucket`;
    }
    if (code === "NOT_FOUND") {
      return `bucket "${ctx.bucket}" does not exist at ${ctx.endpoint}: create it, or check S3_BUCKET and S3_ENDPOINT`;
    }
    if (status === 301 || status === 400) {
      return `the server refused the request for bucket "${ctx.bucket}" (HTTP ${status}): the bucket may be in another region than "${this.cfg.region}"; check S3_REGION (use "auto" for Cloudflare R2)`;
    }
    if (code === "UNREACHABLE") {
      return `cannot reach ${ctx.endpoint}: check S3_ENDPOINT, that the server is running, and the network`;
    }
    return this.fail(error, "connection check").detail;
  }

  async getAvailableSpace(): Promise<number | null> {
    return null;
  }

  async close(): Promise<void> {
    this.clientInstance?.destroy();
    this.clientInstance = undefined;
  }
}

/** S3-compatible object storage behind the destination layer. */
export class S3Destination extends DestinationLayer<S3Config, S3Driver> {
  declare readonly type: "s3";

  constructor(config?: unknown) {
    super(s3Description, (c, ctx) => new S3Driver(c, ctx), config);
  }
}

/** True when the error came from the server or the network rather than from the source stream. */
function classifyS3ErrorIsServer(error: unknown): boolean {
  return s3ErrorCode(error).status !== undefined || classifyS3Error(error) === "UNREACHABLE";
}

/** The byte length of a file source, to size its parts; undefined for streams. */
async function sizeOfFileSource(source: UploadSource): Promise<number | undefined> {
  if (source instanceof Readable || !("path" in source) || typeof source.path !== "string") return undefined;
  try {
    return (await statFile(source.path)).size;
  } catch {
    return undefined; // the read will fail with a clear error of its own
  }
}

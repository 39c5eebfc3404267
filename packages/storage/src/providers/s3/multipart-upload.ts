/**
 * @module providers/s3/multipart-upload
 * Streams a body of unknown length to S3 with bounded memory: each part is spooled to a private file
 * (spool.ts) while it fills, then sent with UploadPart from a file read stream with an explicit
 * Content-Length. While `queueSize` parts upload, the next one is spooled, so at most queueSize + 1
 * parts are on disk and memory holds only stream buffers. A body that ends before the first part is
 * full goes up as one PutObject, with no multipart upload at all.
 *
 * Every part but the last has exactly `partSize` bytes (R2 rejects anything else). A part is sealed
 * only when a byte arrives that does not fit in it, so a body of exactly one part is still one PUT.
 *
 * On any failure (a part, the source, the caller's AbortSignal) the requests in flight are cancelled
 * and AbortMultipartUpload is sent, so no parts are left billed; the spool folder is always removed.
 * A failed part is retried from its file (the SDK cannot retry a streamed body itself).
 *
 * Checksums: buckets with Object Lock refuse PutObject and UploadPart without `Content-MD5` or an
 * `x-amz-checksum-*` header ("Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object
 * requests with Object Lock parameters"; S3 API reference, PutObject and UploadPart; aws-sdk-php#1694).
 * AWS SDK v3 (3.1175 here) adds a CRC32 only with `requestChecksumCalculation: "WHEN_SUPPORTED"`, and
 * for a streamed body it sends it as an aws-chunked trailer, which R2 and MinIO reject, so the client
 * runs with "WHEN_REQUIRED" and sends nothing for these operations. Instead every part and the single
 * PUT carry the Content-MD5 computed while spooling (spool.ts), which AWS, R2 and MinIO all check, and
 * the CompleteMultipartUpload request carries the Content-MD5 of its XML part list (a common request
 * header S3 verifies), so no request of an upload goes out without a checksum.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { unlink } from "node:fs/promises";
import type { Readable } from "node:stream";
import {
  AbortMultipartUploadCommand,
  type CompletedPart,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { isAbortError } from "../../errors.ts";
import { type RetryPolicy, retry } from "../../layer/retry.ts";
import { isTransientS3Error, s3ErrorCode } from "./errors.ts";
import { MAX_PARTS } from "./part-size.ts";
import { SpoolDirectory, type SpoolFile } from "./spool.ts";

export interface SpooledUploadParams {
  readonly client: S3Client;
  readonly bucket: string;
  readonly key: string;
  /** Read once, to its end. Destroyed when the upload fails. */
  readonly body: Readable;
  readonly partSize: number;
  /** Parts uploading at once; one more is spooled meanwhile. */
  readonly queueSize: number;
  /** Where the per-upload spool folder is created. */
  readonly spoolDir: string;
  readonly contentType: string;
  readonly metadata?: Record<string, string>;
  /** Cancels the data requests in flight; the upload then fails and is aborted on the server. */
  readonly signal?: AbortSignal;
  /** The storage layer's one retry policy, for each part, the single PUT, and the create/complete calls. */
  readonly policy: RetryPolicy;
}

export interface SpooledUploadResult {
  readonly etag?: string;
  /** Parts of the multipart upload; 0 when the body went up as one PutObject. */
  readonly parts: number;
}

/** The body needs more than 10,000 parts of `partSize`. */
export class TooManyPartsError extends Error {
  override readonly name = "TooManyPartsError";
  constructor(readonly partSize: number) {
    super(`the stream is larger than ${MAX_PARTS} parts of ${partSize} bytes`);
  }
}

/**
 * Read size when sending a part from its file. 1 MiB rather than the 64 KiB default: fewer reads and
 * callbacks per 112 MiB part; peak RSS measured the same (it is set by read buffers awaiting garbage
 * collection, up to V8's 64 MiB external-memory threshold, whatever their size).
 */
const READ_CHUNK_BYTES = 1024 * 1024;

const abortError = (reason?: unknown) =>
  reason instanceof Error && isAbortError(reason)
    ? reason
    : Object.assign(new Error("upload aborted"), { name: "AbortError", cause: reason });

/** Uploads `params.body` to `params.key`, spooling parts to disk. See the module comment. */
export async function spooledUpload(params: SpooledUploadParams): Promise<SpooledUploadResult> {
  const spool = await SpoolDirectory.create(params.spoolDir);
  const upload = new SpooledUpload(params, spool);
  try {
    return await upload.run();
  } finally {
    upload.dispose();
    await spool.remove();
  }
}

class SpooledUpload {
  /** Cancels the data requests in flight: the caller's signal, or our own first failure. */
  private readonly controller = new AbortController();
  private readonly onCallerAbort = () => this.controller.abort(this.params.signal?.reason);
  private uploadId: Promise<string> | undefined;
  private readonly completed: CompletedPart[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  /** The first error of a part upload that was not itself caused by an abort. */
  private failure: { error: unknown } | undefined;
  private current: SpoolFile | undefined;
  /** Bytes read from the body so far (the object's size once the body ended). */
  private bytes = 0;

  constructor(
    private readonly params: SpooledUploadParams,
    private readonly spool: SpoolDirectory,
  ) {
    if (params.signal?.aborted) this.controller.abort(params.signal.reason);
    else params.signal?.addEventListener("abort", this.onCallerAbort, { once: true });
  }

  dispose(): void {
    this.params.signal?.removeEventListener("abort", this.onCallerAbort);
    this.current?.discard();
  }

  async run(): Promise<SpooledUploadResult> {
    const { partSize, body } = this.params;
    try {
      // Opened before the first byte, so an empty body still has a (0-byte) file to PUT.
      let part = await this.open(1);
      for await (const chunk of body as AsyncIterable<Buffer>) {
        let offset = 0;
        while (offset < chunk.length) {
          this.throwIfStopped();
          if (part.size === partSize) {
            // A byte that does not fit: the part is complete and the body goes multipart.
            if (part.partNumber >= MAX_PARTS) throw new TooManyPartsError(partSize);
            await part.close();
            await this.dispatch(part);
            part = await this.open(part.partNumber + 1);
          }
          const n = Math.min(chunk.length - offset, partSize - part.size);
          await part.write(n === chunk.length ? chunk : chunk.subarray(offset, offset + n));
          offset += n;
          this.bytes += n;
        }
      }
      await part.close();
      this.throwIfStopped();
      if (!this.uploadId) return await this.putSingle(part);
      await this.dispatch(part);
      await this.drain();
      return await this.complete(part.partNumber);
    } catch (error) {
      // The part error that stopped us wins over the "premature close" of the body we destroyed.
      const primary = this.failure?.error ?? error;
      await this.abort();
      throw primary;
    }
  }

  private async open(partNumber: number): Promise<SpoolFile> {
    this.current = await this.spool.openPart(partNumber);
    return this.current;
  }

  private throwIfStopped(): void {
    if (this.failure) throw this.failure.error;
    if (this.controller.signal.aborted) throw abortError(this.controller.signal.reason);
  }

  /** Starts uploading a complete part once fewer than queueSize are in flight. */
  private async dispatch(part: SpoolFile): Promise<void> {
    while (this.inFlight.size >= this.params.queueSize) {
      await Promise.race(this.inFlight);
    }
    this.throwIfStopped();
    this.uploadId ??= this.createMultipartUpload();
    const task = this.uploadPart(part).then(
      () => undefined,
      (error: unknown) => this.fail(error),
    );
    this.inFlight.add(task);
    void task.then(() => this.inFlight.delete(task));
  }

  private createMultipartUpload(): Promise<string> {
    const { client, bucket, key, contentType, metadata } = this.params;
    const created = this.send(() =>
      client.send(
        new CreateMultipartUploadCommand({
          Bucket: bucket,
          Key: key,
          ContentType: contentType,
          // Never Content-Encoding: R2 would transparently decompress a `.gz` dump on download.
          Metadata: metadata,
        }),
      ),
    ).then((answer) => {
      if (!answer.UploadId) throw new Error("CreateMultipartUpload answered without an UploadId");
      return answer.UploadId;
    });
    // Awaited by every part and by abort(); this only keeps a failure from counting as unhandled.
    created.catch(() => undefined);
    return created;
  }

  private async uploadPart(part: SpoolFile): Promise<void> {
    const { bucket, key } = this.params;
    const uploadId = await (this.uploadId as Promise<string>);
    const answer = await this.withRetries(
      () =>
        new UploadPartCommand({
          Bucket: bucket,
          Key: key,
          UploadId: uploadId,
          PartNumber: part.partNumber,
          Body: createReadStream(part.path, { highWaterMark: READ_CHUNK_BYTES }),
          ContentLength: part.size,
          ContentMD5: part.contentMd5,
        }),
    );
    this.completed[part.partNumber - 1] = { PartNumber: part.partNumber, ETag: answer.ETag };
    // Sent: free its disk space now rather than at the end.
    await unlink(part.path).catch(() => undefined);
  }

  private async putSingle(part: SpoolFile): Promise<SpooledUploadResult> {
    const { bucket, key, contentType, metadata } = this.params;
    const answer = await this.withRetries(
      () =>
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: createReadStream(part.path, { highWaterMark: READ_CHUNK_BYTES }),
          ContentLength: part.size,
          ContentMD5: part.contentMd5,
          ContentType: contentType,
          Metadata: metadata,
        }),
    );
    return { etag: answer.ETag, parts: 0 };
  }

  /**
   * Sends a command whose body is a fresh read stream of a spool file, again after a transient
   * failure: the SDK does not retry streamed bodies, but the file can simply be read once more.
   */
  private async withRetries(makeCommand: () => UploadPartCommand | PutObjectCommand): Promise<{ ETag?: string }> {
    const signal = this.controller.signal;
    return retry(
      async () => {
        if (signal.aborted) throw abortError(signal.reason);
        const command = makeCommand();
        try {
          // Both outputs carry the part's or object's ETag, all this needs.
          return (await this.params.client.send(command as UploadPartCommand, { abortSignal: signal })) as { ETag?: string };
        } finally {
          // Closes the file if the request failed before reading it to the end.
          (command.input.Body as Readable).destroy();
        }
      },
      { policy: this.params.policy, isTransient: isTransientS3Error, signal },
    );
  }

  /** A metadata call (create, complete), retried with the same policy. */
  private send<T>(run: (attempt: number) => Promise<T>): Promise<T> {
    return retry(run, { policy: this.params.policy, isTransient: isTransientS3Error });
  }

  /** Records the first real failure and stops everything else: requests in flight and the body. */
  private fail(error: unknown): void {
    // After an abort (ours or the caller's), every other part fails with AbortError: not a cause.
    if (this.failure || this.controller.signal.aborted) return;
    this.failure = { error };
    this.controller.abort(error);
    // Wakes the loop if it waits for the source (a stalled pg_dump); it then throws `failure`.
    this.params.body.destroy();
  }

  private async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.race(this.inFlight);
    this.throwIfStopped();
  }

  private async complete(lastPartNumber: number): Promise<SpooledUploadResult> {
    const { client, bucket, key } = this.params;
    const parts = this.completed.slice(0, lastPartNumber);
    if (parts.length !== lastPartNumber || parts.some((p) => !p?.ETag)) {
      throw new Error(`internal error: ${lastPartNumber} parts sent but not every one has an ETag`);
    }
    const uploadId = await (this.uploadId as Promise<string>);
    const answer = await this.send(async (attempt) => {
      try {
        return await client.send(
          withBodyMd5(
            new CompleteMultipartUploadCommand({
              Bucket: bucket,
              Key: key,
              UploadId: uploadId,
              MultipartUpload: { Parts: parts },
            }),
          ),
        );
      } catch (error) {
        // A retried Complete whose first attempt succeeded (the answer was lost) gets NoSuchUpload: the
        // object may well be there. Check it (size, multipart ETag "…-N") before reporting a failure.
        if (attempt === 0 || s3ErrorCode(error).code !== "NoSuchUpload") throw error;
        const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
        if (head.ContentLength !== this.bytes || !head.ETag?.endsWith(`-${parts.length}"`)) throw error;
        return { ETag: head.ETag };
      }
    });
    return { etag: answer.ETag, parts: parts.length };
  }

  /**
   * Cancels what is in flight, waits for it to settle, then aborts the multipart upload on the
   * server. AbortMultipartUpload goes out without the signal: it must be sent after an abort.
   */
  private async abort(): Promise<void> {
    if (!this.controller.signal.aborted) this.controller.abort(abortError());
    while (this.inFlight.size > 0) await Promise.race(this.inFlight);
    if (!this.uploadId) return;
    const uploadId = await this.uploadId.catch(() => undefined);
    if (!uploadId) return;
    const { client, bucket, key } = this.params;
    // Best effort: if the server is gone, the pending upload cannot be aborted now; the original
    // error is what the caller needs (a bucket lifecycle rule cleans up incomplete uploads).
    await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId })).catch(() => undefined);
  }
}

/**
 * Adds `Content-MD5` of the serialized request body (the CompleteMultipartUpload XML, which the SDK
 * builds as a string) before the request is signed: the "build" step runs after serialization and
 * before signing.
 */
function withBodyMd5<C extends CompleteMultipartUploadCommand>(command: C): C {
  command.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { headers?: Record<string, string>; body?: unknown };
      if (request.headers && typeof request.body === "string") {
        request.headers["content-md5"] = createHash("md5").update(request.body).digest("base64");
      }
      return next(args);
    },
    { step: "build", name: "stowageCompleteContentMd5" },
  );
  return command;
}

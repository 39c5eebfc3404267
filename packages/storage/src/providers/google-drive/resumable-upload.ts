/**
 * @module providers/google-drive/resumable-upload
 * Drive's resumable upload protocol, written by hand on top of the authorised HTTP client
 * (the generated Drive client only does single-request uploads):
 *   1. POST /upload/drive/v3/files?uploadType=resumable with the file's metadata → session URI (Location);
 *   2. PUT chunks (multiples of 256 KiB) with `Content-Range: bytes a-b/*` while the length is unknown,
 *      and `bytes a-b/total` on the last one; 308 = keep going (the `Range` header says what was kept),
 *      200/201 = the file exists;
 *   3. on a retryable error, ask the session what it has (`Content-Range: bytes * /*`) and resend from there;
 *   4. on failure or abort, DELETE the session URI so Drive drops what it received.
 * At most one chunk is held in memory. Drive creates the file only when the session completes.
 */
import type { gaxios, JWT, OAuth2Client } from "google-auth-library";
import { type RetryPolicy, retry } from "../../layer/retry.ts";
import { isRetryable, retryAfterMs } from "./drive-errors.ts";

type GaxiosResponse = gaxios.GaxiosResponse;

/** The unit Drive stores resumable data in: every chunk but the last must be a multiple of it. */
export const CHUNK_GRANULARITY = 256 * 1024;

/** Generous per-chunk limit: a chunk of several MiB on a slow uplink. */
const CHUNK_TIMEOUT_MS = 300_000;
const SESSION_TIMEOUT_MS = 30_000;
const CANCEL_TIMEOUT_MS = 5_000;

export interface DriveFileResource {
  id: string;
  name?: string;
  size?: string;
  md5Checksum?: string;
  modifiedTime?: string;
  createdTime?: string;
}

export interface ResumableUploadOptions {
  readonly client: JWT | OAuth2Client;
  /** API root with a trailing slash: `https://www.googleapis.com/`. */
  readonly rootUrl: string;
  readonly metadata: { name: string; parents: string[]; mimeType?: string; appProperties?: Record<string, string> };
  readonly chunkSize: number;
  readonly supportsAllDrives: boolean;
  /** Fields of the file resource returned by the last chunk. */
  readonly fields: string;
  readonly retry: RetryPolicy;
  readonly signal?: AbortSignal;
  /** Called when a chunk was accepted, with the bytes Drive holds so far (for tests and logs). */
  readonly onChunk?: (committedBytes: number) => void;
}

/** The layer's retry policy with Drive's classifier (and Retry-After); `alsoRetry` adds upload-specific cases. */
function retryOptions(options: ResumableUploadOptions, alsoRetry?: (error: unknown) => boolean) {
  return {
    policy: options.retry,
    isTransient: (error: unknown) => isRetryable(error) || (alsoRetry?.(error) ?? false),
    signal: options.signal,
    retryAfterMs,
  };
}

/** Bytes Drive holds, from a 308's `Range: bytes=0-N` header (absent: nothing yet). */
function committedFrom(response: GaxiosResponse): number {
  const range = response.headers.get("range");
  const match = range ? /bytes=0-(\d+)/.exec(range) : null;
  return match ? Number(match[1]) + 1 : 0;
}

/** One resumable session. `send` is called once per chunk; `cancel` drops the session. */
export class ResumableSession {
  private constructor(
    private readonly options: ResumableUploadOptions,
    private readonly sessionUri: string,
  ) {}

  static async start(options: ResumableUploadOptions): Promise<ResumableSession> {
    const url = new URL("upload/drive/v3/files", options.rootUrl);
    url.searchParams.set("uploadType", "resumable");
    url.searchParams.set("supportsAllDrives", String(options.supportsAllDrives));
    url.searchParams.set("fields", options.fields);
    const response = await retry(
      () =>
        options.client.request({
          url: url.toString(),
          method: "POST",
          headers: {
            "Content-Type": "application/json; charset=UTF-8",
            "X-Upload-Content-Type": options.metadata.mimeType ?? "application/octet-stream",
          },
          data: JSON.stringify(options.metadata),
          timeout: SESSION_TIMEOUT_MS,
          retry: false,
          signal: options.signal,
        }),
      retryOptions(options),
    );
    const location = response.headers.get("location");
    if (!location) throw new Error("Google Drive did not return a resumable session URI (no Location header)");
    return new ResumableSession(options, new URL(location, options.rootUrl).toString());
  }

  /**
   * Sends `chunk`, which starts at byte `offset` of the file. `total` is set for the last chunk only.
   * Returns the file resource when Drive says the upload is complete, `undefined` otherwise.
   */
  async send(chunk: Buffer, offset: number, total?: number): Promise<DriveFileResource | undefined> {
    const end = offset + chunk.length; // exclusive
    let from = offset;
    return retry(
      async (attempt) => {
        if (attempt > 0) {
          // After a failure or a partial answer, ask the session what it kept and resend only the rest.
          const status = await this.status(total);
          if (status.file) return status.file;
          if (status.committed < offset) throw this.lostData(status.committed, offset);
          from = Math.min(status.committed, end);
          if (total === undefined && from >= end) return undefined;
        }
        const response = await this.put(chunk.subarray(from - offset), from, end, total);
        if (response.status === 200 || response.status === 201) return response.data as DriveFileResource;
        const committed = committedFrom(response);
        this.options.onChunk?.(committed);
        if (total === undefined && committed >= end) return undefined;
        if (committed < offset) throw this.lostData(committed, offset);
        // Drive kept only part of the chunk: another round sends the rest.
        throw Object.assign(new Error(`Google Drive kept ${committed} of ${end} bytes`), { partial: true });
      },
      retryOptions(this.options, (error) => (error as { partial?: boolean }).partial === true),
    );
  }

  private put(body: Buffer, from: number, end: number, total: number | undefined): Promise<GaxiosResponse> {
    const range = body.length === 0 ? `bytes */${total ?? "*"}` : `bytes ${from}-${end - 1}/${total ?? "*"}`;
    return this.options.client.request({
      url: this.sessionUri,
      method: "PUT",
      headers: { "Content-Range": range, "Content-Type": "application/octet-stream" },
      data: body,
      timeout: CHUNK_TIMEOUT_MS,
      retry: false,
      signal: this.options.signal,
      // 308 "Resume Incomplete" carries no Location: it is an answer, not a redirect.
      maxRedirects: 0,
      validateStatus: (s) => s === 200 || s === 201 || s === 308,
    });
  }

  /** Asks the session how many bytes it holds (or whether it already completed). */
  private async status(total: number | undefined): Promise<{ committed: number; file?: DriveFileResource }> {
    const response = await retry(
      () =>
        this.options.client.request({
          url: this.sessionUri,
          method: "PUT",
          headers: { "Content-Range": `bytes */${total ?? "*"}` },
          data: Buffer.alloc(0),
          timeout: SESSION_TIMEOUT_MS,
          retry: false,
          signal: this.options.signal,
          maxRedirects: 0,
          validateStatus: (s) => s === 200 || s === 201 || s === 308,
        }),
      retryOptions(this.options),
    );
    if (response.status === 308) return { committed: committedFrom(response) };
    return { committed: Number.POSITIVE_INFINITY, file: response.data as DriveFileResource };
  }

  private lostData(committed: number, expected: number): Error {
    return new Error(
      `the resumable session holds ${committed} bytes but ${expected} were already sent and could not be resent; upload again`,
    );
  }

  /** Drops the session (Drive answers 499); best effort, never throws, ignores the caller's aborted signal. */
  async cancel(): Promise<void> {
    try {
      await this.options.client.request({
        url: this.sessionUri,
        method: "DELETE",
        timeout: CANCEL_TIMEOUT_MS,
        retry: false,
        validateStatus: () => true,
      });
    } catch {
      // The session expires on its own (Drive keeps unfinished sessions about a week) and holds no visible file.
    }
  }
}

/**
 * Uploads `source` through a new session in chunks of `chunkSize` bytes, holding at most one chunk
 * (plus one piece of the source) in memory. Cancels the session on any failure.
 */
export async function uploadResumable(
  source: AsyncIterable<Buffer>,
  options: ResumableUploadOptions,
): Promise<DriveFileResource> {
  const session = await ResumableSession.start(options);
  try {
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let offset = 0;
    for await (const piece of source) {
      pending.push(piece);
      pendingBytes += piece.length;
      // Send a full chunk only once more data exists, so the last chunk always carries the total.
      while (pendingBytes > options.chunkSize) {
        const all = Buffer.concat(pending, pendingBytes);
        const chunk = all.subarray(0, options.chunkSize);
        await session.send(chunk, offset);
        offset += chunk.length;
        const rest = Buffer.from(all.subarray(options.chunkSize));
        pending = [rest];
        pendingBytes = rest.length;
      }
    }
    const last = Buffer.concat(pending, pendingBytes);
    pending = [];
    const file = await session.send(last, offset, offset + last.length);
    if (!file?.id) throw new Error("Google Drive completed the upload without returning the file id");
    return file;
  } catch (error) {
    await session.cancel();
    throw error;
  }
}

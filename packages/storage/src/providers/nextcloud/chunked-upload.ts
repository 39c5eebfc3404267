/**
 * @module providers/nextcloud/chunked-upload
 * Nextcloud chunked upload v2 (developer manual, "Chunked file upload"):
 *   MKCOL  /remote.php/dav/uploads/<user>/<transfer-id>            Destination: <target URL>
 *   PUT    /remote.php/dav/uploads/<user>/<transfer-id>/<n>        Destination, OC-Total-Length when known
 *   MOVE   /remote.php/dav/uploads/<user>/<transfer-id>/.file      Destination, OC-Total-Length
 *   DELETE /remote.php/dav/uploads/<user>/<transfer-id>/           (abort; no Destination needed)
 * Chunks are numbered 1..10000 and are 5 MB..5 GB except the last. Each chunk is buffered in memory
 * (at most `chunkSize` bytes) so it goes out with a Content-Length: Nextcloud behind some proxies
 * stores 0-byte files for bodies sent with chunked transfer encoding.
 */
import { randomUUID } from "node:crypto";
import { Readable } from "node:stream";
import type { WebDAVClient } from "webdav";

/** Chunk numbers allowed by chunked upload v2. */
export const MAX_CHUNKS = 10_000;

export interface Chunk {
  /** The chunk's bytes, in order (slices of the source's buffers, not copied). */
  readonly parts: Buffer[];
  readonly bytes: number;
  /** True when the source ended within (or right after) this chunk. */
  readonly final: boolean;
}

/**
 * Cuts a byte stream into chunks of exactly `size` bytes (the last one shorter, possibly empty).
 * Pulls lazily, so the source is paused while a chunk is being sent: memory stays at one chunk.
 */
export async function* chunksOf(stream: AsyncIterable<Buffer>, size: number): AsyncGenerator<Chunk> {
  let parts: Buffer[] = [];
  let bytes = 0;
  for await (const data of stream) {
    let rest = data;
    while (bytes + rest.length >= size) {
      const take = size - bytes;
      parts.push(rest.subarray(0, take));
      yield { parts, bytes: size, final: false };
      parts = [];
      bytes = 0;
      rest = rest.subarray(take);
    }
    if (rest.length > 0) {
      parts.push(rest);
      bytes += rest.length;
    }
  }
  yield { parts, bytes, final: true };
}

/** A request body of known length built from buffered parts (no concatenation copy). */
export function bodyOf(chunk: Chunk): Readable {
  return Readable.from(chunk.parts, { objectMode: false });
}

export interface ChunkedUploadOptions {
  /** A `webdav` client rooted at `<server>/remote.php/dav/uploads/<user>`. */
  readonly uploads: WebDAVClient;
  /** Full URL of the target file under `/remote.php/dav/files/<user>/`. */
  readonly destinationUrl: string;
}

/** One chunked-upload-v2 transfer: start, send chunks, finish or abort. */
export class ChunkedUploadSession {
  readonly transferId = `stowage-${randomUUID()}`;
  private chunkNumber = 0;
  private started = false;

  constructor(private readonly options: ChunkedUploadOptions) {}

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return { Destination: this.options.destinationUrl, ...extra };
  }

  /** MKCOL of the upload folder, announcing the target. */
  async start(signal?: AbortSignal): Promise<void> {
    const res = await this.options.uploads.customRequest(`/${this.transferId}`, {
      method: "MKCOL",
      headers: this.headers(),
      ...(signal ? { signal } : {}),
    });
    await res.text();
    this.started = true;
  }

  /** The number of the next chunk (1…10,000). */
  nextChunkNumber(chunkBytes: number): number {
    this.chunkNumber++;
    if (this.chunkNumber > MAX_CHUNKS) {
      throw new Error(
        `the stream needs more than ${MAX_CHUNKS} chunks; raise chunkSizeBytes (now ${chunkBytes} bytes per chunk)`,
      );
    }
    return this.chunkNumber;
  }

  /**
   * PUT of chunk `number` with its Content-Length (and the total, when known, so quota is checked early).
   * The body is rebuilt from the buffered parts on every call, so a failed PUT can simply be sent again.
   */
  async putChunk(chunk: Chunk, number: number, totalLength: number | undefined, signal?: AbortSignal): Promise<void> {
    const name = String(number).padStart(5, "0");
    const res = await this.options.uploads.customRequest(`/${this.transferId}/${name}`, {
      method: "PUT",
      headers: this.headers({
        "Content-Type": "application/octet-stream",
        "Content-Length": String(chunk.bytes),
        ...(totalLength !== undefined ? { "OC-Total-Length": String(totalLength) } : {}),
      }),
      // A Readable is accepted at run time (node-fetch body); the client's type only lists buffers.
      data: bodyOf(chunk) as unknown as Record<string, unknown>,
      ...(signal ? { signal } : {}),
    });
    await res.text();
  }

  /** MOVE of the assembled `.file` onto the target; the server then removes the upload folder. */
  async finish(totalLength: number, signal?: AbortSignal): Promise<void> {
    const res = await this.options.uploads.customRequest(`/${this.transferId}/.file`, {
      method: "MOVE",
      headers: this.headers({ "OC-Total-Length": String(totalLength), Overwrite: "T" }),
      ...(signal ? { signal } : {}),
    });
    await res.text();
  }

  /** True while the upload folder still exists (the server has not finished assembling and moving it). */
  async pending(signal?: AbortSignal): Promise<boolean> {
    try {
      await this.options.uploads.stat(`/${this.transferId}`, signal ? { signal } : {});
      return true;
    } catch (error) {
      if ((error as { status?: number }).status === 404) return false;
      throw error;
    }
  }

  /** DELETE of the upload folder; best effort (the server expires it after 24 h anyway). */
  async abort(timeoutMs: number): Promise<void> {
    if (!this.started) return;
    try {
      const res = await this.options.uploads.customRequest(`/${this.transferId}/`, {
        method: "DELETE",
        signal: AbortSignal.timeout(timeoutMs),
      });
      await res.text();
    } catch {
      // The server may be gone (that is often why we abort); nothing more to do.
    }
  }
}

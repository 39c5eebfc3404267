/**
 * @module providers/s3/spool
 * Part files on local disk. A multipart upload writes each part to its own file while it fills, then
 * sends it from that file, so memory stays at a few stream buffers whatever the part size (112 MiB
 * parts held in RAM cost ≈ 600 MiB with lib-storage), and a failed part can be sent again from the file.
 * Files are private: the directory is created with mode 0700 by mkdtemp and each file with 0600,
 * because they hold backup bytes (possibly unencrypted dumps).
 * Each part's MD5 is computed while it is written, for the Content-MD5 header that buckets with
 * Object Lock require (see multipart-upload.ts): no second read of the file.
 */
import { createHash, type Hash } from "node:crypto";
import { createWriteStream, type WriteStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import { finished } from "node:stream/promises";

/** A spool problem: the directory is missing, not writable, or full. `cause` is the fs error. */
export class SpoolError extends Error {
  override readonly name = "SpoolError";
  constructor(
    readonly spoolDir: string,
    readonly fsCode: string | undefined,
    message: string,
    options: { cause: unknown },
  ) {
    super(message, options);
  }
}

const fsCode = (error: unknown): string | undefined => (error as { code?: string } | null)?.code;

function spoolError(spoolDir: string, what: string, error: unknown): SpoolError {
  const code = fsCode(error);
  return new SpoolError(spoolDir, code, `${what} in spool directory ${spoolDir} failed (${code ?? (error as Error).message})`, {
    cause: error,
  });
}

/** One upload's private folder of part files; `remove()` deletes it and everything in it. */
export class SpoolDirectory {
  private constructor(
    readonly spoolDir: string,
    readonly path: string,
  ) {}

  static async create(spoolDir: string): Promise<SpoolDirectory> {
    try {
      return new SpoolDirectory(spoolDir, await mkdtemp(join(spoolDir, "stowage-s3-")));
    } catch (error) {
      throw spoolError(spoolDir, "creating a folder", error);
    }
  }

  /** A new, empty part file (`part-00001`…), created exclusively with mode 0600. */
  async openPart(partNumber: number): Promise<SpoolFile> {
    const path = join(this.path, `part-${String(partNumber).padStart(5, "0")}`);
    const stream = createWriteStream(path, { flags: "wx", mode: 0o600 });
    try {
      await new Promise<void>((resolve, reject) => {
        stream.once("open", () => resolve());
        stream.once("error", reject);
      });
    } catch (error) {
      throw spoolError(this.spoolDir, "creating a part file", error);
    }
    return new SpoolFile(this.spoolDir, partNumber, path, stream);
  }

  async remove(): Promise<void> {
    await rm(this.path, { recursive: true, force: true });
  }
}

/** A part file being filled. Write, then `close()`, then read it back from `path`. */
export class SpoolFile {
  /** Bytes written so far. */
  size = 0;
  private writeError: unknown;
  private readonly md5: Hash = createHash("md5");
  private md5Base64: string | undefined;

  constructor(
    private readonly spoolDir: string,
    readonly partNumber: number,
    readonly path: string,
    private readonly stream: WriteStream,
  ) {
    stream.on("error", (error) => {
      this.writeError ??= error;
    });
  }

  /** Appends `chunk`; waits only when the file stream's buffer is full (backpressure from the disk). */
  async write(chunk: Buffer): Promise<void> {
    this.throwIfBroken();
    this.size += chunk.length;
    this.md5.update(chunk);
    if (!this.stream.write(chunk)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          this.stream.off("drain", done);
          this.stream.off("close", done);
          resolve();
        };
        this.stream.on("drain", done);
        this.stream.on("close", done);
      });
      this.throwIfBroken();
    }
  }

  /** Flushes and closes the file; throws if any write failed (ENOSPC). */
  async close(): Promise<void> {
    if (!this.stream.writableEnded) this.stream.end();
    try {
      await finished(this.stream);
    } catch (error) {
      this.writeError ??= error;
    }
    this.throwIfBroken();
  }

  /** Base64 MD5 of the bytes written (RFC 1864, the Content-MD5 header's form); final once written. */
  get contentMd5(): string {
    this.md5Base64 ??= this.md5.digest("base64");
    return this.md5Base64;
  }

  /** Closes without waiting for pending data: used when the upload is being torn down. */
  discard(): void {
    this.stream.destroy();
  }

  private throwIfBroken(): void {
    if (this.writeError !== undefined) throw spoolError(this.spoolDir, "writing a part file", this.writeError);
  }
}

/**
 * @module archive/tar-source
 * Reads a backup from a `.tar` of one backup folder (the browser-download format): entries at the
 * root or under one top-level folder, `manifest.json` and the parts as stored. The tar is read as a
 * stream with tar-stream, entry by entry, and each entry is handed to the usual read side
 * (`readManifest`, `openPart`) as if a destination had served it: checksums, decryption and the
 * restore work unchanged, and no file is ever held whole in memory or written to disk.
 *
 * Files are found in the order they are asked for. A tar that can be opened again (a local file)
 * is scanned again from the start when an earlier file is wanted (the error paths re-read a part to
 * tell damage from a wrong key). A one-pass stream (an upload) must hold `manifest.json` first and
 * the parts in manifest order, as Stowage writes them; anything else is refused by name.
 */
import { createReadStream } from "node:fs";
import { basename } from "node:path";
import { PassThrough, type Readable } from "node:stream";
import { StorageError } from "@stowage/storage";
import { extract } from "tar-stream";
import type { BackupLocation, BackupReader } from "../catalog.ts";
import { BackupError } from "../errors.ts";

/** A plain file name inside a backup folder: no path, nothing hidden. */
const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$/;

interface TarEntry extends Readable {
  header: { name: string; type: string | null; size?: number };
}

/** One pass over a tar stream, entry by entry. */
class TarCursor {
  private readonly iterator: AsyncIterator<TarEntry>;
  private readonly source: Readable;
  private top: string | undefined;
  private failed: Error | undefined;
  /** The entry handed out last; the next step waits until its reader is done with it. */
  private pending: Promise<void> = Promise.resolve();

  constructor(
    source: Readable,
    private readonly where: string,
  ) {
    this.source = source;
    const ex = extract();
    source.on("error", (error) => ex.destroy(error));
    // A tar cut short fails the parser, which does not always fail the entry being read: do it here.
    const broken = (error?: Error) => {
      this.brokenBy ??= error ?? new Error("unexpected end of data");
      const out = this.current;
      if (out && !out.writableEnded && !out.destroyed) {
        out.destroy(cursorError(where, this.currentName ?? "a file", error ?? new Error("unexpected end of data")));
      }
    };
    ex.on("error", broken);
    ex.on("close", () => broken());
    source.pipe(ex);
    this.iterator = (ex as unknown as AsyncIterable<TarEntry>)[Symbol.asyncIterator]();
  }

  private notBackup(what: string): BackupError {
    return new BackupError(
      "MANIFEST_INVALID",
      `${this.where} is not a Stowage backup tar (${what}); it must hold manifest.json and the parts, at its root or in one folder`,
    );
  }

  private cut(error: unknown): BackupError {
    return new BackupError(
      "FILE_MISSING",
      `${this.where} ends early or is damaged (${(error as Error).message}): the archive is incomplete`,
      {
        cause: error,
      },
    );
  }

  /** Remembers the first failure, so every later call reports the same one. */
  private fail(error: Error): Error {
    this.failed = error;
    return error;
  }

  /** The next regular file: its plain name and its stream; `undefined` at the end. */
  async next(): Promise<{ name: string; entry: TarEntry } | undefined> {
    await this.pending;
    if (this.failed) throw this.failed;
    for (;;) {
      let step: IteratorResult<TarEntry>;
      try {
        step = await this.iterator.next();
      } catch (error) {
        throw this.fail(this.cut(error));
      }
      if (step.done) return undefined;
      const entry = step.value;
      const raw = entry.header.name;
      const parts = raw.replace(/\/+$/, "").split("/");
      if (raw.startsWith("/") || parts.some((p) => p === ".." || p === "." || p === "") || parts.length > 2) {
        entry.resume();
        throw this.fail(this.notBackup(`it holds ${JSON.stringify(raw)}`));
      }
      if (entry.header.type === "directory") {
        if (parts.length !== 1) throw this.fail(this.notBackup(`it holds the folder ${JSON.stringify(raw)}`));
        entry.resume();
        continue;
      }
      if (parts.length === 2) {
        this.top ??= parts[0];
        if (parts[0] !== this.top) throw this.fail(this.notBackup("it holds more than one top-level folder"));
      } else if (this.top !== undefined) {
        throw this.fail(this.notBackup("it holds files both at its root and in a folder"));
      }
      const name = parts[parts.length - 1]!;
      if (entry.header.type !== "file" || !FILE_NAME.test(name)) {
        entry.resume();
        throw this.fail(this.notBackup(`${JSON.stringify(raw)} is not a plain file`));
      }
      return { name, entry };
    }
  }

  /** The reader's stream of the entry handed out last, failed if the archive breaks under it. */
  private current: PassThrough | undefined;
  private currentName: string | undefined;
  /** Set once the parser failed or closed: an entry not ended by then never will be. */
  private brokenBy: Error | undefined;

  /** Marks an entry as handed out: the cursor moves on only once it ended (or was let go). */
  hold(entry: TarEntry, out: PassThrough, name: string): void {
    this.current = out;
    this.currentName = name;
    // The parser may have failed while the entry was being found, before anyone listened.
    if (this.brokenBy && (entry.destroyed || !entry.readableEnded)) {
      const error = this.brokenBy;
      setImmediate(() => {
        if (!out.writableEnded && !out.destroyed) out.destroy(cursorError(this.where, name, error));
      });
    }
    this.pending = new Promise<void>((resolve) => {
      const done = () => {
        if (!entry.readableEnded) entry.resume();
        resolve();
      };
      out.once("close", done);
      out.once("end", done);
      out.once("error", done);
    });
  }

  close(): void {
    this.source.destroy();
    void this.iterator.return?.();
  }
}

/**
 * A read-only view of a backup tar that `readManifest`, `openPart`, `verifyBackup` and `runRestore`
 * read like a destination. `open` gives the tar's bytes from the start; it is called again only
 * for files asked for out of order, and `reopenable: false` (an upload) refuses that instead.
 */
export class TarBackupReader implements BackupReader {
  readonly name: string;
  private cursor: TarCursor | undefined;
  private opened = 0;
  private readonly seen = new Set<string>();

  constructor(
    private readonly open: () => Readable,
    options: { name: string; reopenable: boolean },
  ) {
    this.name = options.name;
    this.reopenable = options.reopenable;
  }

  private readonly reopenable: boolean;

  async download(key: string): Promise<Readable> {
    const wanted = basename(key);
    if (this.seen.has(wanted) || !this.cursor) {
      if (this.opened > 0 && !this.reopenable) {
        throw new BackupError(
          "FILE_MISSING",
          `${wanted} comes before files already read in ${this.name}: a Stowage backup tar holds manifest.json first, then the parts in manifest order`,
          { file: wanted },
        );
      }
      this.cursor?.close();
      this.cursor = new TarCursor(this.open(), this.name);
      this.opened++;
      this.seen.clear();
    }
    const cursor = this.cursor;
    for (;;) {
      const next = await cursor.next();
      if (!next) throw new StorageError("NOT_FOUND", this.name, `${wanted} is not in the archive`);
      this.seen.add(next.name);
      if (next.name !== wanted) {
        next.entry.resume();
        continue;
      }
      const out = new PassThrough({ highWaterMark: 256 * 1024 });
      // The error may come before the reader attaches (a cut tar is parsed in one go): it stays on
      // `out.errored` for the reader's pipeline; without this listener it would crash the process.
      out.on("error", () => {});
      next.entry.on("error", (error) => out.destroy(cursorError(this.name, wanted, error)));
      // A tar cut short destroys the entry, sometimes without an error: never let that look like an end.
      next.entry.on("close", () => {
        if (!out.writableEnded && !out.destroyed)
          out.destroy(cursorError(this.name, wanted, new Error("unexpected end of data")));
      });
      next.entry.pipe(out);
      cursor.hold(next.entry, out, wanted);
      return out;
    }
  }

  /** Stops reading (the CLI calls this when done). */
  async close(): Promise<void> {
    this.cursor?.close();
    this.cursor = undefined;
  }
}

function cursorError(where: string, file: string, error: unknown): BackupError {
  return new BackupError(
    "FILE_MISSING",
    `${file} is cut short in ${where} (${(error as Error).message}): the archive is incomplete`,
    {
      cause: error,
      file,
    },
  );
}

/** True when a `<backup>` argument names a tar file rather than a folder or a backup id. */
export function isTarPath(path: string): boolean {
  return /\.tar$/i.test(path);
}

/** A backup in a local `.tar` file (a browser download), read as a stream. */
export function tarFileBackup(path: string): BackupLocation<TarBackupReader> {
  const reader = new TarBackupReader(() => createReadStream(path, { highWaterMark: 256 * 1024 }), {
    name: basename(path),
    reopenable: true,
  });
  return { destination: reader, folder: "" };
}

/**
 * A backup in a tar arriving as one stream (an upload): read once, manifest.json first, then the
 * parts in manifest order. What the server's "restore from an uploaded file" hands to verify/restore.
 */
export function tarStreamBackup(stream: Readable, name = "the uploaded archive"): BackupLocation<TarBackupReader> {
  let used = false;
  const reader = new TarBackupReader(
    () => {
      if (used) throw new Error("a one-pass tar stream cannot be read twice");
      used = true;
      return stream;
    },
    { name, reopenable: false },
  );
  return { destination: reader, folder: "" };
}

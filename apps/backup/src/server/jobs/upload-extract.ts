/**
 * @module server/jobs/upload-extract
 * Receives `POST /api/restores` (multipart: the `.tar` from a browser download, `targetDatabaseUrl`,
 * `clean`, `passphrase`) as a stream: the tar is unpacked file by file into a private folder while
 * each file's SHA-256 is computed, then every file is checked against manifest.json (size and
 * checksum) before anything touches the target. Hostile archives are refused: only regular files
 * with plain names inside one top-level folder, nothing outside it, no links, no duplicates.
 */
import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { type Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { type BackupManifest, MANIFEST_FILE, manifestSchema } from "@stowage/backup-core";
import Busboy from "busboy";
import { extract } from "tar-stream";
import { ApiError } from "../errors.ts";

export interface ExtractedUpload {
  readonly folder: string;
  readonly manifest: BackupManifest;
  readonly fields: Record<string, string>;
}

const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$/;
const MAX_FILES = 32;
const MAX_FIELD_BYTES = 8192;

type BusboyCtor = new (options: {
  headers: Record<string, string>;
  limits?: Record<string, number>;
}) => NodeJS.WritableStream & {
  on(event: "file", listener: (field: string, stream: Readable, filename: string) => void): unknown;
  on(event: "field", listener: (name: string, value: string, nameTruncated: boolean, valueTruncated: boolean) => void): unknown;
  on(event: "finish" | "error", listener: (error?: Error) => void): unknown;
};

const bad = (message: string, field = "file") => new ApiError("INVALID_INPUT", message, field);

/** Unpacks one tar stream into `folder`, hashing each file. */
async function untar(tarStream: Readable, folder: string): Promise<Map<string, { size: number; sha256: string }>> {
  const files = new Map<string, { size: number; sha256: string }>();
  let top: string | undefined;
  const ex = extract();
  const done = new Promise<void>((resolve, reject) => {
    ex.on("entry", (header, stream, next) => {
      const fail = (error: Error) => {
        stream.resume();
        reject(error);
        ex.destroy(error);
      };
      const parts = header.name.replace(/\/+$/, "").split("/");
      if (header.name.startsWith("/") || parts.some((p) => p === ".." || p === "." || p === "")) {
        return fail(bad(`the archive holds an unsafe path (${JSON.stringify(header.name)}); it is not a Stowage download`));
      }
      const folderName = parts[0]!;
      top ??= folderName;
      if (folderName !== top) return fail(bad("the archive must hold exactly one top-level folder (a Stowage browser download)"));
      if (header.type === "directory" && parts.length === 1) {
        stream.resume();
        return next();
      }
      if (header.type !== "file" || parts.length !== 2 || !FILE_NAME.test(parts[1]!)) {
        return fail(
          bad(
            `the archive holds ${JSON.stringify(header.name)}, which is not a backup file; only plain files inside the top folder are accepted`,
          ),
        );
      }
      const name = parts[1]!;
      if (files.has(name)) return fail(bad(`the archive holds ${name} twice`));
      if (files.size >= MAX_FILES)
        return fail(bad(`the archive holds more than ${MAX_FILES} files; it is not a Stowage download`));
      const hash = createHash("sha256");
      let size = 0;
      const meter = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          hash.update(chunk);
          size += chunk.length;
          cb(null, chunk);
        },
      });
      pipeline(stream, meter, createWriteStream(join(folder, name), { flags: "wx", mode: 0o600 })).then(
        () => {
          files.set(name, { size, sha256: hash.digest("hex") });
          next();
        },
        (error: Error) => fail(error),
      );
    });
    ex.on("finish", () => resolve());
    ex.on("error", (error: Error) =>
      reject(error instanceof ApiError ? error : bad(`the file is not a valid tar archive: ${error.message}`)),
    );
  });
  tarStream.on("error", (error) => ex.destroy(error));
  tarStream.pipe(ex);
  await done;
  return files;
}

/** Reads the multipart request; the tar is unpacked on the fly into `folder` (created, and removed on failure). */
export async function receiveUpload(body: Readable, contentType: string, folder: string): Promise<ExtractedUpload> {
  if (!contentType.toLowerCase().startsWith("multipart/form-data")) {
    throw bad("send multipart/form-data with a `file` (the .tar from a browser download) and `targetDatabaseUrl`", "body");
  }
  await mkdir(folder, { recursive: true, mode: 0o700 });
  try {
    const fields: Record<string, string> = {};
    let files: Map<string, { size: number; sha256: string }> | undefined;
    let fileSeen = false;
    const parser = new (Busboy as unknown as BusboyCtor)({
      headers: { "content-type": contentType },
      limits: { fieldSize: MAX_FIELD_BYTES, fields: 20, files: 1, parts: 30 },
    });
    let extraction: Promise<void> | undefined;
    const parsed = new Promise<void>((resolve, reject) => {
      parser.on("file", (field, stream) => {
        if (field !== "file" || fileSeen) {
          stream.resume();
          return;
        }
        fileSeen = true;
        extraction = untar(stream, folder).then((f) => {
          files = f;
        });
        extraction.catch((error) => {
          stream.resume();
          reject(error);
        });
      });
      parser.on("field", (name, value, _nt, truncated) => {
        if (truncated) reject(bad(`${name} is too long`, name));
        fields[name] = value;
      });
      parser.on("finish", () => resolve());
      parser.on("error", (error) => reject(bad(`the upload is not valid multipart/form-data: ${error?.message}`, "body")));
    });
    body.on("error", (error) => parser.emit("error", error));
    body.pipe(parser);
    await parsed;
    if (!fileSeen || !extraction) throw bad("no `file` in the upload: attach the .tar from a browser download");
    await extraction;
    await checkAgainstManifest(folder, files!);
    const manifest = manifestSchema.parse(JSON.parse(await readFile(join(folder, MANIFEST_FILE), "utf8")));
    return { folder, manifest, fields };
  } catch (error) {
    await rm(folder, { recursive: true, force: true });
    throw error;
  }
}

/** Every manifest file present with its size and checksum; nothing else but manifest.json. */
async function checkAgainstManifest(folder: string, files: Map<string, { size: number; sha256: string }>): Promise<void> {
  if (!files.has(MANIFEST_FILE)) throw bad(`the archive has no ${MANIFEST_FILE}: it is not a complete Stowage backup`);
  let manifest: BackupManifest;
  try {
    manifest = manifestSchema.parse(JSON.parse(await readFile(join(folder, MANIFEST_FILE), "utf8")));
  } catch (error) {
    throw bad(`${MANIFEST_FILE} in the archive is not a valid Stowage manifest: ${(error as Error).message.slice(0, 300)}`);
  }
  for (const file of manifest.files) {
    const got = files.get(file.name);
    if (!got) throw bad(`${file.name} is missing from the archive: the backup is incomplete`);
    if (got.size !== file.size || got.sha256 !== file.sha256) {
      throw bad(
        `${file.name} does not match its checksum in ${MANIFEST_FILE}: the file is damaged or was changed; nothing was restored`,
      );
    }
  }
  const extra = [...files.keys()].filter((n) => n !== MANIFEST_FILE && !manifest.files.some((f) => f.name === n));
  if (extra.length > 0) throw bad(`the archive holds files the manifest does not list (${extra.join(", ")})`);
}

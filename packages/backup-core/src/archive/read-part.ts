/**
 * @module archive/read-part
 * Reads one part of a backup back to plain SQL, streaming:
 *   download → SHA-256 of the stored bytes → age decryption → gunzip / `zstd -dc` → SHA-256 of the plain SQL.
 * The returned stream only ENDS once both checksums matched the manifest; on a mismatch it errors
 * instead, so a consumer that commits on end (restore) never commits damaged data.
 */
import { createHash } from "node:crypto";
import { Duplex, pipeline, Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { StorageError } from "@stowage/storage";
import { Decrypter } from "age-encryption";
import { type BackupLocation, type BackupReader, keyIn } from "../catalog.ts";
import { BackupError } from "../errors.ts";
import type { BackupManifest, ManifestFile } from "../manifest.ts";
import { Hasher } from "./hasher.ts";
import { zstdStage } from "./zstd.ts";

const GUNZIP_CHUNK_BYTES = 256 * 1024;

/** What opens an encrypted backup: a passphrase, or age identities (`AGE-SECRET-KEY-1…`). */
export interface DecryptionKeys {
  readonly passphrase?: string;
  readonly identities?: readonly string[];
}

export interface OpenPartOptions {
  readonly keys?: DecryptionKeys;
  readonly signal?: AbortSignal;
  /** Bytes read from storage so far for this part. */
  readonly onStoredBytes?: (bytes: number) => void;
}

/** `zstd -dc` as a pipeline stage, the same child wrapper the write side compresses with. */
function zstdDecompressor(file: string): Duplex {
  return Duplex.from(
    zstdStage({
      args: ["-d", "-c", "-q"],
      failed: (code, stderr) =>
        new BackupError("DECOMPRESSION_FAILED", `${file}: zstd could not decompress it (${stderr || `exit ${code}`})`, { file }),
      notStarted: (error) =>
        new BackupError("TOOL_MISSING", "zstd is not installed; install it (Debian: apt-get install zstd)", { cause: error }),
    }),
  );
}

/**
 * Reads a stored file again and returns a CHECKSUM_MISMATCH error when its bytes differ from the
 * manifest, else `undefined`. Used on error paths: damaged bytes can decompress into garbage SQL
 * that psql rejects before the end-of-file checksum is reached, and the damage is the real cause.
 */
export async function storedDamage(location: BackupLocation<BackupReader>, file: ManifestFile): Promise<BackupError | undefined> {
  const digest = await storedDigest(location, file);
  return digest !== undefined && digest !== file.sha256 ? mismatch(file, "stored SHA-256") : undefined;
}

/** SHA-256 of a stored object, read again on the error path to tell damage from a wrong key. */
async function storedDigest(location: BackupLocation<BackupReader>, file: ManifestFile): Promise<string | undefined> {
  try {
    const hash = createHash("sha256");
    for await (const chunk of await location.destination.download(keyIn(location, file.name))) hash.update(chunk as Buffer);
    return hash.digest("hex");
  } catch {
    return undefined;
  }
}

function mismatch(file: ManifestFile, what: string): BackupError {
  return new BackupError(
    "CHECKSUM_MISMATCH",
    `${file.name} is corrupted: its ${what} does not match the manifest; restore from another backup or copy of this one`,
    { file: file.name },
  );
}

/**
 * Opens a part for reading as plain SQL. Rejects at once when the file is missing or the key does
 * not open it; the stream errors with a `BackupError` naming the file on any later damage.
 */
export async function openPart(
  location: BackupLocation<BackupReader>,
  manifest: BackupManifest,
  file: ManifestFile,
  options: OpenPartOptions = {},
): Promise<Readable> {
  const keys = options.keys ?? {};
  if (manifest.encryption && !keys.passphrase && !keys.identities?.length) {
    throw new BackupError(
      "KEY_REQUIRED",
      manifest.encryption.passphrase
        ? "this backup is encrypted with a passphrase: give --decrypt-passphrase-file FILE or set STOWAGE_PASSPHRASE"
        : "this backup is encrypted to age recipients: give --identity FILE (an age identity file, AGE-SECRET-KEY-1…)",
    );
  }
  let download: Readable;
  try {
    download = await location.destination.download(keyIn(location, file.name), { signal: options.signal });
  } catch (error) {
    if (StorageError.is(error, "NOT_FOUND")) {
      throw new BackupError("FILE_MISSING", `${file.name} is missing from the backup folder; this backup cannot be restored`, {
        cause: error,
        file: file.name,
      });
    }
    throw error;
  }

  const stored = new Hasher(options.onStoredBytes);
  let stream: Readable = pipeline(download, stored, () => {});
  let stage = "read";

  if (manifest.encryption) {
    const decrypter = new Decrypter();
    if (keys.passphrase) decrypter.addPassphrase(keys.passphrase);
    for (const identity of keys.identities ?? []) decrypter.addIdentity(identity);
    try {
      const web = await decrypter.decrypt(Readable.toWeb(stream) as ReadableStream<Uint8Array>);
      stream = Readable.fromWeb(web as import("node:stream/web").ReadableStream<Uint8Array>);
    } catch (error) {
      stream.destroy();
      // A header that does not open is a wrong key, unless the stored bytes are damaged.
      const digest = await storedDigest(location, file);
      if (digest !== undefined && digest !== file.sha256) throw mismatch(file, "stored SHA-256");
      throw new BackupError(
        "DECRYPTION_FAILED",
        `${file.name}: the ${manifest.encryption.passphrase ? "passphrase" : "identity"} does not decrypt this backup (${(error as Error).message}); check it and try again`,
        { cause: error, file: file.name },
      );
    }
    stage = "decrypt";
  }

  if (manifest.compression === "gzip") {
    // 128 KiB output chunks instead of zlib's 16 KiB: each chunk costs a thread-pool job, a hash
    // update and a write to psql, and with 16 KiB those per-chunk costs (not the bytes) dominated.
    stream = pipeline(stream, createGunzip({ chunkSize: GUNZIP_CHUNK_BYTES }), () => {});
  } else if (manifest.compression === "zstd") {
    stream = pipeline(stream, zstdDecompressor(file.name), () => {});
  }
  const plain = new Hasher();
  stream = pipeline(stream, plain, () => {});

  async function* verified(): AsyncGenerator<Buffer> {
    try {
      for await (const chunk of stream) yield chunk as Buffer;
    } catch (error) {
      if (BackupError.is(error) && error.code !== "DECOMPRESSION_FAILED") throw error;
      if (StorageError.is(error)) throw error;
      // Damage shows up as an age MAC failure or a zlib error: name the file, and say which check failed.
      const digest = stored.digest ?? (await storedDigest(location, file));
      if (digest !== undefined && digest !== file.sha256) throw mismatch(file, "stored SHA-256");
      throw new BackupError(
        "DECOMPRESSION_FAILED",
        `${file.name} cannot be ${stage === "decrypt" && !(error instanceof Error && /zlib|zstd|header check|unexpected end/i.test(error.message)) ? "decrypted" : "decompressed"}: ${(error as Error).message}; the file is damaged`,
        { cause: error, file: file.name },
      );
    }
    if (stored.bytes !== file.size || stored.digest !== file.sha256) throw mismatch(file, "stored SHA-256");
    if (plain.bytes !== file.plainSize || plain.digest !== file.plainSha256)
      throw mismatch(file, "SHA-256 after decryption and decompression");
  }

  const out = Readable.from(verified(), { objectMode: false });
  out.on("close", () => stream.destroy());
  return out;
}

/** Reads a part to the end, verifying it, and discards the SQL. Returns the plain byte count. */
export async function drainPart(
  location: BackupLocation<BackupReader>,
  manifest: BackupManifest,
  file: ManifestFile,
  options: OpenPartOptions = {},
) {
  let bytes = 0;
  for await (const chunk of await openPart(location, manifest, file, options)) bytes += (chunk as Buffer).length;
  return bytes;
}

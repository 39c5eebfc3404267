/**
 * @module errors
 * The one error type the backup engine throws, on the write side (backup) and the read side
 * (catalog, restore, verify, prune) alike. Callers (the CLI, the server) branch on `code`; every
 * `message` says what went wrong and what to do, and has been passed through `redact` so it never
 * carries a password, even when it quotes pg_dump's or psql's stderr or a server answer.
 */
import { redact, StorageError } from "@stowage/storage";

export const BACKUP_ERROR_CODES = [
  /** No pg_dump/pg_dumpall/psql found at all. */
  "PG_TOOLS_MISSING",
  /** Client tools found, but all older than the server's major version. */
  "PG_VERSION_MISMATCH",
  /** A compressor binary (zstd) is not installed. */
  "COMPRESSOR_MISSING",
  /** The server rejected the credentials. */
  "AUTH_FAILED",
  /** The server could not be reached (refused, DNS, timeout). */
  "UNREACHABLE",
  /** The database named in the URL does not exist. */
  "DATABASE_NOT_FOUND",
  /** The database URL or an option is malformed. */
  "INVALID_OPTIONS",
  /** pg_dump/pg_dumpall exited with an error, or the snapshot could not be held. */
  "DUMP_FAILED",
  /** The compressor failed: a gzip worker thread died or threw, or zstd exited with an error. */
  "COMPRESSION_FAILED",
  /** Encryption could not be set up (bad recipient) or failed. */
  "ENCRYPTION_FAILED",
  /** A storage destination failed (wraps a StorageError in `cause`). */
  "STORAGE",
  /** The caller's AbortSignal fired. */
  "ABORTED",
  // Read side: catalog, restore, verify, prune.
  /** The folder has no manifest.json: an incomplete backup, or not a backup at all. */
  "MANIFEST_NOT_FOUND",
  /** manifest.json exists but is not a valid Stowage manifest. */
  "MANIFEST_INVALID",
  /** The manifest cannot be trusted: MAC missing or wrong, or a plain backup where a key was given. */
  "MANIFEST_UNTRUSTED",
  /** A stored file does not match the SHA-256 (stored or plain) the manifest records. */
  "CHECKSUM_MISMATCH",
  /** A file named in the manifest is missing from the destination (or the tar). */
  "FILE_MISSING",
  /** A file could not be read for another reason (storage error while verifying). */
  "READ_FAILED",
  /** The backup is encrypted and no passphrase or identity was given. */
  "KEY_REQUIRED",
  /** The passphrase or identity does not open the backup. */
  "DECRYPTION_FAILED",
  /** The bytes decrypt but do not decompress: the file is damaged. */
  "DECOMPRESSION_FAILED",
  /** The target database already holds user objects and `--clean` was not given. */
  "TARGET_NOT_EMPTY",
  /** The backup's SQL ended the restore's transaction: part of it may have been committed. */
  "RESTORE_NOT_ATOMIC",
  /** psql reported an SQL error; the transaction was rolled back. */
  "RESTORE_FAILED",
  /** A required program (psql, zstd) is missing or too old. */
  "TOOL_MISSING",
  /** The target database cannot be reached or refused the login. */
  "CONNECTION_FAILED",
  /** The restore test found row counts that differ from the manifest. */
  "ROW_COUNT_MISMATCH",
  /** A retention policy that keeps nothing was given. */
  "INVALID_POLICY",
] as const;
export type BackupErrorCode = (typeof BACKUP_ERROR_CODES)[number];

export class BackupError extends Error {
  override readonly name = "BackupError";
  readonly code: BackupErrorCode;
  /** The file of the backup the error is about (`data.sql.gz`), when there is one. */
  readonly file: string | undefined;

  constructor(
    code: BackupErrorCode,
    message: string,
    options?: { cause?: unknown; secrets?: ReadonlyArray<string | undefined>; file?: string },
  ) {
    super(redact(message, options?.secrets ?? []), options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.file = options?.file;
  }

  static is(error: unknown, code?: BackupErrorCode): error is BackupError {
    return error instanceof BackupError && (code === undefined || error.code === code);
  }
}

/** Wraps anything a destination threw into a `BackupError("STORAGE")` that keeps the StorageError as cause. */
export function storageFailure(error: unknown, what: string, secrets: ReadonlyArray<string | undefined> = []): BackupError {
  if (error instanceof BackupError) return error;
  const detail =
    error instanceof StorageError ? `${error.code}: ${error.message}` : error instanceof Error ? error.message : String(error);
  return new BackupError("STORAGE", `${what}: ${detail}`, { cause: error, secrets });
}

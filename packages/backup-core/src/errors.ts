/**
 * @module errors
 * The one error type the backup engine throws. Callers (the CLI, later the server) branch on `code`;
 * every `message` says what went wrong and what to do, and has been passed through `redact` so it
 * never carries a password, even when it quotes pg_dump's stderr or a server answer.
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
  /** Encryption could not be set up (bad recipient) or failed. */
  "ENCRYPTION_FAILED",
  /** A storage destination failed (wraps a StorageError in `cause`). */
  "STORAGE",
  /** The caller's AbortSignal fired. */
  "ABORTED",
] as const;
export type BackupErrorCode = (typeof BACKUP_ERROR_CODES)[number];

export class BackupError extends Error {
  override readonly name = "BackupError";
  readonly code: BackupErrorCode;

  constructor(
    code: BackupErrorCode,
    message: string,
    options?: { cause?: unknown; secrets?: ReadonlyArray<string | undefined> },
  ) {
    super(redact(message, options?.secrets ?? []), options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
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

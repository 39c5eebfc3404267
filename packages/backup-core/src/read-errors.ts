/**
 * @module read-errors
 * The one error type of the read side (catalog, restore, verify, prune). Callers (the CLI, later the
 * server) branch on `code`; `message` says what is wrong and what to do, and never holds a secret.
 */

export const BACKUP_READ_ERROR_CODES = [
  /** The folder has no manifest.json: an incomplete backup, or not a backup at all. */
  "MANIFEST_NOT_FOUND",
  /** manifest.json exists but is not a valid Stowage manifest. */
  "MANIFEST_INVALID",
  /** A stored file does not match the SHA-256 (stored or plain) the manifest records. */
  "CHECKSUM_MISMATCH",
  /** A file named in the manifest is missing from the destination. */
  "FILE_MISSING",
  /** The backup is encrypted and no passphrase or identity was given. */
  "KEY_REQUIRED",
  /** The manifest cannot be trusted: MAC missing or wrong, or a plain backup where a key was given. */
  "MANIFEST_UNTRUSTED",
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

export type BackupReadErrorCode = (typeof BACKUP_READ_ERROR_CODES)[number];

export class BackupReadError extends Error {
  override readonly name = "BackupReadError";
  readonly code: BackupReadErrorCode;
  /** The file of the backup the error is about (`data.sql.gz`), when there is one. */
  readonly file: string | undefined;

  constructor(code: BackupReadErrorCode, message: string, options?: { cause?: unknown; file?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.file = options?.file;
  }

  static is(error: unknown, code?: BackupReadErrorCode): error is BackupReadError {
    return error instanceof BackupReadError && (code === undefined || error.code === code);
  }
}

/**
 * @module cli/exit-codes
 * The exit codes of `stowage`, listed in `--help`, and the one mapping from an error to a code.
 */
import { BackupError, type VerifyVerdict } from "@stowage/backup-core";
import { StorageError } from "@stowage/storage";
import { CommanderError } from "commander";

export const EXIT = {
  OK: 0,
  FAILURE: 1,
  USAGE: 2,
  PARTIAL: 3,
  VERIFY_FAILED: 4,
  TARGET_NOT_EMPTY: 5,
  KEY: 6,
} as const;

export const EXIT_CODES_HELP = `
Exit codes:
  0  success
  1  failure (database, storage or tool error; the message says which)
  2  usage error (bad option, bad URL, no retention rule)
  3  backup: some destinations failed, others succeeded (see the per-destination result)
  4  the backup is damaged, untrusted or failed verification (checksum mismatch, missing file, manifest
     MAC missing or wrong, a plain backup where a key was given, row counts differ)
  5  restore: the target database is not empty (use --clean)
  6  the backup is encrypted and no key was given, or the passphrase/identity does not open it

Environment:
  DATABASE_URL          default for backup --db
  PGPASSWORD            database password when the URL has none
  STOWAGE_PASSPHRASE    passphrase for encrypting (backup --encrypt) and decrypting
  STOWAGE_PG_BIN        folder holding pg_dump/pg_dumpall/psql of the right major version
  STOWAGE_COMPRESS_THREADS  gzip worker threads for backups (default: one per core, at most 3)
  STOWAGE_DEBUG=1       print stack traces on errors
  S3_*, WEBDAV_*, NEXTCLOUD_*, GOOGLE_DRIVE_*, DEFAULT_STORAGE_TYPE, LOCAL_STORAGE_PATH: destination credentials
`;

/** The exit code for an error thrown by a command. */
export function exitCodeOf(error: unknown): number {
  if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
  if (error instanceof UsageError) return EXIT.USAGE;
  if (BackupError.is(error)) {
    switch (error.code) {
      case "CHECKSUM_MISMATCH":
      case "FILE_MISSING":
      case "DECOMPRESSION_FAILED":
      case "MANIFEST_INVALID":
      case "MANIFEST_UNTRUSTED":
      case "ROW_COUNT_MISMATCH":
        return EXIT.VERIFY_FAILED;
      case "TARGET_NOT_EMPTY":
        return EXIT.TARGET_NOT_EMPTY;
      case "KEY_REQUIRED":
      case "DECRYPTION_FAILED":
        return EXIT.KEY;
      case "INVALID_POLICY":
      case "INVALID_OPTIONS":
        return EXIT.USAGE;
      default:
        return EXIT.FAILURE;
    }
  }
  if (StorageError.is(error, "INVALID_CONFIG")) return EXIT.USAGE;
  return EXIT.FAILURE;
}

/** The exit code for the engine's verify verdict (verify does not throw for a damaged backup: it reports it). */
export function exitCodeOfVerdict(verdict: VerifyVerdict): number {
  return verdict === "ok" ? EXIT.OK : EXIT.VERIFY_FAILED;
}

/** A mistake in how the command was called: exit code 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

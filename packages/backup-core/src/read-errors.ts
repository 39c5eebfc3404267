/**
 * @module read-errors
 * @deprecated The read side throws the engine's one error class, `BackupError` (errors.ts), with one
 * code list. These names stay so existing callers keep compiling; new code uses `BackupError`.
 */
export {
  BACKUP_ERROR_CODES as BACKUP_READ_ERROR_CODES,
  BackupError as BackupReadError,
  type BackupErrorCode as BackupReadErrorCode,
} from "./errors.ts";

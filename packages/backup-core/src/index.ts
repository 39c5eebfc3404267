/**
 * @module @stowage/backup-core
 * The backup engine: Supabase-aware dumps of one consistent snapshot, compressed, optionally
 * age-encrypted, fanned out to storage destinations, described by a manifest written last.
 */

export type { EncryptionOptions } from "./archive/encrypt.ts";
export * from "./archive/read-part.ts";
export { isTarPath, TarBackupReader, tarFileBackup, tarStreamBackup } from "./archive/tar-source.ts";
export {
  type BackupOptions,
  type BackupProgress,
  type BackupResult,
  type DestinationResult,
  runBackup,
  TOOL_VERSION,
} from "./backup.ts";
// Read side: catalog, restore, verify, retention, prune
export * from "./catalog.ts";
export { DATA_PREFIX, RESET_SUFFIX } from "./dump/plan.ts";
export { classifyToolFailure } from "./dump/run-tool.ts";
export * from "./errors.ts";
export * from "./manifest.ts";
export { canonicalJson, checkManifestTrust, type SuppliedKeys, sealManifest } from "./manifest-mac.ts";
export { childEnv, type DatabaseTarget, parseDatabaseUrl, secretsOf } from "./pg/connection.ts";
export { classifyConnectionError } from "./pg/snapshot.ts";
export {
  type FindPgToolsOptions,
  findPgTools,
  installHint,
  majorOf,
  type PgToolName,
  type PgTools,
  supportsRestrict,
} from "./pg/tools.ts";
export * from "./pitr/index.ts";
export * from "./prune.ts";
export * from "./read-errors.ts";
export * from "./restore.ts";
export * from "./retention.ts";
export * from "./verify.ts";

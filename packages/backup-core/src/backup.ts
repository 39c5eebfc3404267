/**
 * @module backup
 * `runBackup()`: one consistent snapshot of a database, dumped once, streamed through compression
 * and optional age encryption, and uploaded to every destination at the same time. Each destination
 * gets `<name>/<timestamp>-<id>/` with one file per part and, LAST, `manifest.json`: a destination
 * that failed keeps no manifest (and its uploaded parts are deleted, best effort), so nothing there
 * looks complete.
 *
 * This file only orders the steps; each lives in backup/: preflight (options, tools, connection,
 * versions, snapshot), dump-part (one part from pg_dump to every destination), destinations
 * (per-destination results and cleanup), manifest-writer (the commit marker), progress.
 *
 * Source-side failures (bad URL, login, tools, pg_dump) throw a `BackupError` after cleaning up;
 * destination-side failures are reported per destination in the result and never fail the others.
 */
import { randomInt } from "node:crypto";
import type { StorageDestination } from "@stowage/storage";
import type { EncryptionOptions } from "./archive/encrypt.ts";
import { BackupDestinations } from "./backup/destinations.ts";
import { dumpPart } from "./backup/dump-part.ts";
import { composeManifest, writeManifest } from "./backup/manifest-writer.ts";
import { type BackupSettings, type BackupSource, openSource, settleOptions } from "./backup/preflight.ts";
import { BackupMeter } from "./backup/progress.ts";
import { BackupError } from "./errors.ts";
import {
  type BackupManifest,
  type BackupType,
  backupTimestamp,
  type Compression,
  type ManifestFile,
  type PartRole,
  partFileName,
} from "./manifest.ts";

export { TOOL_VERSION } from "./backup/manifest-writer.ts";

export interface BackupProgress {
  /** The part being dumped now. */
  readonly part: PartRole;
  /** Plain SQL bytes produced so far (all parts). */
  readonly bytesDumped: number;
  /** Bytes after compression and encryption, i.e. what is stored (all parts). */
  readonly bytesStored: number;
  /** Bytes each destination has read so far, in the order of `destinations`. */
  readonly uploaded: ReadonlyArray<{ readonly destination: string; readonly bytes: number; readonly failed: boolean }>;
  readonly elapsedMs: number;
  /** Plain bytes per second since the start. */
  readonly bytesPerSecond: number;
}

export interface BackupOptions {
  /** postgresql://user[:password]@host[:port]/db[?…]; without a password, PGPASSWORD/.pgpass apply. */
  readonly databaseUrl: string;
  readonly destinations: readonly StorageDestination[];
  /** full (roles + schema + data, default), schema, or data. */
  readonly type?: BackupType;
  /** First path segment of the backup id; default: the database name. */
  readonly name?: string;
  /** Also dump the `supabase_migrations` schema/data as history_schema / history_data. */
  readonly migrationHistory?: boolean;
  readonly compression?: Compression;
  /** gzip 1–9 (default 6), zstd 1–19 (default 3). */
  readonly compressionLevel?: number;
  readonly encryption?: EncryptionOptions;
  /** Include role password hashes in roles.sql (needs a superuser). Default false, as the Supabase CLI. */
  readonly rolePasswords?: boolean;
  /** Called at most every `progressIntervalMs` (default 250) and once at the end of each part. */
  readonly onProgress?: (progress: BackupProgress) => void;
  readonly progressIntervalMs?: number;
  readonly signal?: AbortSignal;
  /** Environment for tool discovery and children (STOWAGE_PG_BIN, PATH, PGPASSWORD). Default process.env. */
  readonly env?: NodeJS.ProcessEnv;
  /**
   * Dump in this exported snapshot (a logical replication slot's, see pitr/) instead of a new one.
   * Whoever exported it keeps it alive until runBackup returns.
   */
  readonly snapshot?: string;
}

export type DestinationResult =
  | { readonly destination: string; readonly ok: true; readonly backupId: string; readonly manifest: BackupManifest }
  | { readonly destination: string; readonly ok: false; readonly backupId: string; readonly error: BackupError };

export interface BackupResult {
  readonly backupId: string;
  /** One entry per destination, in the order given. */
  readonly destinations: readonly DestinationResult[];
  /** True when every destination succeeded. */
  readonly ok: boolean;
}

const ID_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz";

/** 6 random base-36 characters: unique enough within one second of one database. */
export function shortId(): string {
  let out = "";
  for (let i = 0; i < 6; i++) out += ID_ALPHABET[randomInt(ID_ALPHABET.length)];
  return out;
}

/** Folder-safe name from a database name (`my db` → `my_db`). */
function safeName(database: string): string {
  return database.replace(/[^A-Za-z0-9._-]/g, "_").replace(/^[._-]+/, "") || "db";
}

const CONTENT_TYPES: Record<Compression, string> = {
  gzip: "application/gzip",
  zstd: "application/zstd",
  none: "application/sql",
};

export async function runBackup(options: BackupOptions): Promise<BackupResult> {
  const settings = await settleOptions(options);
  const { signal } = options;
  const startedAt = new Date();
  const name = settings.name ?? safeName(settings.target.database);
  const backupId = `${name}/${backupTimestamp(startedAt)}-${shortId()}`;
  const destinations = new BackupDestinations(options.destinations, backupId, settings.secrets);
  await destinations.checkConnections();
  if (!destinations.anyLive) return destinations.results(undefined);
  const meter = new BackupMeter(options.onProgress, settings.progressIntervalMs, startedAt, () => destinations.uploaded());

  let source: BackupSource | undefined;
  try {
    source = await openSource(settings, signal, options.snapshot);
    const files = await storeParts(settings, source, destinations, meter, backupId, signal);
    if (!files) {
      await source.snapshot.release();
      await destinations.cleanup();
      return destinations.results(undefined);
    }
    const tables = await source.counting;
    await source.snapshot.release();
    const manifest = await composeManifest({
      id: backupId,
      name,
      facts: source.facts,
      target: settings.target,
      pgDumpVersion: source.tools.version,
      type: settings.type,
      compression: settings.compression,
      encryption: settings.encryption?.manifest,
      passphrase: options.encryption && "passphrase" in options.encryption ? options.encryption : undefined,
      migrationHistory: settings.migrationHistory,
      files,
      tables,
      startedAt,
    });
    await writeManifest(destinations, manifest, signal);
    await destinations.cleanup();
    return destinations.results(manifest);
  } catch (error) {
    await source?.snapshot.release();
    destinations.failAll(toBackupError(error, settings.secrets, signal));
    await destinations.cleanup();
    throw toBackupError(error, settings.secrets, signal);
  }
}

/**
 * Dumps the parts one after the other to every live destination. Returns the manifest's file
 * entries, or undefined when no destination is left (the rest of the dump is skipped).
 */
async function storeParts(
  settings: BackupSettings,
  source: BackupSource,
  destinations: BackupDestinations,
  meter: BackupMeter,
  backupId: string,
  signal: AbortSignal | undefined,
): Promise<ManifestFile[] | undefined> {
  const files: ManifestFile[] = [];
  for (const part of source.parts) {
    const fileName = partFileName(part.role, settings.compression, !!settings.encryption);
    const uploads = destinations.partUploads(`${backupId}/${fileName}`, CONTENT_TYPES[settings.compression], signal);
    const counters = meter.startPart(part.role);
    const dumped = await dumpPart({
      part,
      command: source.tools.paths[part.tool],
      env: settings.toolEnv,
      secrets: settings.secrets,
      compress: settings.compress,
      encrypt: settings.encryption?.stage,
      targets: uploads.targets,
      onPlainBytes: counters.plain,
      onStoredBytes: counters.stored,
      signal,
    });
    uploads.settle(dumped.outcomes, dumped.stored);
    if (!destinations.anyLive) return undefined;
    // A live destination stored exactly these bytes, so both streams ended and both digests exist.
    files.push({
      name: fileName,
      role: part.role,
      size: dumped.stored.bytes,
      sha256: dumped.stored.sha256!,
      plainSize: dumped.plain.bytes,
      plainSha256: dumped.plain.sha256!,
    });
    meter.report(true);
  }
  return files;
}

function toBackupError(error: unknown, secrets: readonly string[], signal?: AbortSignal): BackupError {
  if (error instanceof BackupError) return error;
  if (signal?.aborted || (error as { name?: string })?.name === "AbortError")
    return new BackupError("ABORTED", "the backup was aborted", { cause: error });
  return new BackupError("DUMP_FAILED", `the backup failed: ${(error as Error)?.message ?? String(error)}`, {
    cause: error,
    secrets: [...secrets],
  });
}

/**
 * @module backup
 * `runBackup()`: one consistent snapshot of a database, dumped once, streamed through compression
 * and optional age encryption, and uploaded to every destination at the same time. Each destination
 * gets `<name>/<timestamp>-<id>/` with one file per part and, LAST, `manifest.json`: a destination
 * that failed keeps no manifest (and its uploaded parts are deleted, best effort), so nothing there
 * looks complete.
 *
 * Source-side failures (bad URL, login, tools, pg_dump) throw a `BackupError` after cleaning up;
 * destination-side failures are reported per destination in the result and never fail the others.
 */
import { randomInt } from "node:crypto";
import { createRequire } from "node:module";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { StorageDestination } from "@stowage/storage";
import { z } from "zod";
import { coalesce } from "./archive/coalesce.ts";
import { checkCompressor, compressionStage, DEFAULT_LEVELS, type Stage } from "./archive/compress.ts";
import { createEncryption, type EncryptionOptions } from "./archive/encrypt.ts";
import { AllDestinationsFailedError, FanOut } from "./archive/fan-out.ts";
import { Hasher } from "./archive/hasher.ts";
import { readManagedTableObjects } from "./dump/managed-objects.ts";
import { planDump } from "./dump/plan.ts";
import { runTool } from "./dump/run-tool.ts";
import { BackupError, storageFailure } from "./errors.ts";
import {
  BACKUP_TYPES,
  type BackupManifest,
  type BackupType,
  backupTimestamp,
  COMPRESSIONS,
  type Compression,
  FORMAT_VERSION,
  MANIFEST_FILE,
  type ManifestFile,
  manifestSchema,
  type PartRole,
  partFileName,
} from "./manifest.ts";
import { sealManifest } from "./manifest-mac.ts";
import { childEnv, parseDatabaseUrl, secretsOf } from "./pg/connection.ts";
import { type HeldSnapshot, holdSnapshot } from "./pg/snapshot.ts";
import { findPgTools } from "./pg/tools.ts";

export const TOOL_VERSION: string = (createRequire(import.meta.url)("../package.json") as { version: string }).version;

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

const optionsSchema = z.object({
  databaseUrl: z.string().min(1),
  type: z.enum(BACKUP_TYPES).default("full"),
  name: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "use letters, digits, '.', '_' and '-' only")
    .max(100)
    .optional(),
  migrationHistory: z.boolean().default(false),
  compression: z.enum(COMPRESSIONS).default("gzip"),
  compressionLevel: z.number().int().min(1).max(19).optional(),
  rolePasswords: z.boolean().default(false),
  progressIntervalMs: z.number().int().nonnegative().default(250),
});

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

interface DestinationState {
  readonly dest: StorageDestination;
  readonly keys: string[];
  error?: BackupError;
  uploadedDone: number;
  uploadedCurrent: number;
}

const CONTENT_TYPES: Record<Compression, string> = {
  gzip: "application/gzip",
  zstd: "application/zstd",
  none: "application/sql",
};

export async function runBackup(options: BackupOptions): Promise<BackupResult> {
  const parsed = optionsSchema.safeParse(options);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new BackupError("INVALID_OPTIONS", `invalid backup option ${issue.path.join(".")}: ${issue.message}`);
  }
  const opts = parsed.data;
  if (options.destinations.length === 0) throw new BackupError("INVALID_OPTIONS", "no destination given: pass at least one");
  const env = options.env ?? process.env;
  const signal = options.signal;
  const target = parseDatabaseUrl(opts.databaseUrl, env);
  const secrets = secretsOf(target);
  const encryption = options.encryption ? createEncryption(options.encryption) : undefined;
  const compress = compressionStage(opts.compression, opts.compressionLevel ?? DEFAULT_LEVELS[opts.compression]);
  await checkCompressor(opts.compression);

  const startedAt = new Date();
  const name = opts.name ?? safeName(target.database);
  const backupId = `${name}/${backupTimestamp(startedAt)}-${shortId()}`;
  const states: DestinationState[] = options.destinations.map((dest) => ({
    dest,
    keys: [],
    uploadedDone: 0,
    uploadedCurrent: 0,
  }));

  // Preflight: a destination that cannot be written is reported now and never slows the dump.
  await Promise.all(
    states.map(async (s) => {
      const check = await s.dest.validateConnection();
      if (!check.ok) s.error = new BackupError("STORAGE", withName(s.dest.name, check.error ?? "not reachable"), { secrets });
    }),
  );
  let manifest: BackupManifest | undefined;
  const results = (): BackupResult => {
    const destinations = states.map(
      (s): DestinationResult =>
        s.error
          ? { destination: s.dest.name, ok: false, backupId, error: s.error }
          : { destination: s.dest.name, ok: true, backupId, manifest: manifest! },
    );
    return { backupId, destinations, ok: destinations.every((d) => d.ok) };
  };
  const live = () => states.filter((s) => !s.error);
  if (live().length === 0) return results();

  let snapshot: HeldSnapshot | undefined;
  let progressTimer = 0;
  let bytesDumped = 0;
  let bytesStored = 0;
  let currentPart: PartRole = "roles";
  const report = (force: boolean) => {
    if (!options.onProgress) return;
    const now = performance.now();
    if (!force && now - progressTimer < opts.progressIntervalMs) return;
    progressTimer = now;
    const elapsedMs = Date.now() - startedAt.getTime();
    options.onProgress({
      part: currentPart,
      bytesDumped,
      bytesStored,
      uploaded: states.map((s) => ({ destination: s.dest.name, bytes: s.uploadedDone + s.uploadedCurrent, failed: !!s.error })),
      elapsedMs,
      bytesPerSecond: elapsedMs > 0 ? Math.round((bytesDumped / elapsedMs) * 1000) : 0,
    });
  };

  try {
    snapshot = await holdSnapshot(target, signal, options.snapshot);
    const facts = snapshot.facts;
    if (opts.migrationHistory && !facts.hasMigrationHistory) {
      throw new BackupError("INVALID_OPTIONS", "migration history requested, but the database has no supabase_migrations schema");
    }
    // Supabase: the user's triggers/policies on auth, storage, … tables, read in the dump's snapshot
    // before anything else uses its connection. Data-only backups have no schema.sql to carry them.
    const managedObjectsSql =
      facts.supabase && opts.type !== "data" ? await readManagedTableObjects(snapshot, facts.versionNum) : "";
    const parts = planDump({
      type: opts.type,
      managedObjectsSql,
      migrationHistory: opts.migrationHistory,
      facts,
      snapshotId: snapshot.id,
      dbname: target.urlWithoutPassword,
      rolePasswords: opts.rolePasswords,
    });
    const tools = await findPgTools({
      serverVersionNum: facts.versionNum,
      tools: parts.some((p) => p.tool === "pg_dumpall") ? ["pg_dump", "pg_dumpall"] : ["pg_dump"],
      env,
    });
    // Counted on the snapshot's own connection while pg_dump works: same moment, no extra wait.
    const counting = snapshot.countRows(parts.flatMap((p) => p.tables));
    counting.catch(() => {});

    const files: ManifestFile[] = [];
    const toolEnv = childEnv(target, env);
    for (const part of parts) {
      currentPart = part.role;
      const fileName = partFileName(part.role, opts.compression, !!encryption);
      const key = `${backupId}/${fileName}`;
      const active = live();
      if (active.length === 0) break;
      const base = bytesDumped;
      const baseStored = bytesStored;
      const plain = new Hasher((n) => {
        bytesDumped = base + n;
        report(false);
      });
      const stored = new Hasher((n) => {
        bytesStored = baseStored + n;
      });
      const fan = new FanOut(
        active.map((s) => ({
          name: s.dest.name,
          start: (stream) => {
            s.uploadedCurrent = 0;
            return s.dest.upload(stream, key, {
              signal,
              contentType: CONTENT_TYPES[opts.compression],
              onProgress: (n) => {
                s.uploadedCurrent = n;
              },
            });
          },
        })),
      );
      const stages: Stage[] = [];
      const compressor = compress?.();
      if (compressor) stages.push(compressor);
      if (encryption) stages.push(encryption.stage);
      try {
        await pipeline(
          runTool({ command: tools.paths[part.tool], args: part.args, env: toolEnv, secrets, signal }),
          coalesce(),
          part.transform(),
          plain,
          ...(stages as []),
          stored,
          fan,
          { signal },
        );
      } catch (error) {
        if (!(error instanceof AllDestinationsFailedError)) throw error;
      }
      const outcomes = await fan.outcomes();
      active.forEach((s, i) => {
        const outcome = outcomes[i]!;
        s.uploadedDone += s.uploadedCurrent;
        s.uploadedCurrent = 0;
        if (!outcome.ok) {
          s.error = storageFailure(outcome.error, `upload of ${key} to ${s.dest.name}`, secrets);
        } else if (outcome.result.sha256 !== stored.sha256 || outcome.result.size !== stored.bytes) {
          s.error = new BackupError(
            "STORAGE",
            `${s.dest.name}: ${key} was stored with a different size or checksum than was sent`,
          );
          s.keys.push(key);
        } else {
          s.keys.push(key);
        }
      });
      if (live().length === 0) break;
      files.push({
        name: fileName,
        role: part.role,
        size: stored.bytes,
        sha256: stored.sha256,
        plainSize: plain.bytes,
        plainSha256: plain.sha256,
      });
      report(true);
    }
    if (live().length === 0) {
      await snapshot.release();
      await cleanup(states);
      return results();
    }
    const tables = await counting;
    await snapshot.release();
    const finishedAt = new Date();
    manifest = manifestSchema.parse({
      format: "stowage-backup",
      formatVersion: FORMAT_VERSION,
      id: backupId,
      name,
      tool: { name: "stowage", version: TOOL_VERSION },
      server: {
        version: facts.version,
        versionNum: facts.versionNum,
        supabase: facts.supabase,
        host: target.host,
        database: target.database,
      },
      pgDump: { version: tools.version },
      type: opts.type,
      compression: opts.compression,
      encryption: encryption?.manifest ?? null,
      migrationHistory: opts.migrationHistory,
      files,
      tables,
      startedAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
    } satisfies BackupManifest);
    // A passphrase backup authenticates its manifest (manifest-mac.ts); recipients cannot.
    if (options.encryption && "passphrase" in options.encryption) {
      manifest = await sealManifest(manifest, options.encryption.passphrase, options.encryption.scryptWorkFactor);
    }
    const body = `${JSON.stringify(manifest, null, 2)}\n`;
    await Promise.all(
      live().map(async (s) => {
        try {
          await s.dest.upload(Readable.from([Buffer.from(body)]), `${backupId}/${MANIFEST_FILE}`, {
            signal,
            contentType: "application/json",
            size: Buffer.byteLength(body),
          });
        } catch (error) {
          s.error = storageFailure(error, `upload of ${backupId}/${MANIFEST_FILE} to ${s.dest.name}`, secrets);
        }
      }),
    );
    await cleanup(states);
    return results();
  } catch (error) {
    await snapshot?.release();
    for (const s of states) s.error ??= toBackupError(error, secrets, signal);
    await cleanup(states);
    throw toBackupError(error, secrets, signal);
  }
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

/** Deletes what failed destinations already received, so nothing there looks like a backup. */
async function cleanup(states: readonly DestinationState[]): Promise<void> {
  await Promise.all(
    states
      .filter((s) => s.error && s.keys.length > 0)
      .map(async (s) => {
        for (const key of s.keys.splice(0)) await s.dest.delete(key).catch(() => {});
      }),
  );
}

/** Prefixes a message with the destination's name unless the provider already did. */
function withName(name: string, message: string): string {
  return message.startsWith(`${name}:`) ? message : `${name}: ${message}`;
}

/**
 * @module backup/preflight
 * What `runBackup` checks and holds before the first byte is dumped, so that a backup which cannot
 * succeed fails before it uploads anything:
 * - the options (zod), the source URL, the encryption keys and the compressor (`settleOptions`);
 * - the source (`openSource`): one held snapshot (the connection, the server's version, Supabase or
 *   not), the Supabase user objects read in it, the dump plan, pg_dump/pg_dumpall of a version that
 *   can dump this server, and the row counts, started on the snapshot's own connection.
 * Every failure here is the source's: a `BackupError`, never a destination's.
 */
import { z } from "zod";
import { checkCompressor, compressionStage, DEFAULT_LEVELS, type Stage } from "../archive/compress.ts";
import { createEncryption, type ManifestEncryption } from "../archive/encrypt.ts";
import type { BackupOptions } from "../backup.ts";
import { readManagedTableObjects } from "../dump/managed-objects.ts";
import { type DumpPart, planDump } from "../dump/plan.ts";
import { BackupError } from "../errors.ts";
import { BACKUP_TYPES, type BackupManifest, COMPRESSIONS } from "../manifest.ts";
import { childEnv, type DatabaseTarget, parseDatabaseUrl, secretsOf } from "../pg/connection.ts";
import { type HeldSnapshot, holdSnapshot, type ServerFacts } from "../pg/snapshot.ts";
import { findPgTools, type PgTools } from "../pg/tools.ts";

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

/** The options as validated, with defaults, and what was derived from them. */
export interface BackupSettings extends z.infer<typeof optionsSchema> {
  readonly env: NodeJS.ProcessEnv;
  readonly target: DatabaseTarget;
  /** The dump tools' environment: the password goes in PGPASSWORD, never on a command line. */
  readonly toolEnv: NodeJS.ProcessEnv;
  /** Passwords to scrub from every message. */
  readonly secrets: readonly string[];
  /** age, when asked for: the per-file stage and what the manifest says about it. */
  readonly encryption: { readonly stage: Stage; readonly manifest: ManifestEncryption } | undefined;
  /** A fresh compressor per file, or undefined for `none`. */
  readonly compress: (() => Stage) | undefined;
}

/** Validates the options and checks what needs no connection (keys, compressor). Throws a BackupError. */
export async function settleOptions(options: BackupOptions): Promise<BackupSettings> {
  const parsed = optionsSchema.safeParse(options);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new BackupError("INVALID_OPTIONS", `invalid backup option ${issue.path.join(".")}: ${issue.message}`);
  }
  const opts = parsed.data;
  if (options.destinations.length === 0) throw new BackupError("INVALID_OPTIONS", "no destination given: pass at least one");
  const env = options.env ?? process.env;
  const target = parseDatabaseUrl(opts.databaseUrl, env);
  const encryption = options.encryption ? createEncryption(options.encryption) : undefined;
  // `env` also carries STOWAGE_COMPRESS_THREADS (gzip worker threads), as for the tools.
  const compress = compressionStage(opts.compression, opts.compressionLevel ?? DEFAULT_LEVELS[opts.compression], { env });
  await checkCompressor(opts.compression);
  return { ...opts, env, target, toolEnv: childEnv(target, env), secrets: secretsOf(target), encryption, compress };
}

/** The source, held open: release it once every part is dumped (or on failure). */
export interface BackupSource {
  readonly snapshot: HeldSnapshot;
  readonly facts: ServerFacts;
  readonly parts: readonly DumpPart[];
  readonly tools: PgTools;
  /** Row counts of every table the parts write, counted in the snapshot while pg_dump works. */
  readonly counting: Promise<BackupManifest["tables"]>;
}

/**
 * Holds the snapshot (in `importSnapshot` when given, see pitr/) and prepares the dump. On failure
 * the snapshot is released before the error is thrown.
 */
export async function openSource(settings: BackupSettings, signal?: AbortSignal, importSnapshot?: string): Promise<BackupSource> {
  const snapshot = await holdSnapshot(settings.target, signal, importSnapshot);
  try {
    const facts = snapshot.facts;
    if (settings.migrationHistory && !facts.hasMigrationHistory) {
      throw new BackupError("INVALID_OPTIONS", "migration history requested, but the database has no supabase_migrations schema");
    }
    // Supabase: the user's triggers/policies on auth, storage, … tables, read in the dump's snapshot
    // before anything else uses its connection. Data-only backups have no schema to carry them.
    const managedObjectsSql =
      facts.supabase && settings.type !== "data" ? await readManagedTableObjects(snapshot, facts.versionNum) : "";
    const parts = planDump({
      type: settings.type,
      managedObjectsSql,
      migrationHistory: settings.migrationHistory,
      facts,
      snapshotId: snapshot.id,
      dbname: settings.target.urlWithoutPassword,
      rolePasswords: settings.rolePasswords,
    });
    const tools = await findPgTools({
      serverVersionNum: facts.versionNum,
      tools: parts.some((p) => p.tool === "pg_dumpall") ? ["pg_dump", "pg_dumpall"] : ["pg_dump"],
      env: settings.env,
    });
    // Counted on the snapshot's own connection while pg_dump works: same moment, no extra wait.
    const counting = snapshot.countRows(parts.flatMap((p) => p.tables));
    counting.catch(() => {});
    return { snapshot, facts, parts, tools, counting };
  } catch (error) {
    await snapshot.release();
    throw error;
  }
}

/**
 * @module verify
 * Proves a backup can be restored, without restoring it: every file is downloaded, checked against
 * the manifest's SHA-256 of the stored bytes, decrypted, decompressed and checked against the SHA-256
 * of the plain SQL. With a scratch database, it also restores there and compares each table's row
 * count with the count the manifest recorded at backup time.
 */

import { type DecryptionKeys, drainPart } from "./archive/read-part.ts";
import { type BackupLocation, type BackupReader, readManifest } from "./catalog.ts";
import { BackupError } from "./errors.ts";
import type { BackupManifest } from "./manifest.ts";
import { checkManifestTrust } from "./manifest-mac.ts";
import { parseDatabaseUrl } from "./pg/connection.ts";
import { connect } from "./pg-target.ts";
import { type RestoreProgress, runRestore } from "./restore.ts";

export interface FileCheck {
  readonly name: string;
  readonly ok: boolean;
  readonly plainBytes?: number;
  /** Error code and message when not ok. */
  readonly code?: string;
  readonly error?: string;
}

export interface RowCountMismatch {
  readonly table: string;
  readonly expected: number;
  /** `null` when the table is missing from the restored database. */
  readonly actual: number | null;
}

/**
 * The engine's verdict on a backup: `ok`; `damaged` (a file is missing, changed or unreadable);
 * `restore-test-failed` (the files are fine but the scratch restore failed or counted other rows).
 * Callers map it to their own signal (the CLI to exit code 4, the server to a status).
 */
export type VerifyVerdict = "ok" | "damaged" | "restore-test-failed";

export interface VerifyResult {
  readonly ok: boolean;
  readonly verdict: VerifyVerdict;
  readonly manifest: BackupManifest;
  readonly files: FileCheck[];
  /** Present when a restore test ran. */
  readonly restoreTest?: {
    readonly ok: boolean;
    readonly tables: number;
    readonly mismatches: RowCountMismatch[];
    readonly error?: string;
  };
}

export interface VerifyOptions {
  readonly source: BackupLocation<BackupReader>;
  readonly keys?: DecryptionKeys;
  /** Manifest already read by the caller (saves a download). */
  readonly manifest?: BackupManifest;
  /** Scratch database to restore into and count rows. */
  readonly restoreTestUrl?: string;
  /** Let the restore test drop the scratch database's user schemas first. */
  readonly clean?: boolean;
  readonly onFile?: (check: FileCheck) => void;
  readonly onProgress?: (progress: RestoreProgress) => void;
  readonly env?: NodeJS.ProcessEnv;
}

const qualified = (schema: string, name: string) => `"${schema.replace(/"/g, '""')}"."${name.replace(/"/g, '""')}"`;

/** Row counts of the manifest's tables in `url`, compared with the manifest. */
async function compareRowCounts(url: string, manifest: BackupManifest, env: NodeJS.ProcessEnv): Promise<RowCountMismatch[]> {
  const client = await connect(parseDatabaseUrl(url, env));
  const mismatches: RowCountMismatch[] = [];
  try {
    for (const table of manifest.tables) {
      const exists = await client.query<{ oid: string | null }>("select to_regclass($1) as oid", [
        qualified(table.schema, table.name),
      ]);
      if (!exists.rows[0]?.oid) {
        mismatches.push({ table: `${table.schema}.${table.name}`, expected: table.rows, actual: null });
        continue;
      }
      // ONLY: a partitioned parent's count is recorded per partition, not summed into the parent.
      const result = await client.query<{ n: string }>(`select count(*) as n from only ${qualified(table.schema, table.name)}`);
      const actual = Number(result.rows[0]!.n);
      if (actual !== table.rows) mismatches.push({ table: `${table.schema}.${table.name}`, expected: table.rows, actual });
    }
  } finally {
    await client.end().catch(() => {});
  }
  return mismatches;
}

export async function verifyBackup(options: VerifyOptions): Promise<VerifyResult> {
  const env = options.env ?? process.env;
  const manifest = options.manifest ?? (await readManifest(options.source));
  // A manifest that cannot be trusted is not "a backup with damaged files": refuse it whole.
  await checkManifestTrust(manifest, options.keys);
  const files: FileCheck[] = [];
  for (const file of manifest.files) {
    let check: FileCheck;
    try {
      const plainBytes = await drainPart(options.source, manifest, file, { keys: options.keys });
      check = { name: file.name, ok: true, plainBytes };
    } catch (error) {
      // A missing or wrong key is not a property of the file (damage is reported as CHECKSUM_MISMATCH): say so once.
      if (BackupError.is(error, "KEY_REQUIRED") || BackupError.is(error, "DECRYPTION_FAILED")) throw error;
      const code = BackupError.is(error) ? error.code : "READ_FAILED";
      check = { name: file.name, ok: false, code, error: (error as Error).message };
    }
    files.push(check);
    options.onFile?.(check);
  }
  const filesOk = files.every((f) => f.ok);
  if (!options.restoreTestUrl || !filesOk) return { ok: filesOk, verdict: filesOk ? "ok" : "damaged", manifest, files };

  try {
    await runRestore({
      source: options.source,
      targetUrl: options.restoreTestUrl,
      clean: options.clean,
      keys: options.keys,
      manifest,
      onProgress: options.onProgress,
      env,
    });
  } catch (error) {
    return {
      ok: false,
      verdict: "restore-test-failed",
      manifest,
      files,
      restoreTest: { ok: false, tables: manifest.tables.length, mismatches: [], error: (error as Error).message },
    };
  }
  const mismatches = await compareRowCounts(options.restoreTestUrl, manifest, env);
  return {
    ok: mismatches.length === 0,
    verdict: mismatches.length === 0 ? "ok" : "restore-test-failed",
    manifest,
    files,
    restoreTest: { ok: mismatches.length === 0, tables: manifest.tables.length, mismatches },
  };
}

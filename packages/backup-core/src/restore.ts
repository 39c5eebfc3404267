/**
 * @module restore
 * Restores a backup into a database with ONE psql process and ONE transaction:
 *   BEGIN; [--clean: drop user schemas]; roles; schema; history_schema;
 *   SET session_replication_role = replica; data; history_data; post-data; [replay];
 *   REFRESH MATERIALIZED VIEWs; COMMIT;
 * (Supabase's documented order, https://supabase.com/docs/guides/platform/migrating-within-supabase/backup-restore,
 * with pg_restore's one improvement: indexes, constraints, triggers and policies, the post-data part,
 * come after the data, so COPY fills bare tables and each index is built once. Backups made before
 * that split carry them in schema.sql and restore in Supabase's order. A point-in-time replay runs
 * after post-data: its UPDATEs and DELETEs find their rows through the primary keys.)
 * Every part streams through its checksum checks on the way in. We write BEGIN ourselves instead of
 * `psql --single-transaction`, because psql commits that one at end of input, and end of input also
 * happens when this process dies; here COMMIT is written only after the last checksum matched. On a
 * mismatch, an SQL error (ON_ERROR_STOP) or a crash, psql disconnects without COMMIT and the server
 * rolls everything back: the target is left exactly as it was.
 */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { pipeline, type Readable } from "node:stream";
import { redact } from "@stowage/storage";
import { type DecryptionKeys, openPart, storedDamage } from "./archive/read-part.ts";
import { type BackupLocation, type BackupReader, readManifest } from "./catalog.ts";
import { BackupError } from "./errors.ts";
import { type BackupManifest, type ManifestFile, PART_ROLES } from "./manifest.ts";
import { checkManifestTrust } from "./manifest-mac.ts";
import { childEnv, type DatabaseTarget, parseDatabaseUrl, secretsOf } from "./pg/connection.ts";
import { findPgTools } from "./pg/tools.ts";
import { cleanSql, connect, displayTarget, inspectTarget } from "./pg-target.ts";
import { statementFilter } from "./sql/statement-filter.ts";

/**
 * pg_dump writes materialized views WITH NO DATA in the schema and no REFRESH in a data-only dump
 * (the REFRESH belongs to neither section), so after the data we populate every view left empty,
 * in creation order so views built on views see their inputs. Part of the same transaction.
 */
export const REFRESH_MATERIALIZED_VIEWS = `
DO $stowage_refresh$
DECLARE r record;
BEGIN
  FOR r IN SELECT format('%I.%I', n.nspname, c.relname) AS q
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind = 'm' AND NOT c.relispopulated ORDER BY c.oid LOOP
    EXECUTE 'REFRESH MATERIALIZED VIEW ' || r.q;
  END LOOP;
END $stowage_refresh$;
`;

export interface RestoreProgress {
  readonly file: string;
  /** Bytes of this file read from storage. */
  readonly storedBytes: number;
  /** Stored bytes of every file done so far plus this one. */
  readonly totalStoredBytes: number;
  /** Stored bytes of the whole backup. */
  readonly backupBytes: number;
}

export interface RestoreOptions {
  readonly source: BackupLocation<BackupReader>;
  /** Target database URL (password in the URL or in PGPASSWORD). */
  readonly targetUrl: string;
  /** Drop the target's user schemas first (in the same transaction). */
  readonly clean?: boolean;
  readonly keys?: DecryptionKeys;
  /** Manifest already read by the caller (saves a download). */
  readonly manifest?: BackupManifest;
  readonly onProgress?: (progress: RestoreProgress) => void;
  readonly signal?: AbortSignal;
  readonly env?: NodeJS.ProcessEnv;
  /**
   * More SQL for the same transaction, written after the data and post-data (so indexes exist)
   * and before the materialized views are refreshed and COMMIT: the point-in-time replay of archived changes (pitr/replay.ts).
   * Whatever it throws rolls the whole restore back.
   */
  readonly replay?: (write: (sql: string | Buffer) => Promise<void>) => Promise<void>;
}

export interface RestoreResult {
  readonly manifest: BackupManifest;
  readonly files: readonly { name: string; storedBytes: number }[];
  readonly cleaned: boolean;
  readonly durationMs: number;
}

/** psql's stderr, last few KB, for the error message. */
function collectStderr(child: ChildProcessWithoutNullStreams): () => string {
  let text = "";
  child.stderr.setEncoding("utf8").on("data", (d: string) => {
    text = (text + d).slice(-4000);
  });
  return () => text;
}

const XID_MARKER = "stowage-xid:";
const NOT_ATOMIC_MARKER = "stowage: the restore transaction was ended";

/** What psql prints that the restore needs: its transaction id, and whether COMMIT may be on its way. */
interface PsqlOutput {
  /** The id of the restore's transaction, as psql prints it in answer to our first query. */
  readonly xid: Promise<string | undefined>;
  /**
   * True once psql printed the answer to the query just before COMMIT: psql sends one statement
   * at a time, so until then it has not sent COMMIT, and killing it rolls the transaction back.
   */
  committing(): boolean;
}

/**
 * Reads psql's output for the two markers. The rest (setval results of the data dump) is only
 * scanned, never kept: a rolling tail of 256 characters is enough for a marker cut between reads.
 * `commitMarker` is random per restore, so a backup's own SELECT cannot print it.
 */
function watchPsqlOutput(child: ChildProcessWithoutNullStreams, commitMarker: string): PsqlOutput {
  let seen = "";
  let xidFound = false;
  let committing = false;
  const xid = new Promise<string | undefined>((resolve) => {
    const onData = (d: string) => {
      // Match on the whole text before trimming it: psql may print the id and far more than the tail
      // in one read (then a marker at the start of the read would be trimmed away unseen, and the
      // restore would wait for an id forever). The id ends at whitespace, never at a read's end.
      let text = seen + d;
      if (!xidFound) {
        const m = new RegExp(`${XID_MARKER}(\\d+)\\s`).exec(text);
        if (m) {
          xidFound = true;
          resolve(m[1]);
          text = text.slice(m.index + m[0].length);
        }
      }
      if (xidFound && text.includes(commitMarker)) {
        committing = true;
        child.stdout.off("data", onData);
        child.stdout.resume();
        return;
      }
      seen = text.slice(-256);
    };
    child.stdout.setEncoding("utf8").on("data", onData);
    child.once("close", () => resolve(undefined));
  });
  return { xid, committing: () => committing };
}

/** Writes a chunk, honouring backpressure; stops waiting if psql exits meanwhile. */
async function write(child: ChildProcessWithoutNullStreams, exited: Promise<unknown>, chunk: Buffer | string): Promise<void> {
  if (child.exitCode !== null || child.stdin.destroyed) throw new Error("psql exited");
  if (!child.stdin.write(chunk)) {
    const drained = await Promise.race([once(child.stdin, "drain").then(() => true), exited.then(() => false)]);
    if (!drained) throw new Error("psql exited");
  }
}

function psqlError(stderr: string, target: DatabaseTarget, code: number | null): BackupError {
  const lines = redact(stderr, secretsOf(target))
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
  const error = lines.filter((l) => /ERROR|FATAL|error:/i.test(l)).slice(-2);
  const detail = (error.length ? error : lines.slice(-2)).join(" / ") || `psql exited with code ${code}`;
  return new BackupError("RESTORE_FAILED", `the restore failed and was rolled back, the target is unchanged: ${detail}`);
}

/** Asks the server, from a new session, whether the restore's transaction was committed after all. */
async function transactionCommitted(target: DatabaseTarget, xid: string | undefined): Promise<boolean> {
  if (!xid) return false;
  try {
    const client = await connect(target);
    try {
      const r = await client.query<{ s: string | null }>("select txid_status($1::bigint) as s", [xid]);
      return r.rows[0]?.s === "committed";
    } finally {
      await client.end().catch(() => {});
    }
  } catch {
    return false;
  }
}

function notAtomic(target: DatabaseTarget, file: string | undefined): BackupError {
  return new BackupError(
    "RESTORE_NOT_ATOMIC",
    `the backup's SQL${file ? ` (${file})` : ""} ended the restore's transaction, and what was restored before that point WAS committed: ` +
      `${displayTarget(target)} is NOT unchanged. Inspect it, then restore again with --clean from a backup you trust`,
    { file },
  );
}

/**
 * The statements around the parts. psql runs the parts' SQL restricted (`\restrict <key>`): no
 * meta-command inside a backup (`\! cmd`, `\o file`, `\copy … to program`) can run, and only this
 * process knows the key that lifts the restriction. Sessions default to read-only transactions, so
 * if a part ends our transaction anyway (COMMIT or ROLLBACK in a tampered or old backup), nothing
 * after it can write; the check before COMMIT then refuses to report success.
 */
const HEADER = `SET default_transaction_read_only = on;\nBEGIN READ WRITE;\nSELECT '${XID_MARKER}' || txid_current();\n`;

function transactionCheck(xid: string): string {
  return (
    `\nSET default_transaction_read_only = on;\n` +
    `DO $stowage_check$ BEGIN IF txid_current_if_assigned() IS DISTINCT FROM ${xid}::bigint THEN ` +
    `RAISE EXCEPTION '${NOT_ATOMIC_MARKER}'; END IF; END $stowage_check$;\n`
  );
}

/**
 * Attempts of a restore that meets "tuple concurrently updated". Roles are cluster-wide and PostgreSQL
 * does not lock pg_authid rows against a concurrent ALTER ROLE/GRANT by another session (the advisory
 * lock in roles.sql only serialises Stowage's own restores), so a restore can lose that race to any
 * other client changing roles. The failed attempt rolled back whole, so running it again is safe.
 */
const CONCURRENT_CATALOG_ATTEMPTS = 3;
const CONCURRENT_CATALOG_UPDATE = /tuple concurrently updated/;

export async function runRestore(options: RestoreOptions): Promise<RestoreResult> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await restoreOnce(options);
    } catch (error) {
      const retryable =
        BackupError.is(error) &&
        error.code === "RESTORE_FAILED" &&
        CONCURRENT_CATALOG_UPDATE.test(error.message) &&
        // A replay callback keeps its own state (what it reached); it is not run twice.
        !options.replay &&
        !options.signal?.aborted &&
        attempt < CONCURRENT_CATALOG_ATTEMPTS;
      if (!retryable) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200 * attempt + Math.floor(Math.random() * 300)));
    }
  }
}

async function restoreOnce(options: RestoreOptions): Promise<RestoreResult> {
  const started = Date.now();
  const env = options.env ?? process.env;
  const target = parseDatabaseUrl(options.targetUrl, env);
  const manifest = options.manifest ?? (await readManifest(options.source));
  // Before touching the target: a key is there when needed, opens the backup, and the manifest is authentic.
  await checkManifestTrust(manifest, options.keys);
  if (manifest.encryption && !options.keys?.passphrase && !options.keys?.identities?.length) {
    await openPart(options.source, manifest, manifest.files[0]!, { keys: options.keys });
  }

  const client = await connect(target);
  let state: Awaited<ReturnType<typeof inspectTarget>>;
  try {
    state = await inspectTarget(client, manifest);
  } finally {
    await client.end().catch(() => {});
  }
  if (state.contents.length > 0 && !options.clean) {
    throw new BackupError(
      "TARGET_NOT_EMPTY",
      `the target database ${displayTarget(target)} is not empty (${state.contents.slice(0, 3).join(", ")}${state.contents.length > 3 ? ", …" : ""}); ` +
        "restore into an empty database, or add --clean to drop its user schemas and empty the tables the backup fills (in the same transaction)",
    );
  }
  const tools = await findPgTools({ serverVersionNum: state.versionNum, tools: ["psql"], env, requireRestrict: true });

  const files = PART_ROLES.flatMap((role) => manifest.files.filter((f) => f.role === role));
  const backupBytes = files.reduce((s, f) => s + f.size, 0);

  const child = spawn(
    tools.paths.psql,
    ["--no-psqlrc", "--quiet", "-v", "ON_ERROR_STOP=1", "--dbname", target.urlWithoutPassword, "--file", "-"],
    { env: childEnv(target, env), stdio: ["pipe", "pipe", "pipe"] },
  );
  // A fresh key per restore: a backup cannot contain the line that lifts the restriction.
  const key = randomBytes(24).toString("hex");
  const commitMarker = `stowage-commit:${randomBytes(12).toString("hex")}`;
  const output = watchPsqlOutput(child, commitMarker);
  const xidRead = output.xid;
  const stderr = collectStderr(child);
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => resolve(code));
  });
  exited.catch(() => {});
  child.stdin.on("error", () => {}); // EPIPE when psql stops on an error; the exit code tells.
  // A cancel stops psql wherever it is: the parts' downloads see the signal only between chunks, and
  // psql may be far behind what was written to it, so a restore waiting on a lock or running one long
  // statement (an index build in post-data) would otherwise go on until that ends. Killed before it
  // sent COMMIT, psql leaves a transaction the server rolls back (even one still waiting on a lock:
  // it ends when the wait does, uncommitted). Once COMMIT may be on its way the restore is let finish:
  // a kill then could not say whether it committed.
  const stopOnAbort = () => {
    if (!output.committing()) child.kill("SIGKILL");
  };
  if (options.signal?.aborted) stopOnAbort();
  else options.signal?.addEventListener("abort", stopOnAbort, { once: true });

  const done: { name: string; storedBytes: number }[] = [];
  let current: Readable | undefined;
  let currentFile: ManifestFile | undefined;
  let lastFile: string | undefined;
  try {
    await write(child, exited, HEADER);
    if (options.clean) await write(child, exited, cleanSql(state));
    let before = 0;
    for (const file of files) {
      const data = file.role === "data" || file.role === "history_data";
      if (data) {
        // Triggers and FK checks off for the data, as `supabase db dump` restores expect.
        await write(child, exited, "\nSET session_replication_role = replica;\n");
      }
      let storedBytes = 0;
      currentFile = file;
      lastFile = file.name;
      const part = await openPart(options.source, manifest, file, {
        keys: options.keys,
        signal: options.signal,
        onStoredBytes: (bytes) => {
          storedBytes = bytes;
          options.onProgress?.({ file: file.name, storedBytes: bytes, totalStoredBytes: before + bytes, backupBytes });
        },
      });
      // pg_dump's own \restrict lines would clash with ours; a data part's BEGIN/COMMIT (pg_dump
      // writes them around large objects) would end our transaction. Neither is ever inside COPY data.
      current = pipeline(part, statementFilter({ dropRestrict: true, dropTransactionControl: data }), () => {});
      await write(child, exited, `\\restrict ${key}\n`);
      for await (const chunk of current) await write(child, exited, chunk as Buffer);
      await write(child, exited, `\n\\unrestrict ${key}\nSET default_transaction_read_only = on;\n`);
      before += storedBytes;
      done.push({ name: file.name, storedBytes });
      currentFile = undefined;
    }
    if (options.replay) {
      // Archived changes are data from storage too: restricted like the parts.
      await write(child, exited, `\\restrict ${key}\n`);
      await options.replay((sql) => write(child, exited, sql));
      await write(child, exited, `\n\\unrestrict ${key}\nSET default_transaction_read_only = on;\n`);
    }
    if (manifest.type !== "schema") await write(child, exited, REFRESH_MATERIALIZED_VIEWS);
    const xid = await Promise.race([xidRead, exited.then(() => undefined)]);
    if (!xid) throw new Error("psql exited");
    // Every part verified and we are still in the transaction we opened: only now may it commit.
    await write(child, exited, `${transactionCheck(xid)}SELECT '${commitMarker}';\nCOMMIT;\n`);
    child.stdin.end();
    const code = await exited;
    if (code !== 0) throw psqlError(stderr(), target, code);
  } catch (error) {
    current?.destroy();
    if ((error as NodeJS.ErrnoException).code === "ENOENT" && child.pid === undefined) {
      throw new BackupError("TOOL_MISSING", `psql could not be started (${tools.paths.psql}); install postgresql-client`);
    }
    // Kill psql before it can see end of input; without COMMIT the server rolls back.
    const exitedOnItsOwn =
      child.exitCode !== null ||
      child.signalCode !== null ||
      (error as NodeJS.ErrnoException).code === "EPIPE" ||
      (error as Error).message === "psql exited";
    if (!exitedOnItsOwn) child.kill("SIGKILL");
    const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
    const code = await exited.catch(() => null);
    clearTimeout(timer);
    // The one case where "unchanged" would be a lie: the backup's SQL committed our transaction.
    // psql has exited, so the id is known by now (or never will be).
    if (await transactionCommitted(target, await xidRead)) throw notAtomic(target, lastFile);
    if (stderr().includes(NOT_ATOMIC_MARKER)) {
      throw new BackupError(
        "RESTORE_FAILED",
        `the backup's SQL${lastFile ? ` (${lastFile})` : ""} ended the restore's transaction (ROLLBACK); nothing was committed and the target is unchanged, but this backup cannot be restored as it is`,
      );
    }
    if (options.signal?.aborted) {
      throw new BackupError(
        "ABORTED",
        `the restore was cancelled; nothing was committed and ${displayTarget(target)} is unchanged`,
        {
          cause: error,
        },
      );
    }
    // psql stopping first (ON_ERROR_STOP) is the cause; EPIPE and the like are only its echo.
    if (exitedOnItsOwn || (BackupError.is(error) && error.code === "RESTORE_FAILED")) {
      const damage = currentFile ? await storedDamage(options.source, currentFile) : undefined;
      throw damage ?? psqlError(stderr(), target, code);
    }
    throw error;
  } finally {
    options.signal?.removeEventListener("abort", stopOnAbort);
  }
  return { manifest, files: done, cleaned: !!options.clean, durationMs: Date.now() - started };
}

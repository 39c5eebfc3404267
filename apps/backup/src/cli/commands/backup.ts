/**
 * @module cli/commands/backup
 * `stowage backup --db <url> [--to <dest>]…`: one dump, sent to every destination (fan-out); the
 * exit code says whether all, some (3) or none (1) of them succeeded.
 */
import { type BackupResult, type EncryptionOptions, runBackup } from "@stowage/backup-core";
import { createDestination, destinationFromEnv, type StorageDestination } from "@stowage/storage";
import { type Command, Option } from "commander";
import { openDestination } from "../destination.ts";
import { EXIT, UsageError } from "../exit-codes.ts";
import { formatBytes, formatDuration } from "../format.ts";
import { encryptionPassphrase } from "../keys.ts";
import { ProgressLine } from "../progress.ts";

interface BackupFlags {
  db?: string;
  type: "full" | "schema" | "data";
  migrationHistory?: boolean;
  to: string[];
  compression: "gzip" | "zstd" | "none";
  encrypt?: boolean;
  encryptPassphraseFile?: string;
  recipient: string[];
  name?: string;
  json?: boolean;
}

const collect = (value: string, previous: string[]) => [...previous, value];

export async function encryptionOf(
  opts: Pick<BackupFlags, "encrypt" | "encryptPassphraseFile" | "recipient">,
): Promise<EncryptionOptions | undefined> {
  const modes = [
    opts.encrypt || opts.encryptPassphraseFile ? "passphrase" : undefined,
    opts.recipient.length ? "recipient" : undefined,
  ].filter(Boolean);
  if (modes.length > 1)
    throw new UsageError("choose one way to encrypt: a passphrase (--encrypt / --encrypt-passphrase-file) or --recipient");
  if (opts.recipient.length) return { recipients: opts.recipient };
  if (opts.encrypt || opts.encryptPassphraseFile) return { passphrase: await encryptionPassphrase(opts.encryptPassphraseFile) };
  return undefined;
}

function printResult(result: BackupResult, json: boolean, ms: number): void {
  if (json) {
    const destinations = result.destinations.map((d) =>
      d.ok
        ? {
            destination: d.destination,
            ok: true,
            backupId: d.backupId,
            files: d.manifest.files.map((f) => ({ name: f.name, size: f.size })),
          }
        : {
            destination: d.destination,
            ok: false,
            backupId: d.backupId,
            error: { code: d.error.code, message: d.error.message },
          },
    );
    process.stdout.write(`${JSON.stringify({ ok: result.ok, backupId: result.backupId, destinations })}\n`);
    return;
  }
  for (const d of result.destinations) {
    if (d.ok) {
      const size = d.manifest.files.reduce((s, f) => s + f.size, 0);
      process.stdout.write(`ok      ${d.destination}  ${d.backupId}  (${d.manifest.type}, ${formatBytes(size)})\n`);
    } else {
      // The destination is already in the first column; do not repeat it.
      const message = d.error.message.startsWith(`${d.destination}: `)
        ? d.error.message.slice(d.destination.length + 2)
        : d.error.message;
      process.stdout.write(`FAILED  ${d.destination}  ${message}\n`);
    }
  }
  if (result.ok) process.stdout.write(`backup ${result.backupId} done in ${formatDuration(ms)}\n`);
}

export function registerBackup(program: Command): void {
  program
    .command("backup")
    .description("dump a database (roles, schema, data) into a new backup on one or more destinations")
    .option("--db <url>", "source database URL (default: $DATABASE_URL); the password may be in PGPASSWORD")
    .addOption(new Option("--type <type>", "what to dump").choices(["full", "schema", "data"]).default("full"))
    .option("--migration-history", "also dump the supabase_migrations history")
    .option(
      "--to <dest>",
      "destination URL; repeat to send the same backup to several (default: from DEFAULT_STORAGE_TYPE etc.)",
      collect,
      [],
    )
    .addOption(new Option("--compression <codec>", "compression").choices(["gzip", "zstd", "none"]).default("gzip"))
    .option("--encrypt", "encrypt with a passphrase from STOWAGE_PASSPHRASE or a prompt")
    .option("--encrypt-passphrase-file <file>", "encrypt with the passphrase in this file (first line)")
    .option("--recipient <age1…>", "encrypt to this age public key; repeat for several", collect, [])
    .option("--name <name>", "first folder of the backup id (default: the database name)")
    .option("--json", "print the result as one JSON object")
    .action(async (opts: BackupFlags) => {
      const databaseUrl = opts.db ?? process.env.DATABASE_URL;
      if (!databaseUrl) throw new UsageError("name the database: --db postgresql://user@host:5432/dbname (or set DATABASE_URL)");
      const encryption = await encryptionOf(opts);
      const destinations: StorageDestination[] = opts.to.length
        ? await Promise.all(opts.to.map(openDestination))
        : [await createDestination(destinationFromEnv())];
      const progress = new ProgressLine(!opts.json && process.stderr.isTTY === true);
      const started = Date.now();
      let result: BackupResult;
      try {
        result = await runBackup({
          databaseUrl,
          destinations,
          type: opts.type,
          migrationHistory: opts.migrationHistory,
          compression: opts.compression,
          encryption,
          name: opts.name,
          onProgress: (p) => {
            const uploaded = p.uploaded.map((u) => (u.failed ? "failed" : formatBytes(u.bytes))).join(" / ");
            progress.update(
              `${p.part}: dumped ${formatBytes(p.bytesDumped)}, stored ${formatBytes(p.bytesStored)}, uploaded ${uploaded}  ${formatBytes(p.bytesPerSecond)}/s`,
            );
          },
        });
      } finally {
        progress.done();
        await Promise.all(destinations.map((d) => d.close().catch(() => {})));
      }
      const failed = result.destinations.filter((d) => !d.ok);
      // A single destination that failed: its error is THE error, printed once by main.
      if (opts.json || result.destinations.length > 1 || failed.length === 0)
        printResult(result, !!opts.json, Date.now() - started);
      if (failed.length === 0) return;
      if (failed.length < result.destinations.length) {
        process.stderr.write(`stowage: ${failed.length} of ${result.destinations.length} destinations failed (see above)\n`);
        process.exitCode = EXIT.PARTIAL;
        return;
      }
      const first = failed[0]!;
      if (result.destinations.length === 1 && !first.ok) throw first.error;
      throw new Error(`all ${result.destinations.length} destinations failed (see above); no backup was stored`);
    });
}

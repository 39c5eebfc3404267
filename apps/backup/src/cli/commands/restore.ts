/** @module cli/commands/restore — `stowage restore <backup> --db <url>`. */
import { readManifest, runRestore } from "@stowage/backup-core";
import type { Command } from "commander";
import { openBackup, withDestination } from "../destination.ts";
import { formatBytes, formatDuration, formatRate } from "../format.ts";
import { decryptionKeys } from "../keys.ts";
import { ProgressLine } from "../progress.ts";

interface RestoreFlags {
  from?: string;
  db: string;
  clean?: boolean;
  decryptPassphraseFile?: string;
  identity?: string;
  json?: boolean;
}

export function registerRestore(program: Command): void {
  program
    .command("restore")
    .description(
      "restore a backup into a database in one transaction (roles, schema, data); a checksum mismatch or SQL error leaves the target unchanged",
    )
    .argument("<backup>", "backup id on --from (e.g. mydb/20261125T101500Z-ab12cd), or a local backup folder")
    .option("--from <dest>", "destination URL holding the backup")
    .requiredOption("--db <url>", "target database URL (password in PGPASSWORD or the URL); it must be empty unless --clean")
    .option("--clean", "drop the target's user schemas first, inside the same transaction")
    .option("--decrypt-passphrase-file <file>", "file holding the passphrase (else STOWAGE_PASSPHRASE, else a prompt)")
    .option("--identity <file>", "age identity file (AGE-SECRET-KEY-1…) for backups encrypted to a recipient")
    .option("--json", "print the result as one JSON object")
    .action(async (backup: string, opts: RestoreFlags) => {
      const location = await openBackup(backup, opts.from);
      await withDestination(location.destination, async () => {
        const manifest = await readManifest(location);
        const keys = await decryptionKeys(manifest.encryption, opts);
        const progress = new ProgressLine(!opts.json && process.stderr.isTTY === true);
        const started = Date.now();
        const result = await runRestore({
          source: location,
          targetUrl: opts.db,
          clean: opts.clean,
          keys,
          manifest,
          onProgress: (p) =>
            progress.update(
              `restoring ${p.file}  ${formatBytes(p.totalStoredBytes)} / ${formatBytes(p.backupBytes)}  ${formatRate(p.totalStoredBytes, Date.now() - started)}`,
            ),
        }).finally(() => progress.done());
        const bytes = result.files.reduce((s, f) => s + f.storedBytes, 0);
        if (opts.json) {
          process.stdout.write(
            `${JSON.stringify({ ok: true, id: manifest.id, files: result.files, cleaned: result.cleaned, durationMs: result.durationMs })}\n`,
          );
        } else {
          process.stdout.write(
            `restored ${manifest.id} (${manifest.type}, ${result.files.length} files, ${formatBytes(bytes)}) in ${formatDuration(result.durationMs)}\n`,
          );
        }
      });
    });
}

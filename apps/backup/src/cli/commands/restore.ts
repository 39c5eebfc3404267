/** @module cli/commands/restore — `stowage restore <backup> --db <url>`. */
import { readManifest, runRestore } from "@stowage/backup-core";
import type { Command } from "commander";
import { withBackup } from "../backup-source.ts";
import { formatBytes, formatDuration, formatRate } from "../format.ts";
import { decryptionKeys } from "../keys.ts";
import { ProgressLine } from "../progress.ts";
import { restoreToTimeCommand } from "./stream.ts";

/** The trust model, word for word as docs/FORMAT.md states it. */
export const TRUST_MODEL = `Trust model:
  A restore runs the backup's SQL in the target database as the role you connect with (often a
  superuser): it can create roles, functions and triggers that run later. Restore only backups you
  trust. Stowage checks them: every file against the SHA-256 sums in manifest.json; for backups
  encrypted with a passphrase, manifest.json against a MAC keyed by the passphrase (a missing or
  wrong MAC is refused, and so is an unencrypted backup when you give a key); psql runs each part
  under \\restrict with a random key, so no psql meta-command in a backup (\\! and the like) runs on
  this machine; and the whole restore is one transaction that Stowage checks is still open before it
  commits. Encryption to age recipients (public keys) keeps a backup secret but does not prove who
  wrote it: anyone with the public key can write one. Keep the bucket writable only by the backup
  job, with object versioning or object lock, and verify backups (stowage verify) where they are made.`;

interface RestoreFlags {
  from?: string;
  db: string;
  clean?: boolean;
  decryptPassphraseFile?: string;
  identity?: string;
  json?: boolean;
  toTime?: string;
}

export function registerRestore(program: Command): void {
  program
    .command("restore")
    .description(
      "restore a backup into a database in one transaction (roles, schema, data); a checksum mismatch or SQL error leaves the target unchanged",
    )
    .argument(
      "<backup>",
      "backup id on --from (e.g. mydb/20261125T101500Z-ab12cd), or a local backup folder; with --to-time: the archive name (stowage stream --name)",
    )
    .option("--from <dest>", "destination URL holding the backup")
    .requiredOption("--db <url>", "target database URL (password in PGPASSWORD or the URL); it must be empty unless --clean")
    .option("--clean", "drop the target's user schemas first, inside the same transaction")
    .option("--decrypt-passphrase-file <file>", "file holding the passphrase (else STOWAGE_PASSPHRASE, else a prompt)")
    .option("--identity <file>", "age identity file (AGE-SECRET-KEY-1…) for backups encrypted to a recipient")
    .option("--json", "print the result as one JSON object")
    .option(
      "--to-time <time>",
      "point-in-time restore from a change archive (stowage stream): an ISO 8601 time with zone (2026-11-28T10:15:00Z), or latest",
    )
    .addHelpText("after", `\n${TRUST_MODEL}`)
    .action(async (backup: string, opts: RestoreFlags) => {
      if (opts.toTime !== undefined) return restoreToTimeCommand(backup, opts.toTime, opts);
      await withBackup(backup, opts.from, async (location) => {
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

/** @module cli/commands/verify — `stowage verify <backup> [--restore-test <url>]`. */
import { readManifest, verifyBackup } from "@stowage/backup-core";
import type { Command } from "commander";
import { withBackup } from "../backup-source.ts";
import { exitCodeOfVerdict } from "../exit-codes.ts";
import { formatBytes } from "../format.ts";
import { decryptionKeys } from "../keys.ts";

interface VerifyFlags {
  from?: string;
  restoreTest?: string;
  clean?: boolean;
  decryptPassphraseFile?: string;
  identity?: string;
  json?: boolean;
}

export function registerVerify(program: Command): void {
  program
    .command("verify")
    .description("read a backup end to end (checksums, decryption, decompression) without restoring it")
    .argument("<backup>", "backup id on --from, a local backup folder, or a .tar of one (a browser download)")
    .option("--from <dest>", "destination URL holding the backup")
    .option("--restore-test <url>", "also restore into this scratch database and compare row counts with the manifest")
    .option("--clean", "let --restore-test drop the scratch database's user schemas first")
    .option("--decrypt-passphrase-file <file>", "file holding the passphrase (else STOWAGE_PASSPHRASE, else a prompt)")
    .option("--identity <file>", "age identity file for backups encrypted to a recipient")
    .option("--json", "print the result as one JSON object")
    .action(async (backup: string, opts: VerifyFlags) => {
      await withBackup(backup, opts.from, async (location) => {
        const manifest = await readManifest(location);
        const keys = await decryptionKeys(manifest.encryption, opts);
        const result = await verifyBackup({
          source: location,
          keys,
          restoreTestUrl: opts.restoreTest,
          clean: opts.clean,
          manifest,
          onFile: (check) => {
            if (opts.json) return;
            const size = manifest.files.find((f) => f.name === check.name)?.size ?? 0;
            process.stdout.write(
              check.ok
                ? `ok      ${check.name} (${formatBytes(size)} stored, ${formatBytes(check.plainBytes ?? 0)} SQL)\n`
                : `FAILED  ${check.name}: ${check.error?.replace(`${check.name}: `, "")}\n`,
            );
          },
        });
        if (opts.json) {
          process.stdout.write(
            `${JSON.stringify({ ok: result.ok, verdict: result.verdict, id: manifest.id, files: result.files, restoreTest: result.restoreTest })}\n`,
          );
        } else if (result.restoreTest) {
          const t = result.restoreTest;
          if (t.error) process.stdout.write(`FAILED  restore test: ${t.error}\n`);
          for (const m of t.mismatches) {
            process.stdout.write(
              `FAILED  ${m.table}: ${m.actual === null ? "missing after restore" : `${m.actual} rows`}, manifest says ${m.expected}\n`,
            );
          }
          if (t.ok) process.stdout.write(`ok      restore test: ${t.tables} tables, row counts match the manifest\n`);
        }
        if (result.verdict !== "ok") {
          const bad = result.files.filter((f) => !f.ok).map((f) => f.name);
          process.stderr.write(
            `stowage: ${
              result.verdict === "damaged"
                ? `verification failed: ${bad.join(", ")} ${bad.length === 1 ? "is" : "are"} damaged or unreadable`
                : "verification failed: the restore test did not reproduce the backup (see above)"
            }\n`,
          );
          process.exitCode = exitCodeOfVerdict(result.verdict);
          return;
        }
        if (!opts.json) process.stdout.write(`backup ${manifest.id} verified\n`);
      });
    });
}

/** @module cli/commands/list — `stowage list --from <dest>`: every backup, complete or not. */
import { type BackupEntry, listBackups, restorableWindows } from "@stowage/backup-core";
import type { Command } from "commander";
import { openDestination, withDestination } from "../destination.ts";
import { formatBytes, formatTime } from "../format.ts";
import { printRestorableWindows } from "./stream.ts";

export function listJson(entry: BackupEntry) {
  return {
    id: entry.id,
    time: entry.time.toISOString(),
    type: entry.manifest?.type ?? null,
    size: entry.size,
    complete: entry.complete,
    compression: entry.manifest?.compression ?? null,
    encrypted: entry.manifest ? entry.manifest.encryption !== null : null,
    database: entry.manifest?.server.database ?? null,
    files: entry.keys.length,
    ...(entry.problem ? { problem: entry.problem } : {}),
  };
}

export function registerList(program: Command): void {
  program
    .command("list")
    .description("list the backups of a destination, oldest first (complete = has a valid manifest.json)")
    .requiredOption("--from <dest>", "destination URL (file:///path, s3://bucket/prefix, …)")
    .option(
      "--json",
      "one JSON object per line (JSON Lines), one per backup, then one per point-in-time window ({ name, restorable })",
    )
    .action(async (opts: { from: string; json?: boolean }) => {
      const [entries, pitr] = await withDestination(
        await openDestination(opts.from),
        async (d) => [await listBackups(d), await restorableWindows(d)] as const,
      );
      if (opts.json) {
        for (const entry of entries) process.stdout.write(`${JSON.stringify(listJson(entry))}\n`);
        printRestorableWindows(pitr, true);
        return;
      }
      if (entries.length === 0) {
        process.stderr.write(`no backups in ${opts.from}\n`);
        return;
      }
      const rows = entries.map((e) => [
        e.id,
        formatTime(e.time),
        e.manifest?.type ?? "-",
        formatBytes(e.size),
        e.complete
          ? e.manifest?.encryption
            ? "complete, encrypted"
            : "complete"
          : e.problem
            ? "incomplete (bad manifest)"
            : "incomplete",
      ]);
      const header = ["ID", "TIME (UTC)", "TYPE", "SIZE", "STATUS"];
      const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
      for (const row of [header, ...rows]) {
        process.stdout.write(`${row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join("  ")}\n`);
      }
      if (pitr.length > 0) process.stdout.write("\nPoint-in-time restore (stowage restore --from … NAME --to-time …):\n");
      printRestorableWindows(pitr, false);
    });
}

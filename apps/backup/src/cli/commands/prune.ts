/** @module cli/commands/prune — `stowage prune --from <dest> --keep-…`: restic's forget rules. */
import { prune, prunePitrArchive } from "@stowage/backup-core";
import type { Command } from "commander";
import { openDestination, withDestination } from "../destination.ts";
import { UsageError } from "../exit-codes.ts";
import { formatBytes, formatTime } from "../format.ts";

interface PruneFlags {
  from: string;
  keepLast?: string;
  keepDaily?: string;
  keepWeekly?: string;
  keepMonthly?: string;
  keepYearly?: string;
  pruneIncomplete?: boolean;
  dryRun?: boolean;
  json?: boolean;
  name?: string;
}

/** A keep count: a whole number ≥ 0, or -1 for unlimited (restic's convention). */
function count(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < -1)
    throw new UsageError(`${flag} must be a whole number (or -1 for unlimited), got ${JSON.stringify(value)}`);
  return n;
}

const INCOMPLETE_GRACE_MS = 24 * 3600 * 1000;

export function registerPrune(program: Command): void {
  program
    .command("prune")
    .description(
      "delete backups a retention policy does not keep (restic's forget rules, UTC buckets), applied to each backup name on its own; " +
        "the newest complete backup of every name is always kept",
    )
    .requiredOption("--from <dest>", "destination URL")
    .option("--name <name>", "only the backups of this name (the <name> folder, e.g. mydb)")
    .option("--keep-last <n>", "keep the n newest complete backups")
    .option("--keep-daily <n>", "keep the newest backup of each of the last n days that have one")
    .option("--keep-weekly <n>", "… of each of the last n ISO weeks")
    .option("--keep-monthly <n>", "… of each of the last n months")
    .option("--keep-yearly <n>", "… of each of the last n years")
    .option("--prune-incomplete", "also delete incomplete backups (no manifest) whose newest file is older than 24 hours")
    .option("--dry-run", "show what would be deleted, delete nothing")
    .option("--json", "print the plan and result as one JSON object")
    .action(async (opts: PruneFlags) => {
      const policy = {
        keepLast: count("--keep-last", opts.keepLast),
        keepDaily: count("--keep-daily", opts.keepDaily),
        keepWeekly: count("--keep-weekly", opts.keepWeekly),
        keepMonthly: count("--keep-monthly", opts.keepMonthly),
        keepYearly: count("--keep-yearly", opts.keepYearly),
        ...(opts.pruneIncomplete ? { pruneIncompleteOlderThanMs: INCOMPLETE_GRACE_MS } : {}),
      };
      const result = await withDestination(await openDestination(opts.from), async (destination) => {
        const backups = await prune({
          destination,
          policy,
          dryRun: opts.dryRun,
          name: opts.name,
          onRemoved: (id) => {
            if (!opts.json) process.stderr.write(`deleted ${id}\n`);
          },
        });
        // Change archives (stowage stream) keep what the remaining bases need, no more.
        return { ...backups, pitr: await prunePitrArchive({ destination, name: opts.name, dryRun: opts.dryRun }) };
      });
      const iso = (d: { time: Date }) => ({ ...d, time: d.time.toISOString() });
      if (opts.json) {
        process.stdout.write(
          `${JSON.stringify({
            ...result,
            decisions: result.decisions.map(iso),
            names: result.names.map((n) => ({ ...n, decisions: n.decisions.map(iso) })),
          })}\n`,
        );
        return;
      }
      if (result.names.length === 0)
        process.stdout.write(`no backups${opts.name ? ` named ${opts.name}` : ""} on ${opts.from}\n`);
      for (const group of result.names) {
        const removing = group.decisions.filter((d) => d.action === "remove").length;
        process.stdout.write(
          `${group.name || "(top level)"}: keep ${group.decisions.length - removing}, ${opts.dryRun ? "would remove" : "remove"} ${removing}\n`,
        );
        for (const d of group.decisions) {
          const action = d.action === "keep" ? "keep" : opts.dryRun ? "would remove" : "remove";
          process.stdout.write(`  ${action.padEnd(12)}  ${d.id}  ${formatTime(d.time)}  ${d.reasons.join(", ")}\n`);
        }
      }
      const removeCount = result.decisions.filter((d) => d.action === "remove").length;
      process.stdout.write(
        opts.dryRun
          ? `dry run: would delete ${removeCount} backup(s), ${formatBytes(result.freedBytes)}; nothing was deleted\n`
          : `deleted ${result.removed.length} backup(s), ${formatBytes(result.freedBytes)} freed\n`,
      );
      for (const p of result.pitr.filter((p) => p.removedSegments > 0 || p.removedBases.length > 0)) {
        process.stdout.write(
          `${p.name}: change archive: ${opts.dryRun ? "would remove" : "removed"} ${p.removedSegments} segment(s) (${formatBytes(p.removedBytes)}) ` +
            `before LSN ${p.keptFrom ?? "-"} and ${p.removedBases.length} marker(s) of pruned bases\n`,
        );
      }
    });
}

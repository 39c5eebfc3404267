/** @module cli/commands/prune — `stowage prune --from <dest> --keep-…`: restic's forget rules. */
import { prune } from "@stowage/backup-core";
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
      "delete backups a retention policy does not keep (restic's forget rules, UTC buckets); the newest complete backup is always kept",
    )
    .requiredOption("--from <dest>", "destination URL")
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
      const result = await withDestination(await openDestination(opts.from), (destination) =>
        prune({
          destination,
          policy,
          dryRun: opts.dryRun,
          onRemoved: (id) => {
            if (!opts.json) process.stderr.write(`deleted ${id}\n`);
          },
        }),
      );
      if (opts.json) {
        process.stdout.write(
          `${JSON.stringify({ ...result, decisions: result.decisions.map((d) => ({ ...d, time: d.time.toISOString() })) })}\n`,
        );
        return;
      }
      for (const d of result.decisions) {
        const action = d.action === "keep" ? "keep  " : opts.dryRun ? "would remove" : "remove";
        process.stdout.write(`${action.padEnd(12)}  ${d.id}  ${formatTime(d.time)}  ${d.reasons.join(", ")}\n`);
      }
      const removeCount = result.decisions.filter((d) => d.action === "remove").length;
      process.stdout.write(
        opts.dryRun
          ? `dry run: would delete ${removeCount} backup(s), ${formatBytes(result.freedBytes)}; nothing was deleted\n`
          : `deleted ${result.removed.length} backup(s), ${formatBytes(result.freedBytes)} freed\n`,
      );
    });
}

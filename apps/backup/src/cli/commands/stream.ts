/**
 * @module cli/commands/stream
 * `stowage stream --db <url> --to <dest>…`: archives a database's changes for point-in-time restore
 * until stopped (Ctrl-C / SIGTERM). `--status` shows the slot's lag, `--drop` removes slot and
 * publication. The engine is packages/backup-core/src/pitr; this file only parses and prints.
 */
import {
  dropStream,
  formatLsn,
  type NameWindows,
  planRestoreToTime,
  restoreToTime,
  runStream,
  type StreamEvent,
  streamStatus,
} from "@stowage/backup-core";
import type { StorageDestination } from "@stowage/storage";
import { type Command, Option } from "commander";
import { openDestination } from "../destination.ts";
import { UsageError } from "../exit-codes.ts";
import { formatBytes, formatDuration } from "../format.ts";
import { decryptionKeys } from "../keys.ts";
import { ProgressLine } from "../progress.ts";
import { encryptionOf } from "./backup.ts";

interface StreamFlags {
  db?: string;
  to: string[];
  name?: string;
  segmentSeconds: string;
  compression: "gzip" | "zstd" | "none";
  encrypt?: boolean;
  encryptPassphraseFile?: string;
  recipient: string[];
  maxLag: string;
  status?: boolean;
  drop?: boolean;
  json?: boolean;
}

const collect = (value: string, previous: string[]) => [...previous, value];

const SIZE_UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  k: 1e3,
  kb: 1e3,
  kib: 1024,
  m: 1e6,
  mb: 1e6,
  mib: 1024 ** 2,
  g: 1e9,
  gb: 1e9,
  gib: 1024 ** 3,
  t: 1e12,
  tb: 1e12,
  tib: 1024 ** 4,
};

/** `1GiB`, `500MB`, `1073741824` → bytes. */
export function parseSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = m ? SIZE_UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined)
    throw new UsageError(`--max-lag: ${JSON.stringify(text)} is not a size; use e.g. 1GiB, 500MB or a number of bytes`);
  return Math.round(Number(m[1]) * unit);
}

function describe(event: StreamEvent): string {
  switch (event.type) {
    case "base":
      return `base ${event.backupId} at LSN ${event.lsn} (${event.time}, ${event.reason})`;
    case "resume":
      return `resuming slot ${event.slot} from LSN ${event.fromLsn}`;
    case "streaming":
      return `streaming changes from slot ${event.slot} at LSN ${event.fromLsn}`;
    case "segment":
      return `segment ${event.startLsn}..${event.endLsn}: ${event.transactions} transactions, ${event.changes} changes, ${formatBytes(event.size)}, last commit ${event.lastCommitTime} (${(event.lagMs / 1000).toFixed(1)} s ago)`;
    case "retry":
      return `warning: ${event.message}; retrying (attempt ${event.attempt}); the slot keeps the changes meanwhile`;
    case "schema-change":
      return `schema change seen on ${event.table}: taking a new base (the previous one restores up to ${event.previousEndsAt?.time ?? "its own time"})`;
    case "unpublished":
      return `warning: ${event.tables.length} dumped table(s) are owned by another role, so this role (not a superuser) cannot publish them: ${event.tables.slice(0, 5).join(", ")}${event.tables.length > 5 ? ", …" : ""}. A restore to a time gives their rows as of the base; their later changes are not archived (stream as their owner or a superuser to include them)`;
    case "lag":
      return `warning: the archive is ${formatBytes(event.lagBytes)} behind the source (more than --max-lag ${formatBytes(event.maxLagBytes)}); the source keeps ${formatBytes(event.retainedBytes)} of WAL for slot ${event.slot}. Check the destinations, or stop with --drop`;
  }
}

export function registerStream(program: Command): void {
  program
    .command("stream")
    .description(
      "archive a database's changes for point-in-time restore (a base backup in a logical slot's snapshot, then change segments); runs until stopped",
    )
    .option("--db <url>", "source database URL (default: $DATABASE_URL); needs wal_level=logical")
    .option("--to <dest>", "destination URL; repeat to archive to several", collect, [])
    .option("--name <name>", "archive name, the first folder (default: the database name)")
    .option("--segment-seconds <s>", "close a change segment this often (the archive's RPO)", "60")
    .addOption(new Option("--compression <codec>", "compression").choices(["gzip", "zstd", "none"]).default("gzip"))
    .option("--encrypt", "encrypt with a passphrase from STOWAGE_PASSPHRASE or a prompt")
    .option("--encrypt-passphrase-file <file>", "encrypt with the passphrase in this file (first line)")
    .option("--recipient <age1…>", "encrypt to this age public key; repeat for several", collect, [])
    .option("--max-lag <size>", "warn when the slot holds back more WAL than this", "1GiB")
    .option("--status", "show the slot's lag (bytes and time) and exit")
    .option(
      "--drop",
      "remove the slot and publication from the source and exit (do this before restoring over the same database)",
    )
    .option("--json", "JSON output (one object per line)")
    .action(async (opts: StreamFlags) => {
      const databaseUrl = opts.db ?? process.env.DATABASE_URL;
      if (!databaseUrl) throw new UsageError("name the database: --db postgresql://user@host:5432/dbname (or set DATABASE_URL)");
      const print = (text: string, json: unknown) => process.stdout.write(`${opts.json ? JSON.stringify(json) : text}\n`);
      if (opts.status && opts.drop) throw new UsageError("--status and --drop do not go together");
      if (opts.status) {
        const status = await streamStatus({ databaseUrl, name: opts.name });
        if (opts.json) {
          print("", {
            ...status,
            slots: status.slots.map((s) => ({ ...s, confirmedLsn: s.confirmedLsn === null ? null : formatLsn(s.confirmedLsn) })),
          });
          return;
        }
        if (status.slots.length === 0) {
          print(`no stream for ${status.name}: no slot (publication ${status.publicationExists ? "exists" : "absent"})`, null);
          return;
        }
        for (const s of status.slots) {
          print(
            `${status.name}  slot ${s.slot}  ${s.active ? "streaming" : "NOT STREAMING"}  confirmed ${s.confirmedLsn === null ? "-" : formatLsn(s.confirmedLsn)}  lag ${formatBytes(s.lagBytes)}${s.lagSeconds === null ? "" : ` / ${s.lagSeconds.toFixed(1)} s`}  WAL kept ${formatBytes(s.retainedBytes)}${s.walStatus ? ` (${s.walStatus})` : ""}`,
            null,
          );
        }
        return;
      }
      if (opts.drop) {
        const dropped = await dropStream({ databaseUrl, name: opts.name });
        print(
          dropped.slots.length || dropped.publication
            ? `dropped ${[...dropped.slots.map((s) => `slot ${s}`), ...(dropped.publication ? [`publication ${dropped.publication}`] : [])].join(", ")}`
            : `nothing to drop for ${dropped.name}`,
          dropped,
        );
        return;
      }
      if (opts.to.length === 0)
        throw new UsageError("name at least one destination: --to file:///backups (repeat --to for several)");
      const segmentSeconds = Number(opts.segmentSeconds);
      if (!(segmentSeconds > 0) || segmentSeconds > 86_400)
        throw new UsageError("--segment-seconds must be a number of seconds between 0 and 86400");
      const maxLagBytes = parseSize(opts.maxLag);
      const encryption = await encryptionOf(opts);
      const destinations: StorageDestination[] = await Promise.all(opts.to.map(openDestination));
      const controller = new AbortController();
      const stop = () => controller.abort();
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
      try {
        const summary = await runStream({
          databaseUrl,
          destinations,
          name: opts.name,
          segmentSeconds,
          compression: opts.compression,
          encryption,
          maxLagBytes,
          signal: controller.signal,
          onEvent: (event) => {
            if (opts.json) process.stdout.write(`${JSON.stringify(event)}\n`);
            else {
              const warning = event.type === "retry" || event.type === "lag" || event.type === "unpublished";
              (warning ? process.stderr : process.stdout).write(`${describe(event)}\n`);
            }
          },
        });
        print(`stopped; ${summary.segments} segments stored, slot ${summary.slot} confirmed at ${summary.confirmedLsn}`, {
          type: "stopped",
          ...summary,
        });
      } finally {
        process.off("SIGINT", stop);
        process.off("SIGTERM", stop);
        await Promise.all(destinations.map((d) => d.close().catch(() => {})));
      }
    });
}

/** `stowage restore --from <dest> <name> --to-time <time|latest> --db <url>` (registered by commands/restore.ts). */
export async function restoreToTimeCommand(
  name: string,
  toTime: string,
  opts: { from?: string; db: string; clean?: boolean; decryptPassphraseFile?: string; identity?: string; json?: boolean },
): Promise<void> {
  if (!opts.from) throw new UsageError("--to-time needs --from <dest>: the destination holding the change archive");
  const destination = await openDestination(opts.from);
  try {
    const plan = await planRestoreToTime(destination, name, toTime);
    const keys = await decryptionKeys(plan.manifest.encryption, opts);
    const progress = new ProgressLine(!opts.json && process.stderr.isTTY === true);
    const result = await restoreToTime({
      destination,
      name,
      toTime,
      plan,
      targetUrl: opts.db,
      clean: opts.clean,
      keys,
      onProgress: (p) =>
        progress.update(
          p.phase === "base"
            ? `restoring base ${plan.window.base.marker.backupId}`
            : `replaying changes: ${p.transactions} transactions`,
        ),
    }).finally(() => progress.done());
    if (opts.json) {
      process.stdout.write(`${JSON.stringify({ ok: true, ...result })}\n`);
      return;
    }
    process.stdout.write(
      `restored ${name} to ${result.reached.time} (LSN ${result.reached.lsn}): base ${result.baseId} + ${result.transactions} transactions ` +
        `(${result.changes} changes, ${result.segments} segments) in ${formatDuration(result.durationMs)}\n`,
    );
  } finally {
    await destination.close().catch(() => {});
  }
}

/** The point-in-time section of `stowage list` (registered by commands/list.ts). */
export function printRestorableWindows(names: readonly NameWindows[], json: boolean): void {
  for (const n of names) {
    for (const w of n.windows) {
      if (json) {
        process.stdout.write(`${JSON.stringify({ name: n.name, restorable: w })}\n`);
      } else {
        process.stdout.write(
          `${n.name}  restorable from ${w.from} to ${w.to} (base ${w.baseId}${w.gap ? "; the archive has a gap after this" : ""})\n`,
        );
      }
    }
    if (!json && n.windows.length === 0) process.stdout.write(`${n.name}  change archive without a base: not restorable\n`);
  }
}

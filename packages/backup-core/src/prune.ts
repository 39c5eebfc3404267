/**
 * @module prune
 * Applies a retention policy to a destination: lists the backups, plans with `planPrune`, and
 * deletes what the plan removes. Each backup's manifest.json is deleted FIRST, then its other files,
 * so a prune interrupted half way leaves an incomplete backup (that every command treats as such),
 * never a folder that looks complete but has lost a part.
 */
import type { StorageDestination } from "@stowage/storage";
import { type BackupEntry, listBackups } from "./catalog.ts";
import { MANIFEST_FILE } from "./manifest.ts";
import { BackupReadError } from "./read-errors.ts";
import { planPrune, policyKeepsAnything, type RetentionPolicy } from "./retention.ts";

export interface PruneDecision {
  readonly id: string;
  readonly time: Date;
  readonly complete: boolean;
  readonly size: number;
  readonly action: "keep" | "remove";
  readonly reasons: readonly string[];
}

export interface PruneResult {
  readonly dryRun: boolean;
  /** Every backup, newest first. */
  readonly decisions: PruneDecision[];
  /** Ids actually removed (empty on a dry run). */
  readonly removed: string[];
  readonly freedBytes: number;
}

export interface PruneOptions {
  readonly destination: StorageDestination;
  readonly policy: RetentionPolicy;
  readonly dryRun?: boolean;
  readonly prefix?: string;
  readonly now?: Date;
  readonly onRemoved?: (id: string) => void;
}

/** Deletes one backup folder, manifest first. */
export async function deleteBackup(destination: StorageDestination, entry: BackupEntry): Promise<void> {
  const manifestKey = `${entry.id}/${MANIFEST_FILE}`;
  if (entry.keys.includes(manifestKey)) await destination.delete(manifestKey);
  for (const key of entry.keys) if (key !== manifestKey) await destination.delete(key);
}

export async function prune(options: PruneOptions): Promise<PruneResult> {
  if (!policyKeepsAnything(options.policy)) {
    throw new BackupReadError(
      "INVALID_POLICY",
      "no retention rule given: pass at least one of --keep-last, --keep-daily, --keep-weekly, --keep-monthly, --keep-yearly (a number > 0)",
    );
  }
  const backups = await listBackups(options.destination, options.prefix ?? "");
  const plan = planPrune(backups, options.policy, options.now ?? new Date());
  const removeIds = new Set(plan.remove.map((b) => b.id));
  const decisions: PruneDecision[] = [...backups]
    .sort((a, b) => b.time.getTime() - a.time.getTime())
    .map((b) => ({
      id: b.id,
      time: b.time,
      complete: b.complete,
      size: b.size,
      action: removeIds.has(b.id) ? "remove" : "keep",
      reasons: plan.reasons.get(b.id) ?? [],
    }));
  const removed: string[] = [];
  let freedBytes = 0;
  if (!options.dryRun) {
    for (const entry of plan.remove) {
      await deleteBackup(options.destination, entry);
      removed.push(entry.id);
      freedBytes += entry.size;
      options.onRemoved?.(entry.id);
    }
  } else {
    freedBytes = plan.remove.reduce((s, b) => s + b.size, 0);
  }
  return { dryRun: !!options.dryRun, decisions, removed, freedBytes };
}

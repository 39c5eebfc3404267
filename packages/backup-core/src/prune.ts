/**
 * @module prune
 * Applies a retention policy to a destination, per backup name: lists the backups, plans with `planPrune`, and
 * deletes what the plan removes. Each backup's manifest.json is deleted FIRST, then its other files,
 * so a prune interrupted half way leaves an incomplete backup (that every command treats as such),
 * never a folder that looks complete but has lost a part.
 */
import type { StorageDestination } from "@stowage/storage";
import { type BackupEntry, listBackups } from "./catalog.ts";
import { BackupError } from "./errors.ts";
import { MANIFEST_FILE } from "./manifest.ts";
import { assertPolicyKeepsAnything, backupName, planPrune, type RetentionPolicy } from "./retention.ts";

export interface PruneDecision {
  readonly id: string;
  readonly time: Date;
  readonly complete: boolean;
  readonly size: number;
  readonly action: "keep" | "remove";
  readonly reasons: readonly string[];
}

/** The plan and outcome for one backup name. */
export interface PruneNameResult {
  readonly name: string;
  /** This name's backups, newest first. */
  readonly decisions: PruneDecision[];
  /** Ids actually removed (empty on a dry run). */
  readonly removed: string[];
  /** Bytes freed (on a dry run: that would be freed). */
  readonly freedBytes: number;
}

export interface PruneResult {
  readonly dryRun: boolean;
  /** Every backup, newest first (all names). */
  readonly decisions: PruneDecision[];
  /** Ids actually removed (empty on a dry run). */
  readonly removed: string[];
  readonly freedBytes: number;
  /** The same, grouped by backup name (alphabetical). */
  readonly names: PruneNameResult[];
}

export interface PruneOptions {
  readonly destination: StorageDestination;
  readonly policy: RetentionPolicy;
  readonly dryRun?: boolean;
  /** Only backups under this key prefix. */
  readonly prefix?: string;
  /** Only the backups of this name (`mydb`: the folder `mydb/`). */
  readonly name?: string;
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
  assertPolicyKeepsAnything(options.policy);
  const name = options.name?.replace(/^\/+|\/+$/g, "");
  if (name !== undefined && !name) throw new BackupError("INVALID_POLICY", "--name must name a backup (e.g. mydb)");
  const listed = await listBackups(options.destination, name ? `${name}/` : (options.prefix ?? ""));
  const backups = name === undefined ? listed : listed.filter((b) => backupName(b.id) === name);
  const plan = planPrune(backups, options.policy, options.now ?? new Date());
  const removeIds = new Set(plan.remove.map((b) => b.id));
  const decide = (b: BackupEntry): PruneDecision => ({
    id: b.id,
    time: b.time,
    complete: b.complete,
    size: b.size,
    action: removeIds.has(b.id) ? "remove" : "keep",
    reasons: plan.reasons.get(b.id) ?? [],
  });
  const newestFirst = (list: readonly BackupEntry[]) =>
    [...list].sort((a, b) => b.time.getTime() - a.time.getTime() || b.id.localeCompare(a.id)).map(decide);
  const removedIds = new Set<string>();
  if (!options.dryRun) {
    for (const entry of plan.remove) {
      await deleteBackup(options.destination, entry);
      removedIds.add(entry.id);
      options.onRemoved?.(entry.id);
    }
  }
  const freed = (list: readonly BackupEntry[]) =>
    list.filter((b) => removeIds.has(b.id) && (options.dryRun || removedIds.has(b.id))).reduce((s, b) => s + b.size, 0);
  const names: PruneNameResult[] = plan.names.map((group) => {
    const all = [...group.keep, ...group.remove];
    return {
      name: group.name,
      decisions: newestFirst(all),
      removed: group.remove.filter((b) => removedIds.has(b.id)).map((b) => b.id),
      freedBytes: freed(all),
    };
  });
  return {
    dryRun: !!options.dryRun,
    decisions: newestFirst(backups),
    removed: plan.remove.filter((b) => removedIds.has(b.id)).map((b) => b.id),
    freedBytes: freed(backups),
    names,
  };
}

/**
 * @module server/schedules/retention
 * Retention after a successful scheduled run, on each destination the backup reached, for the
 * project's backup name there (the folder `<project>/`), with backup-core's planner and deleter:
 * only complete backups count, the newest complete one is always kept, a policy that keeps nothing
 * is refused. By default only the backups this server made on a schedule are candidates (manual
 * runs and CLI backups in the same folder are kept); `includeManual: true` hands the whole folder to
 * the engine's `prune`, as `stowage prune --name` would.
 */
import { backupName, deleteBackup, listBackups, planPrune, prune } from "@stowage/backup-core";
import type { BackupDestinationRecord, BackupRecord } from "../db/store.ts";
import type { BackupDeps } from "../services/backups.ts";
import type { SchedulePolicy } from "./service.ts";

export interface RetentionOutcome {
  /** Engine ids removed, per destination name. */
  removed: { destination: string; ids: string[] }[];
  errors: string[];
}

/** Every backup row of the project with its per-destination rows (the metadata side of a prune). */
async function projectBackups(
  deps: RetentionDeps,
  projectId: string,
): Promise<{ rows: BackupRecord[]; copies: BackupDestinationRecord[] }> {
  const rows: BackupRecord[] = [];
  let cursor: string | undefined;
  do {
    const page = await deps.store.backups.list({ projectId, limit: 500, ...(cursor ? { cursor } : {}) });
    rows.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  const copies = await deps.store.backups.destinationsOf(rows.map((r) => r.id));
  return { rows, copies };
}

export type RetentionDeps = Pick<BackupDeps, "store" | "destinations">;

export async function applyRetention(
  deps: RetentionDeps,
  backup: BackupRecord,
  policy: SchedulePolicy,
  now: Date,
): Promise<RetentionOutcome> {
  const outcome: RetentionOutcome = { removed: [], errors: [] };
  if (!backup.projectId) return outcome;
  const { includeManual, ...rules } = policy;
  const { rows, copies } = await projectBackups(deps, backup.projectId);
  const byId = new Map(rows.map((r) => [r.id, r]));
  const reached = copies.filter(
    (c) => c.backupId === backup.id && c.status === "completed" && c.destinationId && c.storageFilePath,
  );
  for (const copy of reached) {
    const record = await deps.store.destinations.byId(copy.destinationId!);
    if (!record) continue;
    const name = backupName(copy.storageFilePath!);
    const here = copies.filter((c) => c.destinationId === record.id && c.storageFilePath && c.status === "completed");
    let removedIds: string[] = [];
    const dest = await deps.destinations.open(record);
    try {
      if (includeManual) {
        removedIds = (await prune({ destination: dest, policy: rules, name, now })).removed;
      } else {
        const scheduled = new Set(
          here.filter((c) => byId.get(c.backupId)?.trigger === "schedule").map((c) => c.storageFilePath!),
        );
        const candidates = (await listBackups(dest, `${name}/`)).filter((b) => backupName(b.id) === name && scheduled.has(b.id));
        for (const entry of planPrune(candidates, rules, now).remove) {
          await deleteBackup(dest, entry);
          removedIds.push(entry.id);
        }
      }
    } catch (error) {
      outcome.errors.push(`${record.name}: ${(error as Error).message}`);
    } finally {
      await dest.close().catch(() => {});
    }
    if (removedIds.length === 0) continue;
    outcome.removed.push({ destination: record.name, ids: removedIds });
    // The metadata follows: the copy is gone; a backup with no copy left disappears, as a DELETE would do.
    const gone = new Set(removedIds);
    for (const c of here.filter((c) => gone.has(c.storageFilePath!))) {
      await deps.store.backups.updateDestination(c.id, { status: "deleted" });
      await deps.store.destinations.addUsage(record.id, -1, -(c.size ?? 0));
      c.status = "deleted";
      const left = copies.filter((o) => o.backupId === c.backupId && o.status === "completed");
      if (left.length === 0) await deps.store.backups.delete(c.backupId);
    }
  }
  return outcome;
}

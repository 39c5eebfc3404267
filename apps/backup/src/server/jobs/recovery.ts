/**
 * @module server/jobs/recovery
 * At start, before any new job: rows a crash left in a running state become `failed` with
 * "interrupted: the server stopped during this backup", and the parts that run had already written
 * are removed from its destinations. A folder that already holds a manifest is left alone (the run
 * died after its commit point; the backup there is complete and readable with `stowage list`).
 * Browser-download work folders and unfinished uploads are emptied.
 */
import { rm } from "node:fs/promises";
import { join } from "node:path";
import type { BackupDeps } from "../services/backups.ts";
import { removeParts } from "./remove-parts.ts";

export const INTERRUPTED = "interrupted: the server stopped during this backup";

export async function recoverInterrupted(deps: BackupDeps): Promise<{ backups: number; restores: number }> {
  const { store, log } = deps;
  const running = await store.backups.running();
  for (const row of running) {
    for (const d of await store.backups.destinations(row.id)) {
      if (d.status === "completed") continue;
      let note = INTERRUPTED;
      if (d.storageFilePath && d.destinationId) {
        const record = await store.destinations.byId(d.destinationId);
        if (record) {
          try {
            const dest = await deps.destinations.open(record);
            try {
              const { committed } = await removeParts(dest, d.storageFilePath);
              if (committed) note = `${INTERRUPTED}; the copy on this destination had already been committed and was kept`;
            } finally {
              await dest.close().catch(() => {});
            }
          } catch (error) {
            note = `${INTERRUPTED}; its parts could not be removed: ${(error as Error).message}`;
            log.warn({ backupId: row.id, destination: d.destinationName }, "could not remove the parts of an interrupted backup");
          }
        }
      }
      await store.backups.updateDestination(d.id, { status: "failed", error: note });
    }
    if (row.localFilePath) await deps.downloads.delete(row.localFilePath).catch(() => {});
    await store.backups.update(row.id, { status: "failed", error: INTERRUPTED, finishedAt: new Date() });
    log.warn({ backupId: row.id, project: row.projectName }, "marked a backup interrupted by a server stop as failed");
  }
  const restores = await store.restores.running();
  for (const r of restores) {
    await store.restores.update(r.id, {
      status: "failed",
      error:
        "interrupted: the server stopped during this restore; the target was rolled back by PostgreSQL (the restore runs in one transaction)",
      finishedAt: new Date(),
    });
  }
  await rm(join(deps.stagingDir, "work"), { recursive: true, force: true });
  await rm(join(deps.stagingDir, "uploads"), { recursive: true, force: true });
  return { backups: running.length, restores: restores.length };
}

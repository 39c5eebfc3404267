/**
 * @module server/jobs/recovery
 * Rows a stopped server left in a running state become `failed` with "interrupted: the server stopped
 * during this backup", and the parts that run had already written are removed from its destinations.
 * A folder that already holds a manifest is left alone (the run died after its commit point; the
 * backup there is complete and readable with `stowage list`).
 *
 * Which rows are interrupted:
 * - one server (SQLite metadata): at start, every running row (no other process can own one);
 * - several servers (PostgreSQL metadata): only rows this server instance owns (at start) and rows
 *   whose owner has been silent for `staleMs` (its heartbeat stopped: the process died). Another
 *   live server's running backup is left alone, and a queued row (no owner yet) waits for a worker.
 *   `watchInterrupted` repeats that check while the server runs, so a dead server's jobs are failed by
 *   a live one without waiting for a restart; it also writes this server's own heartbeat, and aborts
 *   the backups and restores of this server on which another server's API recorded a cancel request
 *   (an aborted restore rolls back whole: its target stays as it was).
 * At start, this server's browser-download work folders and unfinished uploads are emptied.
 */
import { rm } from "node:fs/promises";
import { join } from "node:path";
import type { BackupDeps } from "../services/backups.ts";
import { removeParts } from "./remove-parts.ts";

export const INTERRUPTED = "interrupted: the server stopped during this backup";

export interface RecoveryScope {
  /** True with several servers on one metadata database (the job queue says so). */
  readonly shared: boolean;
  /** A row whose owner showed no sign of life for this long is interrupted. */
  readonly staleMs: number;
  /** At start: this instance's own rows are interrupted too, and local work folders are emptied. */
  readonly atStart: boolean;
}

interface OwnedRow {
  owner: string | null;
  heartbeatAt: Date | null;
  startedAt: Date | null;
  createdAt: Date;
}

/** Whether a running row belongs to no live server any more. */
export function isInterrupted(row: OwnedRow, scope: RecoveryScope, self: string, now: Date): boolean {
  if (!scope.shared) return scope.atStart;
  if (row.owner === self) return scope.atStart;
  // Waiting in the shared queue: a worker will claim it.
  if (row.owner === null) return false;
  const lastSign = row.heartbeatAt ?? row.startedAt ?? row.createdAt;
  return now.getTime() - lastSign.getTime() > scope.staleMs;
}

export async function recoverInterrupted(
  deps: BackupDeps,
  scope: RecoveryScope = { shared: false, staleMs: 0, atStart: true },
): Promise<{ backups: number; restores: number }> {
  const { store, log } = deps;
  const now = new Date();
  const running = (await store.backups.running()).filter((row) => isInterrupted(row, scope, deps.instanceId, now));
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
    log.warn(
      { backupId: row.id, project: row.projectName, owner: row.owner },
      "marked a backup interrupted by a server stop as failed",
    );
  }
  const restores = (await store.restores.running()).filter((row) => isInterrupted(row, scope, deps.instanceId, now));
  for (const r of restores) {
    await store.restores.update(r.id, {
      status: "failed",
      error:
        "interrupted: the server stopped during this restore; the target was rolled back by PostgreSQL (the restore runs in one transaction)",
      finishedAt: new Date(),
    });
  }
  if (scope.atStart) {
    await rm(join(deps.stagingDir, "work"), { recursive: true, force: true });
    await rm(join(deps.stagingDir, "uploads"), { recursive: true, force: true });
  }
  return { backups: running.length, restores: restores.length };
}

/**
 * While the server runs: every `heartbeatMs` this instance's running rows get a heartbeat, and (with
 * several servers) rows of servers silent for `staleMs` are recovered. Answers a stop function.
 */
export function watchInterrupted(
  deps: BackupDeps,
  options: { shared: boolean; heartbeatMs: number; staleMs: number },
): () => void {
  // Two separate tasks: a slow sweep (removing a dead server's parts) never delays this server's own heartbeat.
  const beat = exclusive(
    async () => {
      const now = new Date();
      for (const [kind, rows] of [
        ["backup", deps.store.backups],
        ["restore", deps.store.restores],
      ] as const) {
        const { cancelRequested } = await rows.heartbeat(deps.instanceId, now);
        // A user cancelled one of these jobs through another server's API.
        for (const id of cancelRequested) {
          if (deps.jobs.cancel(id)) deps.log.info({ [`${kind}Id`]: id }, `cancelled a ${kind} on request from another server`);
        }
      }
    },
    (error) => deps.log.warn({ err: error }, "job heartbeat failed"),
  );
  const sweep = exclusive(
    async () => {
      const recovered = await recoverInterrupted(deps, { shared: true, staleMs: options.staleMs, atStart: false });
      if (recovered.backups || recovered.restores) deps.log.warn(recovered, "marked jobs of a silent server as failed");
    },
    (error) => deps.log.warn({ err: error }, "recovering the jobs of a silent server failed"),
  );
  const timer = setInterval(() => {
    beat();
    if (options.shared) sweep();
  }, options.heartbeatMs);
  timer.unref();
  return () => clearInterval(timer);
}

/** A trigger that starts `task` unless its previous run is still going. */
function exclusive(task: () => Promise<void>, onError: (error: unknown) => void): () => void {
  let running = false;
  return () => {
    if (running) return;
    running = true;
    void task()
      .catch(onError)
      .finally(() => {
        running = false;
      });
  };
}

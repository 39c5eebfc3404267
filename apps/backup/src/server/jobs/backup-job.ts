/**
 * @module server/jobs/backup-job
 * One manual (or scheduled) backup, the seed's nine steps as states on the row:
 * `pending` (row created, queued) → `dumping` (pg_dump streams through compression straight into
 * every destination: dumping and uploading happen in one pass) → `uploading` (the manifest, or the
 * browser-download `.tar` being staged) → `completed` | `failed` | `cancelled`.
 * Nothing is kept on the server but the browser-download staging.
 */
import { createHash } from "node:crypto";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { type BackupProgress, type BackupResult, MANIFEST_FILE, runBackup } from "@stowage/backup-core";
import { LocalMappedDestination, redact, type StorageDestination } from "@stowage/storage";
import type { BackupRecord, BackupStatus } from "../db/store.ts";
import type { BackupDeps } from "../services/backups.ts";
import { downloadBaseName, tarBackupFolder } from "./download-tar.ts";
import { type RecordingDestination, recordingDestination } from "./recording-destination.ts";
import { removeParts } from "./remove-parts.ts";
import type { JobBody, JobEvent, JobFinished } from "./runner.ts";

/** Folder-safe engine name from a project name (`My shop` → `My_shop`). */
export function engineName(projectName: string): string {
  return (
    projectName
      .replace(/[^A-Za-z0-9._-]/g, "_")
      .replace(/^[._-]+/, "")
      .slice(0, 100) || "project"
  );
}

const DB_WRITE_INTERVAL_MS = 2000;

interface Opened {
  readonly rowId: string;
  /** The provider itself (closed at the end). */
  readonly raw: StorageDestination;
  /** The provider as the engine sees it (records the folder). */
  dest: RecordingDestination;
  /** The backup folder, once the first upload began. */
  folder?: string;
}

/**
 * After a run that did not complete on a destination, removes whatever is left in its folder. The
 * engine cleans up too; this is the server's own guarantee (an upload that finished in the same
 * instant as an abort can escape the engine's list).
 */
async function sweep(opened: readonly Opened[], done: ReadonlySet<string>): Promise<void> {
  for (const o of opened) {
    if (!o.folder || done.has(o.rowId)) continue;
    await o.dest.settled();
    await removeParts(o.raw, o.folder).catch(() => undefined);
  }
}

export function backupJob(deps: BackupDeps, backupId: string): JobBody {
  return async (signal, publish) => {
    const { store } = deps;
    const row = (await store.backups.byId(backupId))!;
    const rows = await store.backups.destinations(backupId);
    const startedAt = new Date();
    let status: BackupStatus = "dumping";
    await store.backups.update(backupId, { status, startedAt });
    const statusEvent = (extra: Record<string, unknown> = {}): JobEvent => ({
      type: "status",
      data: { id: backupId, status, ...extra },
    });
    publish(statusEvent());

    const project = row.projectId ? await store.projects.byId(row.projectId) : undefined;
    const secrets: string[] = [];
    const opened: Opened[] = [];
    const workDir = join(deps.stagingDir, "work", backupId);
    let lastProgress: BackupProgress | undefined;
    /** Per-destination rows whose copy completed: never swept. */
    const completed = new Set<string>();
    let lastWrite = 0;

    const finish = async (final: BackupStatus, error: string | null, patch: Partial<BackupRecord> = {}): Promise<JobFinished> => {
      const clean = error ? redact(error, secrets) : null;
      // Before the row says the run is over: whoever reads the final state finds nothing left behind.
      if (final !== "completed" || completed.size < opened.length) await sweep(opened, completed);
      status = final;
      await store.backups.update(backupId, { status: final, error: clean, finishedAt: new Date(), ...patch });
      publish(statusEvent({ error: clean }));
      return { kind: "backup", id: backupId, status: final, error: clean };
    };

    try {
      if (!project) return await finish("failed", "the project of this backup was deleted before it started");
      const databaseUrl = deps.projects.databaseUrl(project);
      const target = new URL(databaseUrl);
      if (target.password) secrets.push(decodeURIComponent(target.password), target.password);

      for (const r of rows) {
        let dest: StorageDestination;
        if (r.destinationId) {
          const record = await store.destinations.byId(r.destinationId);
          if (!record) {
            await store.backups.updateDestination(r.id, { status: "failed", error: "the destination was deleted" });
            continue;
          }
          dest = await deps.destinations.open(record);
        } else {
          await mkdir(workDir, { recursive: true, mode: 0o700 });
          dest = new LocalMappedDestination({ basePath: workDir });
        }
        const rowId = r.id;
        const entry: Opened = {
          rowId,
          raw: dest,
          dest: recordingDestination(dest, async (folder) => {
            entry.folder = folder;
            await store.backups.updateDestination(rowId, { status: "uploading", storageFilePath: folder });
            if (!row.storageFilePath) await store.backups.update(backupId, { storageFilePath: folder });
          }),
        };
        opened.push(entry);
      }
      if (opened.length === 0) return await finish("failed", "none of the chosen destinations exists any more");

      const migrationHistory = row.includeMigrationHistory && (await deps.hasMigrationHistory(databaseUrl));
      const progressEvent = (p: BackupProgress): JobEvent => ({
        type: "progress",
        data: {
          id: backupId,
          phase: status,
          part: p.part,
          bytesDumped: p.bytesDumped,
          bytesStored: p.bytesStored,
          bytesPerSecond: p.bytesPerSecond,
          elapsedMs: p.elapsedMs,
          destinations: p.uploaded.map((u, i) => ({
            id: opened[i]?.rowId,
            name: u.destination,
            bytesUploaded: u.bytes,
            failed: u.failed,
          })),
        },
      });
      let result: BackupResult;
      try {
        result = await runBackup({
          databaseUrl,
          destinations: opened.map((o) => o.dest),
          type: row.backupType,
          name: engineName(row.projectName),
          migrationHistory,
          compression: row.compression,
          signal,
          onProgress: (p) => {
            lastProgress = p;
            publish(progressEvent(p));
            const now = Date.now();
            if (now - lastWrite > DB_WRITE_INTERVAL_MS) {
              lastWrite = now;
              void store.backups.update(backupId, { bytesDumped: p.bytesDumped, bytesStored: p.bytesStored }).catch(() => {});
            }
          },
        });
      } catch (error) {
        const aborted = signal.aborted;
        for (const o of opened) {
          await store.backups.updateDestination(o.rowId, {
            status: aborted ? "cancelled" : "failed",
            error: aborted ? null : redact((error as Error).message, secrets),
          });
        }
        if (aborted) return await finish("cancelled", null);
        return await finish("failed", (error as Error).message);
      }

      const manifest = result.destinations.find((d) => d.ok)?.manifest;
      const size = manifest ? manifest.files.reduce((sum, f) => sum + f.size, 0) : 0;
      let manifestBody: string | undefined;
      let manifestSha256: string | undefined;
      const failures: string[] = [];
      for (const [i, outcome] of result.destinations.entries()) {
        const o = opened[i]!;
        const r = rows.find((x) => x.id === o.rowId)!;
        if (outcome.ok) {
          completed.add(o.rowId);
          await store.backups.updateDestination(o.rowId, {
            status: "completed",
            storageFilePath: outcome.backupId,
            size,
            bytesUploaded: lastProgress?.uploaded[i]?.bytes ?? size,
            error: null,
          });
          if (r.destinationId) await store.destinations.addUsage(r.destinationId, 1, size);
          if (!manifestBody) {
            manifestBody = await readText(o.dest, `${outcome.backupId}/${MANIFEST_FILE}`).catch(() => undefined);
            if (manifestBody) manifestSha256 = createHash("sha256").update(manifestBody).digest("hex");
          }
        } else {
          const message = redact(outcome.error.message, secrets);
          failures.push(message);
          await store.backups.updateDestination(o.rowId, { status: signal.aborted ? "cancelled" : "failed", error: message });
        }
      }
      const common: Partial<BackupRecord> = {
        storageFilePath: result.backupId,
        bytesDumped: lastProgress?.bytesDumped ?? 0,
        bytesStored: size,
        ...(manifestBody ? { manifest: manifestBody, manifestSha256: manifestSha256 ?? null } : {}),
      };
      if (!result.ok && signal.aborted) return await finish("cancelled", null, common);
      if (!manifest) return await finish("failed", failures.join("; ") || "no destination stored the backup", common);

      if (row.storageType === "browser_download") {
        status = "uploading";
        await store.backups.update(backupId, { status, ...common });
        publish(statusEvent());
        const folder = join(workDir, ...result.backupId.split("/"));
        const base = downloadBaseName(manifest);
        const key = `${backupId}/${base}.tar`;
        const staged = await deps.downloads.upload(Readable.from(tarBackupFolder(folder, manifest, signal)), key, {
          signal,
          contentType: "application/x-tar",
        });
        await rm(workDir, { recursive: true, force: true });
        return await finish("completed", null, {
          ...common,
          localFilePath: key,
          downloadUrl: deps.box.encrypt(staged.url, `backup:${backupId}:download_url`),
          expiresAt: staged.expiresAt,
        });
      }
      return await finish("completed", failures.length ? `some destinations failed: ${failures.join("; ")}` : null, {
        ...common,
        storageDestinationId: rows.find((r) => r.destinationId)?.destinationId ?? null,
      });
    } catch (error) {
      if (signal.aborted) return await finish("cancelled", null);
      deps.log.error({ err: error, backupId }, "backup job failed");
      return await finish("failed", (error as Error).message);
    } finally {
      await Promise.all(opened.map((o) => o.raw.close().catch(() => {})));
      await rm(workDir, { recursive: true, force: true }).catch(() => {});
    }
  };
}

/** Reads a whole small object (a manifest) as text. */
export async function readText(dest: StorageDestination, key: string): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of await dest.download(key)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * @module server/services/backups
 * Manual backups (the seed's `ManualBackupOptions`), their rows and results, cancel, delete,
 * verify. Runs go through the job runner (jobs/backup-job.ts); `start` is also what the scheduler
 * calls, with `trigger: "schedule"`.
 */
import { randomUUID } from "node:crypto";
import { type BackupManifest, MANIFEST_FILE, verifyBackup } from "@stowage/backup-core";
import type { BrowserDownloadDestination, StorageDestination } from "@stowage/storage";
import pg from "pg";
import type { Logger } from "pino";
import type { Actor, AuditLog } from "../audit.ts";
import type { SecretBox } from "../crypto/secret-box.ts";
import type { BackupDestinationRecord, BackupRecord, BackupStatus, MetadataStore } from "../db/store.ts";
import { ApiError, notFound } from "../errors.ts";
import { backupJob } from "../jobs/backup-job.ts";
import type { JobQueue, JobStarted } from "../jobs/queue.ts";
import type { JobBody, JobFinished, JobRunner } from "../jobs/runner.ts";
import type { DestinationService } from "./destinations.ts";
import type { ProjectService } from "./projects.ts";

export interface BackupDeps {
  readonly store: MetadataStore;
  readonly box: SecretBox;
  readonly log: Logger;
  readonly jobs: JobRunner;
  readonly projects: ProjectService;
  readonly destinations: DestinationService;
  readonly downloads: BrowserDownloadDestination;
  readonly audit: AuditLog;
  /** `<data dir>/staging`: browser-download work folders and staged `.tar` files. */
  readonly stagingDir: string;
  /** Whether the database has a `supabase_migrations` schema (migration history is included only then). */
  readonly hasMigrationHistory: (databaseUrl: string) => Promise<boolean>;
  /** Which server takes a manual backup (pg-boss with several servers, this process with SQLite). */
  readonly queue: JobQueue;
  /** This server instance, written as `owner` on the rows it runs. */
  readonly instanceId: string;
}

export interface StartBackupInput {
  backupType: "full" | "schema" | "data";
  storageType: "browser_download" | "destination";
  storageDestinationId?: string | undefined;
  storageDestinationIds?: string[] | undefined;
  compressionType: "gzip" | "zstd" | "none";
  includeMigrationHistory?: boolean | undefined;
  trigger?: "manual" | "schedule";
  scheduleId?: string | null;
  /**
   * Wraps the job body (the scheduler: retries within the run, retention, drills). A wrapped job runs
   * in this server at once: the scheduler already holds the run (its queue job or its run-now).
   */
  wrapJob?: ((body: JobBody, backupId: string) => JobBody) | undefined;
}

export const FINAL_STATUSES: readonly BackupStatus[] = ["completed", "failed", "cancelled"];

export interface BackupDestinationView {
  id: string;
  destinationId: string | null;
  name: string;
  status: BackupDestinationRecord["status"];
  storageFilePath: string | null;
  size: number | null;
  bytesUploaded: number;
  error: string | null;
}

export interface BackupView {
  id: string;
  projectId: string | null;
  projectName: string;
  backupType: BackupRecord["backupType"];
  compressionType: BackupRecord["compression"];
  includeMigrationHistory: boolean;
  storageType: BackupRecord["storageType"];
  status: BackupStatus;
  trigger: BackupRecord["trigger"];
  scheduleId: string | null;
  storageDestinationId: string | null;
  storageFilePath: string | null;
  downloadUrl: string | null;
  expiresAt: string | null;
  bytesDumped: number;
  size: number;
  manifestSha256: string | null;
  error: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  durationMs: number | null;
  verifiedAt: string | null;
  verifyStatus: "ok" | "failed" | null;
  verifyError: string | null;
  destinations: BackupDestinationView[];
  manifest?: BackupManifest | null;
}

const iso = (d: Date | null) => d?.toISOString() ?? null;

export class BackupService {
  constructor(private readonly deps: BackupDeps) {}

  async get(id: string): Promise<BackupRecord> {
    const row = await this.deps.store.backups.byId(id);
    if (!row) throw notFound("backup");
    return row;
  }

  /**
   * The answer for one backup. `downloadUrl` only for admins and only while the staged file waits;
   * `manifest` (files, checksums, row counts) only when asked (the detail view).
   */
  view(row: BackupRecord, destinations: BackupDestinationRecord[], options: { admin: boolean; manifest?: boolean }): BackupView {
    let downloadUrl: string | null = null;
    const live = row.expiresAt && row.expiresAt.getTime() > Date.now();
    if (options.admin && row.downloadUrl && live) {
      try {
        downloadUrl = this.deps.box.decrypt(row.downloadUrl, `backup:${row.id}:download_url`);
      } catch {
        downloadUrl = null;
      }
    }
    let manifest: BackupManifest | null | undefined;
    if (options.manifest) manifest = row.manifest ? (JSON.parse(row.manifest) as BackupManifest) : null;
    return {
      id: row.id,
      projectId: row.projectId,
      projectName: row.projectName,
      backupType: row.backupType,
      compressionType: row.compression,
      includeMigrationHistory: row.includeMigrationHistory,
      storageType: row.storageType,
      status: row.status,
      trigger: row.trigger,
      scheduleId: row.scheduleId,
      storageDestinationId: row.storageDestinationId,
      storageFilePath: row.storageFilePath,
      downloadUrl,
      expiresAt: row.storageType === "browser_download" ? iso(row.expiresAt) : null,
      bytesDumped: row.bytesDumped,
      size: row.bytesStored,
      manifestSha256: row.manifestSha256,
      error: row.error,
      createdAt: row.createdAt.toISOString(),
      startedAt: iso(row.startedAt),
      finishedAt: iso(row.finishedAt),
      durationMs: row.startedAt && row.finishedAt ? row.finishedAt.getTime() - row.startedAt.getTime() : null,
      verifiedAt: iso(row.verifiedAt),
      verifyStatus: row.verifyStatus,
      verifyError: row.verifyError,
      destinations: destinations.map((d) => ({
        id: d.id,
        destinationId: d.destinationId,
        name: d.destinationName,
        status: d.status,
        storageFilePath: d.storageFilePath,
        size: d.size,
        bytesUploaded: d.bytesUploaded,
        error: d.error,
      })),
      ...(options.manifest ? { manifest } : {}),
    };
  }

  /** Creates the row (`pending`) and queues the job; answers the backup id at once. */
  async start(projectId: string, input: StartBackupInput, actor: Actor): Promise<string> {
    const { store } = this.deps;
    const project = await this.deps.projects.get(projectId);
    const id = randomUUID();
    const destinationRows: BackupDestinationRecord[] = [];
    if (input.storageType === "destination") {
      const ids = [
        ...new Set([...(input.storageDestinationIds ?? []), ...(input.storageDestinationId ? [input.storageDestinationId] : [])]),
      ];
      if (ids.length === 0) {
        const fallback = await store.destinations.defaultDestination();
        if (!fallback) {
          throw new ApiError(
            "INVALID_INPUT",
            "storageDestinationId: no destination chosen and no default destination exists; add one at POST /api/destinations",
            "storageDestinationId",
          );
        }
        ids.push(fallback.id);
      }
      for (const destId of ids) {
        const record = await store.destinations.byId(destId);
        if (!record)
          throw new ApiError("INVALID_INPUT", `storageDestinationIds: no storage destination ${destId}`, "storageDestinationIds");
        if (!record.enabled) {
          throw new ApiError(
            "INVALID_INPUT",
            `storageDestinationIds: the destination "${record.name}" is disabled`,
            "storageDestinationIds",
          );
        }
        destinationRows.push({
          id: randomUUID(),
          backupId: id,
          destinationId: record.id,
          destinationName: record.name,
          status: "pending",
          storageFilePath: null,
          bytesUploaded: 0,
          size: null,
          error: null,
        });
      }
    } else {
      destinationRows.push({
        id: randomUUID(),
        backupId: id,
        destinationId: null,
        destinationName: "Browser download",
        status: "pending",
        storageFilePath: null,
        bytesUploaded: 0,
        size: null,
        error: null,
      });
    }
    const row: BackupRecord = {
      id,
      projectId: project.id,
      projectName: project.name,
      backupType: input.backupType,
      compression: input.compressionType,
      includeMigrationHistory: input.includeMigrationHistory ?? project.includeMigrationHistory,
      storageType: input.storageType,
      status: "pending",
      trigger: input.trigger ?? "manual",
      scheduleId: input.scheduleId ?? null,
      storageDestinationId: destinationRows[0]?.destinationId ?? null,
      storageFilePath: null,
      localFilePath: null,
      downloadUrl: null,
      expiresAt: null,
      bytesDumped: 0,
      bytesStored: 0,
      manifestSha256: null,
      manifest: null,
      error: null,
      createdBy: actor.user?.id ?? null,
      createdAt: new Date(),
      startedAt: null,
      finishedAt: null,
      verifiedAt: null,
      verifyStatus: null,
      verifyError: null,
      owner: null,
      heartbeatAt: null,
      cancelRequestedAt: null,
    };
    await store.backups.create(row, destinationRows);
    await this.deps.audit.record(
      actor,
      "backup_started",
      { type: "backup", id },
      {
        project: project.name,
        backupType: input.backupType,
        storageType: input.storageType,
        trigger: row.trigger,
      },
    );
    if (input.wrapJob) {
      const { wrapJob } = input;
      await this.runHere(id, (body) => wrapJob(body, id));
    } else {
      await this.deps.queue.sendBackup(id);
    }
    return id;
  }

  /**
   * The queue's handler: claims the row for this server (false when another server took it or it was
   * cancelled while queued) and runs the job in this process's job runner.
   */
  async runHere(id: string, wrap?: (body: JobBody) => JobBody): Promise<JobStarted> {
    const { store, jobs } = this.deps;
    if (!(await store.backups.claim(id, this.deps.instanceId, new Date()))) return { done: Promise.resolve() };
    const finished = jobs.whenFinished(id);
    const body = backupJob(this.deps, id);
    jobs.submit(id, "backup", wrap ? wrap(body) : body, () => this.cancelRow(id));
    return { done: finished.then(() => {}) };
  }

  private async cancelRow(id: string): Promise<JobFinished> {
    const { store } = this.deps;
    await store.backups.update(id, { status: "cancelled", finishedAt: new Date() });
    for (const d of await store.backups.destinations(id)) await store.backups.updateDestination(d.id, { status: "cancelled" });
    return { kind: "backup", id, status: "cancelled" };
  }

  /**
   * Cancels here when this server runs (or holds) the job, or while it still waits in the shared
   * queue. A backup that another server runs gets a cancel request on its row instead, which that
   * server's heartbeat (JOB_HEARTBEAT_INTERVAL) sees and acts on: answers `requested: true` then.
   */
  async cancel(id: string, actor: Actor): Promise<{ requested: boolean }> {
    const { store } = this.deps;
    const row = await this.get(id);
    if (FINAL_STATUSES.includes(row.status)) throw new ApiError("CONFLICT", `the backup is already ${row.status}`);
    let requested = false;
    if (!this.deps.jobs.cancel(id)) {
      // Still waiting in the shared queue (no server took it yet): the worker that fetches it finds it cancelled.
      if (await store.backups.cancelQueued(id, new Date())) {
        for (const d of await store.backups.destinations(id))
          await store.backups.updateDestination(d.id, { status: "cancelled" });
      } else if (this.deps.queue.shared && (await store.backups.requestCancel(id, new Date()))) {
        // Another server runs it (with SQLite there is no other server: nothing to ask).
        requested = true;
      } else {
        const now = await this.get(id);
        throw new ApiError("CONFLICT", `the backup is already ${now.status}`);
      }
    }
    await this.deps.audit.record(
      actor,
      "backup_cancelled",
      { type: "backup", id },
      { project: row.projectName, ...(requested ? { requestedFrom: row.owner } : {}) },
    );
    return { requested };
  }

  /** Opens the destination of a completed per-destination row (the caller closes it). */
  private async openResult(d: BackupDestinationRecord): Promise<StorageDestination | undefined> {
    if (!d.destinationId) return undefined;
    const record = await this.deps.store.destinations.byId(d.destinationId);
    return record ? this.deps.destinations.open(record) : undefined;
  }

  /** Removes the backup from every destination (manifest first, so a half-deleted folder is incomplete), then the row. */
  async delete(id: string, actor: Actor): Promise<void> {
    const row = await this.get(id);
    if (!FINAL_STATUSES.includes(row.status)) throw new ApiError("CONFLICT", "the backup is still running: cancel it first");
    const problems: string[] = [];
    for (const d of await this.deps.store.backups.destinations(id)) {
      if (!d.storageFilePath || d.status === "deleted") continue;
      let dest: StorageDestination | undefined;
      try {
        dest = await this.openResult(d);
        if (!dest) continue;
        const folder = d.storageFilePath;
        await dest.delete(`${folder}/${MANIFEST_FILE}`);
        for (const object of await dest.list(`${folder}/`)) await dest.delete(object.key);
        if (d.status === "completed" && d.destinationId)
          await this.deps.store.destinations.addUsage(d.destinationId, -1, -(d.size ?? 0));
        await this.deps.store.backups.updateDestination(d.id, { status: "deleted" });
      } catch (error) {
        problems.push(`${d.destinationName}: ${(error as Error).message}`);
      } finally {
        await dest?.close().catch(() => {});
      }
    }
    if (row.localFilePath) await this.deps.downloads.delete(row.localFilePath).catch(() => {});
    if (problems.length > 0) {
      throw new ApiError("UNAVAILABLE", `the backup could not be removed everywhere; try again: ${problems.join("; ")}`);
    }
    await this.deps.store.backups.delete(id);
    await this.deps.audit.record(actor, "backup_deleted", { type: "backup", id }, { project: row.projectName });
  }

  /** A completed destination copy to read from (the given one, else the first). */
  async source(id: string, destinationRowId?: string): Promise<{ row: BackupRecord; dest: StorageDestination; folder: string }> {
    const row = await this.get(id);
    if (row.status !== "completed")
      throw new ApiError("CONFLICT", `the backup is ${row.status}; only a completed backup can be read`);
    const candidates = (await this.deps.store.backups.destinations(id)).filter(
      (d) =>
        d.status === "completed" &&
        d.destinationId &&
        d.storageFilePath &&
        (!destinationRowId || d.id === destinationRowId || d.destinationId === destinationRowId),
    );
    for (const d of candidates) {
      const dest = await this.openResult(d);
      if (dest) return { row, dest, folder: d.storageFilePath! };
    }
    throw new ApiError(
      "CONFLICT",
      row.storageType === "browser_download"
        ? "this backup was a browser download: the server keeps no copy; restore it from the file with POST /api/restores"
        : "no destination of this backup is available any more",
    );
  }

  async verify(id: string, actor: Actor, destinationRowId?: string) {
    const { row, dest, folder } = await this.source(id, destinationRowId);
    try {
      const result = await verifyBackup({ source: { destination: dest, folder } });
      const failed = result.files.filter((f) => !f.ok);
      const verifyError = result.ok
        ? null
        : failed.map((f) => `${f.name}: ${f.error ?? f.code}`).join("; ") || "verification failed";
      const verifiedAt = new Date();
      await this.deps.store.backups.update(id, { verifiedAt, verifyStatus: result.ok ? "ok" : "failed", verifyError });
      await this.deps.audit.record(actor, "backup_verified", { type: "backup", id }, { project: row.projectName, ok: result.ok });
      return { ok: result.ok, verifiedAt: verifiedAt.toISOString(), error: verifyError, files: result.files };
    } catch (error) {
      const message = (error as Error).message;
      await this.deps.store.backups.update(id, { verifiedAt: new Date(), verifyStatus: "failed", verifyError: message });
      return { ok: false, verifiedAt: new Date().toISOString(), error: message, files: [] };
    } finally {
      await dest.close().catch(() => {});
    }
  }
}

/** True when the database has Supabase's migration history schema. */
export async function hasMigrationHistory(databaseUrl: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 10_000 });
  try {
    await client.connect();
    const { rows } = await client.query<{ ok: boolean }>(
      "select exists(select 1 from pg_namespace where nspname = 'supabase_migrations') as ok",
    );
    return rows[0]?.ok === true;
  } catch {
    // Let the engine meet (and explain) the connection problem.
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

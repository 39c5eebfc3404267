/**
 * @module server/services/restores
 * Restores as jobs with the same events as backups: from a stored backup
 * (`POST /api/backups/:id/restore`), from an uploaded browser-download `.tar` (`POST /api/restores`),
 * or from a point-in-time archive to a moment (`POST /api/point-in-time/restore`, the engine's
 * `restoreToTime()`, as `stowage restore --to-time`).
 * The target URL (it may hold a password) lives only in memory for the job; the row keeps it without the password.
 */
import { randomUUID } from "node:crypto";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import {
  type BackupLocation,
  type BackupManifest,
  type DecryptionKeys,
  locateBackup,
  PitrError,
  parseDatabaseUrl,
  planRestoreToTime,
  restoreToTime,
  runRestore,
} from "@stowage/backup-core";
import { redact } from "@stowage/storage";
import type { Actor } from "../audit.ts";
import type { RestoreRecord } from "../db/store.ts";
import { ApiError, notFound } from "../errors.ts";
import type { JobEvent, JobFinished } from "../jobs/runner.ts";
import { receiveUpload } from "../jobs/upload-extract.ts";
import type { BackupDeps, BackupService } from "./backups.ts";

export interface RestoreRequest {
  targetDatabaseUrl: string;
  clean: boolean;
  passphrase?: string | undefined;
}

/** `POST /api/point-in-time/restore`: an archive on a destination, restored to a moment. */
export interface PointInTimeRestoreRequest extends RestoreRequest {
  destinationId: string;
  /** The archive name (`stowage stream --name`). */
  name: string;
  /** ISO 8601 with a time zone, or `latest`. */
  toTime: string;
}

type Source = RestoreRecord["source"];
/** What a restore job does; `progress` publishes and records how far it got. */
type RestoreWork = (
  signal: AbortSignal,
  progress: (data: Record<string, unknown> & { bytesRestored?: number }) => void,
) => Promise<Record<string, unknown> | undefined>;

export interface RestoreView {
  id: string;
  backupId: string | null;
  source: Source;
  targetDatabase: string;
  clean: boolean;
  status: RestoreRecord["status"];
  bytesRestored: number;
  error: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

function checkTarget(url: string): string {
  try {
    return parseDatabaseUrl(url, {}).urlWithoutPassword;
  } catch (error) {
    throw new ApiError("INVALID_INPUT", `targetDatabaseUrl: ${(error as Error).message}`, "targetDatabaseUrl");
  }
}

export class RestoreService {
  constructor(
    private readonly deps: BackupDeps,
    private readonly backups: BackupService,
  ) {}

  view(r: RestoreRecord): RestoreView {
    return {
      id: r.id,
      backupId: r.backupId,
      source: r.source,
      targetDatabase: r.targetDatabase,
      clean: r.clean,
      status: r.status,
      bytesRestored: r.bytesRestored,
      error: r.error,
      createdAt: r.createdAt.toISOString(),
      startedAt: r.startedAt?.toISOString() ?? null,
      finishedAt: r.finishedAt?.toISOString() ?? null,
    };
  }

  async get(id: string): Promise<RestoreRecord> {
    const row = await this.deps.store.restores.byId(id);
    if (!row) throw notFound("restore");
    return row;
  }

  async fromBackup(backupId: string, request: RestoreRequest, actor: Actor): Promise<string> {
    const targetDatabase = checkTarget(request.targetDatabaseUrl);
    const { dest, folder, row } = await this.backups.source(backupId);
    const manifest = row.manifest ? (JSON.parse(row.manifest) as BackupManifest) : undefined;
    return this.submit(
      { backupId, source: "backup", targetDatabase },
      request,
      actor,
      fullRestore(request, { destination: dest, folder }, manifest),
      async () => {
        await dest.close().catch(() => {});
      },
    );
  }

  /**
   * A point-in-time archive restored to a moment. The plan (which base, which segments, whether the
   * time is inside a window) is made before the job starts, so a time outside every window or a
   * missing key is a 422 that names the windows, not a failed job.
   */
  async toTime(request: PointInTimeRestoreRequest, actor: Actor): Promise<string> {
    const targetDatabase = checkTarget(request.targetDatabaseUrl);
    const dest = await this.deps.destinations.open(await this.deps.destinations.get(request.destinationId));
    try {
      const plan = await planRestoreToTime(dest, request.name, request.toTime).catch((error: unknown) => {
        if (!PitrError.is(error)) throw error;
        if (error.code === "NO_ARCHIVE") throw new ApiError("NOT_FOUND", error.message, "name");
        throw new ApiError("INVALID_INPUT", `toTime: ${error.message}`, "toTime");
      });
      const encryption = plan.manifest.encryption;
      if (encryption && !encryption.passphrase) {
        throw new ApiError(
          "INVALID_INPUT",
          "the archive is encrypted to age recipients; the server holds no identity: run stowage restore --to-time --identity <file>",
        );
      }
      if (encryption && !request.passphrase) {
        throw new ApiError("INVALID_INPUT", "passphrase: the archive is encrypted; send its passphrase", "passphrase");
      }
      const keys: DecryptionKeys | undefined = request.passphrase ? { passphrase: request.passphrase } : undefined;
      const work: RestoreWork = async (signal, progress) => {
        const result = await restoreToTime({
          destination: dest,
          name: request.name,
          toTime: request.toTime,
          plan,
          targetUrl: request.targetDatabaseUrl,
          clean: request.clean,
          ...(keys ? { keys } : {}),
          signal,
          onProgress: (p) =>
            progress({
              phase: p.phase === "base" ? `restoring base ${plan.window.base.marker.backupId}` : "replaying changes",
              transactions: p.transactions,
            }),
        });
        return { reached: result.reached, baseId: result.baseId, transactions: result.transactions };
      };
      return await this.submit({ backupId: null, source: "point_in_time", targetDatabase }, request, actor, work, () =>
        dest.close(),
      );
    } catch (error) {
      await dest.close().catch(() => {});
      throw error;
    }
  }

  async fromUpload(body: Readable, contentType: string, actor: Actor): Promise<string> {
    const id = randomUUID();
    const folder = join(this.deps.stagingDir, "uploads", id);
    const upload = await receiveUpload(body, contentType, folder);
    try {
      const request: RestoreRequest = {
        targetDatabaseUrl: upload.fields.targetDatabaseUrl ?? "",
        clean: /^(true|1|on|yes)$/i.test(upload.fields.clean ?? ""),
        passphrase: upload.fields.passphrase || upload.fields.key || undefined,
      };
      if (!request.targetDatabaseUrl) throw new ApiError("INVALID_INPUT", "targetDatabaseUrl: required", "targetDatabaseUrl");
      const targetDatabase = checkTarget(request.targetDatabaseUrl);
      if (upload.manifest.encryption && !request.passphrase) {
        throw new ApiError("INVALID_INPUT", "passphrase: the backup is encrypted; send its passphrase", "passphrase");
      }
      return await this.submit(
        { backupId: null, source: "upload", targetDatabase, id },
        request,
        actor,
        fullRestore(request, locateBackup(folder), upload.manifest),
        () => rm(folder, { recursive: true, force: true }),
      );
    } catch (error) {
      await rm(folder, { recursive: true, force: true });
      throw error;
    }
  }

  private async submit(
    base: { backupId: string | null; source: Source; targetDatabase: string; id?: string },
    request: RestoreRequest,
    actor: Actor,
    work: RestoreWork,
    cleanup: () => Promise<void>,
  ): Promise<string> {
    const { store } = this.deps;
    const id = base.id ?? randomUUID();
    const row: RestoreRecord = {
      id,
      backupId: base.backupId,
      source: base.source,
      targetDatabase: base.targetDatabase,
      clean: request.clean,
      status: "pending",
      bytesRestored: 0,
      error: null,
      createdBy: actor.user?.id ?? null,
      createdAt: new Date(),
      startedAt: null,
      finishedAt: null,
      // A restore runs where its request arrived (an upload streams into this process): ours from the start.
      owner: this.deps.instanceId,
      heartbeatAt: new Date(),
      cancelRequestedAt: null,
    };
    await store.restores.create(row);
    await this.deps.audit.record(
      actor,
      "restore_started",
      { type: "restore", id },
      {
        backup: base.backupId,
        source: base.source,
        target: base.targetDatabase,
        clean: request.clean,
      },
    );
    const target = new URL(request.targetDatabaseUrl);
    const secrets = [
      request.passphrase,
      target.password,
      target.password ? decodeURIComponent(target.password) : undefined,
    ].filter((s): s is string => !!s);
    const finish = async (
      publish: (e: JobEvent) => void,
      status: RestoreRecord["status"],
      error: string | null,
      outcome?: Record<string, unknown>,
    ): Promise<JobFinished> => {
      const clean = error ? redact(error, secrets) : null;
      await store.restores.update(id, { status, error: clean, finishedAt: new Date() });
      publish({ type: "status", data: { id, status, error: clean, ...outcome } });
      return { kind: "restore", id, status, error: clean };
    };
    this.deps.jobs.submit(
      id,
      "restore",
      async (signal, publish) => {
        try {
          await store.restores.update(id, { status: "restoring", startedAt: new Date() });
          publish({ type: "status", data: { id, status: "restoring" } });
          let last = 0;
          const outcome = await work(signal, (data) => {
            publish({ type: "progress", data: { id, ...data } });
            if (data.bytesRestored !== undefined && Date.now() - last > 2000) {
              last = Date.now();
              void store.restores.update(id, { bytesRestored: data.bytesRestored }).catch(() => {});
            }
          });
          return await finish(publish, "completed", null, outcome);
        } catch (error) {
          if (signal.aborted) return await finish(publish, "cancelled", null);
          return await finish(publish, "failed", (error as Error).message);
        } finally {
          await cleanup().catch(() => {});
        }
      },
      async () => {
        await cleanup().catch(() => {});
        await store.restores.update(id, { status: "cancelled", finishedAt: new Date() });
        return { kind: "restore", id, status: "cancelled" };
      },
    );
    return id;
  }

  /**
   * Cancels here when this server runs the restore (an upload streams into the server that took it,
   * so a restore always runs where it was asked for). One that another server runs (PostgreSQL
   * metadata) gets a cancel request on its row instead, which that server's heartbeat
   * (JOB_HEARTBEAT_INTERVAL) acts on: answers `requested: true` then. Either way the restore's one
   * transaction is rolled back and the target stays as it was.
   */
  async cancel(id: string, actor: Actor): Promise<{ requested: boolean }> {
    const row = await this.get(id);
    if (isFinal(row.status)) throw new ApiError("CONFLICT", `the restore is already ${row.status}`);
    let requested = false;
    if (!this.deps.jobs.cancel(id)) {
      // With SQLite no other server exists to ask; a row of this server not in its job runner is ending.
      requested =
        this.deps.queue.shared &&
        row.owner !== this.deps.instanceId &&
        (await this.deps.store.restores.requestCancel(id, new Date()));
      if (!requested) {
        const now = await this.get(id);
        throw new ApiError(
          "CONFLICT",
          isFinal(now.status) ? `the restore is already ${now.status}` : "the restore is not running in this server",
        );
      }
    }
    await this.deps.audit.record(
      actor,
      "restore_cancelled",
      { type: "restore", id },
      { backup: row.backupId, target: row.targetDatabase, ...(requested ? { requestedFrom: row.owner } : {}) },
    );
    return { requested };
  }
}

function isFinal(status: RestoreRecord["status"]): boolean {
  return status === "completed" || status === "failed" || status === "cancelled";
}

/** A whole backup restored (from a destination or an upload), with byte progress. */
function fullRestore(request: RestoreRequest, location: BackupLocation, manifest: BackupManifest | undefined): RestoreWork {
  return async (signal, progress) => {
    await runRestore({
      source: location,
      targetUrl: request.targetDatabaseUrl,
      clean: request.clean,
      ...(manifest ? { manifest } : {}),
      ...(request.passphrase ? { keys: { passphrase: request.passphrase } } : {}),
      signal,
      onProgress: (p) =>
        progress({ phase: "restoring", file: p.file, bytesRestored: p.totalStoredBytes, totalBytes: p.backupBytes }),
    });
    return undefined;
  };
}

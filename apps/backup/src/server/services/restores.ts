/**
 * @module server/services/restores
 * Restores as jobs with the same events as backups: from a stored backup
 * (`POST /api/backups/:id/restore`) or from an uploaded browser-download `.tar` (`POST /api/restores`).
 * The target URL (it may hold a password) lives only in memory for the job; the row keeps it without the password.
 */
import { randomUUID } from "node:crypto";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { type BackupLocation, type BackupManifest, locateBackup, parseDatabaseUrl, runRestore } from "@stowage/backup-core";
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

export interface RestoreView {
  id: string;
  backupId: string | null;
  source: "backup" | "upload";
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
      { destination: dest, folder },
      manifest,
      async () => {
        await dest.close().catch(() => {});
      },
    );
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
        locateBackup(folder),
        upload.manifest,
        () => rm(folder, { recursive: true, force: true }),
      );
    } catch (error) {
      await rm(folder, { recursive: true, force: true });
      throw error;
    }
  }

  private async submit(
    base: { backupId: string | null; source: "backup" | "upload"; targetDatabase: string; id?: string },
    request: RestoreRequest,
    actor: Actor,
    location: BackupLocation,
    manifest: BackupManifest | undefined,
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
    ): Promise<JobFinished> => {
      const clean = error ? redact(error, secrets) : null;
      await store.restores.update(id, { status, error: clean, finishedAt: new Date() });
      publish({ type: "status", data: { id, status, error: clean } });
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
          await runRestore({
            source: location,
            targetUrl: request.targetDatabaseUrl,
            clean: request.clean,
            ...(manifest ? { manifest } : {}),
            ...(request.passphrase ? { keys: { passphrase: request.passphrase } } : {}),
            signal,
            onProgress: (p) => {
              publish({
                type: "progress",
                data: { id, phase: "restoring", file: p.file, bytesRestored: p.totalStoredBytes, totalBytes: p.backupBytes },
              });
              if (Date.now() - last > 2000) {
                last = Date.now();
                void store.restores.update(id, { bytesRestored: p.totalStoredBytes }).catch(() => {});
              }
            },
          });
          return await finish(publish, "completed", null);
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

  async cancel(id: string): Promise<void> {
    const row = await this.get(id);
    if (["completed", "failed", "cancelled"].includes(row.status))
      throw new ApiError("CONFLICT", `the restore is already ${row.status}`);
    if (!this.deps.jobs.cancel(id)) throw new ApiError("CONFLICT", "the restore is not running in this server");
  }
}

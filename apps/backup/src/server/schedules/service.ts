/**
 * @module server/schedules/service
 * Schedules as the API sees them: validation (cron and zone through croner, a retention policy that
 * keeps something, a drill database that is not the project's own), secrets (the drill URL) stored
 * encrypted and answered with its password masked, and the computed `nextRunAt` / `nextRuns`.
 */
import { randomUUID } from "node:crypto";
import { policyKeepsAnything, type RetentionPolicy } from "@stowage/backup-core";
import type { Actor, AuditLog } from "../audit.ts";
import type { SecretBox } from "../crypto/secret-box.ts";
import type { MetadataStore } from "../db/store.ts";
import { ApiError, notFound } from "../errors.ts";
import { maskUrl, type ProjectService } from "../services/projects.ts";
import type { Clock } from "./clock.ts";
import { nextRun, nextRuns, parseCron } from "./cron.ts";
import type { ScheduleRecord, ScheduleRunRecord } from "./repository.ts";

export interface SchedulePolicy extends RetentionPolicy {
  /** Also prune manual (and CLI) backups of the project on the destination; default false. */
  readonly includeManual?: boolean;
}

export interface DrillInput {
  readonly scratchDatabaseUrl: string;
  readonly every: number;
}

export interface ScheduleInput {
  name?: string | undefined;
  projectId: string;
  cron: string;
  timezone?: string | undefined;
  backupType?: "full" | "schema" | "data" | undefined;
  compressionType?: "gzip" | "zstd" | "none" | undefined;
  includeMigrationHistory?: boolean | null | undefined;
  destinationIds?: string[] | undefined;
  retention?: SchedulePolicy | null | undefined;
  drill?: DrillInput | null | undefined;
  enabled?: boolean | undefined;
}

export type SchedulePatch = Partial<Omit<ScheduleInput, "projectId">>;

export interface ScheduleView {
  id: string;
  name: string;
  projectId: string;
  projectName: string | null;
  cron: string;
  timezone: string;
  backupType: ScheduleRecord["backupType"];
  compressionType: ScheduleRecord["compression"];
  includeMigrationHistory: boolean | null;
  destinationIds: string[];
  retention: SchedulePolicy | null;
  drill: { every: number; scratchDatabaseUrl: string; hasPassword: boolean } | null;
  enabled: boolean;
  nextRunAt: string | null;
  nextRuns: string[];
  lastRunAt: string | null;
  lastStatus: ScheduleRecord["lastStatus"];
  lastBackupId: string | null;
  lastSuccessAt: string | null;
  consecutiveFailures: number;
  completedRuns: number;
  running: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface RunView {
  id: string;
  scheduleId: string;
  dueAt: string;
  status: ScheduleRunRecord["status"];
  reason: ScheduleRunRecord["reason"];
  backupId: string | null;
  attempts: number;
  delayMs: number | null;
  error: string | null;
  startedAt: string;
  finishedAt: string | null;
}

const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);
const drillAad = (id: string) => `schedule:${id}:drill_database_url`;

/** host:port/database of a PostgreSQL URL, to tell two databases apart. */
function databaseIdentity(url: string): string {
  try {
    const u = new URL(url);
    const host = (u.hostname || u.searchParams.get("host") || "localhost")
      .toLowerCase()
      .replace(/^127\.0\.0\.1$|^::1$/, "localhost");
    return `${host}:${u.port || "5432"}/${decodeURIComponent(u.pathname.replace(/^\//, "")) || u.username}`;
  } catch {
    return url;
  }
}

export class ScheduleService {
  constructor(
    private readonly store: MetadataStore,
    private readonly box: SecretBox,
    private readonly audit: AuditLog,
    private readonly projects: ProjectService,
    private readonly clock: Clock,
    /** Told when a schedule changed, so the scheduler re-reads its next wake-up. */
    private readonly onChange: () => void,
  ) {}

  async get(id: string): Promise<ScheduleRecord> {
    const row = await this.store.scheduler.schedules.byId(id);
    if (!row) throw notFound("schedule");
    return row;
  }

  drillDatabaseUrl(row: ScheduleRecord): string | undefined {
    return row.drillDatabaseUrl ? this.box.decrypt(row.drillDatabaseUrl, drillAad(row.id)) : undefined;
  }

  retentionOf(row: ScheduleRecord): SchedulePolicy | null {
    return row.retention ? (JSON.parse(row.retention) as SchedulePolicy) : null;
  }

  async view(row: ScheduleRecord, running = false): Promise<ScheduleView> {
    const project = await this.store.projects.byId(row.projectId);
    const drillUrl = this.drillDatabaseUrl(row);
    const masked = drillUrl ? maskUrl(drillUrl) : undefined;
    let upcoming: Date[] = [];
    if (row.enabled) {
      try {
        upcoming = nextRuns({ cron: row.cron, timezone: row.timezone }, this.clock.now(), 5);
      } catch {
        upcoming = [];
      }
    }
    return {
      id: row.id,
      name: row.name,
      projectId: row.projectId,
      projectName: project?.name ?? null,
      cron: row.cron,
      timezone: row.timezone,
      backupType: row.backupType,
      compressionType: row.compression,
      includeMigrationHistory: row.includeMigrationHistory,
      destinationIds: JSON.parse(row.destinationIds) as string[],
      retention: this.retentionOf(row),
      drill:
        row.drillEvery && masked
          ? { every: row.drillEvery, scratchDatabaseUrl: masked.url, hasPassword: masked.hasPassword }
          : null,
      enabled: row.enabled,
      // The stored due time: in the past while a missed run waits to be caught up.
      nextRunAt: iso(row.enabled ? (row.nextRunAt ?? upcoming[0]) : null),
      nextRuns: upcoming.map((d) => d.toISOString()),
      lastRunAt: iso(row.lastRunAt),
      lastStatus: row.lastStatus,
      lastBackupId: row.lastBackupId,
      lastSuccessAt: iso(row.lastSuccessAt),
      consecutiveFailures: row.consecutiveFailures,
      completedRuns: row.completedRuns,
      running,
      createdAt: row.createdAt.toISOString(),
      updatedAt: row.updatedAt.toISOString(),
    };
  }

  runView(run: ScheduleRunRecord): RunView {
    return {
      id: run.id,
      scheduleId: run.scheduleId,
      dueAt: run.dueAt.toISOString(),
      status: run.status,
      reason: run.reason,
      backupId: run.backupId,
      attempts: run.attempts,
      delayMs: run.delayMs,
      error: run.error,
      startedAt: run.startedAt.toISOString(),
      finishedAt: iso(run.finishedAt),
    };
  }

  async create(input: ScheduleInput, actor: Actor): Promise<ScheduleRecord> {
    const project = await this.projects.get(input.projectId).catch(() => {
      throw new ApiError(
        "INVALID_INPUT",
        `projectId: no project ${input.projectId}; create it at POST /api/projects`,
        "projectId",
      );
    });
    const timezone = input.timezone ?? "UTC";
    parseCron({ cron: input.cron, timezone });
    const destinationIds = await this.checkDestinations(input.destinationIds ?? []);
    const retention = this.checkRetention(input.retention ?? null);
    const id = randomUUID();
    const drill = this.checkDrill(input.drill ?? null, this.projects.databaseUrl(project));
    const now = this.clock.now();
    const enabled = input.enabled ?? true;
    const record: ScheduleRecord = {
      id,
      name: input.name?.trim() || `${project.name} (${input.cron.trim()})`,
      projectId: project.id,
      cron: input.cron.trim(),
      timezone,
      backupType: input.backupType ?? "full",
      compression: input.compressionType ?? "gzip",
      includeMigrationHistory: input.includeMigrationHistory ?? null,
      destinationIds: JSON.stringify(destinationIds),
      retention: retention ? JSON.stringify(retention) : null,
      drillEvery: drill?.every ?? null,
      drillDatabaseUrl: drill ? this.box.encrypt(drill.scratchDatabaseUrl, drillAad(id)) : null,
      enabled,
      enabledAt: enabled ? now : null,
      nextRunAt: enabled ? nextRun({ cron: input.cron, timezone }, now) : null,
      lastRunAt: null,
      lastStatus: null,
      lastBackupId: null,
      lastSuccessAt: null,
      consecutiveFailures: 0,
      completedRuns: 0,
      createdBy: actor.user?.id ?? null,
      createdAt: now,
      updatedAt: now,
    };
    await this.store.scheduler.schedules.create(record);
    await this.audit.record(actor, "schedule_created", { type: "schedule", id }, { project: project.name, cron: record.cron });
    this.onChange();
    return record;
  }

  async update(id: string, patch: SchedulePatch, actor: Actor): Promise<ScheduleRecord> {
    const row = await this.get(id);
    const project = await this.projects.get(row.projectId);
    const cron = patch.cron?.trim() ?? row.cron;
    const timezone = patch.timezone ?? row.timezone;
    parseCron({ cron, timezone });
    const changes: Partial<ScheduleRecord> = { updatedAt: this.clock.now() };
    if (patch.name !== undefined) changes.name = patch.name.trim() || row.name;
    if (patch.backupType) changes.backupType = patch.backupType;
    if (patch.compressionType) changes.compression = patch.compressionType;
    if (patch.includeMigrationHistory !== undefined) changes.includeMigrationHistory = patch.includeMigrationHistory;
    if (patch.destinationIds) changes.destinationIds = JSON.stringify(await this.checkDestinations(patch.destinationIds));
    if (patch.retention !== undefined) {
      const retention = this.checkRetention(patch.retention);
      changes.retention = retention ? JSON.stringify(retention) : null;
    }
    if (patch.drill !== undefined) {
      let drill = patch.drill;
      // A URL whose password is *** keeps the stored password (as projects do).
      if (drill && /:\*\*\*@/.test(drill.scratchDatabaseUrl)) {
        const old = this.drillDatabaseUrl(row);
        if (old)
          drill = { ...drill, scratchDatabaseUrl: drill.scratchDatabaseUrl.replace(":***@", `:${new URL(old).password}@`) };
      }
      const checked = this.checkDrill(drill, this.projects.databaseUrl(project));
      changes.drillEvery = checked?.every ?? null;
      changes.drillDatabaseUrl = checked ? this.box.encrypt(checked.scratchDatabaseUrl, drillAad(id)) : null;
    }
    const enabled = patch.enabled ?? row.enabled;
    const timing = cron !== row.cron || timezone !== row.timezone;
    if (timing) {
      changes.cron = cron;
      changes.timezone = timezone;
    }
    if (enabled !== row.enabled || timing) {
      changes.enabled = enabled;
      // Re-enabling or re-timing starts afresh: no catch-up for the time it was off.
      changes.nextRunAt = enabled ? nextRun({ cron, timezone }, this.clock.now()) : null;
      if (enabled && !row.enabled) changes.enabledAt = this.clock.now();
    }
    await this.store.scheduler.schedules.update(id, changes);
    await this.audit.record(actor, "schedule_changed", { type: "schedule", id }, { project: project.name });
    this.onChange();
    return (await this.get(id))!;
  }

  async delete(id: string, actor: Actor): Promise<void> {
    const row = await this.get(id);
    await this.store.scheduler.schedules.delete(id);
    await this.audit.record(actor, "schedule_deleted", { type: "schedule", id }, { name: row.name });
    this.onChange();
  }

  private async checkDestinations(ids: string[]): Promise<string[]> {
    const unique = [...new Set(ids)];
    for (const destId of unique) {
      const record = await this.store.destinations.byId(destId);
      if (!record) throw new ApiError("INVALID_INPUT", `destinationIds: no storage destination ${destId}`, "destinationIds");
    }
    if (unique.length === 0 && !(await this.store.destinations.defaultDestination())) {
      throw new ApiError(
        "INVALID_INPUT",
        "destinationIds: none chosen and no default destination exists; name one or add one at POST /api/destinations",
        "destinationIds",
      );
    }
    return unique;
  }

  private checkRetention(policy: SchedulePolicy | null): SchedulePolicy | null {
    if (!policy) return null;
    const { includeManual, ...rules } = policy;
    const defined = Object.fromEntries(Object.entries(rules).filter(([, v]) => v !== undefined && v !== null));
    if (!policyKeepsAnything(defined)) {
      throw new ApiError(
        "INVALID_INPUT",
        "retention: this policy keeps nothing; set at least one of keepLast, keepDaily, keepWeekly, keepMonthly, keepYearly above 0 (or -1 for unlimited), or send retention: null to keep every backup",
        "retention",
      );
    }
    return { ...defined, ...(includeManual ? { includeManual: true } : {}) };
  }

  private checkDrill(drill: DrillInput | null, projectUrl: string): DrillInput | null {
    if (!drill) return null;
    let parsed: URL;
    try {
      parsed = new URL(drill.scratchDatabaseUrl);
    } catch {
      throw new ApiError(
        "INVALID_INPUT",
        "drill.scratchDatabaseUrl: not a URL; use postgresql://user:password@host:5432/scratch",
        "drill.scratchDatabaseUrl",
      );
    }
    if (!/^postgres(ql)?:$/.test(parsed.protocol)) {
      throw new ApiError("INVALID_INPUT", "drill.scratchDatabaseUrl: must be a postgresql:// URL", "drill.scratchDatabaseUrl");
    }
    // The drill empties the scratch database first: it must never be the database being backed up.
    if (databaseIdentity(drill.scratchDatabaseUrl) === databaseIdentity(projectUrl)) {
      throw new ApiError(
        "INVALID_INPUT",
        "drill.scratchDatabaseUrl: this is the project's own database; a drill replaces the scratch database's contents, so name a separate, disposable database",
        "drill.scratchDatabaseUrl",
      );
    }
    return drill;
  }
}

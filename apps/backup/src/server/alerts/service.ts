/**
 * @module server/alerts/service
 * Alerts: conditions someone must look at (a failed or missed backup, a failed drill, a destination
 * down or nearly full, a project unreachable). One open alert per kind and subject: the same
 * condition seen again bumps `occurrences` instead of piling up rows. An alert stays listed at
 * GET /api/alerts until acknowledged; a cleared condition sets `resolvedAt`.
 */
import { randomUUID } from "node:crypto";
import type { Actor, AuditLog } from "../audit.ts";
import type { MetadataStore } from "../db/store.ts";
import { notFound } from "../errors.ts";
import type { Clock } from "../schedules/clock.ts";
import type { AlertRecord } from "../schedules/repository.ts";

export const ALERT_KINDS = [
  "backup_failed",
  "missed_backup",
  "drill_failed",
  "retention_failed",
  "destination_unhealthy",
  "destination_low_space",
  "project_unreachable",
] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

export interface AlertInput {
  kind: AlertKind;
  severity: AlertRecord["severity"];
  subjectType: AlertRecord["subjectType"];
  subjectId: string;
  subjectName?: string | null;
  message: string;
  details?: Record<string, string | number | boolean | null>;
}

export interface AlertView {
  id: string;
  kind: string;
  severity: AlertRecord["severity"];
  subjectType: AlertRecord["subjectType"];
  subjectId: string;
  subjectName: string | null;
  message: string;
  details: Record<string, unknown> | null;
  occurrences: number;
  createdAt: string;
  updatedAt: string;
  resolvedAt: string | null;
  acknowledgedAt: string | null;
}

export class AlertService {
  constructor(
    private readonly store: MetadataStore,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
  ) {}

  /** Opens the alert, or bumps the open one; `created` tells the caller whether to notify. */
  async raise(input: AlertInput): Promise<{ alert: AlertRecord; created: boolean }> {
    const repo = this.store.scheduler.alerts;
    const now = this.clock.now();
    const open = await repo.open(input.kind, input.subjectType, input.subjectId);
    if (open) {
      const patch = { occurrences: open.occurrences + 1, message: input.message, updatedAt: now };
      await repo.update(open.id, patch);
      return { alert: { ...open, ...patch }, created: false };
    }
    const alert: AlertRecord = {
      id: randomUUID(),
      kind: input.kind,
      severity: input.severity,
      subjectType: input.subjectType,
      subjectId: input.subjectId,
      subjectName: input.subjectName ?? null,
      message: input.message,
      details: input.details ? JSON.stringify(input.details) : null,
      occurrences: 1,
      createdAt: now,
      updatedAt: now,
      resolvedAt: null,
      acknowledgedAt: null,
      acknowledgedBy: null,
    };
    await repo.create(alert);
    return { alert, created: true };
  }

  /** Marks the open alert of this kind on this subject resolved; answers it (undefined when none was open). */
  async resolve(kind: AlertKind, subjectType: AlertRecord["subjectType"], subjectId: string): Promise<AlertRecord | undefined> {
    const open = await this.store.scheduler.alerts.open(kind, subjectType, subjectId);
    if (!open) return undefined;
    const now = this.clock.now();
    await this.store.scheduler.alerts.update(open.id, { resolvedAt: now, updatedAt: now });
    return { ...open, resolvedAt: now };
  }

  async list(filter: { includeAcknowledged?: boolean; limit?: number } = {}): Promise<AlertRecord[]> {
    return this.store.scheduler.alerts.list({ includeAcknowledged: !!filter.includeAcknowledged, limit: filter.limit ?? 200 });
  }

  async acknowledge(id: string, actor: Actor): Promise<AlertRecord> {
    const alert = await this.store.scheduler.alerts.byId(id);
    if (!alert) throw notFound("alert");
    if (alert.acknowledgedAt) return alert;
    const now = this.clock.now();
    const patch = { acknowledgedAt: now, acknowledgedBy: actor.user?.id ?? null, updatedAt: now };
    await this.store.scheduler.alerts.update(id, patch);
    await this.audit.record(actor, "alert_acknowledged", { type: "alert", id }, { kind: alert.kind });
    return { ...alert, ...patch };
  }

  view(alert: AlertRecord): AlertView {
    return {
      id: alert.id,
      kind: alert.kind,
      severity: alert.severity,
      subjectType: alert.subjectType,
      subjectId: alert.subjectId,
      subjectName: alert.subjectName,
      message: alert.message,
      details: alert.details ? (JSON.parse(alert.details) as Record<string, unknown>) : null,
      occurrences: alert.occurrences,
      createdAt: alert.createdAt.toISOString(),
      updatedAt: alert.updatedAt.toISOString(),
      resolvedAt: alert.resolvedAt?.toISOString() ?? null,
      acknowledgedAt: alert.acknowledgedAt?.toISOString() ?? null,
    };
  }
}

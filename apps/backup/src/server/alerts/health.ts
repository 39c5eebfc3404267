/**
 * @module server/alerts/health
 * Periodic health checks (`DESTINATION_CHECK_INTERVAL`, default 1 hour): every enabled destination
 * is tested (the same test as POST /api/destinations/:id/test: status, error and free space land on
 * its row) and every project's connection too. A destination that fails, or whose free space is
 * below twice the size of the last backup stored there, and a project that cannot be reached raise
 * a warning alert (notified once, on the `warning` event); a passing check resolves it.
 */
import type { Logger } from "pino";
import type { MetadataStore } from "../db/store.ts";
import type { Notice, NotificationService } from "../notifications/service.ts";
import type { Clock } from "../schedules/clock.ts";
import type { AlertRecord } from "../schedules/repository.ts";
import type { DestinationService } from "../services/destinations.ts";
import type { ProjectService } from "../services/projects.ts";
import type { AlertService } from "./service.ts";

export interface HealthDeps {
  readonly store: MetadataStore;
  readonly log: Logger;
  readonly destinations: DestinationService;
  readonly projects: ProjectService;
  readonly alerts: AlertService;
  readonly notifications: NotificationService;
}

/** `3600`, `90s`, `15m`, `1h`, `1d` → milliseconds; throws naming the variable. */
export function parseInterval(value: string | undefined, fallbackMs: number, variable: string): number {
  if (value === undefined || value.trim() === "") return fallbackMs;
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/i.exec(value);
  if (!match) throw new Error(`${variable}: "${value}" is not a duration; use seconds (3600) or 30s, 15m, 1h, 1d`);
  const unit = (match[2] ?? "s").toLowerCase();
  const factor = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[unit]!;
  const ms = Number(match[1]) * factor;
  if (ms < 1000) throw new Error(`${variable}: "${value}" is shorter than one second`);
  return ms;
}

export class HealthChecker {
  private cancel: (() => void) | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly deps: HealthDeps,
    private readonly clock: Clock,
    private readonly intervalMs: number,
  ) {}

  /** First check after `firstInMs` (a minute by default: let the server settle), then every interval. */
  start(firstInMs = Math.min(60_000, this.intervalMs)): void {
    this.stopped = false;
    this.schedule(firstInMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.cancel?.();
    await this.running;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.cancel = this.clock.setTimer(() => {
      this.running = this.checkAll()
        .catch((error) => this.deps.log.error({ err: error }, "health check failed"))
        .finally(() => this.schedule(this.intervalMs));
    }, ms);
  }

  /** One round over every destination and project (also what tests call). */
  async checkAll(): Promise<void> {
    await this.checkDestinations();
    await this.checkProjects();
  }

  private async lastBackupSize(destinationId: string): Promise<number | undefined> {
    const page = await this.deps.store.backups.list({ status: "completed", limit: 100 });
    const copies = await this.deps.store.backups.destinationsOf(page.items.map((b) => b.id));
    for (const backup of page.items) {
      const copy = copies.find((c) => c.backupId === backup.id && c.destinationId === destinationId && c.status === "completed");
      if (copy) return copy.size ?? backup.bytesStored;
    }
    return undefined;
  }

  async checkDestinations(): Promise<void> {
    const { store, destinations, alerts } = this.deps;
    for (const record of await store.destinations.list()) {
      if (!record.enabled) continue;
      const result = await destinations.test(record.id);
      if (!result.valid) {
        const raised = await alerts.raise({
          kind: "destination_unhealthy",
          severity: "warning",
          subjectType: "destination",
          subjectId: record.id,
          subjectName: record.name,
          message: `The storage destination "${record.name}" failed its health check: ${result.error ?? "not reachable"}`,
        });
        if (raised.created) this.notify(raised.alert, `Destination unreachable: ${record.name}`);
        continue;
      }
      await alerts.resolve("destination_unhealthy", "destination", record.id);
      const size = await this.lastBackupSize(record.id);
      if (result.availableSpace !== null && size !== undefined && result.availableSpace < size * 2) {
        const raised = await alerts.raise({
          kind: "destination_low_space",
          severity: "warning",
          subjectType: "destination",
          subjectId: record.id,
          subjectName: record.name,
          message: `The storage destination "${record.name}" has ${result.availableSpace} bytes free, less than twice the last backup stored there (${size} bytes): the next backups may not fit`,
          details: { availableSpace: result.availableSpace, lastBackupSize: size },
        });
        if (raised.created) this.notify(raised.alert, `Destination almost full: ${record.name}`);
      } else {
        await alerts.resolve("destination_low_space", "destination", record.id);
      }
    }
  }

  async checkProjects(): Promise<void> {
    const { store, projects, alerts } = this.deps;
    for (const record of await store.projects.list()) {
      const result = await projects.test(record.id);
      if (result.ok) {
        await alerts.resolve("project_unreachable", "project", record.id);
        continue;
      }
      const raised = await alerts.raise({
        kind: "project_unreachable",
        severity: "warning",
        subjectType: "project",
        subjectId: record.id,
        subjectName: record.name,
        message: `The database of the project "${record.name}" cannot be reached: ${result.error ?? "connection failed"}`,
      });
      if (raised.created) this.notify(raised.alert, `Project unreachable: ${record.name}`, { id: record.id, name: record.name });
    }
  }

  private notify(alert: AlertRecord, title: string, project?: Notice["project"]): void {
    this.deps.notifications.dispatch({
      event: "warning",
      title,
      message: alert.message,
      project: project ?? null,
      alert: { id: alert.id, kind: alert.kind, severity: alert.severity },
    });
  }
}

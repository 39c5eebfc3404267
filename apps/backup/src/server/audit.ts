/**
 * @module server/audit
 * Who did what and when. Details are small non-secret facts (names, ids, types); callers never pass
 * a config or URL, and `record` drops any key that looks like a secret as a second line of defence.
 */
import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import type { MetadataStore, UserRecord } from "./db/store.ts";

export const AUDIT_ACTIONS = [
  "setup",
  "sign_in",
  "sign_in_failed",
  "sign_out",
  "token_created",
  "token_deleted",
  "user_created",
  "user_changed",
  "user_deleted",
  "destination_created",
  "destination_changed",
  "destination_deleted",
  "project_created",
  "project_changed",
  "project_deleted",
  "backup_started",
  "backup_cancelled",
  "backup_downloaded",
  "backup_verified",
  "backup_deleted",
  "restore_started",
  "restore_cancelled",
  "schedule_created",
  "schedule_changed",
  "schedule_deleted",
  "schedule_run_requested",
  "notification_created",
  "notification_deleted",
  "alert_acknowledged",
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

const SECRETISH = /pass|secret|token|key|url|config|credential/i;

export interface Actor {
  readonly user?: Pick<UserRecord, "id" | "email"> | undefined;
  readonly ip?: string | undefined;
}

export class AuditLog {
  constructor(
    private readonly store: MetadataStore,
    private readonly log: Logger,
  ) {}

  async record(
    actor: Actor,
    action: AuditAction,
    target?: { type: string; id: string },
    details?: Record<string, string | number | boolean | null>,
  ): Promise<void> {
    const safe = details
      ? Object.fromEntries(Object.entries(details).filter(([k]) => !SECRETISH.test(k) || k === "tokenName"))
      : null;
    try {
      await this.store.audit.add({
        id: randomUUID(),
        at: new Date(),
        userId: actor.user?.id ?? null,
        actor: actor.user?.email ?? "system",
        action,
        targetType: target?.type ?? null,
        targetId: target?.id ?? null,
        details: safe,
        ip: actor.ip ?? null,
      });
    } catch (error) {
      // An audit write must never turn a done action into an error for the caller.
      this.log.error({ err: error, action }, "audit event not recorded");
    }
  }
}

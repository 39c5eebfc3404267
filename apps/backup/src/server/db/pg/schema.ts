/**
 * @module server/db/pg/schema
 * The metadata tables on PostgreSQL (`DATABASE_URL=postgres://…`): the same tables, columns and
 * indexes as the SQLite schema (../schema.ts), in PostgreSQL types (timestamptz, boolean, bigint).
 * Written from ../schema.ts by hand-checked transformation; keep the two in step (a test compares
 * their column names).
 */
import { bigint, boolean, index, integer, pgTable, text, timestamp, uniqueIndex } from "drizzle-orm/pg-core";

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: "date" });

export const users = pgTable(
  "users",
  {
    id: text("id").primaryKey(),
    email: text("email").notNull(),
    passwordHash: text("password_hash").notNull(),
    role: text("role", { enum: ["admin", "viewer"] }).notNull(),
    createdAt: ts("created_at").notNull(),
    updatedAt: ts("updated_at").notNull(),
    lastLoginAt: ts("last_login_at"),
  },
  (t) => [uniqueIndex("users_email_idx").on(t.email)],
);

export const sessions = pgTable(
  "sessions",
  {
    /** SHA-256 of the cookie value: a stolen metadata file holds no usable session. */
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    csrfToken: text("csrf_token").notNull(),
    createdAt: ts("created_at").notNull(),
    expiresAt: ts("expires_at").notNull(),
    lastSeenAt: ts("last_seen_at").notNull(),
  },
  (t) => [index("sessions_user_idx").on(t.userId), index("sessions_expires_idx").on(t.expiresAt)],
);

export const apiTokens = pgTable(
  "api_tokens",
  {
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    /** SHA-256 of the token; the token itself is shown once. */
    tokenHash: text("token_hash").notNull(),
    createdAt: ts("created_at").notNull(),
    lastUsedAt: ts("last_used_at"),
  },
  (t) => [uniqueIndex("api_tokens_hash_idx").on(t.tokenHash), index("api_tokens_user_idx").on(t.userId)],
);

/** The seed's table, every column kept. */
export const storageDestinations = pgTable(
  "storage_destinations",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    type: text("type", { enum: ["s3", "google_drive", "nextcloud", "local_mapped"] }).notNull(),
    /** Encrypted JSON config (secret-box envelope). */
    config: text("config").notNull(),
    enabled: boolean("enabled").notNull().default(true),
    isDefault: boolean("is_default").notNull().default(false),
    lastValidated: ts("last_validated"),
    validationStatus: text("validation_status", { enum: ["valid", "invalid", "pending"] }),
    validationError: text("validation_error"),
    availableSpace: bigint("available_space", { mode: "number" }),
    totalBackups: integer("total_backups").notNull().default(0),
    totalSize: bigint("total_size", { mode: "number" }).notNull().default(0),
    createdAt: ts("created_at").notNull(),
    updatedAt: ts("updated_at").notNull(),
  },
  (t) => [index("storage_destinations_name_idx").on(t.name), index("storage_destinations_type_idx").on(t.type)],
);

export const projects = pgTable(
  "projects",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    /** Encrypted database URL (secret-box envelope). */
    databaseUrl: text("database_url").notNull(),
    kind: text("kind", { enum: ["auto", "supabase", "postgres"] }).notNull(),
    includeMigrationHistory: boolean("include_migration_history").notNull(),
    lastTestedAt: ts("last_tested_at"),
    lastTestOk: boolean("last_test_ok"),
    lastTestError: text("last_test_error"),
    serverVersion: text("server_version"),
    supabase: boolean("supabase"),
    sizeBytes: bigint("size_bytes", { mode: "number" }),
    createdAt: ts("created_at").notNull(),
    updatedAt: ts("updated_at").notNull(),
  },
  (t) => [uniqueIndex("projects_name_idx").on(t.name)],
);

export const BACKUP_STATUSES = ["pending", "dumping", "uploading", "completed", "failed", "cancelled"] as const;
export const RUNNING_BACKUP_STATUSES = ["pending", "dumping", "uploading"] as const;

export const backups = pgTable(
  "backups",
  {
    id: text("id").primaryKey(),
    projectId: text("project_id").references(() => projects.id, { onDelete: "set null" }),
    /** Project name at the time of the run (kept when the project is deleted). */
    projectName: text("project_name").notNull(),
    backupType: text("backup_type", { enum: ["full", "schema", "data"] }).notNull(),
    compression: text("compression", { enum: ["gzip", "zstd", "none"] }).notNull(),
    includeMigrationHistory: boolean("include_migration_history").notNull(),
    storageType: text("storage_type", { enum: ["browser_download", "destination"] }).notNull(),
    status: text("status", { enum: BACKUP_STATUSES }).notNull(),
    trigger: text("trigger", { enum: ["manual", "schedule"] }).notNull(),
    /** Set by the scheduler (issue 12); null for manual runs. */
    scheduleId: text("schedule_id"),
    // The seed's storage columns
    storageDestinationId: text("storage_destination_id").references(() => storageDestinations.id, { onDelete: "set null" }),
    /** The engine's backup id: `<name>/<timestamp>-<id>`, the folder on every destination. */
    storageFilePath: text("storage_file_path"),
    /** Browser downloads: the staged `.tar`'s key in the download staging folder. */
    localFilePath: text("local_file_path"),
    downloadUrl: text("download_url"),
    expiresAt: ts("expires_at"),
    bytesDumped: bigint("bytes_dumped", { mode: "number" }).notNull().default(0),
    bytesStored: bigint("bytes_stored", { mode: "number" }).notNull().default(0),
    manifestSha256: text("manifest_sha256"),
    manifest: text("manifest"),
    error: text("error"),
    createdBy: text("created_by"),
    createdAt: ts("created_at").notNull(),
    startedAt: ts("started_at"),
    finishedAt: ts("finished_at"),
    verifiedAt: ts("verified_at"),
    verifyStatus: text("verify_status", { enum: ["ok", "failed"] }),
    verifyError: text("verify_error"),
    /**
     * The server instance running it (null while it waits in the queue) and its last sign of life:
     * with several servers on one metadata database, a server recovers only its own rows or rows
     * whose owner has been silent for a while (jobs/recovery.ts), never another live server's.
     */
    owner: text("owner"),
    heartbeatAt: ts("heartbeat_at"),
    /**
     * Set when a user cancels the backup while another server runs it: that server's heartbeat
     * (jobs/recovery.ts, every JOB_HEARTBEAT_INTERVAL) sees it and aborts the job.
     */
    cancelRequestedAt: ts("cancel_requested_at"),
  },
  (t) => [
    index("backups_created_idx").on(t.createdAt, t.id),
    index("backups_project_idx").on(t.projectId, t.createdAt),
    index("backups_status_idx").on(t.status),
  ],
);

export const backupDestinations = pgTable(
  "backup_destinations",
  {
    id: text("id").primaryKey(),
    backupId: text("backup_id")
      .notNull()
      .references(() => backups.id, { onDelete: "cascade" }),
    destinationId: text("destination_id").references(() => storageDestinations.id, { onDelete: "set null" }),
    destinationName: text("destination_name").notNull(),
    status: text("status", { enum: ["pending", "uploading", "completed", "failed", "cancelled", "deleted"] }).notNull(),
    storageFilePath: text("storage_file_path"),
    bytesUploaded: bigint("bytes_uploaded", { mode: "number" }).notNull().default(0),
    size: bigint("size", { mode: "number" }),
    error: text("error"),
  },
  (t) => [index("backup_destinations_backup_idx").on(t.backupId), index("backup_destinations_dest_idx").on(t.destinationId)],
);

export const restores = pgTable(
  "restores",
  {
    id: text("id").primaryKey(),
    backupId: text("backup_id").references(() => backups.id, { onDelete: "set null" }),
    /** point_in_time: `stowage stream`'s change archive restored to a moment (no backup row: backupId is null). */
    source: text("source", { enum: ["backup", "upload", "point_in_time"] }).notNull(),
    /** Target URL without its password, for display. */
    targetDatabase: text("target_database").notNull(),
    clean: boolean("clean").notNull(),
    status: text("status", { enum: ["pending", "restoring", "completed", "failed", "cancelled"] }).notNull(),
    bytesRestored: bigint("bytes_restored", { mode: "number" }).notNull().default(0),
    error: text("error"),
    createdBy: text("created_by"),
    createdAt: ts("created_at").notNull(),
    startedAt: ts("started_at"),
    finishedAt: ts("finished_at"),
    /** As on backups: the server instance running it and its last sign of life. */
    owner: text("owner"),
    heartbeatAt: ts("heartbeat_at"),
    /** As on backups: a cancel taken by another server's API, which the owner's heartbeat acts on. */
    cancelRequestedAt: ts("cancel_requested_at"),
  },
  (t) => [index("restores_created_idx").on(t.createdAt)],
);

export const auditEvents = pgTable(
  "audit_events",
  {
    id: text("id").primaryKey(),
    at: ts("at").notNull(),
    userId: text("user_id"),
    actor: text("actor").notNull(),
    action: text("action").notNull(),
    targetType: text("target_type"),
    targetId: text("target_id"),
    /** JSON with non-secret details. */
    details: text("details"),
    ip: text("ip"),
  },
  (t) => [index("audit_events_at_idx").on(t.at, t.id)],
);

/** Key/value settings: the secret key's check value, the default destination marker. */
export const settings = pgTable("settings", {
  key: text("key").primaryKey(),
  value: text("value").notNull(),
  updatedAt: ts("updated_at").notNull().defaultNow(),
});

// ---------------------------------------------------------------------------------------------
// Scheduler (issue 12): schedules, their runs, alerts and notification channels.
// ---------------------------------------------------------------------------------------------

export const SCHEDULE_RUN_STATUSES = ["running", "completed", "failed", "skipped", "cancelled"] as const;

export const schedules = pgTable(
  "schedules",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    projectId: text("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    /** 5 or 6 fields (seconds first when 6), read by croner in `timezone`. */
    cron: text("cron").notNull(),
    /** IANA zone, e.g. `Europe/Berlin`. */
    timezone: text("timezone").notNull(),
    backupType: text("backup_type", { enum: ["full", "schema", "data"] }).notNull(),
    compression: text("compression", { enum: ["gzip", "zstd", "none"] }).notNull(),
    /** Null: the project's default. */
    includeMigrationHistory: boolean("include_migration_history"),
    /** JSON array of destination ids; `[]` = the default destination at run time. */
    destinationIds: text("destination_ids").notNull(),
    /** JSON retention policy (`keepLast`, `keepDaily`, …, `includeManual`), null = keep everything. */
    retention: text("retention"),
    /** Restore drill: every Nth completed run is restored into the scratch database (encrypted URL). */
    drillEvery: integer("drill_every"),
    drillDatabaseUrl: text("drill_database_url"),
    enabled: boolean("enabled").notNull(),
    /** Since when the schedule is enabled (the dead man's switch counts from here until a first success). */
    enabledAt: ts("enabled_at"),
    /** The next due time, claimed by compare-and-set so that one run is started per due time. */
    nextRunAt: ts("next_run_at"),
    lastRunAt: ts("last_run_at"),
    lastStatus: text("last_status", { enum: SCHEDULE_RUN_STATUSES }),
    lastBackupId: text("last_backup_id"),
    lastSuccessAt: ts("last_success_at"),
    consecutiveFailures: integer("consecutive_failures").notNull().default(0),
    completedRuns: integer("completed_runs").notNull().default(0),
    createdBy: text("created_by"),
    createdAt: ts("created_at").notNull(),
    updatedAt: ts("updated_at").notNull(),
  },
  (t) => [index("schedules_project_idx").on(t.projectId), index("schedules_due_idx").on(t.enabled, t.nextRunAt)],
);

export const scheduleRuns = pgTable(
  "schedule_runs",
  {
    id: text("id").primaryKey(),
    scheduleId: text("schedule_id")
      .notNull()
      .references(() => schedules.id, { onDelete: "cascade" }),
    /** The cron time this run is for (`run now`: the request time). Unique per schedule: a due time runs once. */
    dueAt: ts("due_at").notNull(),
    status: text("status", { enum: SCHEDULE_RUN_STATUSES }).notNull(),
    /** `cron`, `catch_up` (missed while the server was down), `manual` (run now). */
    reason: text("reason", { enum: ["cron", "catch_up", "manual"] }).notNull(),
    backupId: text("backup_id"),
    attempts: integer("attempts").notNull().default(0),
    /** Claim time minus due time: the scheduling delay. */
    delayMs: integer("delay_ms"),
    error: text("error"),
    /** The server process running it, and its last sign of life (a run whose owner went silent is stale). */
    owner: text("owner"),
    heartbeatAt: ts("heartbeat_at"),
    startedAt: ts("started_at").notNull(),
    finishedAt: ts("finished_at"),
  },
  (t) => [uniqueIndex("schedule_runs_due_idx").on(t.scheduleId, t.dueAt), index("schedule_runs_status_idx").on(t.status)],
);

export const alerts = pgTable(
  "alerts",
  {
    id: text("id").primaryKey(),
    /** `backup_failed`, `missed_backup`, `drill_failed`, `destination_unhealthy`, `destination_low_space`, `project_unreachable`. */
    kind: text("kind").notNull(),
    severity: text("severity", { enum: ["warning", "critical"] }).notNull(),
    subjectType: text("subject_type", { enum: ["schedule", "destination", "project", "backup"] }).notNull(),
    subjectId: text("subject_id").notNull(),
    subjectName: text("subject_name"),
    message: text("message").notNull(),
    /** JSON of non-secret facts (backup id, sizes). */
    details: text("details"),
    /** How often the same condition was seen while the alert was open. */
    occurrences: integer("occurrences").notNull().default(1),
    createdAt: ts("created_at").notNull(),
    updatedAt: ts("updated_at").notNull(),
    /** Set when the condition cleared (a later success, a passing check). */
    resolvedAt: ts("resolved_at"),
    acknowledgedAt: ts("acknowledged_at"),
    acknowledgedBy: text("acknowledged_by"),
  },
  (t) => [index("alerts_subject_idx").on(t.subjectType, t.subjectId, t.kind), index("alerts_created_idx").on(t.createdAt)],
);

export const notificationChannels = pgTable("notification_channels", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  type: text("type", { enum: ["webhook", "email"] }).notNull(),
  /** Encrypted JSON: webhook `{ url, secret }`, email `{ to }`. */
  config: text("config").notNull(),
  /** JSON array of events: `failure`, `recovery`, `missed`, `success`, `warning`. */
  events: text("events").notNull(),
  enabled: boolean("enabled").notNull(),
  lastDeliveryAt: ts("last_delivery_at"),
  lastDeliveryOk: boolean("last_delivery_ok"),
  lastDeliveryError: text("last_delivery_error"),
  createdAt: ts("created_at").notNull(),
  updatedAt: ts("updated_at").notNull(),
});

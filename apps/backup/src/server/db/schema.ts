/**
 * @module server/db/schema
 * The metadata tables of `stowage serve` (SQLite through Drizzle). Column names are snake_case and
 * every type is portable (text, integer, timestamps as epoch milliseconds) so that a PostgreSQL
 * schema with the same names can sit behind the same `MetadataStore` interface (see store.ts).
 * Secrets (destination configs, database URLs) are stored only as AES-256-GCM envelopes (crypto/secret-box.ts).
 */
import { sql } from "drizzle-orm";
import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

const ts = (name: string) => integer(name, { mode: "timestamp_ms" });

export const users = sqliteTable(
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

export const sessions = sqliteTable(
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

export const apiTokens = sqliteTable(
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
export const storageDestinations = sqliteTable(
  "storage_destinations",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    type: text("type", { enum: ["s3", "google_drive", "nextcloud", "local_mapped"] }).notNull(),
    /** Encrypted JSON config (secret-box envelope). */
    config: text("config").notNull(),
    enabled: integer("enabled", { mode: "boolean" }).notNull().default(true),
    isDefault: integer("is_default", { mode: "boolean" }).notNull().default(false),
    lastValidated: ts("last_validated"),
    validationStatus: text("validation_status", { enum: ["valid", "invalid", "pending"] }),
    validationError: text("validation_error"),
    availableSpace: integer("available_space"),
    totalBackups: integer("total_backups").notNull().default(0),
    totalSize: integer("total_size").notNull().default(0),
    createdAt: ts("created_at").notNull(),
    updatedAt: ts("updated_at").notNull(),
  },
  (t) => [index("storage_destinations_name_idx").on(t.name), index("storage_destinations_type_idx").on(t.type)],
);

export const projects = sqliteTable(
  "projects",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    /** Encrypted database URL (secret-box envelope). */
    databaseUrl: text("database_url").notNull(),
    kind: text("kind", { enum: ["auto", "supabase", "postgres"] }).notNull(),
    includeMigrationHistory: integer("include_migration_history", { mode: "boolean" }).notNull(),
    lastTestedAt: ts("last_tested_at"),
    lastTestOk: integer("last_test_ok", { mode: "boolean" }),
    lastTestError: text("last_test_error"),
    serverVersion: text("server_version"),
    supabase: integer("supabase", { mode: "boolean" }),
    sizeBytes: integer("size_bytes"),
    createdAt: ts("created_at").notNull(),
    updatedAt: ts("updated_at").notNull(),
  },
  (t) => [uniqueIndex("projects_name_idx").on(t.name)],
);

export const BACKUP_STATUSES = ["pending", "dumping", "uploading", "completed", "failed", "cancelled"] as const;
export const RUNNING_BACKUP_STATUSES = ["pending", "dumping", "uploading"] as const;

export const backups = sqliteTable(
  "backups",
  {
    id: text("id").primaryKey(),
    projectId: text("project_id").references(() => projects.id, { onDelete: "set null" }),
    /** Project name at the time of the run (kept when the project is deleted). */
    projectName: text("project_name").notNull(),
    backupType: text("backup_type", { enum: ["full", "schema", "data"] }).notNull(),
    compression: text("compression", { enum: ["gzip", "zstd", "none"] }).notNull(),
    includeMigrationHistory: integer("include_migration_history", { mode: "boolean" }).notNull(),
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
    bytesDumped: integer("bytes_dumped").notNull().default(0),
    bytesStored: integer("bytes_stored").notNull().default(0),
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
  },
  (t) => [
    index("backups_created_idx").on(t.createdAt, t.id),
    index("backups_project_idx").on(t.projectId, t.createdAt),
    index("backups_status_idx").on(t.status),
  ],
);

export const backupDestinations = sqliteTable(
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
    bytesUploaded: integer("bytes_uploaded").notNull().default(0),
    size: integer("size"),
    error: text("error"),
  },
  (t) => [index("backup_destinations_backup_idx").on(t.backupId), index("backup_destinations_dest_idx").on(t.destinationId)],
);

export const restores = sqliteTable(
  "restores",
  {
    id: text("id").primaryKey(),
    backupId: text("backup_id").references(() => backups.id, { onDelete: "set null" }),
    source: text("source", { enum: ["backup", "upload"] }).notNull(),
    /** Target URL without its password, for display. */
    targetDatabase: text("target_database").notNull(),
    clean: integer("clean", { mode: "boolean" }).notNull(),
    status: text("status", { enum: ["pending", "restoring", "completed", "failed", "cancelled"] }).notNull(),
    bytesRestored: integer("bytes_restored").notNull().default(0),
    error: text("error"),
    createdBy: text("created_by"),
    createdAt: ts("created_at").notNull(),
    startedAt: ts("started_at"),
    finishedAt: ts("finished_at"),
  },
  (t) => [index("restores_created_idx").on(t.createdAt)],
);

export const auditEvents = sqliteTable(
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
export const settings = sqliteTable("settings", {
  key: text("key").primaryKey(),
  value: text("value").notNull(),
  updatedAt: ts("updated_at").notNull().default(sql`(unixepoch() * 1000)`),
});

/** The shapes `stowage serve` answers with (issue 11). Timestamps are ISO strings or epoch ms. */

export type Timestamp = string | number | null;

export interface Me {
  id: string;
  email: string;
  role: "admin" | "viewer";
}

export type DestinationType = "s3" | "google_drive" | "nextcloud" | "local_mapped";

/** Secret config fields come back as `{ set: true }`, never their value. */
export type ConfigValue = string | number | boolean | { set: boolean } | null | undefined;

export interface Destination {
  id: string;
  name: string;
  type: DestinationType;
  /** Where it points (`s3://bucket/prefix`, `file:///path`…), without secrets. */
  location?: string | null;
  config: Record<string, ConfigValue>;
  enabled: boolean;
  isDefault?: boolean;
  lastValidated: Timestamp;
  validationStatus: "valid" | "invalid" | "pending" | null;
  validationError: string | null;
  availableSpace?: number | null;
  totalBackups: number;
  totalSize: number;
  createdAt: Timestamp;
  updatedAt: Timestamp;
}

export interface DestinationTest {
  valid: boolean;
  error?: string;
  availableSpace?: number | null;
  lastTested: Timestamp;
}

export type ProjectKind = "auto" | "supabase" | "postgres";

export interface Project {
  id: string;
  name: string;
  kind: ProjectKind;
  includeMigrationHistory: boolean;
  /** The URL with its password masked, when the server shows it at all. */
  databaseUrl?: string | null;
  hasPassword?: boolean;
  lastTestedAt?: Timestamp;
  lastTestOk?: boolean | null;
  lastTestError?: string | null;
  serverVersion?: string | null;
  supabase?: boolean | null;
  sizeBytes?: number | null;
  lastBackup?: Backup | null;
  nextRunAt?: Timestamp;
  createdAt: Timestamp;
  updatedAt: Timestamp;
}

export interface ProjectTest {
  ok: boolean;
  serverVersion?: string | null;
  supabase?: boolean | null;
  sizeBytes?: number | null;
  error?: string;
}

export type BackupStatus = "pending" | "dumping" | "uploading" | "completed" | "failed" | "cancelled";

export interface BackupDestinationResult {
  id: string;
  destinationId: string | null;
  name: string;
  status: "pending" | "uploading" | "completed" | "failed" | "cancelled" | "deleted";
  storageFilePath?: string | null;
  bytesUploaded?: number;
  size?: number | null;
  error?: string | null;
}

export interface Backup {
  id: string;
  projectId: string | null;
  projectName: string;
  backupType: "full" | "schema" | "data";
  compressionType: "gzip" | "zstd" | "none";
  includeMigrationHistory?: boolean;
  storageType: "browser_download" | "destination";
  status: BackupStatus;
  trigger: "manual" | "schedule";
  storageFilePath?: string | null;
  downloadUrl?: string | null;
  expiresAt?: Timestamp;
  bytesDumped?: number;
  /** Bytes stored (compressed, per copy). */
  size?: number;
  durationMs?: number | null;
  manifestSha256?: string | null;
  manifest?: Manifest | null;
  error?: string | null;
  createdAt: Timestamp;
  startedAt?: Timestamp;
  finishedAt?: Timestamp;
  verifiedAt?: Timestamp;
  verifyStatus?: "ok" | "failed" | null;
  verifyError?: string | null;
  destinations?: BackupDestinationResult[];
}

/** The backup's manifest.json (docs/FORMAT.md): parts with checksums, tables with row counts. */
export interface ManifestFile {
  name: string;
  role?: string;
  size: number;
  sha256: string;
  plainSize?: number;
  plainSha256?: string;
}

export interface Manifest {
  id?: string;
  name?: string;
  type?: string;
  compression?: string;
  server?: { version?: string; supabase?: boolean; database?: string };
  pgDump?: { version?: string };
  encryption?: unknown;
  migrationHistory?: boolean;
  files?: ManifestFile[];
  tables?: Array<{ schema: string; name: string; rows: number }>;
  startedAt?: string;
  finishedAt?: string;
}

export interface Page<T> {
  items: T[];
  nextCursor?: string | null;
}

export interface ApiToken {
  id: string;
  name: string;
  createdAt: Timestamp;
  lastUsedAt?: Timestamp;
}

export interface User {
  id: string;
  email: string;
  role: "admin" | "viewer";
  createdAt: Timestamp;
  lastLoginAt?: Timestamp;
}

/** One message of a backup's or restore's events stream. */
export interface JobEvent {
  type?: string;
  phase?: string;
  status?: string;
  bytesDumped?: number;
  bytesRestored?: number;
  rate?: number;
  bytesPerSecond?: number;
  /** Progress: one entry per destination of the run (`id` is the backup's destination row). */
  destinations?: Array<{ id?: string; name?: string; bytesUploaded?: number; failed?: boolean; status?: string }>;
  error?: string | null;
  message?: string;
  downloadUrl?: string | null;
  done?: boolean;
  /** Point-in-time restore: transactions replayed so far, and (when it completed) the commit it reached. */
  transactions?: number;
  reached?: { lsn: string; time: string };
}

/** A point-in-time archive (`stowage stream`) on a destination: GET /api/point-in-time. */
export interface PointInTimeArchive {
  destinationId: string;
  destinationName: string;
  name: string;
  windows: Array<{ from: string; to: string; toLsn: string; baseId: string; gap: boolean }>;
}

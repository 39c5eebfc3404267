/**
 * @module server/db/store
 * The metadata store as the rest of the server sees it: plain records and async repositories, no
 * SQL and no Drizzle types. Routes, services and the job runner only ever take a `MetadataStore`, so
 * a PostgreSQL implementation (issue 12) slots in beside `sqlite/store.ts` without touching them.
 * Secret columns hold encrypted envelopes here; services encrypt and decrypt (crypto/secret-box.ts).
 */
import type { SchedulerRepositories } from "../schedules/repository.ts";
import type { BACKUP_STATUSES, backupDestinations, backups, restores, storageDestinations } from "./schema.ts";

export type Role = "admin" | "viewer";
export type BackupStatus = (typeof BACKUP_STATUSES)[number];
export type DestinationType = (typeof storageDestinations.$inferSelect)["type"];

export interface UserRecord {
  id: string;
  email: string;
  passwordHash: string;
  role: Role;
  createdAt: Date;
  updatedAt: Date;
  lastLoginAt: Date | null;
}

export interface SessionRecord {
  id: string;
  userId: string;
  csrfToken: string;
  createdAt: Date;
  expiresAt: Date;
  lastSeenAt: Date;
}

export interface ApiTokenRecord {
  id: string;
  userId: string;
  name: string;
  tokenHash: string;
  createdAt: Date;
  lastUsedAt: Date | null;
}

export type DestinationRecord = typeof storageDestinations.$inferSelect;
export type BackupRecord = typeof backups.$inferSelect;
export type BackupDestinationRecord = typeof backupDestinations.$inferSelect;
export type RestoreRecord = typeof restores.$inferSelect;

export interface ProjectRecord {
  id: string;
  name: string;
  /** Encrypted envelope. */
  databaseUrl: string;
  kind: "auto" | "supabase" | "postgres";
  includeMigrationHistory: boolean;
  lastTestedAt: Date | null;
  lastTestOk: boolean | null;
  lastTestError: string | null;
  serverVersion: string | null;
  supabase: boolean | null;
  sizeBytes: number | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface AuditEventRecord {
  id: string;
  at: Date;
  userId: string | null;
  actor: string;
  action: string;
  targetType: string | null;
  targetId: string | null;
  details: Record<string, unknown> | null;
  ip: string | null;
}

export interface Page<T> {
  items: T[];
  /** Opaque keyset cursor of the next page, null on the last page. */
  nextCursor: string | null;
}

export interface BackupFilter {
  projectId?: string;
  status?: BackupStatus;
  scheduleId?: string;
  cursor?: string;
  limit: number;
}

export interface UserRepository {
  count(): Promise<number>;
  /** Inserts only while no user exists (the setup race is decided inside one transaction). */
  createFirst(user: UserRecord): Promise<boolean>;
  create(user: UserRecord): Promise<void>;
  byId(id: string): Promise<UserRecord | undefined>;
  byEmail(email: string): Promise<UserRecord | undefined>;
  list(): Promise<UserRecord[]>;
  update(id: string, patch: Partial<Pick<UserRecord, "role" | "passwordHash" | "lastLoginAt" | "updatedAt">>): Promise<void>;
  delete(id: string): Promise<void>;
  countAdmins(): Promise<number>;
}

export interface SessionRepository {
  create(session: SessionRecord): Promise<void>;
  byId(id: string): Promise<SessionRecord | undefined>;
  touch(id: string, lastSeenAt: Date, expiresAt: Date): Promise<void>;
  delete(id: string): Promise<void>;
  deleteForUser(userId: string): Promise<void>;
  deleteExpired(now: Date): Promise<number>;
}

export interface ApiTokenRepository {
  create(token: ApiTokenRecord): Promise<void>;
  byHash(tokenHash: string): Promise<ApiTokenRecord | undefined>;
  byId(id: string): Promise<ApiTokenRecord | undefined>;
  list(userId?: string): Promise<ApiTokenRecord[]>;
  touch(id: string, at: Date): Promise<void>;
  delete(id: string): Promise<void>;
}

export interface DestinationRepository {
  list(): Promise<DestinationRecord[]>;
  byId(id: string): Promise<DestinationRecord | undefined>;
  byName(name: string): Promise<DestinationRecord | undefined>;
  defaultDestination(): Promise<DestinationRecord | undefined>;
  create(record: DestinationRecord): Promise<void>;
  update(id: string, patch: Partial<DestinationRecord>): Promise<void>;
  delete(id: string): Promise<void>;
  /** Adds to total_backups / total_size (negative to subtract). */
  addUsage(id: string, backups: number, bytes: number): Promise<void>;
}

export interface ProjectRepository {
  list(): Promise<ProjectRecord[]>;
  byId(id: string): Promise<ProjectRecord | undefined>;
  byName(name: string): Promise<ProjectRecord | undefined>;
  create(record: ProjectRecord): Promise<void>;
  update(id: string, patch: Partial<ProjectRecord>): Promise<void>;
  delete(id: string): Promise<void>;
}

export interface BackupRepository {
  create(record: BackupRecord, destinations: BackupDestinationRecord[]): Promise<void>;
  byId(id: string): Promise<BackupRecord | undefined>;
  list(filter: BackupFilter): Promise<Page<BackupRecord>>;
  update(id: string, patch: Partial<BackupRecord>): Promise<void>;
  delete(id: string): Promise<void>;
  /** Rows in pending/dumping/uploading: at start, those a crash left behind. */
  running(): Promise<BackupRecord[]>;
  /**
   * Takes a queued (`pending`, no owner) row for this server instance: true for the one server that
   * wins it, false when another took it or it was cancelled meanwhile.
   */
  claim(id: string, owner: string, at: Date): Promise<boolean>;
  /** Cancels a row still waiting in the queue (no owner yet); false when a server already took it. */
  cancelQueued(id: string, at: Date): Promise<boolean>;
  /**
   * Asks the server running the row (another one: its `owner`) to cancel it: true when the row was
   * still running there, false when it already ended or is not owned yet.
   */
  requestCancel(id: string, at: Date): Promise<boolean>;
  /**
   * Sign of life of every running row this server instance owns; answers the ids of those rows on
   * which a cancel was requested (another server's API took the cancel).
   */
  heartbeat(owner: string, at: Date): Promise<{ cancelRequested: string[] }>;
  destinations(backupId: string): Promise<BackupDestinationRecord[]>;
  destinationsOf(backupIds: string[]): Promise<BackupDestinationRecord[]>;
  updateDestination(id: string, patch: Partial<BackupDestinationRecord>): Promise<void>;
  /** Any backup (any status) that still has parts on this destination. */
  countOnDestination(destinationId: string): Promise<number>;
}

export interface RestoreRepository {
  create(record: RestoreRecord): Promise<void>;
  byId(id: string): Promise<RestoreRecord | undefined>;
  list(limit: number): Promise<RestoreRecord[]>;
  update(id: string, patch: Partial<RestoreRecord>): Promise<void>;
  running(): Promise<RestoreRecord[]>;
  /**
   * As for backups: asks the server running the restore (its `owner`) to cancel it; false when the
   * restore already ended.
   */
  requestCancel(id: string, at: Date): Promise<boolean>;
  /**
   * Sign of life of every running restore this server instance owns; answers the ids of those on
   * which another server's API recorded a cancel.
   */
  heartbeat(owner: string, at: Date): Promise<{ cancelRequested: string[] }>;
}

export interface AuditRepository {
  add(event: AuditEventRecord): Promise<void>;
  list(filter: { cursor?: string; limit: number; action?: string }): Promise<Page<AuditEventRecord>>;
}

export interface SettingsRepository {
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string): Promise<void>;
}

export interface MetadataStore {
  /** `sqlite` or `postgres`: shown in logs, never used to branch in routes. */
  readonly dialect: string;
  readonly users: UserRepository;
  readonly sessions: SessionRepository;
  readonly apiTokens: ApiTokenRepository;
  readonly destinations: DestinationRepository;
  readonly projects: ProjectRepository;
  readonly backups: BackupRepository;
  readonly restores: RestoreRepository;
  readonly audit: AuditRepository;
  readonly settings: SettingsRepository;
  /** Schedules, their runs, alerts and notification channels (issue 12). */
  readonly scheduler: SchedulerRepositories;
  /** A trivial query: false when the metadata database does not answer (health). */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/** One page of `limit + 1` rows read newest first: the extra row only says that a next page exists. */
export function page<T>(rows: T[], limit: number, key: (row: T) => { at: Date; id: string }): Page<T> {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return { items, nextCursor: rows.length > limit && last ? encodeCursor(key(last).at, key(last).id) : null };
}

/** Keyset cursor over (time, id), newest first. */
export function encodeCursor(at: Date, id: string): string {
  return Buffer.from(`${at.getTime()}:${id}`, "utf8").toString("base64url");
}

export function decodeCursor(cursor: string): { at: Date; id: string } | undefined {
  const text = Buffer.from(cursor, "base64url").toString("utf8");
  const colon = text.indexOf(":");
  const ms = Number(text.slice(0, colon));
  if (colon < 1 || !Number.isFinite(ms)) return undefined;
  return { at: new Date(ms), id: text.slice(colon + 1) };
}

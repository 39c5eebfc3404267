/**
 * @module server/db/sqlite/store
 * `MetadataStore` on SQLite (better-sqlite3 + Drizzle): the embedded default. One connection, WAL
 * journal, foreign keys on; migrations (drizzle-kit's versioned SQL files) run on open. better-sqlite3
 * is synchronous; the repositories stay async so the PostgreSQL store has the same shape.
 */
import { closeSync, mkdirSync, openSync } from "node:fs";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { and, desc, eq, inArray, isNotNull, isNull, lt, or, sql } from "drizzle-orm";
import { type BetterSQLite3Database, drizzle } from "drizzle-orm/better-sqlite3";
import { migrate } from "drizzle-orm/better-sqlite3/migrator";
import { sqliteSchedulerRepositories } from "../../schedules/sqlite-repository.ts";
import * as schema from "../schema.ts";
import { type AuditEventRecord, type BackupRecord, decodeCursor, type MetadataStore, page } from "../store.ts";

const MIGRATIONS = fileURLToPath(new URL("../migrations/sqlite", import.meta.url));

type Db = BetterSQLite3Database<typeof schema>;

const {
  users,
  sessions,
  apiTokens,
  storageDestinations,
  projects,
  backups,
  backupDestinations,
  restores,
  auditEvents,
  settings,
} = schema;

/** Opens (creating if needed) the SQLite file and brings its schema up to date. */
export function openSqliteStore(file: string): MetadataStore {
  if (file !== ":memory:") {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    // Users, session hashes and encrypted secrets live here: private from the first byte. SQLite gives
    // the -wal and -shm files the database file's mode.
    closeSync(openSync(file, "a", 0o600));
  }
  const sqlite = new Database(file);
  sqlite.pragma("journal_mode = WAL");
  sqlite.pragma("foreign_keys = ON");
  sqlite.pragma("busy_timeout = 5000");
  sqlite.pragma("synchronous = NORMAL");
  const db: Db = drizzle(sqlite, { schema });
  migrate(db, { migrationsFolder: MIGRATIONS });
  return createStore(db, sqlite);
}

function createStore(db: Db, sqlite: Database.Database): MetadataStore {
  return {
    dialect: "sqlite",
    users: {
      async count() {
        return db.select({ n: sql<number>`count(*)` }).from(users).get()!.n;
      },
      async createFirst(user) {
        return db.transaction((tx) => {
          const n = tx.select({ n: sql<number>`count(*)` }).from(users).get()!.n;
          if (n > 0) return false;
          tx.insert(users).values(user).run();
          return true;
        });
      },
      async create(user) {
        db.insert(users).values(user).run();
      },
      async byId(id) {
        return db.select().from(users).where(eq(users.id, id)).get();
      },
      async byEmail(email) {
        return db.select().from(users).where(eq(users.email, email)).get();
      },
      async list() {
        return db.select().from(users).orderBy(users.createdAt).all();
      },
      async update(id, patch) {
        db.update(users).set(patch).where(eq(users.id, id)).run();
      },
      async delete(id) {
        db.delete(users).where(eq(users.id, id)).run();
      },
      async countAdmins() {
        return db.select({ n: sql<number>`count(*)` }).from(users).where(eq(users.role, "admin")).get()!.n;
      },
    },
    sessions: {
      async create(session) {
        db.insert(sessions).values(session).run();
      },
      async byId(id) {
        return db.select().from(sessions).where(eq(sessions.id, id)).get();
      },
      async touch(id, lastSeenAt, expiresAt) {
        db.update(sessions).set({ lastSeenAt, expiresAt }).where(eq(sessions.id, id)).run();
      },
      async delete(id) {
        db.delete(sessions).where(eq(sessions.id, id)).run();
      },
      async deleteForUser(userId) {
        db.delete(sessions).where(eq(sessions.userId, userId)).run();
      },
      async deleteExpired(now) {
        return db.delete(sessions).where(lt(sessions.expiresAt, now)).run().changes;
      },
    },
    apiTokens: {
      async create(token) {
        db.insert(apiTokens).values(token).run();
      },
      async byHash(tokenHash) {
        return db.select().from(apiTokens).where(eq(apiTokens.tokenHash, tokenHash)).get();
      },
      async byId(id) {
        return db.select().from(apiTokens).where(eq(apiTokens.id, id)).get();
      },
      async list(userId) {
        const q = db.select().from(apiTokens);
        return (userId ? q.where(eq(apiTokens.userId, userId)) : q).orderBy(apiTokens.createdAt).all();
      },
      async touch(id, at) {
        db.update(apiTokens).set({ lastUsedAt: at }).where(eq(apiTokens.id, id)).run();
      },
      async delete(id) {
        db.delete(apiTokens).where(eq(apiTokens.id, id)).run();
      },
    },
    destinations: {
      async list() {
        return db.select().from(storageDestinations).orderBy(storageDestinations.name).all();
      },
      async byId(id) {
        return db.select().from(storageDestinations).where(eq(storageDestinations.id, id)).get();
      },
      async byName(name) {
        return db.select().from(storageDestinations).where(eq(storageDestinations.name, name)).get();
      },
      async defaultDestination() {
        return db.select().from(storageDestinations).where(eq(storageDestinations.isDefault, true)).get();
      },
      async create(record) {
        db.insert(storageDestinations).values(record).run();
      },
      async update(id, patch) {
        db.update(storageDestinations).set(patch).where(eq(storageDestinations.id, id)).run();
      },
      async delete(id) {
        db.delete(storageDestinations).where(eq(storageDestinations.id, id)).run();
      },
      async addUsage(id, count, bytes) {
        db.update(storageDestinations)
          .set({
            totalBackups: sql`max(0, ${storageDestinations.totalBackups} + ${count})`,
            totalSize: sql`max(0, ${storageDestinations.totalSize} + ${bytes})`,
          })
          .where(eq(storageDestinations.id, id))
          .run();
      },
    },
    projects: {
      async list() {
        return db.select().from(projects).orderBy(projects.name).all();
      },
      async byId(id) {
        return db.select().from(projects).where(eq(projects.id, id)).get();
      },
      async byName(name) {
        return db.select().from(projects).where(eq(projects.name, name)).get();
      },
      async create(record) {
        db.insert(projects).values(record).run();
      },
      async update(id, patch) {
        db.update(projects).set(patch).where(eq(projects.id, id)).run();
      },
      async delete(id) {
        db.delete(projects).where(eq(projects.id, id)).run();
      },
    },
    backups: {
      async create(record, destinations) {
        db.transaction((tx) => {
          tx.insert(backups).values(record).run();
          if (destinations.length > 0) tx.insert(backupDestinations).values(destinations).run();
        });
      },
      async byId(id) {
        return db.select().from(backups).where(eq(backups.id, id)).get();
      },
      async list(filter) {
        const where = [];
        if (filter.projectId) where.push(eq(backups.projectId, filter.projectId));
        if (filter.status) where.push(eq(backups.status, filter.status));
        if (filter.scheduleId) where.push(eq(backups.scheduleId, filter.scheduleId));
        const cursor = filter.cursor ? decodeCursor(filter.cursor) : undefined;
        if (cursor) {
          where.push(or(lt(backups.createdAt, cursor.at), and(eq(backups.createdAt, cursor.at), lt(backups.id, cursor.id))));
        }
        const rows = db
          .select()
          .from(backups)
          .where(where.length ? and(...where) : undefined)
          .orderBy(desc(backups.createdAt), desc(backups.id))
          .limit(filter.limit + 1)
          .all();
        return page<BackupRecord>(rows, filter.limit, (r) => ({ at: r.createdAt, id: r.id }));
      },
      async update(id, patch) {
        db.update(backups).set(patch).where(eq(backups.id, id)).run();
      },
      async delete(id) {
        db.delete(backups).where(eq(backups.id, id)).run();
      },
      async running() {
        return db
          .select()
          .from(backups)
          .where(inArray(backups.status, [...schema.RUNNING_BACKUP_STATUSES]))
          .all();
      },
      async claim(id, owner, at) {
        return (
          db
            .update(backups)
            .set({ owner, heartbeatAt: at })
            .where(and(eq(backups.id, id), eq(backups.status, "pending"), isNull(backups.owner)))
            .run().changes === 1
        );
      },
      async cancelQueued(id, at) {
        return (
          db
            .update(backups)
            .set({ status: "cancelled", finishedAt: at })
            .where(and(eq(backups.id, id), eq(backups.status, "pending"), isNull(backups.owner)))
            .run().changes === 1
        );
      },
      async requestCancel(id, at) {
        return (
          db
            .update(backups)
            .set({ cancelRequestedAt: at })
            .where(
              and(eq(backups.id, id), isNotNull(backups.owner), inArray(backups.status, [...schema.RUNNING_BACKUP_STATUSES])),
            )
            .run().changes === 1
        );
      },
      async heartbeat(owner, at) {
        const rows = db
          .update(backups)
          .set({ heartbeatAt: at })
          .where(and(eq(backups.owner, owner), inArray(backups.status, [...schema.RUNNING_BACKUP_STATUSES])))
          .returning({ id: backups.id, cancelRequestedAt: backups.cancelRequestedAt })
          .all();
        return { cancelRequested: rows.filter((r) => r.cancelRequestedAt !== null).map((r) => r.id) };
      },
      async destinations(backupId) {
        return db.select().from(backupDestinations).where(eq(backupDestinations.backupId, backupId)).all();
      },
      async destinationsOf(backupIds) {
        if (backupIds.length === 0) return [];
        return db.select().from(backupDestinations).where(inArray(backupDestinations.backupId, backupIds)).all();
      },
      async updateDestination(id, patch) {
        db.update(backupDestinations).set(patch).where(eq(backupDestinations.id, id)).run();
      },
      async countOnDestination(destinationId) {
        return db
          .select({ n: sql<number>`count(*)` })
          .from(backupDestinations)
          .where(and(eq(backupDestinations.destinationId, destinationId), inArray(backupDestinations.status, ["completed"])))
          .get()!.n;
      },
    },
    restores: {
      async create(record) {
        db.insert(restores).values(record).run();
      },
      async byId(id) {
        return db.select().from(restores).where(eq(restores.id, id)).get();
      },
      async list(limit) {
        return db.select().from(restores).orderBy(desc(restores.createdAt)).limit(limit).all();
      },
      async update(id, patch) {
        db.update(restores).set(patch).where(eq(restores.id, id)).run();
      },
      async running() {
        return db
          .select()
          .from(restores)
          .where(inArray(restores.status, ["pending", "restoring"]))
          .all();
      },
      async requestCancel(id, at) {
        return (
          db
            .update(restores)
            .set({ cancelRequestedAt: at })
            .where(and(eq(restores.id, id), isNotNull(restores.owner), inArray(restores.status, ["pending", "restoring"])))
            .run().changes === 1
        );
      },
      async heartbeat(owner, at) {
        const rows = db
          .update(restores)
          .set({ heartbeatAt: at })
          .where(and(eq(restores.owner, owner), inArray(restores.status, ["pending", "restoring"])))
          .returning({ id: restores.id, cancelRequestedAt: restores.cancelRequestedAt })
          .all();
        return { cancelRequested: rows.filter((r) => r.cancelRequestedAt !== null).map((r) => r.id) };
      },
    },
    audit: {
      async add(event) {
        db.insert(auditEvents)
          .values({ ...event, details: event.details ? JSON.stringify(event.details) : null })
          .run();
      },
      async list(filter) {
        const where = [];
        if (filter.action) where.push(eq(auditEvents.action, filter.action));
        const cursor = filter.cursor ? decodeCursor(filter.cursor) : undefined;
        if (cursor)
          where.push(or(lt(auditEvents.at, cursor.at), and(eq(auditEvents.at, cursor.at), lt(auditEvents.id, cursor.id))));
        const rows = db
          .select()
          .from(auditEvents)
          .where(where.length ? and(...where) : undefined)
          .orderBy(desc(auditEvents.at), desc(auditEvents.id))
          .limit(filter.limit + 1)
          .all()
          .map(
            (r): AuditEventRecord => ({ ...r, details: r.details ? (JSON.parse(r.details) as Record<string, unknown>) : null }),
          );
        return page(rows, filter.limit, (r) => ({ at: r.at, id: r.id }));
      },
    },
    settings: {
      async get(key) {
        return db.select().from(settings).where(eq(settings.key, key)).get()?.value;
      },
      async set(key, value) {
        db.insert(settings)
          .values({ key, value, updatedAt: new Date() })
          .onConflictDoUpdate({ target: settings.key, set: { value, updatedAt: new Date() } })
          .run();
      },
    },
    scheduler: sqliteSchedulerRepositories(db),
    async ping() {
      try {
        sqlite.prepare("select 1").get();
        return true;
      } catch {
        return false;
      }
    },
    async close() {
      if (sqlite.open) sqlite.close();
    },
  };
}

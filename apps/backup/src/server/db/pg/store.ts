/**
 * @module server/db/pg/store
 * `MetadataStore` on PostgreSQL (`DATABASE_URL=postgres://…`) through Drizzle and node-postgres: the
 * same repositories as the SQLite store (../sqlite/store.ts), query for query, so several
 * `stowage serve` processes can share one metadata database. Migrations (drizzle-kit's SQL files
 * under ../migrations/pg) run on open under an advisory lock.
 */
import { fileURLToPath } from "node:url";
import { and, desc, eq, inArray, isNotNull, isNull, lt, or, sql } from "drizzle-orm";
import { drizzle, type NodePgDatabase } from "drizzle-orm/node-postgres";
import { migrate } from "drizzle-orm/node-postgres/migrator";
import pg from "pg";
import { pgSchedulerRepositories } from "../../schedules/pg-repository.ts";
import { type AuditEventRecord, type BackupRecord, decodeCursor, type MetadataStore, page } from "../store.ts";
import * as schema from "./schema.ts";

const MIGRATIONS = fileURLToPath(new URL("../migrations/pg", import.meta.url));

type Db = NodePgDatabase<typeof schema>;

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

/** Connects (a small pool), brings the schema up to date (migrations under an advisory lock: several servers may start at once). */
export async function openPgStore(url: string): Promise<MetadataStore> {
  const pool = new pg.Pool({ connectionString: url, max: 10, connectionTimeoutMillis: 10_000 });
  pool.on("error", () => {});
  const db: Db = drizzle(pool, { schema });
  const client = await pool.connect();
  try {
    await client.query("select pg_advisory_lock(hashtext('stowage_metadata_migrations'))");
    await migrate(drizzle(client, { schema }), { migrationsFolder: MIGRATIONS });
  } catch (error) {
    client.release();
    await pool.end();
    throw error;
  }
  await client.query("select pg_advisory_unlock(hashtext('stowage_metadata_migrations'))").catch(() => {});
  client.release();
  return createStore(db, pool);
}

function createStore(db: Db, pool: pg.Pool): MetadataStore {
  return {
    dialect: "postgres",
    users: {
      async count() {
        return db
          .select({ n: sql<number>`count(*)` })
          .from(users)
          .then((r) => Number(r[0]!.n));
      },
      async createFirst(user) {
        return db.transaction(async (tx) => {
          // Serialises concurrent setups (on every server sharing this database).
          await tx.execute(sql`select pg_advisory_xact_lock(hashtext('stowage_setup'))`);
          const n = await tx
            .select({ n: sql<number>`count(*)` })
            .from(users)
            .then((r) => Number(r[0]!.n));
          if (n > 0) return false;
          await tx.insert(users).values(user);
          return true;
        });
      },
      async create(user) {
        await db.insert(users).values(user);
      },
      async byId(id) {
        return db
          .select()
          .from(users)
          .where(eq(users.id, id))
          .then((r) => r[0]);
      },
      async byEmail(email) {
        return db
          .select()
          .from(users)
          .where(eq(users.email, email))
          .then((r) => r[0]);
      },
      async list() {
        return db.select().from(users).orderBy(users.createdAt);
      },
      async update(id, patch) {
        await db.update(users).set(patch).where(eq(users.id, id));
      },
      async delete(id) {
        await db.delete(users).where(eq(users.id, id));
      },
      async countAdmins() {
        return db
          .select({ n: sql<number>`count(*)` })
          .from(users)
          .where(eq(users.role, "admin"))
          .then((r) => Number(r[0]!.n));
      },
    },
    sessions: {
      async create(session) {
        await db.insert(sessions).values(session);
      },
      async byId(id) {
        return db
          .select()
          .from(sessions)
          .where(eq(sessions.id, id))
          .then((r) => r[0]);
      },
      async touch(id, lastSeenAt, expiresAt) {
        await db.update(sessions).set({ lastSeenAt, expiresAt }).where(eq(sessions.id, id));
      },
      async delete(id) {
        await db.delete(sessions).where(eq(sessions.id, id));
      },
      async deleteForUser(userId) {
        await db.delete(sessions).where(eq(sessions.userId, userId));
      },
      async deleteExpired(now) {
        return db
          .delete(sessions)
          .where(lt(sessions.expiresAt, now))
          .then((r) => r.rowCount ?? 0);
      },
    },
    apiTokens: {
      async create(token) {
        await db.insert(apiTokens).values(token);
      },
      async byHash(tokenHash) {
        return db
          .select()
          .from(apiTokens)
          .where(eq(apiTokens.tokenHash, tokenHash))
          .then((r) => r[0]);
      },
      async byId(id) {
        return db
          .select()
          .from(apiTokens)
          .where(eq(apiTokens.id, id))
          .then((r) => r[0]);
      },
      async list(userId) {
        const q = db.select().from(apiTokens);
        return (userId ? q.where(eq(apiTokens.userId, userId)) : q).orderBy(apiTokens.createdAt);
      },
      async touch(id, at) {
        await db.update(apiTokens).set({ lastUsedAt: at }).where(eq(apiTokens.id, id));
      },
      async delete(id) {
        await db.delete(apiTokens).where(eq(apiTokens.id, id));
      },
    },
    destinations: {
      async list() {
        return db.select().from(storageDestinations).orderBy(storageDestinations.name);
      },
      async byId(id) {
        return db
          .select()
          .from(storageDestinations)
          .where(eq(storageDestinations.id, id))
          .then((r) => r[0]);
      },
      async byName(name) {
        return db
          .select()
          .from(storageDestinations)
          .where(eq(storageDestinations.name, name))
          .then((r) => r[0]);
      },
      async defaultDestination() {
        return db
          .select()
          .from(storageDestinations)
          .where(eq(storageDestinations.isDefault, true))
          .then((r) => r[0]);
      },
      async create(record) {
        await db.insert(storageDestinations).values(record);
      },
      async update(id, patch) {
        await db.update(storageDestinations).set(patch).where(eq(storageDestinations.id, id));
      },
      async delete(id) {
        await db.delete(storageDestinations).where(eq(storageDestinations.id, id));
      },
      async addUsage(id, count, bytes) {
        await db
          .update(storageDestinations)
          .set({
            totalBackups: sql`greatest(0, ${storageDestinations.totalBackups} + ${count})`,
            totalSize: sql`greatest(0, ${storageDestinations.totalSize} + ${bytes})`,
          })
          .where(eq(storageDestinations.id, id));
      },
    },
    projects: {
      async list() {
        return db.select().from(projects).orderBy(projects.name);
      },
      async byId(id) {
        return db
          .select()
          .from(projects)
          .where(eq(projects.id, id))
          .then((r) => r[0]);
      },
      async byName(name) {
        return db
          .select()
          .from(projects)
          .where(eq(projects.name, name))
          .then((r) => r[0]);
      },
      async create(record) {
        await db.insert(projects).values(record);
      },
      async update(id, patch) {
        await db.update(projects).set(patch).where(eq(projects.id, id));
      },
      async delete(id) {
        await db.delete(projects).where(eq(projects.id, id));
      },
    },
    backups: {
      async create(record, destinations) {
        await db.transaction(async (tx) => {
          await tx.insert(backups).values(record);
          if (destinations.length > 0) await tx.insert(backupDestinations).values(destinations);
        });
      },
      async byId(id) {
        return db
          .select()
          .from(backups)
          .where(eq(backups.id, id))
          .then((r) => r[0]);
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
        const rows = await db
          .select()
          .from(backups)
          .where(where.length ? and(...where) : undefined)
          .orderBy(desc(backups.createdAt), desc(backups.id))
          .limit(filter.limit + 1);
        return page<BackupRecord>(rows, filter.limit, (r) => ({ at: r.createdAt, id: r.id }));
      },
      async update(id, patch) {
        await db.update(backups).set(patch).where(eq(backups.id, id));
      },
      async delete(id) {
        await db.delete(backups).where(eq(backups.id, id));
      },
      async running() {
        return db
          .select()
          .from(backups)
          .where(inArray(backups.status, [...schema.RUNNING_BACKUP_STATUSES]));
      },
      async claim(id, owner, at) {
        return db
          .update(backups)
          .set({ owner, heartbeatAt: at })
          .where(and(eq(backups.id, id), eq(backups.status, "pending"), isNull(backups.owner)))
          .then((r) => r.rowCount === 1);
      },
      async cancelQueued(id, at) {
        return db
          .update(backups)
          .set({ status: "cancelled", finishedAt: at })
          .where(and(eq(backups.id, id), eq(backups.status, "pending"), isNull(backups.owner)))
          .then((r) => r.rowCount === 1);
      },
      async requestCancel(id, at) {
        return db
          .update(backups)
          .set({ cancelRequestedAt: at })
          .where(and(eq(backups.id, id), isNotNull(backups.owner), inArray(backups.status, [...schema.RUNNING_BACKUP_STATUSES])))
          .then((r) => r.rowCount === 1);
      },
      async heartbeat(owner, at) {
        const rows = await db
          .update(backups)
          .set({ heartbeatAt: at })
          .where(and(eq(backups.owner, owner), inArray(backups.status, [...schema.RUNNING_BACKUP_STATUSES])))
          .returning({ id: backups.id, cancelRequestedAt: backups.cancelRequestedAt });
        return { cancelRequested: rows.filter((r) => r.cancelRequestedAt !== null).map((r) => r.id) };
      },
      async destinations(backupId) {
        return db.select().from(backupDestinations).where(eq(backupDestinations.backupId, backupId));
      },
      async destinationsOf(backupIds) {
        if (backupIds.length === 0) return [];
        return db.select().from(backupDestinations).where(inArray(backupDestinations.backupId, backupIds));
      },
      async updateDestination(id, patch) {
        await db.update(backupDestinations).set(patch).where(eq(backupDestinations.id, id));
      },
      async countOnDestination(destinationId) {
        return db
          .select({ n: sql<number>`count(*)` })
          .from(backupDestinations)
          .where(and(eq(backupDestinations.destinationId, destinationId), inArray(backupDestinations.status, ["completed"])))
          .then((r) => Number(r[0]!.n));
      },
    },
    restores: {
      async create(record) {
        await db.insert(restores).values(record);
      },
      async byId(id) {
        return db
          .select()
          .from(restores)
          .where(eq(restores.id, id))
          .then((r) => r[0]);
      },
      async list(limit) {
        return db.select().from(restores).orderBy(desc(restores.createdAt)).limit(limit);
      },
      async update(id, patch) {
        await db.update(restores).set(patch).where(eq(restores.id, id));
      },
      async running() {
        return db
          .select()
          .from(restores)
          .where(inArray(restores.status, ["pending", "restoring"]));
      },
      async requestCancel(id, at) {
        return db
          .update(restores)
          .set({ cancelRequestedAt: at })
          .where(and(eq(restores.id, id), isNotNull(restores.owner), inArray(restores.status, ["pending", "restoring"])))
          .then((r) => r.rowCount === 1);
      },
      async heartbeat(owner, at) {
        const rows = await db
          .update(restores)
          .set({ heartbeatAt: at })
          .where(and(eq(restores.owner, owner), inArray(restores.status, ["pending", "restoring"])))
          .returning({ id: restores.id, cancelRequestedAt: restores.cancelRequestedAt });
        return { cancelRequested: rows.filter((r) => r.cancelRequestedAt !== null).map((r) => r.id) };
      },
    },
    audit: {
      async add(event) {
        await db.insert(auditEvents).values({ ...event, details: event.details ? JSON.stringify(event.details) : null });
      },
      async list(filter) {
        const where = [];
        if (filter.action) where.push(eq(auditEvents.action, filter.action));
        const cursor = filter.cursor ? decodeCursor(filter.cursor) : undefined;
        if (cursor)
          where.push(or(lt(auditEvents.at, cursor.at), and(eq(auditEvents.at, cursor.at), lt(auditEvents.id, cursor.id))));
        const rows = (
          await db
            .select()
            .from(auditEvents)
            .where(where.length ? and(...where) : undefined)
            .orderBy(desc(auditEvents.at), desc(auditEvents.id))
            .limit(filter.limit + 1)
        ).map(
          (r): AuditEventRecord => ({ ...r, details: r.details ? (JSON.parse(r.details) as Record<string, unknown>) : null }),
        );
        return page(rows, filter.limit, (r) => ({ at: r.at, id: r.id }));
      },
    },
    settings: {
      async get(key) {
        return db
          .select()
          .from(settings)
          .where(eq(settings.key, key))
          .then((r) => r[0]?.value);
      },
      async set(key, value) {
        await db
          .insert(settings)
          .values({ key, value, updatedAt: new Date() })
          .onConflictDoUpdate({ target: settings.key, set: { value, updatedAt: new Date() } });
      },
    },
    scheduler: pgSchedulerRepositories(db),
    async ping() {
      try {
        await pool.query("select 1");
        return true;
      } catch {
        return false;
      }
    },
    async close() {
      if (!pool.ended) await pool.end();
    },
  };
}

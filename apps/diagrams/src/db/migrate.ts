/**
 * @module db/migrate
 * Applies the numbered SQL files of `apps/diagrams/migrations` in order, once each, and records them
 * (name + SHA-256 checksum) in `stowage_private.schema_migrations`. All pending files run in ONE
 * transaction holding an advisory lock, so two service instances starting together do not race
 * (the second waits, then finds nothing to do) and a failing file leaves the database unchanged.
 * An applied file whose content changed is refused: migrations are append-only.
 */
import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import type { Database, SqlExecutor } from "./database.ts";

/** Folder of the SQL files shipped with the service. */
export const MIGRATIONS_DIR = fileURLToPath(new URL("../../migrations/", import.meta.url));

/** Arbitrary constant: the advisory lock every instance takes while migrating. */
const MIGRATION_LOCK_KEY = 7_262_017_113;

const MIGRATION_FILE = /^(\d{4})_[a-z0-9_]+\.sql$/;

export interface Migration {
  /** File name, e.g. `0002_schema.sql`. */
  readonly name: string;
  readonly sql: string;
  /** Hex SHA-256 of the file content. */
  readonly checksum: string;
}

export interface MigrationResult {
  /** Names applied by this run, in order (empty when the database was up to date). */
  readonly applied: string[];
}

/** An already applied migration file was edited, or a recorded one is missing on disk. */
export class MigrationError extends Error {
  readonly code: "MIGRATION_CHECKSUM_MISMATCH" | "MIGRATION_MISSING" | "MIGRATION_FAILED";
  constructor(code: MigrationError["code"], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "MigrationError";
    this.code = code;
  }
}

export function checksumOf(sql: string): string {
  return createHash("sha256").update(sql, "utf8").digest("hex");
}

/** Reads `NNNN_name.sql` files from `dir`, sorted by number. */
export async function loadMigrations(dir: string = MIGRATIONS_DIR): Promise<Migration[]> {
  const names = (await readdir(dir)).filter((n) => MIGRATION_FILE.test(n)).sort();
  return Promise.all(
    names.map(async (name) => {
      const sql = await readFile(`${dir}/${name}`, "utf8");
      return { name, sql, checksum: checksumOf(sql) };
    }),
  );
}

async function ensureLedger(sql: SqlExecutor): Promise<void> {
  await sql.query("create schema if not exists stowage_private");
  await sql.query(
    `create table if not exists stowage_private.schema_migrations (
       name       text primary key,
       checksum   text not null,
       applied_at timestamptz not null default now()
     )`,
  );
}

/**
 * Applies pending migrations (idempotent: a second run applies nothing). Throws MigrationError when
 * an applied file changed or disappeared, or when a file fails (nothing of the run is kept).
 */
export async function migrate(db: Database, migrations?: readonly Migration[]): Promise<MigrationResult> {
  const files = migrations ?? (await loadMigrations());
  return db.asService(async (sql) => {
    await sql.query("select pg_advisory_xact_lock($1)", [MIGRATION_LOCK_KEY]);
    await ensureLedger(sql);
    const recorded = await sql.query<{ name: string; checksum: string }>(
      "select name, checksum from stowage_private.schema_migrations order by name",
    );
    const byName = new Map(files.map((m) => [m.name, m]));
    for (const row of recorded.rows) {
      const file = byName.get(row.name);
      if (!file) {
        throw new MigrationError(
          "MIGRATION_MISSING",
          `migration ${row.name} is recorded as applied but its file is missing: restore it (migrations are append-only)`,
        );
      }
      if (file.checksum !== row.checksum) {
        throw new MigrationError(
          "MIGRATION_CHECKSUM_MISMATCH",
          `migration ${row.name} changed after it was applied (checksum ${row.checksum.slice(0, 12)} recorded, ${file.checksum.slice(0, 12)} on disk): revert the edit and add a new numbered migration instead`,
        );
      }
    }
    const done = new Set(recorded.rows.map((r) => r.name));
    const applied: string[] = [];
    for (const m of files) {
      if (done.has(m.name)) continue;
      try {
        await sql.exec(m.sql);
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        throw new MigrationError("MIGRATION_FAILED", `migration ${m.name} failed: ${reason}`, { cause: error });
      }
      await sql.query("insert into stowage_private.schema_migrations (name, checksum) values ($1, $2)", [m.name, m.checksum]);
      applied.push(m.name);
    }
    return { applied };
  });
}

/**
 * @module db/create-database
 * Chooses the database from configuration and brings its schema up to date: PostgreSQL/Supabase
 * when a connection string is given (env `DATABASE_URL`), otherwise embedded PGlite in a data
 * folder (default `./data/diagrams`, env `DIAGRAMS_DATA_DIR`). Migrations run at every start;
 * they are idempotent and serialised by an advisory lock.
 */
import { z } from "zod";
import type { Database } from "./database.ts";
import { type MigrationResult, migrate } from "./migrate.ts";
import { PgliteDatabase } from "./pglite.ts";
import { PostgresDatabase } from "./postgres.ts";

export const DEFAULT_DATA_DIR = "./data/diagrams";

export const databaseOptionsSchema = z.object({
  /** PostgreSQL connection string; when set, PGlite is not used. */
  databaseUrl: z
    .string()
    .regex(/^postgres(ql)?:\/\//, "DATABASE_URL must start with postgres:// or postgresql://")
    .optional(),
  /** PGlite data folder; `memory://` keeps it in memory (tests). */
  dataDir: z.string().min(1).default(DEFAULT_DATA_DIR),
  /** Apply pending migrations before returning (default true). */
  migrate: z.boolean().default(true),
  /** PostgreSQL pool size. */
  poolSize: z.number().int().positive().optional(),
});

export type DatabaseOptions = z.input<typeof databaseOptionsSchema>;

export interface OpenedDatabase {
  readonly db: Database;
  readonly migrations: MigrationResult;
}

/** Reads `DATABASE_URL` and `DIAGRAMS_DATA_DIR` from an environment object. */
export function databaseOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): DatabaseOptions {
  return {
    databaseUrl: env.DATABASE_URL || undefined,
    dataDir: env.DIAGRAMS_DATA_DIR || undefined,
  };
}

export async function createDatabase(options: DatabaseOptions = {}): Promise<OpenedDatabase> {
  const parsed = databaseOptionsSchema.parse(options);
  const db: Database = parsed.databaseUrl
    ? new PostgresDatabase({ connectionString: parsed.databaseUrl, max: parsed.poolSize })
    : await PgliteDatabase.open(parsed.dataDir === "memory://" ? undefined : parsed.dataDir);
  try {
    const migrations = parsed.migrate ? await migrate(db) : { applied: [] };
    return { db, migrations };
  } catch (error) {
    await db.close();
    throw error;
  }
}

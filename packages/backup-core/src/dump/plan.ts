/**
 * @module dump/plan
 * What to dump for a backup: for each part (roles, schema, history_schema, data, history_data,
 * post-data) the tool, its arguments, the stream that frames/rewrites its output, and which tables'
 * rows it carries (for the manifest's counts). The parts are listed in restore order, which is also
 * the manifest's order (a backup tar is read as a stream, in that order).
 *
 * The schema is split as pg_dump's sections split it (`--section`), as pg_restore loads a dump:
 * `schema.sql` is pre-data (types, tables, functions, views, sequences, grants), `post-data.sql`
 * the indexes, constraints, triggers, rules and policies, restored after the data so COPY does not
 * maintain every index row by row and the indexes are built once, sorted. Backups made before the
 * split have no post-data part: their schema.sql holds both sections, and they restore as before.
 *
 * Supabase databases are dumped as `supabase db dump` does (lists in dump/supabase-lists.ts), plus
 * the user's objects on managed tables that the CLI loses (dump/managed-objects.ts, end of
 * post-data.sql); any other PostgreSQL database is dumped whole: every user schema, every role but
 * the bootstrap superuser.
 */
import type { Transform } from "node:stream";
import type { BackupType, PartRole } from "../manifest.ts";
import type { ServerFacts } from "../pg/snapshot.ts";
import { statementFilter } from "../sql/statement-filter.ts";
import { framed, mapLines } from "./line-transform.ts";
import { rolesLineFilter } from "./roles-filter.ts";
import { supabaseSchemaLine } from "./schema-filter.ts";
import {
  MIGRATION_HISTORY_SCHEMA,
  matchesAny,
  SUPABASE_DATA_EXCLUDED_SCHEMAS,
  SUPABASE_DATA_EXCLUDED_TABLES,
  SUPABASE_INTERNAL_SCHEMAS,
} from "./supabase-lists.ts";

export interface DumpPart {
  readonly role: PartRole;
  readonly tool: "pg_dump" | "pg_dumpall";
  readonly args: readonly string[];
  /** A fresh transform for the tool's stdout (frames, sed-like filters). */
  readonly transform: () => Transform;
  /** Tables whose rows this part writes. */
  readonly tables: ReadonlyArray<{ schema: string; name: string }>;
}

export interface PlanOptions {
  readonly type: BackupType;
  readonly migrationHistory: boolean;
  readonly facts: ServerFacts;
  readonly snapshotId: string;
  /** `--dbname` value: the URL without its password. */
  readonly dbname: string;
  /** Dump role password hashes (needs superuser). Default off, as the Supabase CLI. */
  readonly rolePasswords?: boolean;
  /**
   * Supabase mode: the user's triggers, policies, RLS switches and grants on managed tables
   * (dump/managed-objects.ts), appended to post-data.sql after pg_dump's output: after the data, as
   * pg_dump puts triggers and policies, and after the functions they call. Ignored in plain mode.
   */
  readonly managedObjectsSql?: string;
}

/** Written before a data dump: triggers and FK checks off, so rows load in any order (as dump_data.sh). */
export const DATA_PREFIX = "SET session_replication_role = replica;\n\n";
/** Written after every dump: undo the session settings pg_dump made (as the CLI's scripts). */
export const RESET_SUFFIX = "RESET ALL;\n";

export function planDump(options: PlanOptions): DumpPart[] {
  const { facts, type } = options;
  const supabase = facts.supabase;
  const common = ["--quote-all-identifiers", `--dbname=${options.dbname}`];
  const snap = [`--snapshot=${options.snapshotId}`];
  const history = options.migrationHistory;
  const parts: DumpPart[] = [];
  const exclude = (flag: string, list: readonly string[]) => list.map((s) => `${flag}=${s}`);

  const managed = supabase ? (options.managedObjectsSql ?? "") : "";
  const schemaTransform = () => (supabase ? mapLines(supabaseSchemaLine, "", RESET_SUFFIX) : framed("", RESET_SUFFIX));
  // The main post-data part only: the section's tables and functions exist by then, the history's do not matter.
  const postDataTransform = () =>
    supabase ? mapLines(supabaseSchemaLine, "", managed + RESET_SUFFIX) : framed("", RESET_SUFFIX);
  // pg_dump wraps large-object contents in its own BEGIN/COMMIT, which would end the restore's
  // one transaction: dropped here, where pg_dump writes them (never inside COPY data).
  const dataTransform = () => statementFilter({ dropTransactionControl: true, prefix: DATA_PREFIX, suffix: RESET_SUFFIX });
  // Plain mode: the history goes into its own parts when asked, so it must not be in the main ones too.
  const plainExcluded = history ? [MIGRATION_HISTORY_SCHEMA] : [];
  const mainSchemaExcluded = exclude("--exclude-schema", supabase ? SUPABASE_INTERNAL_SCHEMAS : plainExcluded);

  if (type === "full") {
    parts.push({
      role: "roles",
      tool: "pg_dumpall",
      args: ["--roles-only", "--no-comments", ...(options.rolePasswords ? [] : ["--no-role-passwords"]), ...common],
      transform: () => mapLines(rolesLineFilter({ supabase, bootstrapSuperuser: facts.bootstrapSuperuser }), "", RESET_SUFFIX),
      tables: [],
    });
  }
  if (type === "full" || type === "schema") {
    parts.push({
      role: "schema",
      tool: "pg_dump",
      args: ["--schema-only", "--section=pre-data", ...snap, ...mainSchemaExcluded, ...common],
      transform: schemaTransform,
      tables: [],
    });
    if (history) {
      // Two small tables: not worth splitting, loaded whole before their data as before.
      parts.push({
        role: "history_schema",
        tool: "pg_dump",
        args: ["--schema-only", ...snap, `--schema=${MIGRATION_HISTORY_SCHEMA}`, ...common],
        transform: schemaTransform,
        tables: [],
      });
    }
  }
  if (type === "full" || type === "data") {
    const excludedTables = supabase ? SUPABASE_DATA_EXCLUDED_TABLES.map((t) => `${t.schema}.${t.name}`) : [];
    const excludedSchemas = supabase ? SUPABASE_DATA_EXCLUDED_SCHEMAS : plainExcluded;
    const isExcludedTable = (t: { schema: string; name: string }) =>
      supabase && SUPABASE_DATA_EXCLUDED_TABLES.some((x) => x.schema === t.schema && x.name === t.name);
    parts.push({
      role: "data",
      tool: "pg_dump",
      args: [
        "--data-only",
        ...snap,
        // `--schema=*` as dump_data.sh: every schema, minus the exclusions below. A --schema
        // switch turns large objects off in pg_dump, so -b (--blobs, every version) turns them on.
        ...(supabase ? ["--schema=*", "-b"] : []),
        ...exclude("--exclude-schema", excludedSchemas),
        ...exclude("--exclude-table", excludedTables),
        ...common,
      ],
      transform: dataTransform,
      tables: facts.tables.filter((t) => !matchesAny(t.schema, excludedSchemas) && !isExcludedTable(t)),
    });
    if (history) {
      parts.push({
        role: "history_data",
        tool: "pg_dump",
        args: ["--data-only", ...snap, `--schema=${MIGRATION_HISTORY_SCHEMA}`, ...common],
        transform: dataTransform,
        tables: facts.tables.filter((t) => t.schema === MIGRATION_HISTORY_SCHEMA),
      });
    }
  }
  if (type === "full" || type === "schema") {
    parts.push({
      role: "post-data",
      tool: "pg_dump",
      args: ["--schema-only", "--section=post-data", ...snap, ...mainSchemaExcluded, ...common],
      transform: postDataTransform,
      tables: [],
    });
  }
  return parts;
}

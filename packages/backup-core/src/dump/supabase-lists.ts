/**
 * @module dump/supabase-lists
 * The lists `supabase db dump` uses, copied from the Supabase CLI so a Stowage backup contains
 * what a Supabase backup contains. Source: github.com/supabase/cli, `pkg/migration/dump.go`
 * (variables `InternalSchemas`, `excludedSchemas`, `reservedRoles`, `allowedConfigs`) and the
 * scripts it runs, `pkg/migration/scripts/dump_{schema,data,role}.sh` (flags and sed filters).
 * Older CLI releases kept the same in `internal/db/dump/dump.go` and `internal/db/dump/templates/`.
 * Entries are pg_dump patterns (`*` is a wildcard), as in the CLI.
 */

/** Schemas left out of the SCHEMA dump (`InternalSchemas` in dump.go): managed by the platform or owned by extensions. */
export const SUPABASE_INTERNAL_SCHEMAS = [
  "information_schema",
  "pg_*",
  // Initialised by the supabase/postgres image and owned by the postgres role
  "_analytics",
  "_realtime",
  "_supavisor",
  "auth",
  "etl",
  "extensions",
  "pgbouncer",
  "realtime",
  "storage",
  "supabase_functions",
  "supabase_migrations",
  // Owned by extensions
  "cron",
  "dbdev",
  "graphql",
  "graphql_public",
  "net",
  "pgmq",
  "pgsodium",
  "pgsodium_masks",
  "pgtle",
  "repack",
  "tiger",
  "tiger_data",
  "timescaledb_*",
  "_timescaledb_*",
  "topology",
  "vault",
] as const;

/**
 * Schemas left out of the DATA dump (`excludedSchemas` in dump.go). Shorter than the schema list on
 * purpose: auth, storage, supabase_functions, cron, net and pgmq data IS dumped, "for migrating to
 * a new project" (the CLI's own comment).
 */
export const SUPABASE_DATA_EXCLUDED_SCHEMAS = [
  "information_schema",
  "pg_*",
  "graphql",
  "graphql_public",
  "pgsodium",
  "pgsodium_masks",
  "pgtle",
  "repack",
  "tiger",
  "tiger_data",
  "timescaledb_*",
  "_timescaledb_*",
  "topology",
  "vault",
  "etl",
  "extensions",
  "pgbouncer",
  "realtime",
  "supabase_migrations",
  "_analytics",
  "_realtime",
  "_supavisor",
] as const;

/** Tables whose data the CLI never dumps: the platform's own migration bookkeeping (dump_data.sh `--exclude-table`). */
export const SUPABASE_DATA_EXCLUDED_TABLES = [
  { schema: "auth", name: "schema_migrations" },
  { schema: "storage", name: "migrations" },
  { schema: "supabase_functions", name: "migrations" },
] as const;

/** Roles every Supabase project already has and that supautils blocks (`reservedRoles`, regular expressions). */
export const SUPABASE_RESERVED_ROLES = [
  "anon",
  "authenticated",
  "authenticator",
  "cli_login_.*",
  "dashboard_user",
  "pgbouncer",
  "postgres",
  "service_role",
  "supabase_.*",
  // Managed by extensions
  "pgsodium_keyholder",
  "pgsodium_keyiduser",
  "pgsodium_keymaker",
  "pgtle_admin",
] as const;

/** Settings that may still be applied to reserved roles (`allowedConfigs`, from supautils.conf). */
export const SUPABASE_ALLOWED_ROLE_CONFIGS = [
  "pgaudit.*",
  "pgrst.*",
  "session_replication_role",
  "statement_timeout",
  "track_io_timing",
] as const;

/** The migration history schema, dumped separately on request (`--schema supabase_migrations` in the seed). */
export const MIGRATION_HISTORY_SCHEMA = "supabase_migrations";

/** pg_dump pattern (`pg_*`) → anchored regular expression source. */
export function patternToRegex(pattern: string): string {
  return pattern.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*");
}

/** True when `name` matches one of the pg_dump patterns. */
export function matchesAny(name: string, patterns: readonly string[]): boolean {
  return patterns.some((p) => new RegExp(`^${patternToRegex(p)}$`).test(name));
}

/**
 * @module dump/schema-filter
 * The sed chain of the Supabase CLI's dump_schema.sh (pkg/migration/scripts/dump_schema.sh in
 * github.com/supabase/cli), applied line by line to `pg_dump --schema-only` of a Supabase database:
 * idempotent CREATEs, no event triggers, no `supabase_realtime` publication, no grants on internal
 * schemas, no owner changes of foreign data wrappers, no default privileges of supabase_admin,
 * no comments on extensions, no cron policies, no pg17-only `transaction_timeout`.
 * Unlike the CLI we keep `--` comment lines: deleting them could cut lines out of function bodies.
 */
import { patternToRegex, SUPABASE_INTERNAL_SCHEMAS } from "./supabase-lists.ts";

type Rule = readonly [RegExp, string];

const EXCLUDED = SUPABASE_INTERNAL_SCHEMAS.map(patternToRegex).join("|");

/** Same order as dump_schema.sh; `$&` is the whole match, like sed's `&`. */
const RULES: readonly Rule[] = [
  [/^CREATE SCHEMA "/, 'CREATE SCHEMA IF NOT EXISTS "'],
  [/^CREATE TABLE "/, 'CREATE TABLE IF NOT EXISTS "'],
  [/^CREATE SEQUENCE "/, 'CREATE SEQUENCE IF NOT EXISTS "'],
  [/^CREATE VIEW "/, 'CREATE OR REPLACE VIEW "'],
  [/^CREATE FUNCTION "/, 'CREATE OR REPLACE FUNCTION "'],
  [/^CREATE TRIGGER "/, 'CREATE OR REPLACE TRIGGER "'],
  [/^CREATE PUBLICATION "supabase_realtime/, "-- $&"],
  [/^CREATE EVENT TRIGGER /, "-- $&"],
  [/^ {9}WHEN TAG IN /, "-- $&"],
  [/^ {3}EXECUTE FUNCTION /, "-- $&"],
  [/^ALTER EVENT TRIGGER /, "-- $&"],
  [/^ALTER PUBLICATION "supabase_realtime_/, "-- $&"],
  [/^ALTER FOREIGN DATA WRAPPER (.+) OWNER TO /, "-- $&"],
  [/^ALTER DEFAULT PRIVILEGES FOR ROLE "supabase_admin"/, "-- $&"],
  [new RegExp(`^GRANT (.+) ON (.+) "(${EXCLUDED})"`), "-- $&"],
  [new RegExp(`^REVOKE (.+) ON (.+) "(${EXCLUDED})"`), "-- $&"],
  [/^(CREATE EXTENSION IF NOT EXISTS "pg_tle").+/, "$1;"],
  [/^(CREATE EXTENSION IF NOT EXISTS "pgsodium").+/, "$1;"],
  [/^COMMENT ON EXTENSION (.+)/, "-- $&"],
  [/^CREATE POLICY "cron_job_/, "-- $&"],
  [/^ALTER TABLE "cron"/, "-- $&"],
  [/^SET transaction_timeout = 0;/, "-- $&"],
];

export function supabaseSchemaLine(line: string): string {
  let out = line;
  for (const [pattern, replacement] of RULES) out = out.replace(pattern, replacement);
  return out;
}

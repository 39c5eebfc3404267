/**
 * @module dump/managed-objects
 * The user's own objects on Supabase-managed tables, which a Supabase-style schema dump loses:
 * pg_dump leaves out the managed schemas (auth, storage, realtime, …) whole, and with them the
 * triggers, RLS policies, row level security switches and grants users attach to those tables —
 * `on_auth_user_created` on `auth.users`, the policies on `storage.objects` that secure every
 * Supabase app's files. This module reads them in the backup's snapshot and renders idempotent SQL
 * that post-data.sql carries after pg_dump's output: where pg_dump puts triggers and policies, after
 * the data (an ALWAYS trigger would fire during the load) and after the user functions they call
 * (schema.sql). Backups made before the post-data split carry it at the end of schema.sql.
 *
 * Which objects are the user's (the platform creates the rest, and a fresh project has them):
 * - Only tables in the managed schemas (the CLI's `InternalSchemas`, minus system schemas and
 *   `supabase_migrations`, which has its own history parts), and not tables that belong to an
 *   extension (`cron.job` and its `cron_job_policy` are pg_cron's, vault's tables are vault's).
 * - Trigger: the user's unless its function lives in the table's own schema. Supabase's own
 *   triggers call their own schema's functions (`storage.update_updated_at_column` on
 *   `storage.objects`, `realtime.subscription_check_filters` on `realtime.subscription`); a user's
 *   calls a user function (`public.handle_new_user`) or a library one (`extensions.moddatetime`,
 *   `supabase_functions.http_request` of a database webhook). Internal triggers (foreign keys) and
 *   partition clones are pg_dump's business.
 * - Policy: every policy on those tables. A fresh project has none on auth, storage or realtime
 *   tables (policies have no owner to tell them apart; the ones that do exist, pg_cron's, are on
 *   extension tables and excluded above).
 * - Row level security: enabled (and forced) where it is on the source, guarded so a target where it
 *   is already on (storage.objects on every real project) runs no ALTER TABLE at all.
 * - Grants: table privileges granted to roles that are not Supabase's reserved roles (those are the
 *   platform's own grants) and not the table's owner, i.e. to the user's own roles.
 *
 * SQL text comes from the server, not from us: `pg_get_triggerdef()` for triggers, the
 * `pg_policies` view (server-deparsed USING / WITH CHECK) for policies, `format('%I')` for names;
 * all read with `search_path` empty so every name is schema-qualified, as in pg_dump's own output.
 */
import {
  MIGRATION_HISTORY_SCHEMA,
  patternToRegex,
  SUPABASE_INTERNAL_SCHEMAS,
  SUPABASE_RESERVED_ROLES,
} from "./supabase-lists.ts";

/** The part of a held snapshot this module needs: a query inside the snapshot's transaction. */
export interface SnapshotQuery {
  query<R extends Record<string, unknown>>(sql: string, values?: readonly unknown[]): Promise<R[]>;
}

export const MANAGED_OBJECTS_HEADER = "-- Stowage: user objects on Supabase-managed tables";
export const MANAGED_OBJECTS_FOOTER = "-- Stowage: end of user objects on Supabase-managed tables";

const SYSTEM_PATTERNS = new Set<string>(["information_schema", "pg_*", MIGRATION_HISTORY_SCHEMA]);

/** Anchored regex of the managed schemas whose tables are searched. */
export const MANAGED_SCHEMAS_REGEX = `^(${SUPABASE_INTERNAL_SCHEMAS.filter((s) => !SYSTEM_PATTERNS.has(s))
  .map(patternToRegex)
  .join("|")})$`;

/** Anchored regex of the roles whose grants are the platform's (reserved roles are regexes already). */
export const RESERVED_ROLES_REGEX = `^(${SUPABASE_RESERVED_ROLES.join("|")})$`;

// Relations of the managed schemas that no extension owns. $1 = MANAGED_SCHEMAS_REGEX.
const MANAGED_RELATIONS = `
  select c.oid, n.nspname, c.relname, c.relkind, c.relrowsecurity, c.relforcerowsecurity, c.relacl, c.relowner
    from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
   where n.nspname ~ $1 and c.relkind in ('r', 'p', 'v', 'm', 'f')
     and not exists (select 1 from pg_catalog.pg_depend d
                      where d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass and d.objid = c.oid and d.deptype = 'e')`;

const rlsSql = `
with managed as (${MANAGED_RELATIONS})
select format('%I.%I', nspname, relname) as qualified, relrowsecurity as rls, relforcerowsecurity as force
  from managed
 where relkind in ('r', 'p') and (relrowsecurity or relforcerowsecurity)
 order by nspname, relname`;

const policiesSql = `
with managed as (${MANAGED_RELATIONS})
select format('DROP POLICY IF EXISTS %I ON %I.%I;', p.policyname, p.schemaname, p.tablename) as drop,
       format('CREATE POLICY %I ON %I.%I AS %s FOR %s TO %s', p.policyname, p.schemaname, p.tablename,
              p.permissive, p.cmd,
              (select string_agg(case when r.name = 'public' then 'PUBLIC' else quote_ident(r.name) end, ', ' order by r.i)
                 from unnest(p.roles) with ordinality as r(name, i)))
         || coalesce(' USING (' || p.qual || ')', '')
         || coalesce(' WITH CHECK (' || p.with_check || ')', '') || ';' as create
  from pg_catalog.pg_policies p
  join managed m on m.nspname = p.schemaname and m.relname = p.tablename
 order by p.schemaname, p.tablename, p.policyname`;

// 'D' disabled, 'R' replica only, 'A' always; 'O' (the default) needs no statement.
const triggersSql = (versionNum: number) => `
with managed as (${MANAGED_RELATIONS})
select format('DROP TRIGGER IF EXISTS %I ON %I.%I;', t.tgname, m.nspname, m.relname) as drop,
       pg_catalog.pg_get_triggerdef(t.oid, false) as create,
       case t.tgenabled
         when 'D' then format('ALTER TABLE %I.%I DISABLE TRIGGER %I;', m.nspname, m.relname, t.tgname)
         when 'R' then format('ALTER TABLE %I.%I ENABLE REPLICA TRIGGER %I;', m.nspname, m.relname, t.tgname)
         when 'A' then format('ALTER TABLE %I.%I ENABLE ALWAYS TRIGGER %I;', m.nspname, m.relname, t.tgname)
       end as state
  from pg_catalog.pg_trigger t
  join managed m on m.oid = t.tgrelid
  join pg_catalog.pg_proc f on f.oid = t.tgfoid
  join pg_catalog.pg_namespace fn on fn.oid = f.pronamespace
 where not t.tgisinternal
   and fn.nspname <> m.nspname
   ${versionNum >= 130000 ? "and t.tgparentid = 0" : ""}
 order by m.nspname, m.relname, t.tgname`;

const grantsSql = `
with managed as (${MANAGED_RELATIONS})
select format('GRANT %s ON TABLE %I.%I TO %I%s;', string_agg(a.privilege_type, ', ' order by a.privilege_type),
              m.nspname, m.relname, r.rolname, case when a.is_grantable then ' WITH GRANT OPTION' else '' end) as grant
  from managed m
  cross join lateral pg_catalog.aclexplode(m.relacl) a
  join pg_catalog.pg_roles r on r.oid = a.grantee
 where m.relacl is not null and a.grantee <> m.relowner and r.rolname !~ $2
 group by m.nspname, m.relname, r.rolname, a.is_grantable
 order by m.nspname, m.relname, r.rolname, a.is_grantable`;

const RLS_TAG = "$stowage_rls$";

/** Guarded ALTER: runs only where the flag is off, so a target that has it needs no ownership. */
function rlsStatement(qualified: string, column: "relrowsecurity" | "relforcerowsecurity", action: string): string {
  const literal = `'${qualified.replace(/'/g, "''")}'`;
  return (
    `DO ${RLS_TAG} BEGIN IF NOT (SELECT ${column} FROM pg_catalog.pg_class WHERE oid = ${literal}::pg_catalog.regclass) ` +
    `THEN ALTER TABLE ${qualified} ${action}; END IF; END ${RLS_TAG};`
  );
}

/**
 * Reads the user's objects on managed tables inside the snapshot and returns the SQL section for
 * post-data.sql, or "" when there are none (post-data.sql then stays exactly pg_dump's output).
 * Must run before any concurrent use of the snapshot's connection that depends on search_path
 * (none does: every other query there names schemas explicitly).
 */
export async function readManagedTableObjects(snapshot: SnapshotQuery, versionNum: number): Promise<string> {
  const [saved] = await snapshot.query<{ path: string }>("select pg_catalog.current_setting('search_path') as path");
  // Empty search_path: pg_get_triggerdef and pg_policies' deparsed expressions then qualify every name.
  await snapshot.query("select pg_catalog.set_config('search_path', '', true)");
  try {
    const rls = await snapshot.query<{ qualified: string; rls: boolean; force: boolean }>(rlsSql, [MANAGED_SCHEMAS_REGEX]);
    const policies = await snapshot.query<{ drop: string; create: string }>(policiesSql, [MANAGED_SCHEMAS_REGEX]);
    const grants = await snapshot.query<{ grant: string }>(grantsSql, [MANAGED_SCHEMAS_REGEX, RESERVED_ROLES_REGEX]);
    const triggers = await snapshot.query<{ drop: string; create: string | null; state: string | null }>(
      triggersSql(versionNum),
      [MANAGED_SCHEMAS_REGEX],
    );
    return renderSection({ rls, policies, grants, triggers });
  } finally {
    await snapshot.query("select pg_catalog.set_config('search_path', $1, true)", [saved?.path ?? ""]);
  }
}

export interface ManagedObjects {
  readonly rls: ReadonlyArray<{ qualified: string; rls: boolean; force: boolean }>;
  readonly policies: ReadonlyArray<{ drop: string; create: string }>;
  readonly grants: ReadonlyArray<{ grant: string }>;
  readonly triggers: ReadonlyArray<{ drop: string; create: string | null; state: string | null }>;
}

/** The section text: RLS switches, policies, grants, then triggers (which call the functions pg_dump defined above). */
export function renderSection(objects: ManagedObjects): string {
  const lines: string[] = [];
  for (const t of objects.rls) {
    if (t.rls) lines.push(rlsStatement(t.qualified, "relrowsecurity", "ENABLE ROW LEVEL SECURITY"));
    if (t.force) lines.push(rlsStatement(t.qualified, "relforcerowsecurity", "FORCE ROW LEVEL SECURITY"));
  }
  for (const p of objects.policies) lines.push(p.drop, p.create);
  for (const g of objects.grants) lines.push(g.grant);
  for (const t of objects.triggers) {
    // NULL: the trigger was dropped after the snapshot began (pg_get_triggerdef reads the live catalog).
    if (t.create === null) continue;
    lines.push(t.drop, `${t.create};`);
    if (t.state) lines.push(t.state);
  }
  if (lines.length === 0) return "";
  return [
    "",
    MANAGED_OBJECTS_HEADER,
    "-- pg_dump leaves the managed schemas out; these are what users add to their tables. Idempotent.",
    "SELECT pg_catalog.set_config('search_path', '', false);",
    ...lines,
    MANAGED_OBJECTS_FOOTER,
    "",
    "",
  ].join("\n");
}

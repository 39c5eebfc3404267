/**
 * @module dump/roles-filter
 * Rewrites `pg_dumpall --roles-only` output so it restores cleanly and can be applied twice.
 *
 * Supabase mode follows the CLI's dump_role.sh sed chain (see dump/supabase-lists.ts for the source):
 * (keeping pg_dump's `\restrict`/`\unrestrict` guard lines, which the CLI deletes) leave out reserved roles (keeping only their allowed
 * `SET` configs), strip `NOSUPERUSER`/`NOREPLICATION` (only a superuser may even say them), leave out
 * grants TO reserved roles, drop comment lines, and `uniq`.
 *
 * Plain mode leaves out the bootstrap superuser (OID 10): every server already has one, maybe under
 * another name, and re-asserting its attributes is what fails elsewhere.
 *
 * Both modes then make the file idempotent, which pg_dumpall's output is not:
 * - `CREATE ROLE "x";` becomes a DO block that ignores `duplicate_object` (and `unique_violation`, which a concurrent creation of the same role raises); the `ALTER ROLE "x" WITH …`
 *   pg_dumpall writes right after it then brings the attributes up to date on an existing role.
 * - `GRANTED BY "…"` is removed from membership grants, so the grant works for whoever restores
 *   (the grantor may not exist there); a repeated GRANT of a membership only raises a NOTICE.
 */
import { patternToRegex, SUPABASE_ALLOWED_ROLE_CONFIGS, SUPABASE_RESERVED_ROLES } from "./supabase-lists.ts";

export interface RolesFilterOptions {
  readonly supabase: boolean;
  /** Name of the role with OID 10 on the source server. */
  readonly bootstrapSuperuser: string;
}

const DOLLAR_TAG = "$stowage_role$";

/**
 * Advisory lock key ("STOW" in ASCII) taken at the top of roles.sql. Roles are cluster-wide and
 * PostgreSQL does not lock them against concurrent GRANT/ALTER ROLE: two restores on one server at
 * once fail with "tuple concurrently updated". The transaction-scoped lock serialises them (held
 * until COMMIT, since restores run in one transaction); outside a transaction it is a no-op.
 */
export const ROLES_LOCK_KEY = 1398034263;
const ROLES_LOCK_LINE = `SELECT pg_advisory_xact_lock(${ROLES_LOCK_KEY});`;

function quoted(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Returns a stateful line mapper: `null` drops the line. */
export function rolesLineFilter(options: RolesFilterOptions): (line: string) => string | null {
  const skipped = options.supabase
    ? `(?:${SUPABASE_RESERVED_ROLES.join("|")})`
    : escapeRegex(quoted(options.bootstrapSuperuser).slice(1, -1));
  const createSkipped = new RegExp(`^CREATE ROLE "${skipped}";`);
  const alterSkipped = new RegExp(`^ALTER ROLE "${skipped}" `);
  const allowedConfig = new RegExp(
    `^ALTER ROLE "[^"]*(?:""[^"]*)*" SET "(?:${SUPABASE_ALLOWED_ROLE_CONFIGS.map(patternToRegex).join("|")})" `,
  );
  const grantToSkipped = new RegExp(`^GRANT ".*" TO "${skipped}"`);
  const createRole = /^CREATE ROLE ("(?:[^"]|"")+");$/;
  let previous: string | undefined;
  let locked = false;

  return (line: string) => {
    // pg_dump's own psql guard lines stay as written (unlike the CLI's sed chain, which deletes
    // them): plain `psql` replays keep their protection, and Stowage's restore swaps them for its own.
    if (/^\\(un)?restrict\b/.test(line)) return line;
    if (line.startsWith("--")) return null;
    if (createSkipped.test(line)) return null;
    if (alterSkipped.test(line) && !(options.supabase && allowedConfig.test(line))) return null;
    if (grantToSkipped.test(line)) return null;
    let out = line.replace(/ (NOSUPERUSER|NOREPLICATION)\b/g, "");
    if (/^GRANT /.test(out)) out = out.replace(/ GRANTED BY "(?:[^"]|"")+"/, "");
    const create = createRole.exec(out);
    if (create && !out.includes(DOLLAR_TAG)) {
      out = `DO ${DOLLAR_TAG} BEGIN CREATE ROLE ${create[1]}; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END ${DOLLAR_TAG};`;
    }
    // `uniq`: the CLI collapses repeated lines (blank runs, duplicated grants).
    if (out === previous) return null;
    previous = out;
    if (!locked) {
      locked = true;
      return `${ROLES_LOCK_LINE}\n${out}`;
    }
    return out;
  };
}

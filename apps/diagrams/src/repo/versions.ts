/**
 * @module repo/versions
 * Saving, version history and restore. Writes go through the database functions of the schema
 * (`public.save_diagram`, `public.restore_diagram_version`): they lock the diagram row, compare the
 * base version, write the diagram and its `diagram_versions` row, and prune history beyond the plan,
 * all in the caller's transaction, so two saves of the same base version cannot both win.
 */
import type { AuthClaims, Database, SqlExecutor } from "../db/database.ts";
import { ApiError } from "../errors.ts";

export interface VersionMeta {
  version: number;
  author_id: string | null;
  message: string | null;
  metadata: Record<string, unknown>;
  xml_bytes: number;
  created_at: string;
}

export interface SavedVersion {
  diagram_id: string;
  version: number;
  updated_at: string;
}

const VERSION_META = "v.version, v.author_id, v.message, v.metadata, v.xml_bytes, v.created_at";

/**
 * Saves new content on top of `baseVersion` as the caller, in a transaction of its own;
 * SL409 (→ 409 STALE_VERSION) when someone saved first. It takes the database rather than a
 * transaction because a save is one statement: `queryAsUser` sends BEGIN, the caller's role and
 * claims, the call and COMMIT in one round trip (issue 17: three round trips were a third of the
 * service's CPU per save).
 */
export async function saveDiagram(
  db: Database,
  claims: AuthClaims,
  diagramId: string,
  baseVersion: number,
  xml: string,
  message: string | null,
): Promise<SavedVersion> {
  const { rows } = await db.queryAsUser<{ version: number; updated_at: string }>(
    claims,
    "select s.version, s.updated_at from public.save_diagram($1::uuid, $2::integer, $3::text, $4::text) s",
    [diagramId, baseVersion, xml, message],
  );
  return { diagram_id: diagramId, ...rows[0]! };
}

/**
 * Writes version `version`'s XML as a new version (message "restored from vN"). Without
 * `baseVersion` the restore applies on top of whatever is current (read in this transaction).
 */
export async function restoreVersion(
  sql: SqlExecutor,
  diagramId: string,
  version: number,
  baseVersion: number | undefined,
): Promise<SavedVersion> {
  const base = baseVersion ?? (await diagramVersion(sql, diagramId));
  if (base === null) throw new ApiError(404, "NOT_FOUND", "diagram not found");
  const { rows } = await sql.query<{ version: number; updated_at: string }>(
    "select s.version, s.updated_at from public.restore_diagram_version($1::uuid, $2::integer, $3::integer) s",
    [diagramId, version, base],
  );
  return { diagram_id: diagramId, ...rows[0]! };
}

/** The diagram's current version number, or null when the caller cannot see it. */
export async function diagramVersion(sql: SqlExecutor, diagramId: string): Promise<number | null> {
  const { rows } = await sql.query<{ version: number }>(
    "select version from public.diagrams where id = $1 and deleted_at is null",
    [diagramId],
  );
  return rows[0]?.version ?? null;
}

/** History, newest first; `before` continues after the last version of the previous page. */
export async function listVersions(
  sql: SqlExecutor,
  diagramId: string,
  opts: { limit: number; before?: number | undefined },
): Promise<{ items: VersionMeta[]; next_before: number | null }> {
  const params: unknown[] = [diagramId, opts.limit + 1];
  let before = "";
  if (opts.before !== undefined) {
    params.push(opts.before);
    before = "and v.version < $3";
  }
  const { rows } = await sql.query<VersionMeta>(
    `select ${VERSION_META} from public.diagram_versions v
     where v.diagram_id = $1 ${before} order by v.version desc limit $2`,
    params,
  );
  const hasMore = rows.length > opts.limit;
  const items = hasMore ? rows.slice(0, opts.limit) : rows;
  return { items, next_before: hasMore ? items[items.length - 1]!.version : null };
}

/** Which of `numbers` are versions of the diagram the caller can read (no XML read). */
export async function existingVersions(sql: SqlExecutor, diagramId: string, numbers: number[]): Promise<number[]> {
  const { rows } = await sql.query<{ version: number }>(
    "select v.version from public.diagram_versions v where v.diagram_id = $1 and v.version = any($2::integer[])",
    [diagramId, numbers],
  );
  return rows.map((r) => r.version);
}

export async function getVersion(
  sql: SqlExecutor,
  diagramId: string,
  version: number,
): Promise<(VersionMeta & { bpmn_xml: string }) | null> {
  const { rows } = await sql.query<VersionMeta & { bpmn_xml: string }>(
    `select ${VERSION_META}, v.bpmn_xml from public.diagram_versions v where v.diagram_id = $1 and v.version = $2`,
    [diagramId, version],
  );
  return rows[0] ?? null;
}

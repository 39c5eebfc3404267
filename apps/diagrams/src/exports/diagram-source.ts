/**
 * @module exports/diagram-source
 * Reads what a render needs, as the caller (RLS decides): the diagram's owner, project and current
 * version, and the XML of the requested version, through the cache keyed by (diagram, version) —
 * a version's XML never changes once written.
 */
import type { Cache } from "../cache/cache.ts";
import type { AuthClaims, Database, SqlExecutor } from "../db/database.ts";
import { ObjectError } from "../objects/errors.ts";

export interface DiagramHead {
  id: string;
  project_id: string | null;
  profile_id: string;
  version: number;
  plan: string;
  export_formats: string[];
  /** Whether the caller owns the diagram or belongs to its project (viewers included). */
  member: boolean;
}

/** The diagram as `claims` sees it, with the owner's plan; null when not visible. */
export async function readDiagramHead(sql: SqlExecutor, diagramId: string): Promise<DiagramHead | null> {
  const { rows } = await sql.query<DiagramHead>(
    `select d.id, d.project_id, d.profile_id, d.version, l.plan, l.export_formats,
       d.profile_id = auth.uid()
         or exists (select 1 from public.projects p where p.id = d.project_id and p.profile_id = auth.uid())
         or exists (select 1 from public.collaborators c where c.project_id = d.project_id and c.user_id = auth.uid())
         as member
     from public.diagrams d
     left join public.plan_limits l on l.plan = (
       select pr.plan from public.profiles pr where pr.id = d.profile_id)
     where d.id = $1`,
    [diagramId],
  );
  return rows[0] ?? null;
}

/**
 * The XML of `version` of a diagram the caller may read. One transaction as the caller: the
 * database decides visibility first, then the cache answers, and only a miss reads the XML.
 */
export async function readVersionXml(
  db: Database,
  cache: Cache,
  claims: AuthClaims | null,
  diagramId: string,
  version: number,
): Promise<string> {
  const key = `${diagramId}:${version}`;
  const xml = await db.asUser(claims, async (sql) => {
    const { rows } = await sql.query("select 1 from public.diagram_versions where diagram_id = $1 and version = $2", [
      diagramId,
      version,
    ]);
    if (rows.length === 0) return null;
    const cached = await cache.get("xml", key);
    if (cached) return cached;
    const loaded = await sql.query<{ bpmn_xml: string }>(
      "select bpmn_xml from public.diagram_versions where diagram_id = $1 and version = $2",
      [diagramId, version],
    );
    const bytes = Buffer.from(loaded.rows[0]!.bpmn_xml, "utf8");
    await cache.set("xml", key, bytes);
    return bytes;
  });
  if (!xml) throw new ObjectError("NOT_FOUND", `version ${version} of this diagram was not found`);
  return xml.toString("utf8");
}

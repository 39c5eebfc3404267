/**
 * @module repo/diagrams
 * SQL of the diagram routes. Lists select metadata only (never `bpmn_xml`, the seed's lazy loading);
 * the single read is the only query that returns XML. Saving goes through `public.save_diagram`,
 * which checks the base version and writes the diagram and its version row in one statement.
 */
import type { SqlExecutor } from "../db/database.ts";
import { decodeCursor, type Page, toPage } from "./cursor.ts";

export interface DiagramMeta {
  id: string;
  project_id: string | null;
  profile_id: string;
  title: string;
  /** Link to the preview image, or null when the diagram has none. */
  thumbnail_url: string | null;
  metadata: Record<string, unknown>;
  version: number;
  is_public: boolean;
  xml_bytes: number;
  deleted_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface DiagramWithXml extends DiagramMeta {
  bpmn_xml: string;
}

interface MetaRow extends Omit<DiagramMeta, "thumbnail_url"> {
  has_thumbnail: boolean;
  updated_at_key: string;
}

const META = `d.id, d.project_id, d.profile_id, d.title, d.metadata, d.version, d.is_public, d.xml_bytes,
  d.deleted_at, d.created_at, d.updated_at, d.updated_at::text as updated_at_key,
  coalesce(d.thumbnail like 'data:image/%', false)
    or exists (select 1 from public.stored_objects o where o.diagram_id = d.id and o.kind = 'thumbnail') as has_thumbnail`;

/**
 * Builds thumbnail URLs: an uploaded image is served by the API. A link stored before thumbnails
 * had to be images is not passed on (a client would load whatever it points to).
 */
export type ThumbnailUrl = (diagramId: string) => string;

function toMeta(row: MetaRow, thumbnailUrl: ThumbnailUrl): DiagramMeta {
  const { has_thumbnail, updated_at_key: _k, ...rest } = row;
  return { ...rest, thumbnail_url: has_thumbnail ? thumbnailUrl(row.id) : null };
}

export interface NewDiagram {
  title?: string | undefined;
  project_id?: string | null | undefined;
  bpmn_xml: string;
  metadata?: Record<string, unknown> | undefined;
  is_public?: boolean | undefined;
}

export async function createDiagram(
  sql: SqlExecutor,
  ownerId: string,
  d: NewDiagram,
  thumbnailUrl: ThumbnailUrl,
): Promise<DiagramMeta> {
  const { rows } = await sql.query<MetaRow>(
    `insert into public.diagrams as d (project_id, profile_id, title, bpmn_xml, metadata, is_public)
     values ($1, $2, coalesce($3, 'Untitled Diagram'), $4, coalesce($5::jsonb, '{}'::jsonb), coalesce($6::boolean, false))
     returning ${META}`,
    [
      d.project_id ?? null,
      ownerId,
      d.title ?? null,
      d.bpmn_xml,
      d.metadata ? JSON.stringify(d.metadata) : null,
      d.is_public ?? null,
    ],
  );
  return toMeta(rows[0]!, thumbnailUrl);
}

export type DiagramListScope =
  | { kind: "project"; projectId: string }
  | { kind: "personal"; userId: string }
  | { kind: "trash"; userId: string }
  /** Every live diagram the user works with: the personal space, own projects, projects shared with them. */
  | { kind: "all"; userId: string };

/** `%term%` for ILIKE, with the term's own `%`, `_` and `\` matched literally. */
export function titleLikePattern(term: string): string {
  return `%${term.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;
}

/**
 * A page of diagram metadata, newest change first, keyset on (updated_at, id); `title` keeps only
 * the diagrams whose title contains it (case-insensitive).
 */
export async function listDiagrams(
  sql: SqlExecutor,
  scope: DiagramListScope,
  opts: { limit: number; cursor?: string | undefined; title?: string | undefined },
  thumbnailUrl: ThumbnailUrl,
): Promise<Page<DiagramMeta>> {
  const key = opts.cursor ? decodeCursor(opts.cursor) : null;
  const params: unknown[] = [opts.limit + 1];
  if (scope.kind === "project") params.push(scope.projectId);
  else params.push(scope.userId);
  const where =
    scope.kind === "project"
      ? "d.project_id = $2 and d.deleted_at is null"
      : scope.kind === "personal"
        ? "d.profile_id = $2 and d.project_id is null and d.deleted_at is null"
        : scope.kind === "all"
          ? `d.deleted_at is null and ((d.profile_id = $2 and d.project_id is null) or d.project_id in (
               select p.id from public.projects p where p.deleted_at is null and (p.profile_id = $2
                 or p.id in (select c.project_id from public.collaborators c where c.user_id = $2))))`
          : "d.profile_id = $2 and d.deleted_at is not null";
  let after = "";
  if (key) {
    params.push(key.updatedAt, key.id);
    after = "and (d.updated_at, d.id) < ($3, $4)";
  }
  if (opts.title) {
    params.push(titleLikePattern(opts.title));
    after += ` and d.title ilike $${params.length} escape '\\'`;
  }
  const { rows } = await sql.query<MetaRow>(
    `select ${META} from public.diagrams d where ${where} ${after}
     order by d.updated_at desc, d.id desc limit $1`,
    params,
  );
  return toPage(rows, opts.limit, (r) => toMeta(r, thumbnailUrl));
}

export async function getDiagramMeta(sql: SqlExecutor, id: string, thumbnailUrl: ThumbnailUrl): Promise<DiagramMeta | null> {
  const { rows } = await sql.query<MetaRow>(`select ${META} from public.diagrams d where d.id = $1 and d.deleted_at is null`, [
    id,
  ]);
  return rows[0] ? toMeta(rows[0], thumbnailUrl) : null;
}

/** The single-diagram read: metadata plus the XML exactly as saved. */
export async function getDiagram(sql: SqlExecutor, id: string, thumbnailUrl: ThumbnailUrl): Promise<DiagramWithXml | null> {
  const { rows } = await sql.query<MetaRow & { bpmn_xml: string }>(
    `select ${META}, d.bpmn_xml from public.diagrams d where d.id = $1 and d.deleted_at is null`,
    [id],
  );
  if (!rows[0]) return null;
  const { bpmn_xml, ...meta } = rows[0];
  return { ...toMeta(meta, thumbnailUrl), bpmn_xml };
}

export async function getThumbnail(sql: SqlExecutor, id: string): Promise<string | null> {
  const { rows } = await sql.query<{ thumbnail: string | null }>(
    `select d.thumbnail from public.diagrams d where d.id = $1 and d.deleted_at is null`,
    [id],
  );
  return rows[0]?.thumbnail ?? null;
}

export interface DiagramPatch {
  title?: string | undefined;
  project_id?: string | null | undefined;
  is_public?: boolean | undefined;
  metadata?: Record<string, unknown> | undefined;
  thumbnail?: string | null | undefined;
}

export async function updateDiagram(
  sql: SqlExecutor,
  id: string,
  patch: DiagramPatch,
  thumbnailUrl: ThumbnailUrl,
): Promise<DiagramMeta | null> {
  const sets: string[] = [];
  const params: unknown[] = [id];
  const set = (column: string, value: unknown, cast = "") => {
    params.push(value);
    sets.push(`${column} = $${params.length}${cast}`);
  };
  if (patch.title !== undefined) set("title", patch.title);
  if (patch.project_id !== undefined) set("project_id", patch.project_id, "::uuid");
  if (patch.is_public !== undefined) set("is_public", patch.is_public);
  if (patch.metadata !== undefined) set("metadata", JSON.stringify(patch.metadata), "::jsonb");
  if (patch.thumbnail !== undefined) set("thumbnail", patch.thumbnail);
  if (sets.length === 0) return getDiagramMeta(sql, id, thumbnailUrl);
  const { rows } = await sql.query<MetaRow>(
    `update public.diagrams d set ${sets.join(", ")} where d.id = $1 and d.deleted_at is null returning ${META}`,
    params,
  );
  return rows[0] ? toMeta(rows[0], thumbnailUrl) : null;
}

export async function trashDiagram(sql: SqlExecutor, id: string): Promise<boolean> {
  const { rowCount } = await sql.query(`update public.diagrams set deleted_at = now() where id = $1 and deleted_at is null`, [
    id,
  ]);
  return rowCount > 0;
}

export async function restoreDiagram(sql: SqlExecutor, id: string, thumbnailUrl: ThumbnailUrl): Promise<DiagramMeta | null> {
  const { rows } = await sql.query<MetaRow>(
    `update public.diagrams d set deleted_at = null where d.id = $1 and d.deleted_at is not null returning ${META}`,
    [id],
  );
  return rows[0] ? toMeta(rows[0], thumbnailUrl) : null;
}

export async function purgeDiagram(sql: SqlExecutor, id: string): Promise<boolean> {
  const { rowCount } = await sql.query(`delete from public.diagrams where id = $1`, [id]);
  return rowCount > 0;
}

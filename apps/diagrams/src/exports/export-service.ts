/**
 * @module exports/export-service
 * `POST /diagrams/:id/exports`: a diagram version rendered (or its XML) and stored as an object.
 *  - Who: signed-in users who own the diagram or belong to its project (viewers included). Exports
 *    are charged to the owner's storage, so a stranger reading a public diagram cannot spend it.
 *  - Formats: the owner's plan decides (`plan_limits.export_formats`; FREE: xml only → 402).
 *  - Where: the public bucket only while anonymous users can read the diagram, private otherwise.
 *  - Renders are cached by (diagram, version, format): exporting the same version again costs no
 *    browser time.
 */
import type { Cache } from "../cache/cache.ts";
import type { AuthClaims, Database } from "../db/database.ts";
import { ObjectError } from "../objects/errors.ts";
import { objectPaths } from "../objects/paths.ts";
import type { ObjectStore, StoredObject } from "../objects/store.ts";
import { readDiagramHead, readVersionXml } from "./diagram-source.ts";
import type { DiagramRenderer, RenderFormat } from "./renderer.ts";

export const EXPORT_FORMATS = ["png", "svg", "pdf", "xml"] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

const CONTENT_TYPES: Record<ExportFormat, string> = {
  png: "image/png",
  svg: "image/svg+xml",
  pdf: "application/pdf",
  xml: "application/xml",
};

export interface ExportLink {
  id: string;
  url: string;
  format: string;
  size: number;
  version: number | null;
  created_at: string;
  expiresAt?: string;
}

export class ExportService {
  constructor(
    private readonly db: Database,
    private readonly store: ObjectStore,
    private readonly cache: Cache,
    private readonly renderer: DiagramRenderer,
  ) {}

  async render(claims: AuthClaims | null, diagramId: string, version: number, format: ExportFormat): Promise<Buffer> {
    const xml = await readVersionXml(this.db, this.cache, claims, diagramId, version);
    if (format === "xml") return Buffer.from(xml, "utf8");
    return this.cache.getOrLoad("render", `${diagramId}:${version}:${format}`, async () => {
      const rendered = await this.renderer.render(xml, format as RenderFormat);
      return rendered.bytes;
    });
  }

  async create(claims: AuthClaims, diagramId: string, format: ExportFormat, version?: number): Promise<ExportLink> {
    const head = await this.db.asUser(claims, (sql) => readDiagramHead(sql, diagramId));
    if (!head) throw new ObjectError("NOT_FOUND", "diagram not found (it does not exist, was deleted, or you may not see it)");
    if (!head.member) {
      throw new ObjectError(
        "NOT_FOUND",
        "only the diagram's owner and its project's members can create exports; download the public diagram instead",
      );
    }
    if (!head.export_formats.includes(format)) {
      throw new ObjectError(
        "PLAN_LIMIT",
        `the ${head.plan} plan does not include ${format.toUpperCase()} exports (it allows ${head.export_formats.join(", ")}); upgrade to PRO`,
        { limit: "export_formats", plan: head.plan, format, allowed: head.export_formats },
      );
    }
    const v = version ?? head.version;
    const bytes = await this.render(claims, diagramId, v, format);
    const bucket = await this.store.bucketForDiagram(diagramId);
    const object = await this.store.put(
      {
        kind: "export",
        bucket,
        path: objectPaths.export(head.profile_id, head.project_id, diagramId, format),
        contentType: CONTENT_TYPES[format],
        diagramId,
        format,
        version: v,
        size: bytes.length,
        createdBy: claims.sub,
      },
      bytes,
    );
    // Visibility may have changed while rendering: put the object where it belongs now.
    await this.store.syncDiagramVisibility([diagramId]);
    const [current] = await this.list(claims, diagramId, object.id);
    return current ?? this.link(object);
  }

  link(object: StoredObject): ExportLink {
    const { url, expiresAt } = this.store.url(object);
    return {
      id: object.id,
      url,
      format: object.format ?? "",
      size: object.size_bytes,
      version: object.version,
      created_at: new Date(object.created_at).toISOString(),
      ...(expiresAt ? { expiresAt } : {}),
    };
  }

  /** The diagram's exports the caller may see (RLS), newest first, each with its link. */
  async list(claims: AuthClaims | null, diagramId: string, onlyId?: string): Promise<ExportLink[]> {
    const objects = await this.db.asUser(claims, async (sql) => {
      const { rows } = await sql.query<StoredObject>(
        `select id, bucket, path, format, size_bytes, version, created_at from public.stored_objects
         where diagram_id = $1 and kind = 'export' and ($2::uuid is null or id = $2)
         order by created_at desc limit 200`,
        [diagramId, onlyId ?? null],
      );
      return rows;
    });
    return objects.map((o) => this.link(o));
  }
}

/**
 * @module api/diagrams
 * Diagram routes: create (in a project or the personal space), import a `.bpmn` upload, list
 * (metadata only; `q` searches titles), get (the one route returning XML), PATCH (rename, move, is_public, metadata,
 * thumbnail), save new content with optimistic concurrency, soft delete, restore, purge, trash.
 */
import { type Context, Hono } from "hono";
import { z } from "zod";
import { defaultDiagramXml } from "../bpmn/default-diagram.ts";
import { assertDiagramSize } from "../bpmn/validate.ts";
import { ApiError, notFound } from "../errors.ts";
import { allowBody, JSON_BODY_LIMIT } from "../http/body-limit.ts";
import { attachmentDisposition, sniffRasterImage, USER_CONTENT_HEADERS } from "../http/user-content.ts";
import * as diagrams from "../repo/diagrams.ts";
import { saveDiagram } from "../repo/versions.ts";
import { type AppEnv, optionalUser, type ResolvedDeps, requireUser } from "./context.ts";
import { DeleteQuery } from "./projects.ts";
import { CappedJsonObject, MAX_INT32, PageQuery, readJson, readQuery, uuidParam } from "./validation.ts";

const Title = z.string().trim().min(1, "title must not be empty").max(255);
/** Length of a thumbnail data URL (base64 of a ~1.5 MiB image); it counts toward the plan's storage. */
export const MAX_THUMBNAIL_CHARS = 2 * 1024 * 1024;

const RASTER_DATA_URL = /^data:image\/(png|jpeg|webp);base64,([A-Za-z0-9+/]+={0,2})$/;

/** The image bytes of a thumbnail data URL, or null when it is not a PNG/JPEG/WebP data URL. */
function thumbnailBytes(dataUrl: string): Buffer | null {
  const match = RASTER_DATA_URL.exec(dataUrl);
  if (!match) return null;
  const bytes = Buffer.from(match[2]!, "base64");
  return sniffRasterImage(bytes) === null ? null : bytes;
}

/**
 * Only raster images, checked by their bytes: an SVG (which can carry script) or a file renamed to
 * .png is refused, and so is a link to another site (it would be a redirect to anywhere).
 */
const Thumbnail = z
  .string()
  .max(MAX_THUMBNAIL_CHARS, "thumbnail must be at most 2 MiB")
  .refine((t) => thumbnailBytes(t) !== null, {
    message: "thumbnail must be a data:image/png, image/jpeg or image/webp;base64 URL whose bytes are that image",
  });

export const CreateDiagramBody = z.object({
  title: Title.optional(),
  project_id: z.uuid().nullable().optional(),
  bpmn_xml: z.string().min(1).optional(),
  metadata: CappedJsonObject.optional(),
  is_public: z.boolean().optional(),
});

export const PatchDiagramBody = z
  .object({
    title: Title,
    project_id: z.uuid().nullable(),
    is_public: z.boolean(),
    metadata: CappedJsonObject,
    thumbnail: Thumbnail.nullable(),
  })
  .partial()
  .refine((b) => Object.keys(b).length > 0, {
    message: "send at least one of title, project_id, is_public, metadata, thumbnail",
  });

export const SaveContentBody = z.object({
  bpmn_xml: z.string().min(1),
  base_version: z.number().int().min(1).max(MAX_INT32),
  message: z.string().max(2000).nullable().optional(),
});

export const ImportQuery = z.object({
  project_id: z.uuid().optional(),
  title: Title.optional(),
});

export const ListDiagramsQuery = PageQuery.extend({
  project_id: z.uuid().optional(),
  /** Title search: without project_id, over every diagram the caller works with (personal, own and shared projects). */
  q: z.string().trim().min(1, "q must not be empty").max(200).optional(),
});

/** JSON escaping can double a document's size; the exact XML size is checked after parsing. */
const jsonLimit = (maxXml: number) => maxXml * 2 + 64 * 1024;

const utf8 = new TextDecoder("utf-8", { fatal: true });

function decodeUpload(bytes: ArrayBuffer): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new ApiError(422, "INVALID_BPMN", "the uploaded file is not UTF-8 text; save it as UTF-8 and upload again");
  }
}

export function diagramRoutes(deps: ResolvedDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const { db, maxDiagramBytes } = deps;
  const validator = deps.bpmn;
  const base = deps.publicUrl ?? "";
  const thumbnailUrl: diagrams.ThumbnailUrl = (id) => `${base}/diagrams/${id}/thumbnail`;
  const what = `a diagram of at most ${maxDiagramBytes} bytes (MAX_DIAGRAM_BYTES)`;
  const limitJson = allowBody(jsonLimit(maxDiagramBytes), what);
  const limitUpload = allowBody(maxDiagramBytes + 64 * 1024, what);
  const limitPatch = allowBody(MAX_THUMBNAIL_CHARS + JSON_BODY_LIMIT, "a diagram's fields and thumbnail");

  app.post("/", limitJson, async (c) => {
    const claims = requireUser(c);
    const body = await readJson(c, CreateDiagramBody);
    const xml = body.bpmn_xml ?? defaultDiagramXml();
    await validator.validate(xml, maxDiagramBytes);
    const diagram = await db.asUser(claims, (sql) =>
      diagrams.createDiagram(sql, claims.sub, { ...body, bpmn_xml: xml }, thumbnailUrl),
    );
    return c.json({ diagram }, 201);
  });

  app.post("/import", limitUpload, async (c) => {
    const claims = requireUser(c);
    const query = readQuery(c, ImportQuery);
    const { xml, fileName, fields } = await readUpload(c, maxDiagramBytes);
    const projectId = query.project_id ?? parseOptional(z.uuid(), fields.project_id, "project_id");
    const title = query.title ?? parseOptional(Title, fields.title, "title") ?? titleFromFileName(fileName);
    await validator.validate(xml, maxDiagramBytes);
    const diagram = await db.asUser(claims, (sql) =>
      diagrams.createDiagram(sql, claims.sub, { title, project_id: projectId ?? null, bpmn_xml: xml }, thumbnailUrl),
    );
    return c.json({ diagram }, 201);
  });

  app.get("/", async (c) => {
    const claims = requireUser(c);
    const q = readQuery(c, ListDiagramsQuery);
    const page = await db.asUser(claims, async (sql) => {
      if (q.project_id) {
        const { rows } = await sql.query("select 1 from public.projects where id = $1 and deleted_at is null", [q.project_id]);
        if (rows.length === 0) throw notFound("project");
        return diagrams.listDiagrams(sql, { kind: "project", projectId: q.project_id }, { ...q, title: q.q }, thumbnailUrl);
      }
      const scope = q.q ? ({ kind: "all", userId: claims.sub } as const) : ({ kind: "personal", userId: claims.sub } as const);
      return diagrams.listDiagrams(sql, scope, { ...q, title: q.q }, thumbnailUrl);
    });
    return c.json(page);
  });

  app.get("/trash", async (c) => {
    const claims = requireUser(c);
    const q = readQuery(c, PageQuery);
    const page = await db.asUser(claims, (sql) =>
      diagrams.listDiagrams(sql, { kind: "trash", userId: claims.sub }, q, thumbnailUrl),
    );
    return c.json(page);
  });

  app.get("/:diagramId", async (c) => {
    const id = uuidParam(c, "diagramId");
    const diagram = await db.asUser(optionalUser(c), (sql) => diagrams.getDiagram(sql, id, thumbnailUrl));
    if (!diagram) throw notFound("diagram");
    if (wantsXml(c)) {
      // User content: a download, never a page of this origin (see http/user-content.ts).
      return c.body(diagram.bpmn_xml, 200, {
        ...USER_CONTENT_HEADERS,
        "Content-Type": "application/xml; charset=utf-8",
        "Content-Disposition": attachmentDisposition(`${diagram.title}.bpmn`),
        "X-Diagram-Version": String(diagram.version),
      });
    }
    return c.json({ diagram });
  });

  app.get("/:diagramId/thumbnail", async (c, next) => {
    const id = uuidParam(c, "diagramId");
    const thumbnail = await db.asUser(optionalUser(c), (sql) => diagrams.getThumbnail(sql, id));
    // No uploaded image: the rendered thumbnail (api/exports.ts, part 2) answers, or 404 there.
    if (!thumbnail) return next();
    // Stored before raster-only checks existed, a link or an SVG is not served (no redirects).
    const bytes = thumbnailBytes(thumbnail);
    const type = bytes && sniffRasterImage(bytes);
    if (!bytes || !type) throw notFound("thumbnail (the stored one is not a PNG, JPEG or WebP image; upload a new one)");
    return c.body(new Uint8Array(bytes), 200, {
      ...USER_CONTENT_HEADERS,
      "Content-Type": type,
      "Cache-Control": "private, max-age=60",
    });
  });

  app.patch("/:diagramId", limitPatch, async (c) => {
    const claims = requireUser(c);
    const id = uuidParam(c, "diagramId");
    const body = await readJson(c, PatchDiagramBody);
    const diagram = await db.asUser(claims, (sql) => diagrams.updateDiagram(sql, id, body, thumbnailUrl));
    if (!diagram) throw notFound("diagram");
    return c.json({ diagram });
  });

  app.put("/:diagramId/content", limitJson, async (c) => {
    const claims = requireUser(c);
    const id = uuidParam(c, "diagramId");
    const body = await readJson(c, SaveContentBody);
    await validator.validate(body.bpmn_xml, maxDiagramBytes);
    const saved = await saveDiagram(db, claims, id, body.base_version, body.bpmn_xml, body.message ?? null);
    return c.json(saved);
  });

  app.delete("/:diagramId", async (c) => {
    const claims = requireUser(c);
    const id = uuidParam(c, "diagramId");
    const { permanent } = readQuery(c, DeleteQuery);
    const done = await db.asUser(claims, (sql) =>
      permanent === "true" ? diagrams.purgeDiagram(sql, id) : diagrams.trashDiagram(sql, id),
    );
    if (!done) throw notFound("diagram");
    return c.body(null, 204);
  });

  app.post("/:diagramId/restore", async (c) => {
    const claims = requireUser(c);
    const id = uuidParam(c, "diagramId");
    const diagram = await db.asUser(claims, (sql) => diagrams.restoreDiagram(sql, id, thumbnailUrl));
    if (!diagram) throw notFound("diagram in the trash");
    return c.json({ diagram });
  });

  return app;
}

function wantsXml(c: Context): boolean {
  if (c.req.query("format") === "xml") return true;
  const accept = c.req.header("accept") ?? "";
  return /\b(application|text)\/xml\b/.test(accept) && !/application\/json/.test(accept);
}

function parseOptional<T>(schema: z.ZodType<T>, value: string | undefined, field: string): T | undefined {
  if (value === undefined || value === "") return undefined;
  const r = schema.safeParse(value);
  if (!r.success) throw new ApiError(400, "VALIDATION_FAILED", `${field}: ${r.error.issues[0]?.message ?? "invalid"}`);
  return r.data;
}

function titleFromFileName(name: string | undefined): string | undefined {
  const stem = name?.replace(/\.(bpmn2?|xml)$/i, "").trim();
  return stem ? stem.slice(0, 255) : undefined;
}

/** Reads a `.bpmn` upload: multipart/form-data (field `file`, optional `title`, `project_id`) or a raw XML body. */
async function readUpload(
  c: Context,
  maxBytes: number,
): Promise<{ xml: string; fileName: string | undefined; fields: Record<string, string | undefined> }> {
  const type = c.req.header("content-type") ?? "";
  if (/^multipart\/form-data/i.test(type)) {
    const form = await c.req.formData();
    const file = form.get("file");
    if (!(file instanceof File)) {
      throw new ApiError(400, "VALIDATION_FAILED", 'file: send the .bpmn file in a multipart field named "file"');
    }
    assertDiagramSize(file.size, maxBytes);
    const text = (k: string) => {
      const v = form.get(k);
      return typeof v === "string" ? v : undefined;
    };
    return {
      xml: stripBom(decodeUpload(await file.arrayBuffer())),
      fileName: file.name,
      fields: { title: text("title"), project_id: text("project_id") },
    };
  }
  if (/^(application|text)\/(xml|bpmn\+xml)|^application\/octet-stream/i.test(type)) {
    const bytes = await c.req.arrayBuffer();
    assertDiagramSize(bytes.byteLength, maxBytes);
    const disposition = c.req.header("content-disposition") ?? "";
    const fileName = /filename="?([^";]+)"?/i.exec(disposition)?.[1];
    return { xml: stripBom(decodeUpload(bytes)), fileName, fields: {} };
  }
  throw new ApiError(
    415,
    "UNSUPPORTED_MEDIA_TYPE",
    "send the .bpmn file as multipart/form-data (field file) or as a raw body with Content-Type application/xml",
  );
}

function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

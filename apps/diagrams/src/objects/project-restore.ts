/**
 * @module objects/project-restore
 * Restores a project backup as a NEW project of the caller, in one transaction: fresh ids, every
 * diagram with every version (numbers, authors, messages, timestamps) and the attachments copied.
 * Before anything is written the backup is checked: its format (zod), the sha256 of every XML, the
 * BPMN of every version (the worker pool), and the bytes of every attachment against its checksum.
 * Any failure leaves nothing behind: attachment copies are made first and removed when the
 * transaction fails. Plan limits apply to the restored project (the database's triggers: SL402).
 */
import { createHash, randomUUID } from "node:crypto";
import { createGunzip } from "node:zlib";
import { z } from "zod";
import type { BpmnWork } from "../bpmn/pool.ts";
import type { AuthClaims, Database } from "../db/database.ts";
import { ObjectError } from "./errors.ts";
import { objectPaths } from "./paths.ts";
import type { ObjectStore, StoredObject } from "./store.ts";

/** A backup document larger than this once decompressed is refused (it is parsed whole). */
export const MAX_BACKUP_JSON_BYTES = 512 * 1024 * 1024;

const Sha = z.string().regex(/^[0-9a-f]{64}$/);
const Json = z.record(z.string(), z.unknown());
const Timestamp = z.string().min(1);

const BackupVersion = z.object({
  version: z.number().int().min(1),
  bpmn_xml: z.string().min(1),
  sha256: Sha,
  metadata: Json.nullable().optional(),
  author_id: z.uuid().nullable().optional(),
  message: z.string().nullable().optional(),
  created_at: Timestamp,
});

const BackupDiagram = z.object({
  id: z.uuid(),
  title: z.string().min(1).max(255),
  bpmn_xml: z.string().min(1),
  sha256: Sha,
  metadata: Json.nullable().optional(),
  version: z.number().int().min(1),
  created_by: z.uuid().nullable().optional(),
  created_at: Timestamp,
  updated_at: Timestamp,
  versions: z.array(BackupVersion).min(1),
});

export const BackupDocument = z.object({
  version: z.literal("1.0"),
  timestamp: Timestamp,
  project: z.object({
    name: z.string().min(1).max(255),
    description: z.string().nullable().optional(),
    settings: Json.nullable().optional(),
    metadata: Json.nullable().optional(),
  }),
  diagrams: z.array(BackupDiagram),
  attachments: z.array(
    z.object({
      name: z.string().min(1).max(255).nullable(),
      path: z.string().min(1),
      size: z.number().int().min(0),
      content_type: z.string().min(1).max(255),
      sha256: Sha,
      created_by: z.uuid().nullable().optional(),
      created_at: Timestamp,
    }),
  ),
});
export type BackupDocument = z.infer<typeof BackupDocument>;

const invalid = (why: string) => new ObjectError("INVALID_BACKUP", `the backup cannot be restored: ${why}; nothing was created`);

const sha256 = (text: string) => createHash("sha256").update(text, "utf8").digest("hex");

export async function readBackup(store: ObjectStore, backup: Pick<StoredObject, "bucket" | "path">): Promise<BackupDocument> {
  const stream = (await store.open(backup.bucket, backup.path)).pipe(createGunzip());
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of stream) {
      size += (chunk as Buffer).length;
      if (size > MAX_BACKUP_JSON_BYTES) throw invalid(`it is larger than ${MAX_BACKUP_JSON_BYTES} bytes uncompressed`);
      chunks.push(chunk as Buffer);
    }
  } catch (error) {
    if (error instanceof ObjectError) throw error;
    throw invalid(`it is not a readable gzip file (${(error as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    throw invalid("it is not valid JSON");
  }
  const parsed = BackupDocument.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw invalid(`${issue?.path.join(".") || "document"}: ${issue?.message ?? "invalid"}`);
  }
  return parsed.data;
}

/** Checks checksums and BPMN of every document in the backup. */
export async function verifyBackup(doc: BackupDocument, bpmn: BpmnWork, maxDiagramBytes: number): Promise<void> {
  for (const d of doc.diagrams) {
    if (sha256(d.bpmn_xml) !== d.sha256) throw invalid(`diagram "${d.title}": its XML does not match its checksum`);
    const seen = new Set<number>();
    for (const v of d.versions) {
      if (seen.has(v.version)) throw invalid(`diagram "${d.title}": version ${v.version} appears twice`);
      seen.add(v.version);
      if (sha256(v.bpmn_xml) !== v.sha256)
        throw invalid(`diagram "${d.title}" version ${v.version}: its XML does not match its checksum`);
      try {
        await bpmn.validate(v.bpmn_xml, maxDiagramBytes);
      } catch (error) {
        throw invalid(`diagram "${d.title}" version ${v.version}: ${(error as Error).message}`);
      }
    }
    if (!d.versions.some((v) => v.version === d.version))
      throw invalid(`diagram "${d.title}": its current version ${d.version} is missing`);
  }
}

export interface RestoredProject {
  project_id: string;
  diagrams: number;
  versions: number;
  attachments: number;
}

export async function restoreProjectBackup(
  db: Database,
  store: ObjectStore,
  bpmn: BpmnWork,
  claims: AuthClaims,
  backup: Pick<StoredObject, "bucket" | "path">,
  maxDiagramBytes: number,
): Promise<RestoredProject> {
  const doc = await readBackup(store, backup);
  await verifyBackup(doc, bpmn, maxDiagramBytes);
  const projectId = randomUUID();
  const owner = claims.sub;

  // Attachments first (storage is not transactional): copy each, checking its bytes on the way.
  const copies: Array<{ source: BackupDocument["attachments"][number]; path: string }> = [];
  const removeCopies = () => Promise.allSettled(copies.map((c) => store.bucket("private").delete(c.path)));
  try {
    for (const a of doc.attachments) {
      const path = objectPaths.projectFile(owner, projectId, "attachments", a.name ?? "file");
      let stream: NodeJS.ReadableStream;
      try {
        stream = await store.open("private", a.path);
      } catch {
        throw invalid(`attachment "${a.name}" is missing from storage`);
      }
      copies.push({ source: a, path });
      const result = await store.bucket("private").upload(stream as import("node:stream").Readable, path, {
        contentType: a.content_type,
        size: a.size,
      });
      if (result.sha256 !== a.sha256 || result.size !== a.size) {
        throw invalid(`attachment "${a.name}" does not match its checksum`);
      }
    }

    const counts = await db.asService(async (sql) => {
      // Users named in the backup who no longer exist are not referenced (the columns allow null).
      const ids = new Set<string>();
      for (const d of doc.diagrams) {
        if (d.created_by) ids.add(d.created_by);
        for (const v of d.versions) if (v.author_id) ids.add(v.author_id);
      }
      for (const a of doc.attachments) if (a.created_by) ids.add(a.created_by);
      const { rows: known } = await sql.query<{ id: string }>("select id from public.profiles where id = any($1::uuid[])", [
        [...ids],
      ]);
      const exists = new Set(known.map((r) => r.id));
      const person = (id: string | null | undefined) => (id && exists.has(id) ? id : null);

      // The insert triggers check the plan's limits for the new owner (SL402 rolls everything back).
      await sql.query(
        `insert into public.projects (id, profile_id, name, description, settings, metadata, is_public)
         values ($1, $2, $3, $4, coalesce($5::jsonb, '{}'), coalesce($6::jsonb, '{}'), false)`,
        [
          projectId,
          owner,
          doc.project.name,
          doc.project.description ?? null,
          doc.project.settings ? JSON.stringify(doc.project.settings) : null,
          doc.project.metadata ? JSON.stringify(doc.project.metadata) : null,
        ],
      );
      let versions = 0;
      for (const d of doc.diagrams) {
        const diagramId = randomUUID();
        await sql.query(
          `insert into public.diagrams (id, project_id, profile_id, created_by, title, bpmn_xml, metadata, is_public, created_at, updated_at)
           values ($1, $2, $3, $4, $5, $6, coalesce($7::jsonb, '{}'), false, $8, $9)`,
          [
            diagramId,
            projectId,
            owner,
            person(d.created_by) ?? owner,
            d.title,
            d.bpmn_xml,
            d.metadata ? JSON.stringify(d.metadata) : null,
            d.created_at,
            d.updated_at,
          ],
        );
        // The insert wrote version 1 of the current XML; the history replaces it, numbers kept.
        await sql.query("delete from public.diagram_versions where diagram_id = $1", [diagramId]);
        for (const v of d.versions) {
          await sql.query(
            `insert into public.diagram_versions (diagram_id, version, bpmn_xml, metadata, author_id, message, created_at)
             values ($1, $2, $3, coalesce($4::jsonb, '{}'), $5, $6, $7)`,
            [
              diagramId,
              v.version,
              v.bpmn_xml,
              v.metadata ? JSON.stringify(v.metadata) : null,
              person(v.author_id),
              v.message ?? null,
              v.created_at,
            ],
          );
          versions++;
        }
        await sql.query("update public.diagrams set version = $2, updated_at = $3 where id = $1", [
          diagramId,
          d.version,
          d.updated_at,
        ]);
      }
      for (const c of copies) {
        await sql.query(
          `insert into public.stored_objects (kind, bucket, path, project_id, name, content_type, size_bytes, sha256, created_by, created_at, complete)
           values ('attachment', 'private', $1, $2, $3, $4, $5, $6, $7, $8, true)`,
          [
            c.path,
            projectId,
            c.source.name,
            c.source.content_type,
            c.source.size,
            c.source.sha256,
            person(c.source.created_by),
            c.source.created_at,
          ],
        );
      }
      return { diagrams: doc.diagrams.length, versions, attachments: copies.length };
    });
    return { project_id: projectId, ...counts };
  } catch (error) {
    await removeCopies();
    throw error;
  }
}

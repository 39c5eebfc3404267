/**
 * @module objects/project-backup
 * Project backups in the seed's format — `{ version, timestamp, project, diagrams: [{ …, versions }] }`
 * plus `attachments` (name, size, type, sha256, path) and a sha256 per version's XML — written as
 * gzipped JSON to `projects/{userId}/{projectId}/backups/`, streamed diagram by diagram (never the
 * whole project in memory), and kept to the last 30 (the seed's `cleanOldBackups`).
 */
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { createGzip } from "node:zlib";
import type { Database } from "../db/database.ts";
import { objectPaths } from "./paths.ts";
import type { ObjectStore, StoredObject } from "./store.ts";

export const BACKUP_FORMAT_VERSION = "1.0";
export const BACKUPS_KEPT = 30;

const sha256 = (text: string) => createHash("sha256").update(text, "utf8").digest("hex");

interface ProjectRow {
  id: string;
  profile_id: string;
  name: string;
  description: string | null;
  settings: unknown;
  metadata: unknown;
  is_public: boolean;
  created_at: Date;
  updated_at: Date;
}

interface DiagramRow {
  id: string;
  title: string;
  bpmn_xml: string;
  metadata: unknown;
  version: number;
  is_public: boolean;
  created_by: string | null;
  created_at: Date;
  updated_at: Date;
}

interface VersionRow {
  version: number;
  bpmn_xml: string;
  metadata: unknown;
  author_id: string | null;
  message: string | null;
  created_at: Date;
}

/** The backup document as chunks of JSON text: header, one chunk per diagram, attachments, footer. */
async function* backupJson(
  db: Database,
  project: ProjectRow,
  counts: { diagrams: number; versions: number; attachments: number },
) {
  yield `{"version":${JSON.stringify(BACKUP_FORMAT_VERSION)},"timestamp":${JSON.stringify(new Date().toISOString())},"project":${JSON.stringify(project)},"diagrams":[`;
  const ids = await db.asService(async (sql) => {
    const { rows } = await sql.query<{ id: string }>(
      "select id from public.diagrams where project_id = $1 and deleted_at is null order by created_at, id",
      [project.id],
    );
    return rows.map((r) => r.id);
  });
  let first = true;
  for (const id of ids) {
    // One diagram at a time, each read in its own snapshot: memory stays bounded by one diagram's history.
    const entry = await db.asService(async (sql) => {
      const d = await sql.query<DiagramRow>(
        `select id, title, bpmn_xml, metadata, version, is_public, created_by, created_at, updated_at
         from public.diagrams where id = $1 and deleted_at is null`,
        [id],
      );
      if (!d.rows[0]) return null;
      const v = await sql.query<VersionRow>(
        `select version, bpmn_xml, metadata, author_id, message, created_at
         from public.diagram_versions where diagram_id = $1 order by version`,
        [id],
      );
      return {
        ...d.rows[0],
        sha256: sha256(d.rows[0].bpmn_xml),
        versions: v.rows.map((r) => ({ ...r, sha256: sha256(r.bpmn_xml) })),
      };
    });
    if (!entry) continue;
    counts.diagrams++;
    counts.versions += entry.versions.length;
    yield `${first ? "" : ","}${JSON.stringify(entry)}`;
    first = false;
  }
  const attachments = await db.asService(async (sql) => {
    const { rows } = await sql.query<StoredObject>(
      `select id, name, path, size_bytes, content_type, sha256, created_by, created_at from public.stored_objects
       where project_id = $1 and kind = 'attachment' and complete order by created_at`,
      [project.id],
    );
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      path: r.path,
      size: r.size_bytes,
      content_type: r.content_type,
      sha256: r.sha256,
      created_by: r.created_by,
      created_at: r.created_at,
    }));
  });
  counts.attachments = attachments.length;
  yield `],"attachments":${JSON.stringify(attachments)}}`;
}

/** Writes a backup of the project (as the service: the caller was checked to be an owner). */
export async function createProjectBackup(
  db: Database,
  store: ObjectStore,
  projectId: string,
  trigger: "manual" | "daily" | "after_changes",
  createdBy: string | null,
): Promise<StoredObject> {
  const project = await db.asService(async (sql) => {
    const { rows } = await sql.query<ProjectRow>(
      `select id, profile_id, name, description, settings, metadata, is_public, created_at, updated_at
       from public.projects where id = $1 and deleted_at is null`,
      [projectId],
    );
    return rows[0];
  });
  if (!project) throw new Error(`project ${projectId} not found`);
  const counts = { diagrams: 0, versions: 0, attachments: 0 };
  const gzip = createGzip();
  const source = Readable.from(backupJson(db, project, counts));
  source.once("error", (error) => gzip.destroy(error));
  source.pipe(gzip);
  const object = await store.put(
    {
      kind: "backup",
      bucket: "private",
      path: objectPaths.projectFile(project.profile_id, projectId, "backups", "backup.json.gz"),
      contentType: "application/gzip",
      projectId,
      name: `${project.name.slice(0, 200)} backup`,
      metadata: { trigger, format: BACKUP_FORMAT_VERSION },
      createdBy,
    },
    gzip,
  );
  await db.asService((sql) =>
    sql.query("update public.stored_objects set metadata = metadata || $2::jsonb where id = $1", [
      object.id,
      JSON.stringify(counts),
    ]),
  );
  await pruneBackups(db, store, projectId);
  return { ...object, metadata: { ...object.metadata, ...counts } };
}

/** Keeps the newest BACKUPS_KEPT backups of a project; older ones are deleted with their bytes. */
export async function pruneBackups(db: Database, store: ObjectStore, projectId: string, keep = BACKUPS_KEPT): Promise<number> {
  const removed = await db.asService(async (sql) => {
    const { rowCount } = await sql.query(
      `delete from public.stored_objects where id in (
         select id from public.stored_objects where project_id = $1 and kind = 'backup' and complete
         order by created_at desc, id desc offset $2)`,
      [projectId, keep],
    );
    return rowCount;
  });
  if (removed) await store.sweep();
  return removed;
}

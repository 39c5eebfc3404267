/**
 * @module objects/project-restore
 * Restores a project backup as a NEW project of the caller, in one transaction: fresh ids, every
 * diagram with every version (numbers, authors, messages, timestamps) and the attachments copied.
 *
 * The backup is streamed, never held whole: the gzip is decompressed and parsed by a streaming JSON
 * parser (@streamparser/json) that hands over one value at a time — the project, each field of a
 * diagram, each version, each attachment — and forgets it once handled, so memory is bounded by one
 * value (at most a diagram's XML, MAX_DIAGRAM_BYTES), not by the backup (the 512 MiB cap of the first
 * version read it all into memory). Every value is checked before it is written: its shape (zod), the
 * sha256 of every XML, the BPMN of every version (the worker pool), the bytes of every attachment
 * against its checksum. Any failure, however late in the file, rolls the transaction back and
 * removes the attachment copies made so far, so a bad backup leaves nothing. Plan limits apply to
 * the restored project (the database's triggers: SL402).
 *
 * Values are taken in the order the backup writer (project-backup.ts) writes them: `version`,
 * `timestamp` and `project` before `diagrams`, a diagram's own fields before its `versions`, and
 * `attachments` last. Every backup made by this service has that order.
 */
import { createHash, randomUUID } from "node:crypto";
import type { Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { JSONParser } from "@streamparser/json";
import { z } from "zod";
import type { BpmnWork } from "../bpmn/pool.ts";
import type { AuthClaims, Database, SqlExecutor } from "../db/database.ts";
import { ObjectError } from "./errors.ts";
import { objectPaths } from "./paths.ts";
import type { ObjectStore, StoredObject } from "./store.ts";

/** A backup larger than this once decompressed is refused (a bound on the work, not on memory). */
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

/** A diagram's own fields (its `versions` arrive one by one after them). */
const BackupDiagramHeader = z.object({
  id: z.uuid(),
  title: z.string().min(1).max(255),
  bpmn_xml: z.string().min(1),
  sha256: Sha,
  metadata: Json.nullable().optional(),
  version: z.number().int().min(1),
  created_by: z.uuid().nullable().optional(),
  created_at: Timestamp,
  updated_at: Timestamp,
});
const DIAGRAM_FIELDS = [...Object.keys(BackupDiagramHeader.shape), "is_public"];

const BackupHeader = z.object({
  version: z.literal("1.0"),
  timestamp: Timestamp,
  project: z.object({
    name: z.string().min(1).max(255),
    description: z.string().nullable().optional(),
    settings: Json.nullable().optional(),
    metadata: Json.nullable().optional(),
  }),
});

const BackupAttachment = z.object({
  name: z.string().min(1).max(255).nullable(),
  path: z.string().min(1),
  size: z.number().int().min(0),
  content_type: z.string().min(1).max(255),
  sha256: Sha,
  created_by: z.uuid().nullable().optional(),
  created_at: Timestamp,
});

const invalid = (why: string) => new ObjectError("INVALID_BACKUP", `the backup cannot be restored: ${why}; nothing was created`);

const sha256 = (text: string) => createHash("sha256").update(text, "utf8").digest("hex");

function parsed<T>(schema: z.ZodType<T>, value: unknown, where: string): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  throw invalid(`${[where, ...(issue?.path ?? [])].join(".")}: ${issue?.message ?? "invalid"}`);
}

/** One value handed over by the parser. */
type BackupEvent =
  | { kind: "header"; key: string; value: unknown }
  | { kind: "diagram-field"; index: number; key: string; value: unknown }
  | { kind: "version"; index: number; value: unknown }
  | { kind: "attachment"; index: number; value: unknown };

const PATHS = [
  "$.version",
  "$.timestamp",
  "$.project",
  ...DIAGRAM_FIELDS.map((f) => `$.diagrams.*.${f}`),
  "$.diagrams.*.versions.*",
  "$.attachments.*",
];

/**
 * The backup's values, in file order, a chunk's worth at a time. `maxValueBytes` bounds the bytes
 * between two values (what the parser may have to hold); `maxJsonBytes` the whole document.
 */
async function* backupEvents(
  source: Readable,
  limits: { maxJsonBytes: number; maxValueBytes: number },
): AsyncGenerator<BackupEvent[], void> {
  // keepStack false: a value handed over, and every finished value around it, is dropped from its
  // parent, so nothing accumulates. (So the containers' shape is checked here, as values arrive.)
  const parser = new JSONParser({ paths: PATHS, keepStack: false });
  let events: BackupEvent[] = [];
  let parseError: ObjectError | undefined;
  let sinceValue = 0;
  parser.onError = () => {
    parseError ??= invalid("it is not valid JSON");
  };
  parser.onValue = ({ value, key, parent, stack }) => {
    sinceValue = 0;
    if (stack.length === 1) events.push({ kind: "header", key: String(key), value });
    else if (stack[1]?.key === "attachments") {
      if (!Array.isArray(parent)) parseError ??= invalid("attachments: expected an array");
      events.push({ kind: "attachment", index: Number(key), value });
    } else if (!Array.isArray(stack[2]?.value)) parseError ??= invalid("diagrams: expected an array");
    else if (stack.length === 3) events.push({ kind: "diagram-field", index: Number(stack[2]!.key), key: String(key), value });
    else if (!Array.isArray(parent)) parseError ??= invalid(`diagrams.${String(stack[2]!.key)}.versions: expected an array`);
    else events.push({ kind: "version", index: Number(stack[2]!.key), value });
  };
  const gunzip = source.pipe(createGunzip());
  source.once("error", (error) => gunzip.destroy(error));
  let total = 0;
  try {
    for await (const chunk of gunzip) {
      const bytes = chunk as Buffer;
      total += bytes.length;
      sinceValue += bytes.length;
      if (total > limits.maxJsonBytes) throw invalid(`it is larger than ${limits.maxJsonBytes} bytes uncompressed`);
      if (sinceValue > limits.maxValueBytes) {
        throw invalid(`it holds a value larger than ${limits.maxValueBytes} bytes (no diagram is that large)`);
      }
      if (!parser.isEnded) parser.write(bytes);
      if (parseError) throw parseError;
      if (events.length > 0) {
        yield events;
        events = [];
      }
    }
  } catch (error) {
    if (error instanceof ObjectError) throw error;
    throw invalid(`it is not a readable gzip file (${(error as Error).message})`);
  } finally {
    gunzip.destroy();
  }
  if (!parser.isEnded) parser.end();
  if (parseError) throw parseError;
  if (!parser.isEnded) throw invalid("it is not valid JSON (it ends too early)");
  if (events.length > 0) yield events;
}

export interface RestoreLimits {
  /** Decompressed size cap (default MAX_BACKUP_JSON_BYTES). */
  readonly maxJsonBytes?: number;
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
  limits: RestoreLimits = {},
): Promise<RestoredProject> {
  const projectId = randomUUID();
  const owner = claims.sub;
  // Attachment copies (storage is not transactional): removed when the restore fails.
  const copies: string[] = [];
  try {
    return await db.asService(async (sql) => {
      const restore = new ProjectRestore(sql, store, bpmn, projectId, owner, maxDiagramBytes, copies);
      const source = await store.open(backup.bucket, backup.path);
      const events = backupEvents(source, {
        maxJsonBytes: limits.maxJsonBytes ?? MAX_BACKUP_JSON_BYTES,
        // JSON escaping at most doubles XML (quotes, newlines); 1 MiB for everything around it.
        maxValueBytes: 2 * maxDiagramBytes + 1024 * 1024,
      });
      for (;;) {
        const next = await events.next();
        if (next.done) return restore.finish();
        for (const event of next.value) await restore.handle(event);
      }
    });
  } catch (error) {
    await Promise.allSettled(copies.map((path) => store.bucket("private").delete(path)));
    throw error;
  }
}

interface DiagramInProgress {
  index: number;
  fields: Record<string, unknown>;
  header?: z.infer<typeof BackupDiagramHeader>;
  id?: string;
  versions: Set<number>;
}

/** The writes of one restore, value by value, inside its transaction. */
class ProjectRestore {
  private header: Record<string, unknown> = {};
  private projectCreated = false;
  private diagram: DiagramInProgress | undefined;
  private readonly people = new Map<string, boolean>();
  private readonly counts = { diagrams: 0, versions: 0, attachments: 0 };
  private attachmentsStarted = false;

  constructor(
    private readonly sql: SqlExecutor,
    private readonly store: ObjectStore,
    private readonly bpmn: BpmnWork,
    private readonly projectId: string,
    private readonly owner: string,
    private readonly maxDiagramBytes: number,
    private readonly copies: string[],
  ) {}

  async handle(event: BackupEvent): Promise<void> {
    switch (event.kind) {
      case "header":
        if (this.projectCreated) throw invalid(`"${event.key}" must come before the diagrams`);
        this.header[event.key] = event.value;
        return;
      case "diagram-field": {
        const d = await this.diagramAt(event.index);
        if (d.id) throw invalid(`diagram ${event.index + 1}: its fields must come before its versions`);
        d.fields[event.key] = event.value;
        return;
      }
      case "version":
        return this.addVersion(await this.diagramAt(event.index), event.value);
      case "attachment":
        return this.addAttachment(event.value, event.index);
    }
  }

  /** After the last value: the last diagram, the project when it has no diagrams, the counts. */
  async finish(): Promise<RestoredProject> {
    await this.endDiagram();
    await this.createProject();
    return { project_id: this.projectId, ...this.counts };
  }

  private async createProject(): Promise<void> {
    if (this.projectCreated) return;
    const { project } = parsed(BackupHeader, this.header, "document");
    // The insert triggers check the plan's limits for the new owner (SL402 rolls everything back).
    await this.sql.query(
      `insert into public.projects (id, profile_id, name, description, settings, metadata, is_public)
       values ($1, $2, $3, $4, coalesce($5::jsonb, '{}'), coalesce($6::jsonb, '{}'), false)`,
      [
        this.projectId,
        this.owner,
        project.name,
        project.description ?? null,
        project.settings ? JSON.stringify(project.settings) : null,
        project.metadata ? JSON.stringify(project.metadata) : null,
      ],
    );
    this.projectCreated = true;
  }

  /** The diagram the value belongs to; the previous one is finished when a new one starts. */
  private async diagramAt(index: number): Promise<DiagramInProgress> {
    if (this.attachmentsStarted) throw invalid("the diagrams must come before the attachments");
    if (this.diagram?.index === index) return this.diagram;
    await this.endDiagram();
    await this.createProject();
    this.diagram = { index, fields: {}, versions: new Set() };
    return this.diagram;
  }

  /** Users named in the backup who no longer exist are not referenced (the columns allow null). */
  private async person(id: string | null | undefined): Promise<string | null> {
    if (!id) return null;
    let known = this.people.get(id);
    if (known === undefined) {
      const { rows } = await this.sql.query("select 1 from public.profiles where id = $1", [id]);
      known = rows.length > 0;
      this.people.set(id, known);
    }
    return known ? id : null;
  }

  private async addVersion(d: DiagramInProgress, value: unknown): Promise<void> {
    if (!d.id) {
      // The first version: the diagram's own fields are complete, write its row.
      const header = parsed(BackupDiagramHeader, d.fields, `diagrams.${d.index}`);
      if (sha256(header.bpmn_xml) !== header.sha256)
        throw invalid(`diagram "${header.title}": its XML does not match its checksum`);
      const id = randomUUID();
      await this.sql.query(
        `insert into public.diagrams (id, project_id, profile_id, created_by, title, bpmn_xml, metadata, is_public, created_at, updated_at)
         values ($1, $2, $3, $4, $5, $6, coalesce($7::jsonb, '{}'), false, $8, $9)`,
        [
          id,
          this.projectId,
          this.owner,
          (await this.person(header.created_by)) ?? this.owner,
          header.title,
          header.bpmn_xml,
          header.metadata ? JSON.stringify(header.metadata) : null,
          header.created_at,
          header.updated_at,
        ],
      );
      // The insert wrote version 1 of the current XML; the history replaces it, numbers kept.
      await this.sql.query("delete from public.diagram_versions where diagram_id = $1", [id]);
      d.fields = {}; // the header is kept parsed; the raw copy (the XML) is let go
      d.header = header;
      d.id = id;
      this.counts.diagrams++;
    }
    const title = d.header!.title;
    const v = parsed(BackupVersion, value, `diagram "${title}" version`);
    if (d.versions.has(v.version)) throw invalid(`diagram "${title}": version ${v.version} appears twice`);
    d.versions.add(v.version);
    if (sha256(v.bpmn_xml) !== v.sha256)
      throw invalid(`diagram "${title}" version ${v.version}: its XML does not match its checksum`);
    try {
      await this.bpmn.validate(v.bpmn_xml, this.maxDiagramBytes);
    } catch (error) {
      throw invalid(`diagram "${title}" version ${v.version}: ${(error as Error).message}`);
    }
    await this.sql.query(
      `insert into public.diagram_versions (diagram_id, version, bpmn_xml, metadata, author_id, message, created_at)
       values ($1, $2, $3, coalesce($4::jsonb, '{}'), $5, $6, $7)`,
      [
        d.id,
        v.version,
        v.bpmn_xml,
        v.metadata ? JSON.stringify(v.metadata) : null,
        await this.person(v.author_id),
        v.message ?? null,
        v.created_at,
      ],
    );
    this.counts.versions++;
  }

  /** Checks the finished diagram (its current version is in its history) and sets its number. */
  private async endDiagram(): Promise<void> {
    const d = this.diagram;
    if (!d) return;
    this.diagram = undefined;
    if (!d.id || !d.header) {
      const title = typeof d.fields.title === "string" ? `"${d.fields.title}"` : String(d.index + 1);
      throw invalid(`diagram ${title}: it has no versions`);
    }
    if (!d.versions.has(d.header.version)) {
      throw invalid(`diagram "${d.header.title}": its current version ${d.header.version} is missing`);
    }
    await this.sql.query("update public.diagrams set version = $2, updated_at = $3 where id = $1", [
      d.id,
      d.header.version,
      d.header.updated_at,
    ]);
  }

  /** Copies the attachment's bytes (checked against size and sha256) and records the copy. */
  private async addAttachment(value: unknown, index: number): Promise<void> {
    await this.endDiagram();
    await this.createProject();
    this.attachmentsStarted = true;
    const a = parsed(BackupAttachment, value, `attachments.${index}`);
    const path = objectPaths.projectFile(this.owner, this.projectId, "attachments", a.name ?? "file");
    let stream: Readable;
    try {
      stream = await this.store.open("private", a.path);
    } catch {
      throw invalid(`attachment "${a.name}" is missing from storage`);
    }
    this.copies.push(path);
    const result = await this.store.bucket("private").upload(stream, path, { contentType: a.content_type, size: a.size });
    if (result.sha256 !== a.sha256 || result.size !== a.size) throw invalid(`attachment "${a.name}" does not match its checksum`);
    await this.sql.query(
      `insert into public.stored_objects (kind, bucket, path, project_id, name, content_type, size_bytes, sha256, created_by, created_at, complete)
       values ('attachment', 'private', $1, $2, $3, $4, $5, $6, $7, $8, true)`,
      [path, this.projectId, a.name, a.content_type, a.size, a.sha256, await this.person(a.created_by), a.created_at],
    );
    this.counts.attachments++;
  }
}

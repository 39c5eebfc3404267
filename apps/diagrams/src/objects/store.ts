/**
 * @module objects/store
 * Every byte the diagram service keeps outside PostgreSQL goes through here: a row in
 * `public.stored_objects` (RLS decides who sees it, triggers charge the owner's plan total) and an
 * object in the public or private bucket.
 *
 * Writing an object: (1) insert its row with `complete = false` and the size when known — charged
 * under the owner's profile lock, so a known-size upload over the quota is refused before a byte is
 * stored; (2) stream the bytes to the bucket, growing the row's charged size in 1 MiB steps as they
 * arrive (an unknown-size stream passing the quota or the per-object limit is aborted and nothing is
 * left behind); (3) set the exact size and checksum and mark the row complete. A failure deletes the
 * row, which refunds the charge; rows left incomplete by a crash are swept after an hour.
 */
import { createHash, randomUUID } from "node:crypto";
import { Readable, Transform, type TransformCallback } from "node:stream";
import type { StorageDestination } from "@stowage/storage";
import type { AuthClaims, Database, SqlExecutor } from "../db/database.ts";
import type { Buckets } from "./buckets.ts";
import { ObjectError } from "./errors.ts";
import type { Bucket, ObjectKind } from "./paths.ts";
import type { UrlSigner } from "./signing.ts";

/** The seed's object limit: "Up to 50MB per file". */
export const MAX_OBJECT_BYTES = 50 * 1024 * 1024;
const CHARGE_STEP = 1024 * 1024;
const STALE_UPLOAD_MS = 60 * 60 * 1000;

export interface StoredObject {
  id: string;
  kind: ObjectKind;
  bucket: Bucket;
  path: string;
  owner_id: string;
  project_id: string | null;
  diagram_id: string | null;
  name: string | null;
  content_type: string;
  size_bytes: number;
  sha256: string;
  format: string | null;
  version: number | null;
  metadata: Record<string, unknown>;
  created_by: string | null;
  created_at: Date;
}

export const OBJECT_COLUMNS = `id, kind, bucket, path, owner_id, project_id, diagram_id, name, content_type, size_bytes,
  sha256, format, version, metadata, created_by, created_at`;

export interface PutObject {
  readonly kind: ObjectKind;
  readonly bucket: Bucket;
  readonly path: string;
  readonly contentType: string;
  readonly projectId?: string | null;
  readonly diagramId?: string | null;
  readonly name?: string | null;
  readonly format?: string | null;
  readonly version?: number | null;
  readonly metadata?: Record<string, unknown>;
  /** Exact byte length when known (checked against the stream). */
  readonly size?: number;
  readonly maxBytes?: number;
  /** Insert the row under this caller's RLS (attachments); as the service otherwise (the route checked). */
  readonly as?: AuthClaims;
  readonly createdBy?: string | null;
}

function isPgCode(error: unknown, code: string): boolean {
  return typeof error === "object" && error !== null && (error as { code?: unknown }).code === code;
}

export class ObjectStore {
  constructor(
    private readonly db: Database,
    readonly buckets: Buckets,
    private readonly signer: UrlSigner,
    private readonly baseUrl: string,
  ) {}

  bucket(name: Bucket): StorageDestination {
    return this.buckets[name];
  }

  /** Stores `source` as a new object; see the module comment for the steps. */
  async put(req: PutObject, source: Readable | Buffer): Promise<StoredObject> {
    const id = randomUUID();
    const maxBytes = req.maxBytes ?? MAX_OBJECT_BYTES;
    if (req.size !== undefined && req.size > maxBytes) {
      throw new ObjectError("PAYLOAD_TOO_LARGE", `the file is ${req.size} bytes; the limit is ${maxBytes} bytes`, {
        max_bytes: maxBytes,
      });
    }
    const insert = (sql: SqlExecutor) =>
      sql.query(
        `insert into public.stored_objects (id, kind, bucket, path, project_id, diagram_id, name, content_type, size_bytes,
           format, version, metadata, created_by)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, coalesce($12::jsonb, '{}'), $13)`,
        [
          id,
          req.kind,
          req.bucket,
          req.path,
          req.projectId ?? null,
          req.diagramId ?? null,
          req.name ?? null,
          req.contentType,
          req.size ?? 0,
          req.format ?? null,
          req.version ?? null,
          req.metadata ? JSON.stringify(req.metadata) : null,
          req.createdBy ?? req.as?.sub ?? null,
        ],
      );
    if (req.as) {
      // Users may not name created_by/format/version/diagram_id: the policy's defaults apply.
      await this.db.asUser(req.as, (sql) =>
        sql.query(
          `insert into public.stored_objects (id, kind, bucket, path, project_id, name, content_type, size_bytes, metadata)
           values ($1, $2, $3, $4, $5, $6, $7, $8, coalesce($9::jsonb, '{}'))`,
          [
            id,
            req.kind,
            req.bucket,
            req.path,
            req.projectId ?? null,
            req.name ?? null,
            req.contentType,
            req.size ?? 0,
            req.metadata ? JSON.stringify(req.metadata) : null,
          ],
        ),
      );
    } else {
      await this.db.asService(insert);
    }

    let charged = req.size ?? 0;
    const grow = async (needed: number) => {
      const next = Math.min(Math.max(needed, charged + CHARGE_STEP), maxBytes);
      await this.db.asService((sql) => sql.query("update public.stored_objects set size_bytes = $2 where id = $1", [id, next]));
      charged = next;
    };
    const abort = new AbortController();
    let seen = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, done: TransformCallback) {
        seen += chunk.length;
        if (seen > maxBytes) {
          done(new ObjectError("PAYLOAD_TOO_LARGE", `the file is over the limit of ${maxBytes} bytes`, { max_bytes: maxBytes }));
          return;
        }
        if (req.size !== undefined && seen > req.size) {
          done(new ObjectError("PAYLOAD_TOO_LARGE", `the file is longer than its declared ${req.size} bytes`));
          return;
        }
        if (seen <= charged) {
          done(null, chunk);
          return;
        }
        grow(seen).then(
          () => done(null, chunk),
          (error: unknown) => done(error as Error),
        );
      },
    });
    const input = Buffer.isBuffer(source) ? Readable.from([source]) : source;
    input.once("error", (error) => meter.destroy(error));
    try {
      // The meter's own error (limit, quota) ends the upload even if the provider has not started
      // reading yet; the abort signal tells the provider to clean up.
      const meterFailed = new Promise<never>((_, reject) => meter.once("error", reject));
      meterFailed.catch(() => undefined);
      const upload = this.bucket(req.bucket).upload(input.pipe(meter), req.path, {
        contentType: req.contentType,
        ...(req.size !== undefined ? { size: req.size } : {}),
        signal: abort.signal,
      });
      upload.catch(() => undefined);
      const result = await Promise.race([upload, meterFailed]);
      return await this.db.asService(async (sql) => {
        const { rows } = await sql.query<StoredObject>(
          `update public.stored_objects set size_bytes = $2, sha256 = $3, complete = true where id = $1
           returning ${OBJECT_COLUMNS}`,
          [id, result.size, result.sha256],
        );
        return rows[0]!;
      });
    } catch (error) {
      abort.abort();
      meter.destroy();
      if (!Buffer.isBuffer(source)) source.resume();
      // Deleting the row refunds the charge and leaves a tombstone, so any bytes stored are removed too.
      await this.db.asService((sql) => sql.query("delete from public.stored_objects where id = $1", [id])).catch(() => undefined);
      throw this.translate(error);
    }
  }

  private translate(error: unknown): unknown {
    if (error instanceof ObjectError) return error;
    // The storage layer wraps the stream's error; look for ours in the causes.
    let e: unknown = error;
    for (let i = 0; i < 5 && e; i++) {
      if (e instanceof ObjectError || isPgCode(e, "SL402")) return e;
      e = (e as { cause?: unknown }).cause;
    }
    return error;
  }

  /** A stream of an object's bytes. */
  async open(bucket: Bucket, path: string): Promise<Readable> {
    return this.bucket(bucket).download(path);
  }

  /** The link for an object: the public route for public objects, a signed URL for private ones. */
  url(object: Pick<StoredObject, "bucket" | "path">, ttlSeconds?: number): { url: string; expiresAt?: string } {
    const encoded = object.path.split("/").map(encodeURIComponent).join("/");
    if (object.bucket === "public") return { url: `${this.baseUrl}/objects/public/${encoded}` };
    const { exp, sig } = this.signer.sign(object.path, ttlSeconds);
    return {
      url: `${this.baseUrl}/objects/private/${encoded}?exp=${exp}&sig=${sig}`,
      expiresAt: new Date(exp * 1000).toISOString(),
    };
  }

  /** The bucket a diagram's objects belong in: public only while anonymous users can read it (RLS, as anon). */
  async bucketForDiagram(diagramId: string): Promise<Bucket> {
    const visible = await this.db.asUser(null, async (sql) => {
      const { rows } = await sql.query("select 1 from public.diagrams where id = $1", [diagramId]);
      return rows.length > 0;
    });
    return visible ? "public" : "private";
  }

  /**
   * Stores a diagram's thumbnail under its fixed path, replacing the previous one. The row is
   * upserted (and the size difference charged) before the bytes are written.
   */
  async putThumbnail(diagramId: string, path: string, bucket: Bucket, png: Buffer, version: number): Promise<void> {
    const sha256 = createHash("sha256").update(png).digest("hex");
    const previous = await this.db.asService(async (sql) => {
      const { rows } = await sql.query<{ bucket: Bucket }>(
        "select bucket from public.stored_objects where path = $1 for update",
        [path],
      );
      await sql.query(
        `insert into public.stored_objects (kind, bucket, path, diagram_id, content_type, size_bytes, sha256, version, complete)
         values ('thumbnail', $2, $1, $3, 'image/png', $4, $5, $6, true)
         on conflict (path) do update set bucket = excluded.bucket, size_bytes = excluded.size_bytes,
           sha256 = excluded.sha256, version = excluded.version, created_at = now()`,
        [path, bucket, diagramId, png.length, sha256, version],
      );
      return rows[0]?.bucket;
    });
    await this.bucket(bucket).upload(Readable.from([png]), path, { contentType: "image/png", size: png.length });
    if (previous && previous !== bucket) await this.bucket(previous).delete(path);
  }

  /**
   * Moves a diagram's exports and thumbnail to the bucket its visibility calls for: `public` only
   * while anonymous users can read the diagram (RLS decides, as anon), `private` otherwise. Called
   * after every change that can affect visibility; cheap when nothing moves.
   */
  async syncDiagramVisibility(diagramIds: readonly string[]): Promise<number> {
    if (diagramIds.length === 0) return 0;
    const publicIds = new Set(
      await this.db.asUser(null, async (sql) => {
        const { rows } = await sql.query<{ id: string }>("select id from public.diagrams where id = any($1::uuid[])", [
          diagramIds,
        ]);
        return rows.map((r) => r.id);
      }),
    );
    const objects = await this.db.asService(async (sql) => {
      const { rows } = await sql.query<StoredObject>(
        `select ${OBJECT_COLUMNS} from public.stored_objects
         where diagram_id = any($1::uuid[]) and kind in ('export', 'thumbnail') and complete`,
        [diagramIds],
      );
      return rows;
    });
    let moved = 0;
    for (const object of objects) {
      const target: Bucket = publicIds.has(object.diagram_id!) ? "public" : "private";
      if (object.bucket === target) continue;
      try {
        await this.move(object, target);
        moved++;
      } catch {
        // Moved by a concurrent sync, or the object vanished: the next sync sees the new state.
      }
    }
    return moved;
  }

  /** Syncs every diagram of a project (its public flag or trash state changed). */
  async syncProjectVisibility(projectId: string): Promise<number> {
    const ids = await this.db.asService(async (sql) => {
      const { rows } = await sql.query<{ diagram_id: string }>(
        "select distinct diagram_id from public.stored_objects o join public.diagrams d on d.id = o.diagram_id where d.project_id = $1",
        [projectId],
      );
      return rows.map((r) => r.diagram_id);
    });
    return this.syncDiagramVisibility(ids);
  }

  /** Copies the object into `target`, points the row at it, then deletes the old copy. */
  private async move(object: StoredObject, target: Bucket): Promise<void> {
    const stream = await this.open(object.bucket, object.path);
    await this.bucket(target).upload(stream, object.path, { contentType: object.content_type, size: object.size_bytes });
    await this.db.asService((sql) =>
      sql.query("update public.stored_objects set bucket = $2 where id = $1", [object.id, target]),
    );
    await this.bucket(object.bucket).delete(object.path);
  }

  /** Deletes bytes whose rows are gone (cascades, failed uploads) and uploads abandoned by a crash. */
  async sweep(): Promise<number> {
    await this.db.asService((sql) =>
      sql.query("delete from public.stored_objects where not complete and created_at < now() - $1 * interval '1 millisecond'", [
        STALE_UPLOAD_MS,
      ]),
    );
    const gone = await this.db.asService(async (sql) => {
      const { rows } = await sql.query<{ bucket: Bucket; path: string; live: boolean }>(
        `delete from stowage_private.object_tombstones t
         where (t.bucket, t.path) in (select bucket, path from stowage_private.object_tombstones limit 500)
         returning t.bucket, t.path,
           exists (select 1 from public.stored_objects o where o.path = t.path and o.bucket = t.bucket) as live`,
      );
      // A live row under the same path (a thumbnail rendered again) keeps its bytes.
      return rows.filter((r) => !r.live);
    });
    for (const { bucket, path } of gone) {
      // A failed delete puts the tombstone back, so the next sweep retries it.
      await this.bucket(bucket)
        .delete(path)
        .catch(() =>
          this.db.asService((sql) =>
            sql.query("insert into stowage_private.object_tombstones (bucket, path) values ($1, $2) on conflict do nothing", [
              bucket,
              path,
            ]),
          ),
        );
    }
    return gone.length;
  }
}

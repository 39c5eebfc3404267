/**
 * @module exports/thumbnails
 * Thumbnails: 400×300 PNG of the current version at `thumbnails/{diagramId}/preview.png`, rendered
 * after a save without delaying its answer. Saves in quick succession are debounced per diagram
 * (one render for a burst); a render of an outdated version is dropped. The row is charged before
 * the bytes are written, so a thumbnail over the owner's quota is skipped, never stored.
 */
import type { Logger } from "pino";
import type { Cache } from "../cache/cache.ts";
import type { Database } from "../db/database.ts";
import { objectPaths } from "../objects/paths.ts";
import type { ObjectStore } from "../objects/store.ts";
import type { DiagramRenderer } from "./renderer.ts";

export const THUMBNAIL_SIZE = { width: 400, height: 300 } as const;

export class ThumbnailService {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly running = new Set<Promise<unknown>>();
  rendered = 0;

  constructor(
    private readonly db: Database,
    private readonly store: ObjectStore,
    private readonly cache: Cache,
    private readonly renderer: DiagramRenderer,
    private readonly logger: Logger,
    private readonly debounceMs: number,
  ) {}

  /** Schedules a render of the diagram's current version (debounced per diagram). */
  schedule(diagramId: string): void {
    clearTimeout(this.timers.get(diagramId));
    const timer = setTimeout(() => {
      this.timers.delete(diagramId);
      const job = this.renderNow(diagramId).catch((error: unknown) =>
        this.logger.warn({ err: error, diagramId }, "thumbnail not rendered"),
      );
      this.running.add(job);
      void job.finally(() => this.running.delete(job));
    }, this.debounceMs);
    timer.unref();
    this.timers.set(diagramId, timer);
  }

  /** Renders and stores the thumbnail now; false when the diagram is gone or Chromium is missing. */
  async renderNow(diagramId: string): Promise<boolean> {
    if (!(await this.renderer.available())) return false;
    const head = await this.db.asService(async (sql) => {
      const { rows } = await sql.query<{ version: number; bpmn_xml: string }>(
        "select version, bpmn_xml from public.diagrams where id = $1 and deleted_at is null",
        [diagramId],
      );
      return rows[0];
    });
    if (!head) return false;
    const key = `${diagramId}:${head.version}:thumbnail`;
    let png = await this.cache.get("render", key);
    if (!png) {
      png = (await this.renderer.render(head.bpmn_xml, "png", { fit: THUMBNAIL_SIZE })).bytes;
      await this.cache.set("render", key, png);
    }
    const still = await this.db.asService(async (sql) => {
      const { rows } = await sql.query<{ version: number }>("select version from public.diagrams where id = $1", [diagramId]);
      return rows[0]?.version;
    });
    if (still !== head.version) return false; // a newer save scheduled its own render
    const bucket = await this.store.bucketForDiagram(diagramId);
    await this.store.putThumbnail(diagramId, objectPaths.thumbnail(diagramId), bucket, png, head.version);
    await this.store.syncDiagramVisibility([diagramId]);
    this.rendered++;
    return true;
  }

  /**
   * Waits for the renders running now (not the debounced ones). A visibility change waits for them
   * before moving the diagram's objects, so a thumbnail being written to `public` as the diagram
   * turns private is moved with the rest instead of landing after the move.
   */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.running]);
  }

  /** Waits for scheduled and running renders (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.timers.size > 0 || this.running.size > 0) {
      await Promise.all([...this.running]);
      if (this.timers.size > 0) await new Promise((r) => setTimeout(r, 20));
    }
  }

  close(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }
}

/**
 * @module api/metrics
 * `GET /metrics`: Prometheus text of the cache (hits, misses, hit ratio per namespace), renders and
 * the browser pool's resident memory.
 */
import { Hono } from "hono";
import type { ObjectServices } from "../objects/services.ts";
import type { AppEnv } from "./context.ts";

export function metricsRoutes(services: ObjectServices): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get("/", async (c) => {
    const lines: string[] = [];
    const stats = services.cache.snapshot();
    const backend = services.cache.kind;
    lines.push("# HELP stowage_cache_hits_total Cache reads answered from the cache.", "# TYPE stowage_cache_hits_total counter");
    for (const [ns, s] of Object.entries(stats))
      lines.push(`stowage_cache_hits_total{cache="${ns}",backend="${backend}"} ${s.hits}`);
    lines.push(
      "# HELP stowage_cache_misses_total Cache reads that went to the source.",
      "# TYPE stowage_cache_misses_total counter",
    );
    for (const [ns, s] of Object.entries(stats))
      lines.push(`stowage_cache_misses_total{cache="${ns}",backend="${backend}"} ${s.misses}`);
    lines.push("# HELP stowage_cache_hit_ratio Hits over reads since start.", "# TYPE stowage_cache_hit_ratio gauge");
    for (const [ns, s] of Object.entries(stats)) {
      const reads = s.hits + s.misses;
      lines.push(`stowage_cache_hit_ratio{cache="${ns}",backend="${backend}"} ${reads ? (s.hits / reads).toFixed(4) : "0"}`);
    }
    lines.push(
      "# HELP stowage_renders_total Diagrams rendered by the browser pool.",
      "# TYPE stowage_renders_total counter",
      `stowage_renders_total ${services.renderer.renders}`,
      "# HELP stowage_thumbnails_rendered_total Thumbnails rendered after saves.",
      "# TYPE stowage_thumbnails_rendered_total counter",
      `stowage_thumbnails_rendered_total ${services.thumbnails.rendered}`,
    );
    const memory = await services.renderer.memoryBytes();
    if (memory !== null) {
      lines.push(
        "# HELP stowage_browser_resident_bytes Resident memory of the Chromium processes of the render pool.",
        "# TYPE stowage_browser_resident_bytes gauge",
        `stowage_browser_resident_bytes ${memory}`,
      );
    }
    return c.body(`${lines.join("\n")}\n`, 200, { "Content-Type": "text/plain; version=0.0.4; charset=utf-8" });
  });
  return app;
}

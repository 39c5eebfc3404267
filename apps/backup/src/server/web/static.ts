/**
 * @module server/web/static
 * The web UI (apps/backup/web/dist, built by Vite) at `/`: files as they are, and `index.html` for
 * any other GET outside `/api` (the SPA's own routes). Nothing is served when the folder has no
 * index.html; API paths never fall back to the page.
 */
import { createReadStream, existsSync } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { extname, join, normalize, sep } from "node:path";
import { Readable } from "node:stream";
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv, Services } from "../context.ts";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".ico": "image/x-icon",
  ".webp": "image/webp",
  ".woff2": "font/woff2",
  ".woff": "font/woff",
  ".txt": "text/plain; charset=utf-8",
  ".map": "application/json",
};

export function webRoutes(app: OpenAPIHono<AppEnv>, s: Services): void {
  const root = s.config.webDir;
  app.get("*", async (c, next) => {
    const path = c.req.path;
    if (path === "/api" || path.startsWith("/api/")) return next();
    const index = join(root, "index.html");
    if (!existsSync(index)) {
      return c.text(
        "Stowage is running. The web UI is not built (npm run build -w @stowage/backup-web, or see README); the API is at /api (description: /api/openapi.json).\n",
        200,
      );
    }
    let rel: string;
    try {
      rel = normalize(decodeURIComponent(path)).replace(/^([/\\])+/, "");
    } catch {
      return c.text("Bad path\n", 400);
    }
    const file = join(root, rel);
    if (rel && (file === root || file.startsWith(root + sep))) {
      const info = await stat(file).catch(() => undefined);
      if (info?.isFile()) {
        const immutable = rel.startsWith(`assets${sep}`);
        return new Response(Readable.toWeb(createReadStream(file)) as ReadableStream, {
          headers: {
            "Content-Type": TYPES[extname(file).toLowerCase()] ?? "application/octet-stream",
            "Content-Length": String(info.size),
            "Cache-Control": immutable ? "public, max-age=31536000, immutable" : "no-cache",
          },
        });
      }
    }
    // Asset-looking paths that do not exist are 404s, not the page (a broken script tag should fail loudly).
    if (extname(rel) && extname(rel) !== ".html") return c.text("Not found\n", 404);
    return c.html(await readFile(index, "utf8"), 200, { "Cache-Control": "no-cache" });
  });
}

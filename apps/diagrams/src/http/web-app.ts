/**
 * @module http/web-app
 * Serves the diagram web app (apps/diagrams/web, built into web/dist by `npm run build:web -w
 * @stowage/diagrams`) at `/`, in front of the API, without shadowing any API route: a request whose
 * first path segment is an API prefix (every route group's path, plus /openapi.json) always goes to
 * the API, whatever its method or Accept header. Every other GET/HEAD is a file of the build when one
 * exists, else index.html (the SPA fallback, so /d/<id> can be reloaded); a path with a file
 * extension that does not exist answers 404 instead of the page (a missing script must not come
 * back as HTML). When the app was not built, everything goes to the API as before.
 *
 * The page gets a restrictive Content-Security-Policy: scripts only from this origin, no framing.
 * Hashed assets are immutable; index.html is revalidated so a new build is picked up at once.
 */
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import { fileURLToPath } from "node:url";

/** Where `vite build` writes the app (apps/diagrams/web/dist). */
export const WEB_DIST_DIR = fileURLToPath(new URL("../../web/dist/", import.meta.url));

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".woff": "font/woff",
  ".woff2": "font/woff2",
  ".ttf": "font/ttf",
  ".eot": "application/vnd.ms-fontobject",
  ".map": "application/json",
  ".txt": "text/plain; charset=utf-8",
};

export interface WebAppOptions {
  /** Path prefixes of the API (`/auth`, `/projects`, …, `/openapi.json`): never served by the app. */
  readonly apiPrefixes: readonly string[];
  /** The built app; WEB_DIST_DIR when undefined. */
  readonly distDir?: string | undefined;
  /** PUBLIC_URL, when links to objects point at another origin than the page's. */
  readonly publicUrl?: string | undefined;
}

/** The API's path prefixes: every route group's mount path, plus the OpenAPI document. */
export function apiPrefixesOf(groups: readonly { readonly path: string }[]): string[] {
  return [...new Set([...groups.map((g) => g.path), "/openapi.json"])];
}

/** True when `pathname` belongs to the API: equal to a prefix or below it. */
export function isApiPath(pathname: string, apiPrefixes: readonly string[]): boolean {
  return apiPrefixes.some((p) => pathname === p || pathname.startsWith(`${p}/`));
}

function contentSecurityPolicy(publicUrl: string | undefined): string {
  let extra = "";
  if (publicUrl) {
    try {
      extra = ` ${new URL(publicUrl).origin}`;
    } catch {}
  }
  return [
    "default-src 'self'",
    "script-src 'self'",
    // bpmn-js and Radix position elements with inline styles.
    "style-src 'self' 'unsafe-inline'",
    `img-src 'self' data: blob:${extra}`,
    "font-src 'self' data:",
    `connect-src 'self'${extra}`,
    "worker-src 'self' blob:",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");
}

type Fetch = (request: Request, ...rest: never[]) => Response | Promise<Response>;

async function fileIn(root: string, pathname: string): Promise<{ file: string; size: number } | null> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return null;
  }
  if (decoded.includes("\0")) return null;
  const file = path.resolve(root, `.${path.posix.normalize(decoded)}`);
  if (file !== root && !file.startsWith(root + path.sep)) return null;
  try {
    const s = await stat(file);
    return s.isFile() ? { file, size: s.size } : null;
  } catch {
    return null;
  }
}

/** Wraps the API's fetch so the built web app answers every non-API GET/HEAD. */
export function withWebApp<F extends Fetch>(fetch: F, options: WebAppOptions): F {
  const root = path.resolve(options.distDir ?? WEB_DIST_DIR);
  const csp = contentSecurityPolicy(options.publicUrl);
  const wrapped = async (request: Request, ...rest: never[]) => {
    if (request.method !== "GET" && request.method !== "HEAD") return fetch(request, ...rest);
    const { pathname } = new URL(request.url);
    if (isApiPath(pathname, options.apiPrefixes)) return fetch(request, ...rest);
    const index = await fileIn(root, "/index.html");
    // Not built: the API answers (404 with its own message) as before the app existed.
    if (!index) return fetch(request, ...rest);
    let found = pathname === "/" ? index : await fileIn(root, pathname);
    if (!found) {
      if (path.posix.extname(pathname)) {
        return new Response(JSON.stringify({ error: { code: "NOT_FOUND", message: `no file ${pathname}` } }), {
          status: 404,
          headers: { "Content-Type": "application/json", "X-Content-Type-Options": "nosniff" },
        });
      }
      found = index;
    }
    const isIndex = found.file === index.file;
    const headers: Record<string, string> = {
      "Content-Type": TYPES[path.extname(found.file).toLowerCase()] ?? "application/octet-stream",
      "Content-Length": String(found.size),
      "X-Content-Type-Options": "nosniff",
      "Referrer-Policy": "same-origin",
      "Cache-Control": isIndex
        ? "no-cache"
        : found.file.startsWith(path.join(root, "assets") + path.sep)
          ? "public, max-age=31536000, immutable"
          : "public, max-age=3600",
    };
    if (isIndex) {
      headers["Content-Security-Policy"] = csp;
      headers["X-Frame-Options"] = "DENY";
    }
    const body = request.method === "HEAD" ? null : (Readable.toWeb(createReadStream(found.file)) as ReadableStream);
    return new Response(body, { status: 200, headers });
  };
  return wrapped as F;
}

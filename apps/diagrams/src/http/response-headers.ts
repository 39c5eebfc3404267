/**
 * @module http/response-headers
 * Headers added to every answer after its route has built it (`nosniff`, `Vary: Accept-Encoding`),
 * without rebuilding the answer.
 *
 * Hono's `c.header()` on a finished response copies it into a new Response made from the old one's
 * body: on @hono/node-server that turns its light response (a string body written with one
 * `end()`) into a web Response with a ReadableStream body, written through a stream reader in
 * several socket writes. For a diagram save that was ~10% of the service's CPU (issue 17). A
 * response a route constructs has mutable headers (Fetch: guard "response"), so they are set in
 * place; a response with immutable headers (one obtained from `fetch()`) falls back to `c.header()`.
 */
import type { Context, MiddlewareHandler } from "hono";
import { COMPRESSIBLE_CONTENT_TYPE_REGEX } from "hono/compress";

/** Sets `name` on the finished response `c.res`, in place when its headers allow it. */
export function setResponseHeader(c: Context, name: string, value: string): void {
  try {
    c.res.headers.set(name, value);
  } catch {
    c.header(name, value);
  }
}

/** hono/compress's default threshold: smaller bodies with a known length are not compressed. */
const COMPRESS_THRESHOLD = 1024;
const NO_TRANSFORM = /(?:^|,)\s*?no-transform\s*?(?:,|$)/i;
const VARY_ACCEPT_ENCODING = /(?:^|,)\s*accept-encoding\s*(?:,|$)/i;

/**
 * Register right after hono's `compress()` (so it runs before compress looks at the response):
 * adds `Vary: Accept-Encoding` in place under exactly the conditions in which compress() would add
 * it with `c.header()`; compress() then finds it there and leaves the response alone unless it
 * compresses the body.
 */
export function varyOnAcceptEncoding(): MiddlewareHandler {
  return async (c, next) => {
    await next();
    const res = c.res;
    const headers = res.headers;
    if (res.status === 206 || c.req.method === "HEAD") return;
    if (headers.has("content-encoding") || headers.has("transfer-encoding")) return;
    const length = headers.get("content-length");
    if (length && Number(length) < COMPRESS_THRESHOLD) return;
    const type = headers.get("content-type");
    if (!type || !COMPRESSIBLE_CONTENT_TYPE_REGEX.test(type)) return;
    const cacheControl = headers.get("cache-control");
    if (cacheControl && NO_TRANSFORM.test(cacheControl)) return;
    const current = headers.get("vary");
    if (current === "*" || (current && VARY_ACCEPT_ENCODING.test(current))) return;
    setResponseHeader(c, "Vary", current ? `${current}, Accept-Encoding` : "Accept-Encoding");
  };
}

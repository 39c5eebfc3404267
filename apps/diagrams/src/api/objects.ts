/**
 * @module api/objects
 * `GET /objects/public/<path>`: objects of the public bucket (exports and thumbnails of public
 * diagrams, checked against the database as an anonymous reader) with the seed's Cache-Control. `GET /objects/private/<path>?exp=&sig=`: private objects,
 * only with a valid signature (403 when expired or tampered). Both are user content: served with
 * `nosniff` and a sandboxing CSP, and anything not an image or PDF as an attachment.
 */
import { Readable } from "node:stream";
import { StorageError } from "@stowage/storage";
import { Hono } from "hono";
import { notFound } from "../errors.ts";
import { objectApiError } from "../objects/http-errors.ts";
import { type Bucket, contentTypeFor, publicCacheControl } from "../objects/paths.ts";
import type { ObjectServices } from "../objects/services.ts";
import type { AppEnv } from "./context.ts";

const INLINE = new Set(["image/png", "image/svg+xml", "application/pdf"]);

function objectPath(requestPath: string, bucket: Bucket): string {
  const raw = requestPath.slice(`/objects/${bucket}/`.length);
  let decoded: string;
  try {
    decoded = raw.split("/").map(decodeURIComponent).join("/");
  } catch {
    throw notFound("object");
  }
  if (!decoded || decoded.split("/").some((s) => s === "" || s === "." || s === "..")) throw notFound("object");
  return decoded;
}

export function objectRoutes(services: ObjectServices): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const { store, signer } = services;

  const serve = async (bucket: Bucket, path: string, cacheControl: string) => {
    let body: Readable;
    try {
      body = await store.open(bucket, path);
    } catch (error) {
      if (StorageError.is(error, "NOT_FOUND") || StorageError.is(error, "INVALID_KEY")) throw notFound("object");
      throw error;
    }
    const type = contentTypeFor(path);
    const fileName = path.split("/").pop() ?? "download";
    const headers: Record<string, string> = {
      "Content-Type": type,
      "Cache-Control": cacheControl,
      "X-Content-Type-Options": "nosniff",
      "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; sandbox",
      "Content-Disposition": `${INLINE.has(type) ? "inline" : "attachment"}; filename="${fileName.replace(/[^\w.-]/g, "_")}"`,
    };
    return new Response(Readable.toWeb(body) as ReadableStream, { status: 200, headers });
  };

  app.get("/public/*", async (c) => {
    const path = objectPath(c.req.path, "public");
    // The bytes alone do not make an object public: its row must say so and anonymous users must be
    // able to read its diagram (RLS, as anon). Covers the moment between a diagram turning private
    // and its objects leaving the public bucket.
    const listed = await services.db.asUser(null, async (sql) => {
      const { rows } = await sql.query("select 1 from public.stored_objects where path = $1 and bucket = 'public'", [path]);
      return rows.length > 0;
    });
    if (!listed) throw notFound("object");
    return serve("public", path, publicCacheControl(path));
  });

  app.get("/private/*", (c) => {
    const path = objectPath(c.req.path, "private");
    const exp = c.req.query("exp");
    const check = signer.verify(path, exp, c.req.query("sig"));
    if (check === "expired") throw objectApiError(403, "FORBIDDEN", "this link has expired; ask for a new one");
    if (check !== "ok") throw objectApiError(403, "FORBIDDEN", "this link is not valid (bad or missing signature)");
    const remaining = Math.max(0, Number(exp) - Math.floor(Date.now() / 1000));
    return serve("private", path, `private, max-age=${Math.min(remaining, 3600)}`);
  });

  return app;
}

/**
 * @module http/user-content
 * Serving what users stored (diagram XML, thumbnails; part 2's exports and attachments) from the
 * API's own origin without letting it act as a page of that origin:
 *  - `X-Content-Type-Options: nosniff` (every response, set in app.ts) so a browser never guesses HTML;
 *  - `Content-Security-Policy: default-src 'none'; sandbox` so a document opened directly runs no
 *    script and loads nothing, even an SVG or XHTML one;
 *  - documents (XML) as `Content-Disposition: attachment`, downloaded rather than rendered;
 *  - images only when their bytes are PNG, JPEG or WebP (never SVG, which can carry script), with the
 *    type taken from the bytes, not from what the client claimed.
 */

/** Headers for every response that carries user-supplied bytes. */
export const USER_CONTENT_HEADERS: Readonly<Record<string, string>> = {
  "X-Content-Type-Options": "nosniff",
  "Content-Security-Policy": "default-src 'none'; sandbox",
};

/** `Content-Disposition: attachment` with an ASCII fallback and the UTF-8 name (RFC 6266 / 5987). */
export function attachmentDisposition(fileName: string): string {
  const ascii = fileName.replace(/[^\x20-\x7e]|["\\]/g, "_").slice(0, 200) || "download";
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(fileName.slice(0, 200))}`;
}

export type RasterType = "image/png" | "image/jpeg" | "image/webp";

/** The raster type of `bytes` by their signature, or null when they are not PNG, JPEG or WebP. */
export function sniffRasterImage(bytes: Uint8Array): RasterType | null {
  const starts = (sig: number[], at = 0) => sig.every((b, i) => bytes[at + i] === b);
  if (starts([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return "image/png";
  if (starts([0xff, 0xd8, 0xff])) return "image/jpeg";
  if (starts([0x52, 0x49, 0x46, 0x46]) && starts([0x57, 0x45, 0x42, 0x50], 8)) return "image/webp";
  return null;
}

/**
 * @module providers/browser-download/handler
 * The HTTP side of browser downloads, framework-neutral: a web-standard `(Request) => Response`
 * function that Hono mounts directly and node:http mounts through `@hono/node-server`'s
 * `getRequestListener`. The token is the last path segment of the request URL, so the handler
 * works under whatever route the app gives it (`urlPrefix` in the destination's config).
 */
import type { Readable } from "node:stream";
import { create as contentDisposition } from "content-disposition";
import { StorageError } from "../../errors.ts";
import type { BrowserDownloadDestination } from "./provider.ts";

export interface DownloadHandlerOptions {
  /** Told about unexpected failures (the response is a bare 500); wire it to the app's logger. */
  readonly onError?: (error: unknown) => void;
}

const NO_STORE = { "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff" } as const;

function textResponse(status: number, body: string, headers: Record<string, string> = {}): Response {
  return new Response(`${body}\n`, { status, headers: { ...NO_STORE, "Content-Type": "text/plain; charset=utf-8", ...headers } });
}

const inUse = () =>
  textResponse(409, "This download link is being used by another download right now; wait for it to finish.", {
    "Retry-After": "60",
  });

/** The raw token: the last segment of the URL path. */
function tokenOf(request: Request): string {
  const path = new URL(request.url).pathname;
  const segment = path.slice(path.lastIndexOf("/") + 1);
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** `Content-Disposition` for the key's file name: quoted ASCII fallback plus RFC 5987 `filename*`. */
export function attachmentHeader(key: string): string {
  const filename = key.slice(key.lastIndexOf("/") + 1);
  return contentDisposition(filename, { type: "attachment" });
}

/**
 * A web stream over the file that calls `onComplete` once the consumer has taken every byte.
 * With a high-water mark of 0, `pull` only runs when the consumer asks for more, so reaching the end
 * of the file inside `pull` means every earlier chunk has already been handed on. A consumer that
 * cancels (the browser went away) never triggers `onComplete`: the link stays valid until expiry.
 */
function streamUntilComplete(
  file: Readable,
  expectedBytes: number,
  onComplete: () => Promise<void>,
  onCancel: () => Promise<void>,
): ReadableStream<Uint8Array> {
  const chunks = file[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let served = 0;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        let next: IteratorResult<Buffer>;
        try {
          next = await chunks.next();
        } catch (error) {
          await onCancel();
          throw error;
        }
        if (next.done) {
          controller.close();
          if (served === expectedBytes) await onComplete();
          else await onCancel();
          return;
        }
        served += next.value.length;
        controller.enqueue(new Uint8Array(next.value.buffer, next.value.byteOffset, next.value.length));
      },
      async cancel() {
        await chunks.return?.();
        await onCancel();
      },
    },
    { highWaterMark: 0 },
  );
}

/**
 * Serves staged objects to browsers: `GET <urlPrefix><token>` claims the link, streams the object as
 * an attachment, then removes it and its token; `HEAD` answers with the same headers and uses nothing up.
 * 404 for an unknown (or already used) token, 410 for an expired one (removed on the spot), 409 while
 * another request is downloading it (a download that breaks off gives the link back).
 */
export function createDownloadHandler(
  destination: BrowserDownloadDestination,
  options: DownloadHandlerOptions = {},
): (request: Request) => Promise<Response> {
  return async (request) => {
    if (request.method !== "GET" && request.method !== "HEAD") {
      return textResponse(405, "Method not allowed.", { Allow: "GET, HEAD" });
    }
    try {
      const found = await destination.resolveToken(tokenOf(request));
      if (found.status === "unknown") return textResponse(404, "This download link is unknown or has already been used.");
      if (found.status === "expired")
        return textResponse(410, "This download link has expired; run the backup again for a new one.");
      if (found.status === "claimed") return inUse();
      let size: number;
      let file: Readable | undefined;
      // Claimed before the first byte: of two requests with one token, only one streams the file.
      if (request.method === "GET" && !(await destination.claimDownload(found.hash))) return inUse();
      try {
        size = (await destination.stat(found.key)).size;
        if (request.method === "GET") file = await destination.download(found.key);
      } catch (error) {
        if (request.method === "GET") await destination.releaseDownload(found.hash).catch(() => undefined);
        if (!StorageError.is(error, "NOT_FOUND")) throw error;
        // The token outlived its object (removed by hand): drop the token too.
        await destination.completeDownload(found.hash);
        return textResponse(404, "This download link is unknown or has already been used.");
      }
      const headers = {
        ...NO_STORE,
        "Content-Type": "application/octet-stream",
        "Content-Length": String(size),
        "Content-Disposition": attachmentHeader(found.key),
      };
      if (!file) return new Response(null, { status: 200, headers });
      const body = streamUntilComplete(
        file,
        size,
        async () => {
          try {
            await destination.completeDownload(found.hash);
          } catch (error) {
            // The bytes were delivered; a failed removal is retried by cleanupExpired's orphan sweep.
            options.onError?.(error);
          }
        },
        async () => {
          // The browser went away: the link works again (until it expires).
          await destination.releaseDownload(found.hash).catch((error: unknown) => options.onError?.(error));
        },
      );
      return new Response(body, { status: 200, headers });
    } catch (error) {
      options.onError?.(error);
      return textResponse(500, "The download failed on the server.");
    }
  };
}

/**
 * @module http/body-limit
 * Request body limits for every route, enforced while the body streams in, never after buffering it.
 *
 * `limitBodies(defaultMaxBytes)` runs first for every request (app.ts). It swaps the request's body
 * for a counting stream that reads the limit in force when each chunk arrives: the small JSON
 * default, unless the route raised it with `allowBody(maxBytes, what)` (diagram XML, uploads).
 *  - With a `Content-Length` over the limit the answer is 413 before a byte is read: `allowBody`
 *    checks it at once, and the counting stream checks it on its first read.
 *  - Without one (chunked), the stream errors with the same 413 as soon as the count passes the
 *    limit and cancels the rest, so at most `maxBytes` (plus one chunk) is ever held.
 *  - A body that reached Node's HTTP/1 server with a Content-Length within the default (or with
 *    neither Content-Length nor Transfer-Encoding: no body) is not wrapped: the parser never
 *    delivers more than the declared length, and `allowBody` checks that length against a lower
 *    route limit. Most requests take this path (see `framedByNode`).
 * The error reaches the handler as the rejection of `c.req.json()`, `formData()`, `arrayBuffer()`
 * or a read of `c.req.raw.body` (undici passes a stream's error through unchanged), and the app's
 * error handler answers it like any ApiError.
 *
 * For uploads, stream `c.req.raw.body` (busboy, the storage layer) after `allowBody`: the limit holds
 * on the stream itself, nothing is buffered here.
 */
import { IncomingMessage } from "node:http";
import type { Context, MiddlewareHandler } from "hono";
import { ApiError } from "../errors.ts";

/** Bodies of JSON routes without XML or images in them: names, settings, credentials, roles. */
export const JSON_BODY_LIMIT = 256 * 1024;

/** Project `settings` / `metadata` and diagram `metadata`: at most this many bytes of JSON each. */
export const MAX_JSON_FIELD_BYTES = 64 * 1024;

interface LimitState {
  maxBytes: number;
  what: string;
}

/** The Hono variable the limit lives in (typed in api/context.ts's AppEnv). */
export const BODY_LIMIT_VAR = "bodyLimit";

type LimitEnv = { Variables: { [BODY_LIMIT_VAR]: LimitState } };

/** The 413 answer: names the limit in bytes and what it applies to. */
export function payloadTooLarge(maxBytes: number, what: string, size?: number): ApiError {
  const sizeText = size === undefined ? "the request body is" : `the request body is ${size} bytes,`;
  return new ApiError(413, "PAYLOAD_TOO_LARGE", `${sizeText} over the limit of ${maxBytes} bytes for ${what}`, {
    max_bytes: maxBytes,
  });
}

function declaredLength(c: Context): number | undefined {
  if (c.req.raw.headers.has("transfer-encoding")) return undefined;
  const header = c.req.raw.headers.get("content-length");
  if (header === null || !/^\d+$/.test(header)) return undefined;
  return Number(header);
}

/**
 * True when the request came through Node's HTTP/1 server (@hono/node-server passes the
 * IncomingMessage as `c.env.incoming`): its parser ends a body at its declared Content-Length, so a
 * declared length within every limit needs no counting stream. Wrapping the body costs a web
 * Request, a ReadableStream pair and an AbortSignal per request (about a tenth of the service's CPU
 * per diagram save, issue 17); without the wrapper the handler reads the body straight from the
 * socket. Requests built in-process (`app.request` in tests) may carry more bytes than they declare
 * and are always counted.
 */
function framedByNode(c: Context): boolean {
  const incoming = (c.env as { incoming?: unknown } | undefined)?.incoming;
  return incoming instanceof IncomingMessage && incoming.httpVersionMajor === 1;
}

/** A stream over `source` that errors with 413 once more than `state().maxBytes` bytes went through. */
function countingStream(source: ReadableStream<Uint8Array>, state: () => LimitState, declared: number | undefined) {
  const reader = source.getReader();
  let seen = 0;
  let checkedDeclared = false;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const { maxBytes, what } = state();
        if (!checkedDeclared) {
          checkedDeclared = true;
          if (declared !== undefined && declared > maxBytes) {
            await reader.cancel().catch(() => {});
            controller.error(payloadTooLarge(maxBytes, what, declared));
            return;
          }
        }
        const { done, value } = await reader.read();
        if (done) {
          controller.close();
          return;
        }
        seen += value.byteLength;
        if (seen > maxBytes) {
          await reader.cancel().catch(() => {});
          controller.error(payloadTooLarge(maxBytes, what));
          return;
        }
        controller.enqueue(value);
      },
      async cancel(reason) {
        await reader.cancel(reason).catch(() => {});
      },
      // highWaterMark 0: nothing is read until the handler reads, so the route's own limit applies.
    },
    { highWaterMark: 0 },
  );
}

/**
 * Middleware for every route (registered once in app.ts): a body is limited to `defaultMaxBytes`
 * unless the route's own `allowBody` raised the limit.
 */
export function limitBodies(defaultMaxBytes = JSON_BODY_LIMIT): MiddlewareHandler<LimitEnv> {
  return async (c, next) => {
    const state: LimitState = { maxBytes: defaultMaxBytes, what: "this route (a JSON body)" };
    c.set(BODY_LIMIT_VAR, state);
    // A GET or HEAD has no body; asking for one would make @hono/node-server build the web Request.
    if (c.req.method === "GET" || c.req.method === "HEAD") return next();
    const declared = declaredLength(c);
    // From Node's server without Transfer-Encoding the body is exactly Content-Length bytes (none without one).
    if (framedByNode(c) && !c.req.raw.headers.has("transfer-encoding") && (declared ?? 0) <= defaultMaxBytes) return next();
    const body = c.req.raw.body;
    if (body) {
      const counted = countingStream(body, () => c.get(BODY_LIMIT_VAR), declared);
      c.req.raw = new Request(c.req.raw, { body: counted, duplex: "half" } as RequestInit);
    }
    await next();
  };
}

/**
 * Per-route limit: the body of this route may be up to `maxBytes` (`what` names it in the 413
 * message, e.g. "a diagram upload (MAX_DIAGRAM_BYTES)"). A declared `Content-Length` over it is
 * answered 413 here, before the handler runs. Use on routes that take XML or files.
 */
export function allowBody(maxBytes: number, what: string): MiddlewareHandler<LimitEnv> {
  return async (c, next) => {
    c.set(BODY_LIMIT_VAR, { maxBytes, what });
    const declared = declaredLength(c);
    if (declared !== undefined && declared > maxBytes) throw payloadTooLarge(maxBytes, what, declared);
    await next();
  };
}

/** Bytes of `value` as JSON text (what a jsonb field costs); used for the MAX_JSON_FIELD_BYTES cap. */
export function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value) ?? "", "utf8");
}

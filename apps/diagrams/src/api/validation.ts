/**
 * @module api/validation
 * zod at the HTTP boundary: body, query and path parameters are parsed here and a failure answers
 * 400 VALIDATION_FAILED with a message naming each bad field.
 */
import type { Context } from "hono";
import { type ZodType, z } from "zod";
import { ApiError } from "../errors.ts";
import { jsonBytes, MAX_JSON_FIELD_BYTES } from "../http/body-limit.ts";

function describe(error: z.ZodError, where: string): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? i.path.join(".") : where}: ${i.message}`)
    .join("; ");
}

export function parseWith<T>(schema: ZodType<T>, value: unknown, where: string): T {
  const result = schema.safeParse(value);
  if (!result.success) throw new ApiError(400, "VALIDATION_FAILED", describe(result.error, where));
  return result.data;
}

export async function readJson<T>(c: Context, schema: ZodType<T>): Promise<T> {
  let body: unknown;
  try {
    body = await c.req.json();
  } catch (error) {
    if (error instanceof ApiError) throw error; // e.g. 413 from the body limit
    throw new ApiError(400, "VALIDATION_FAILED", "body: expected a JSON object (Content-Type: application/json)");
  }
  return parseWith(schema, body, "body");
}

export function readQuery<T>(c: Context, schema: ZodType<T>): T {
  return parseWith(schema, c.req.query(), "query");
}

const Uuid = z.uuid();

/** A path parameter that must be a UUID (named in the message when it is not). */
export function uuidParam(c: Context, name: string): string {
  return parseWith(Uuid, c.req.param(name), name);
}

export const PageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().min(1).max(512).optional(),
});

/** PostgreSQL `integer`: version numbers, base versions and version cursors stay below 2^31. */
export const MAX_INT32 = 2_147_483_647;

export const VersionNumber = z.coerce.number().int().min(1).max(MAX_INT32, `must be at most ${MAX_INT32}`);

export const JsonObject = z.record(z.string(), z.unknown());

/** A JSON object field stored in a jsonb column: at most MAX_JSON_FIELD_BYTES (64 KiB) of JSON. */
export const CappedJsonObject = JsonObject.refine((v) => jsonBytes(v) <= MAX_JSON_FIELD_BYTES, {
  message: `must be at most ${MAX_JSON_FIELD_BYTES} bytes of JSON (64 KiB)`,
});

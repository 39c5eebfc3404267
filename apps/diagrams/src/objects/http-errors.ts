/**
 * @module objects/http-errors
 * The object layer's errors as API answers: one mapping, used by every route of part 2.
 */
import { StorageError } from "@stowage/storage";
import { ApiError, type ApiErrorCode } from "../errors.ts";
import { ObjectError } from "./errors.ts";

const STATUS: Record<ObjectError["code"], number> = {
  NOT_FOUND: 404,
  PAYLOAD_TOO_LARGE: 413,
  PLAN_LIMIT: 402,
  EXPORT_UNAVAILABLE: 503,
  EXPORT_TIMEOUT: 504,
  EXPORT_FAILED: 422,
  INVALID_BACKUP: 422,
};

/** Runs `fn`, answering ObjectErrors and storage failures as ApiErrors. */
export async function answering<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw toApiError(error);
  }
}

/** Codes the object routes answer with besides the core's own. */
export type ObjectApiCode = ObjectError["code"] | "FORBIDDEN" | "STORAGE_FULL";

export function objectApiError(
  status: number,
  code: ObjectApiCode,
  message: string,
  details: Record<string, unknown> = {},
  cause?: unknown,
): ApiError {
  return new ApiError(status, code satisfies ApiErrorCode, message, details, cause === undefined ? undefined : { cause });
}

export function toApiError(error: unknown): unknown {
  if (error instanceof ObjectError) return objectApiError(STATUS[error.code], error.code, error.message, error.details, error);
  if (error instanceof StorageError && error.code === "QUOTA_EXCEEDED") {
    return objectApiError(507, "STORAGE_FULL", "the object storage is full; try again later", {}, error);
  }
  return error;
}

/**
 * @module objects/errors
 * The object layer's one error type. Routes turn it into an ApiError (same code, an HTTP status).
 */
export type ObjectErrorCode =
  | "NOT_FOUND"
  | "PAYLOAD_TOO_LARGE"
  | "PLAN_LIMIT"
  | "EXPORT_UNAVAILABLE"
  | "EXPORT_TIMEOUT"
  | "EXPORT_FAILED"
  | "INVALID_BACKUP";

export class ObjectError extends Error {
  override readonly name = "ObjectError";
  constructor(
    readonly code: ObjectErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

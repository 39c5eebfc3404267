/**
 * @module errors
 * The one error type of the HTTP API and the mapping from database failures to it. Every error
 * answers `{ error: { code, message } }`; the status and the code say what went wrong, the message
 * says what to do about it.
 */

export type ApiErrorCode =
  | "BAD_REQUEST"
  | "VALIDATION_FAILED"
  | "UNAUTHORIZED"
  | "NOT_FOUND"
  | "READ_ONLY"
  | "CONFLICT"
  | "EMAIL_TAKEN"
  | "STALE_VERSION"
  | "PLAN_LIMIT"
  | "PAYLOAD_TOO_LARGE"
  | "INVALID_BPMN"
  | "UNSUPPORTED_MEDIA_TYPE"
  | "SIGNUP_DISABLED"
  | "INTERNAL";

/** An error the API answers with as-is: HTTP status, stable code, message for humans, optional extra fields. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: ApiErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "ApiError";
  }

  toBody(): { error: Record<string, unknown> } {
    return { error: { code: this.code, message: this.message, ...this.details } };
  }
}

export const notFound = (what: string): ApiError =>
  new ApiError(404, "NOT_FOUND", `${what} not found (it does not exist, was deleted, or you may not see it)`);

export const unauthorized = (why: string): ApiError =>
  new ApiError(401, "UNAUTHORIZED", `${why}; send "Authorization: Bearer <access_token>" from POST /auth/login`);

/** The shape of a driver error from node-postgres or PGlite (both expose SQLSTATE as `code`). */
interface PgLikeError {
  code?: unknown;
  message?: unknown;
  detail?: unknown;
  hint?: unknown;
}

function asPgError(error: unknown): PgLikeError | null {
  if (typeof error !== "object" || error === null) return null;
  const code = (error as PgLikeError).code;
  return typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) ? (error as PgLikeError) : null;
}

/**
 * Turns a database error into an ApiError, or returns null when it is not one the API answers
 * specifically (the caller then logs it and answers 500).
 *
 * The SQLSTATEs are the schema's contract (migrations/README.md): plan-limit triggers raise `SL402`
 * with a message naming the limit and the plan; `save_diagram` raises `SL409` when the base version
 * is stale, `SL403` when the caller may read but not change the diagram, `SL404` when it is not
 * visible; RLS and guard refusals of a write surface as 42501 and answer 404 because the caller may
 * not know the row exists.
 */
export function fromDatabaseError(error: unknown): ApiError | null {
  const pg = asPgError(error);
  if (!pg) return null;
  const message = typeof pg.message === "string" ? pg.message : "database error";
  const detail = typeof pg.detail === "string" ? pg.detail : undefined;
  switch (pg.code) {
    case "SL402": {
      // DETAIL is JSON { limit, plan, max } (see migrations/0004): pass it on for clients.
      let extra: Record<string, unknown> = {};
      try {
        extra = detail ? (JSON.parse(detail) as Record<string, unknown>) : {};
      } catch {}
      return new ApiError(402, "PLAN_LIMIT", message, extra, { cause: error });
    }
    case "SL409": {
      // DETAIL is the current version number: the client reloads it, nothing it sent is stored.
      const current = detail !== undefined && /^\d+$/.test(detail) ? Number(detail) : undefined;
      return new ApiError(409, "STALE_VERSION", message, current === undefined ? {} : { current_version: current }, {
        cause: error,
      });
    }
    case "SL403":
      return new ApiError(403, "READ_ONLY", message, {}, { cause: error });
    case "SL404":
      return new ApiError(404, "NOT_FOUND", message, {}, { cause: error });
    case "42501": // insufficient_privilege: RLS refused a write; do not reveal the row exists
      return new ApiError(
        404,
        "NOT_FOUND",
        "not found (it does not exist, was deleted, or you may not change it)",
        {},
        {
          cause: error,
        },
      );
    case "55000": // object_not_in_prerequisite_state: e.g. adding a diagram to a project in the trash
      return new ApiError(409, "CONFLICT", message, {}, { cause: error });
    case "23514": // check_violation
      return new ApiError(400, "VALIDATION_FAILED", message, {}, { cause: error });
    case "23505": // unique_violation
      return new ApiError(409, "CONFLICT", message, {}, { cause: error });
    case "23503": // foreign_key_violation: a referenced project/profile is gone or invisible
      return new ApiError(404, "NOT_FOUND", "a referenced row was not found", {}, { cause: error });
    case "22P02": // invalid_text_representation (e.g. malformed uuid that slipped past validation)
    case "22023":
      return new ApiError(400, "BAD_REQUEST", message, {}, { cause: error });
    default:
      return null;
  }
}

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
  | "TOO_MANY_ELEMENTS"
  | "RATE_LIMITED"
  | "SERVER_BUSY"
  | "UNSUPPORTED_IMAGE"
  // object storage, exports, uploads and project backups (part 2: src/objects/http-errors.ts)
  | "FORBIDDEN"
  | "EXPORT_UNAVAILABLE"
  | "EXPORT_TIMEOUT"
  | "EXPORT_FAILED"
  | "INVALID_BACKUP"
  | "STORAGE_FULL"
  | "INTERNAL";

/**
 * An error the API answers with as-is: HTTP status, stable code, message for humans, optional extra
 * fields, optional response headers (e.g. `Retry-After`).
 */
export class ApiError extends Error {
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    readonly status: number,
    readonly code: ApiErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
    options?: { cause?: unknown; headers?: Record<string, string> },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "ApiError";
    this.headers = options?.headers ?? {};
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
  constraint?: unknown;
  where?: unknown;
}

function asPgError(error: unknown): PgLikeError | null {
  if (typeof error !== "object" || error === null) return null;
  const code = (error as PgLikeError).code;
  return typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) ? (error as PgLikeError) : null;
}

/**
 * Messages for the constraints a request can break, written for users. A constraint not listed
 * here answers the generic message of its SQLSTATE: the database's own text (constraint names,
 * table names, values, SQL) never reaches a client; the log has it.
 */
const CONSTRAINT_MESSAGES: Record<string, string> = {
  projects_name_check: "name must not be blank",
  collaborators_role_check: "role must be viewer, editor or owner",
  collaborators_project_id_user_id_key: "this user is already a collaborator of the project",
  invitations_role_check: "role must be viewer or editor",
  projects_settings_size: "settings must be at most 64 KiB of JSON",
  projects_metadata_size: "metadata must be at most 64 KiB of JSON",
  diagrams_metadata_size: "metadata must be at most 64 KiB of JSON",
  profiles_display_name_check: "display_name must be at most 255 characters",
};

const GENERIC_MESSAGES: Record<string, string> = {
  "23514": "a value is not allowed here; check the fields you sent",
  "23505": "this already exists",
  "23503": "a referenced row was not found",
  "22P02": "a value has the wrong format; check the ids and numbers you sent",
  "22023": "a value is not allowed here; check the fields you sent",
  "22003": "a number is out of range",
  "22007": "a date or time has the wrong format",
  "22008": "a date or time is out of range",
  "22021": "text must not contain NUL (\\u0000) characters",
  "22P05": "text must not contain NUL (\\u0000) characters",
};

/**
 * Whether a message was written by this schema's own functions (raise … message = format(…)) for
 * users: the SL codes are only raised there, and a constraint-less 23514 / 55000 / 42501 raised from
 * a stowage_private trigger is one of ours too (e.g. "the project owner cannot be added as a
 * collaborator"). Everything else is PostgreSQL's text.
 */
function ownMessage(pg: PgLikeError): string | undefined {
  if (typeof pg.message !== "string") return undefined;
  if (typeof pg.code === "string" && pg.code.startsWith("SL")) return pg.message;
  const where = typeof pg.where === "string" ? pg.where : "";
  if (pg.constraint === undefined && /PL\/pgSQL function (stowage_private|public)\./.test(where)) return pg.message;
  return undefined;
}

function userMessage(pg: PgLikeError, code: string): string {
  const constraint = typeof pg.constraint === "string" ? CONSTRAINT_MESSAGES[pg.constraint] : undefined;
  return constraint ?? ownMessage(pg) ?? GENERIC_MESSAGES[code] ?? "the request could not be completed";
}

/**
 * Turns a database error into an ApiError, or returns null when it is not one the API answers
 * specifically (the caller then logs it and answers 500).
 *
 * The SQLSTATEs are the schema's contract (migrations/README.md): plan-limit triggers raise `SL402`
 * with a message naming the limit and the plan; `save_diagram` raises `SL409` when the base version
 * is stale, `SL403` when the caller may read but not change the diagram, `SL404` when it is not
 * visible; RLS and guard refusals of a write surface as 42501 and answer 404 because the caller may
 * not know the row exists. Messages are the schema's own (written for users) or the tables above,
 * never PostgreSQL's text.
 */
export function fromDatabaseError(error: unknown): ApiError | null {
  const pg = asPgError(error);
  if (!pg) return null;
  const code = pg.code as string;
  const detail = typeof pg.detail === "string" ? pg.detail : undefined;
  const cause = { cause: error };
  switch (code) {
    case "SL402": {
      // DETAIL is JSON { limit, plan, max } (see migrations/0004): pass it on for clients.
      let extra: Record<string, unknown> = {};
      try {
        extra = detail ? (JSON.parse(detail) as Record<string, unknown>) : {};
      } catch {}
      return new ApiError(402, "PLAN_LIMIT", userMessage(pg, code), extra, cause);
    }
    case "SL409": {
      // DETAIL is the current version number: the client reloads it, nothing it sent is stored.
      const current = detail !== undefined && /^\d+$/.test(detail) ? Number(detail) : undefined;
      return new ApiError(
        409,
        "STALE_VERSION",
        userMessage(pg, code),
        current === undefined ? {} : { current_version: current },
        cause,
      );
    }
    case "SL403":
      return new ApiError(403, "READ_ONLY", userMessage(pg, code), {}, cause);
    case "SL404":
      return new ApiError(404, "NOT_FOUND", userMessage(pg, code), {}, cause);
    case "42501": // insufficient_privilege: RLS refused a write; do not reveal the row exists
      return new ApiError(404, "NOT_FOUND", "not found (it does not exist, was deleted, or you may not change it)", {}, cause);
    case "55000": // object_not_in_prerequisite_state: e.g. adding a diagram to a project in the trash
      return new ApiError(
        409,
        "CONFLICT",
        ownMessage(pg) ?? "the project or diagram is in the trash; restore it first",
        {},
        cause,
      );
    case "23514": // check_violation
      return new ApiError(400, "VALIDATION_FAILED", userMessage(pg, code), {}, cause);
    case "23505": // unique_violation
      return new ApiError(409, "CONFLICT", userMessage(pg, code), {}, cause);
    case "23503": // foreign_key_violation: a referenced project/profile is gone or invisible
      return new ApiError(404, "NOT_FOUND", userMessage(pg, code), {}, cause);
    case "22P02": // invalid_text_representation (e.g. malformed uuid that slipped past validation)
    case "22023":
    case "22003": // numeric_value_out_of_range (e.g. an integer past 2^31)
    case "22007": // invalid_datetime_format
    case "22008": // datetime_field_overflow
    case "22021": // character_not_in_repertoire: a NUL byte in text
    case "22P05": // untranslatable_character: \u0000 in jsonb
      return new ApiError(400, "BAD_REQUEST", userMessage(pg, code), {}, cause);
    default:
      return null;
  }
}

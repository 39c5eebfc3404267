/**
 * @module server/errors
 * The server's one error class. `ApiError` carries an HTTP status and a stable code and becomes
 * `{ "error": { "code", "message", "field"? } }`; `ServerError` stops the server at start (bad
 * configuration, wrong key) with a message that names the variable or file to fix.
 */
export const API_ERROR_CODES = {
  UNAUTHENTICATED: 401,
  CSRF_FAILED: 403,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  ALREADY_SET_UP: 409,
  INVALID_INPUT: 422,
  INVALID_CONFIG: 422,
  CONNECTION_FAILED: 422,
  PAYLOAD_TOO_LARGE: 413,
  RATE_LIMITED: 429,
  INTERNAL: 500,
  UNAVAILABLE: 503,
} as const;

export type ApiErrorCode = keyof typeof API_ERROR_CODES;

export class ApiError extends Error {
  override readonly name = "ApiError";
  readonly status: number;

  constructor(
    readonly code: ApiErrorCode,
    message: string,
    readonly field?: string,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.status = API_ERROR_CODES[code];
  }

  toBody(): { error: { code: string; message: string; field?: string } } {
    return { error: { code: this.code, message: this.message, ...(this.field ? { field: this.field } : {}) } };
  }
}

export const notFound = (what: string) => new ApiError("NOT_FOUND", `${what} not found`);

export type ServerErrorCode = "CONFIG" | "SECRET_KEY" | "METADATA_UNAVAILABLE";

export class ServerError extends Error {
  override readonly name = "ServerError";
  constructor(
    readonly code: ServerErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * The one way the UI talks to `stowage serve`: same-origin fetch with the session cookie, the CSRF
 * token on every change, JSON in and out, and every failure turned into an ApiError carrying the
 * server's `{ error: { code, message } }` (and the field it names, when it names one).
 */

export class ApiError extends Error {
  override readonly name = "ApiError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** The request field the error concerns (`config.bucket`, `email`…), when the server names one. */
    readonly field?: string,
  ) {
    super(message);
  }
}

let csrfToken: string | null = null;

/** Remembers the CSRF token the server hands out with the session (login, setup, me). */
export function rememberCsrf(body: unknown): void {
  if (body && typeof body === "object" && "csrfToken" in body && typeof body.csrfToken === "string") {
    csrfToken = body.csrfToken;
  }
}

function csrfFromCookie(): string | null {
  const match = document.cookie.match(/(?:^|;\s*)([\w-]*csrf[\w-]*)=([^;]+)/i);
  return match?.[2] ? decodeURIComponent(match[2]) : null;
}

function fieldOf(error: Record<string, unknown>): string | undefined {
  for (const key of ["field", "path"]) {
    const v = error[key];
    if (typeof v === "string" && v) return v;
    if (Array.isArray(v) && v.length) return v.join(".");
  }
  const details = error.details;
  if (details && typeof details === "object") return fieldOf(details as Record<string, unknown>);
  return undefined;
}

export async function parseError(response: Response): Promise<ApiError> {
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  const error = body && typeof body === "object" && "error" in body ? (body as { error: unknown }).error : null;
  if (error && typeof error === "object") {
    const e = error as Record<string, unknown>;
    const message = typeof e.message === "string" ? e.message : response.statusText;
    return new ApiError(response.status, typeof e.code === "string" ? e.code : "error", message, fieldOf(e));
  }
  if (response.status === 502 || response.status === 503 || response.status === 504) {
    return new ApiError(response.status, "unavailable", "The Stowage server is not answering. Is `stowage serve` running?");
  }
  return new ApiError(response.status, "error", `${response.status} ${response.statusText}`.trim());
}

type Method = "GET" | "POST" | "PATCH" | "PUT" | "DELETE";

export async function request<T>(method: Method, path: string, body?: unknown, init?: RequestInit): Promise<T> {
  const headers = new Headers(init?.headers);
  headers.set("Accept", "application/json");
  const isForm = typeof FormData !== "undefined" && body instanceof FormData;
  if (body !== undefined && !isForm) headers.set("Content-Type", "application/json");
  if (method !== "GET") {
    const token = csrfToken ?? csrfFromCookie();
    if (token) headers.set("X-CSRF-Token", token);
  }
  let response: Response;
  try {
    response = await fetch(path, {
      ...init,
      method,
      headers,
      credentials: "same-origin",
      body: body === undefined ? undefined : isForm ? body : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, "network", "Cannot reach the Stowage server. Check that it is running and try again.");
  }
  if (!response.ok) {
    const error = await parseError(response);
    if (error.status === 401) onUnauthorized?.(error);
    throw error;
  }
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  const data = text ? (JSON.parse(text) as T) : (undefined as T);
  rememberCsrf(data);
  return data;
}

let onUnauthorized: ((error: ApiError) => void) | null = null;
/** Called on every 401 (the session expired): the app sends the user back to the login page. */
export function setUnauthorizedHandler(handler: (error: ApiError) => void): void {
  onUnauthorized = handler;
}

export const api = {
  get: <T>(path: string) => request<T>("GET", path),
  post: <T>(path: string, body?: unknown) => request<T>("POST", path, body ?? {}),
  patch: <T>(path: string, body: unknown) => request<T>("PATCH", path, body),
  delete: <T = void>(path: string) => request<T>("DELETE", path),
};

/** Message for any thrown value, for toasts and form errors. */
export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

/** The error of one field, when the API error names it (exactly, or as `config.<field>`). */
export function fieldError(error: unknown, ...fields: string[]): string | undefined {
  if (!(error instanceof ApiError) || !error.field) return undefined;
  const f = error.field;
  if (!fields.some((name) => f === name || f.endsWith(`.${name}`))) return undefined;
  // Shown under the field itself: "config.basePath: must be an absolute path" reads "must be an absolute path".
  const message = error.message.startsWith(`${f}: `) ? error.message.slice(f.length + 2) : error.message;
  return message.charAt(0).toUpperCase() + message.slice(1);
}

/** The error to show above the form: the API error unless a field shows it already. */
export function formError(error: unknown, fields: string[]): string | undefined {
  if (!error) return undefined;
  if (error instanceof ApiError && error.field && fields.some((name) => fieldError(error, name))) return undefined;
  return messageOf(error);
}

/**
 * @module lib/api
 * The one way the diagram UI talks to `stowage-diagrams`: same-origin fetch with the signed-in user's
 * bearer token, JSON in and out, and every failure turned into an ApiError carrying the service's
 * `{ error: { code, message } }` and the HTTP status. A 401 on a request that carried a token means
 * the token expired: the session is dropped and the app goes back to the sign-in page.
 *
 * The API keeps its own paths (no `/api` prefix): `/auth`, `/projects`, `/diagrams`, … (see
 * GET /openapi.json). The row types (projects, diagrams, invitations, collaborators) are the service's
 * own, from its repository modules; the other answers are typed here. Hooks live in lib/queries.ts.
 */
// Row types from the service's own repository modules: `import type` is erased, so no server code reaches the bundle.
import type { CollaboratorRow } from "../../../src/repo/collaborators.ts";
import type { DiagramMeta, DiagramWithXml } from "../../../src/repo/diagrams.ts";
import type { InvitationRow, ReceivedInvitation } from "../../../src/repo/invitations.ts";
import type { ProjectRow } from "../../../src/repo/projects.ts";
import { clearSession, currentToken } from "./session.ts";

export class ApiError extends Error {
  override readonly name = "ApiError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** The rest of the service's error object (e.g. `current_version` of STALE_VERSION, `limit` and `plan` of PLAN_LIMIT). */
    readonly details: Readonly<Record<string, unknown>> = {},
  ) {
    super(message);
  }
}

export async function parseError(response: Response): Promise<ApiError> {
  let body: unknown = null;
  try {
    body = await response.json();
  } catch {}
  const error = body && typeof body === "object" && "error" in body ? (body as { error: unknown }).error : null;
  if (error && typeof error === "object") {
    const e = error as Record<string, unknown>;
    const { code, message, ...details } = e;
    return new ApiError(
      response.status,
      typeof code === "string" ? code : "ERROR",
      typeof message === "string" ? message : `${response.status} ${response.statusText}`.trim(),
      details,
    );
  }
  if (response.status === 502 || response.status === 503 || response.status === 504) {
    return new ApiError(response.status, "UNAVAILABLE", "The diagram service is not answering. Is stowage-diagrams running?");
  }
  return new ApiError(response.status, "ERROR", `${response.status} ${response.statusText}`.trim());
}

let onUnauthorized: (() => void) | null = null;
/** Called when a request with a token answers 401 (expired or revoked): the app shows the sign-in page. */
export function setUnauthorizedHandler(handler: (() => void) | null): void {
  onUnauthorized = handler;
}

export type Method = "GET" | "POST" | "PATCH" | "PUT" | "DELETE";

export interface RequestOptions extends Omit<RequestInit, "method" | "body"> {
  /** Send without the token (sign-in, sign-up, public reads). */
  anonymous?: boolean;
}

/**
 * The raw response of a request that succeeded (2xx); anything else throws ApiError. For bodies that
 * are not JSON: XML, images, downloads. `body` may be a FormData, a Blob/string (sent as is) or any
 * JSON value.
 */
export async function apiFetch(method: Method, path: string, body?: unknown, options: RequestOptions = {}): Promise<Response> {
  const { anonymous, ...init } = options;
  const headers = new Headers(init.headers);
  if (!headers.has("Accept")) headers.set("Accept", "application/json");
  const token = anonymous ? null : currentToken();
  if (token) headers.set("Authorization", `Bearer ${token}`);
  let payload: BodyInit | undefined;
  if (body instanceof FormData || body instanceof Blob || typeof body === "string") payload = body;
  else if (body !== undefined) {
    headers.set("Content-Type", "application/json");
    payload = JSON.stringify(body);
  }
  let response: Response;
  try {
    response = await fetch(path, { ...init, method, headers, body: payload });
  } catch (error) {
    if (error instanceof DOMException && error.name === "AbortError") throw error;
    throw new ApiError(0, "NETWORK", "Cannot reach the diagram service. Check your connection and try again.");
  }
  if (!response.ok) {
    const error = await parseError(response);
    if (error.status === 401 && token) {
      clearSession();
      onUnauthorized?.();
    }
    throw error;
  }
  return response;
}

/** A JSON request; 204 answers undefined. */
export async function request<T>(method: Method, path: string, body?: unknown, options?: RequestOptions): Promise<T> {
  const response = await apiFetch(method, path, body, options);
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

export const api = {
  get: <T>(path: string, options?: RequestOptions) => request<T>("GET", path, undefined, options),
  post: <T>(path: string, body?: unknown, options?: RequestOptions) => request<T>("POST", path, body ?? {}, options),
  put: <T>(path: string, body: unknown, options?: RequestOptions) => request<T>("PUT", path, body, options),
  patch: <T>(path: string, body: unknown, options?: RequestOptions) => request<T>("PATCH", path, body, options),
  delete: <T = void>(path: string, options?: RequestOptions) => request<T>("DELETE", path, undefined, options),
};

/** `path?k=v&…` with undefined/empty values left out. */
export function withQuery(path: string, query: Record<string, string | number | boolean | null | undefined>): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== "") params.set(k, String(v));
  const s = params.toString();
  return s ? `${path}?${s}` : path;
}

/** Message for any thrown value, for toasts and form errors: an API error's own message. */
export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

// ── The service's answers ───────────────────────────────────────────────────────────────────────

export type Plan = "FREE" | "PRO" | "ENTERPRISE";
export type Role = "viewer" | "editor";

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export interface SessionUser {
  id: string;
  email: string | null;
  plan: Plan | string;
}

export interface AuthAnswer {
  access_token: string;
  token_type: "bearer";
  expires_at: string | number;
  user: SessionUser;
}

export interface Profile extends SessionUser {
  storage_used_bytes: number;
}

/** GET /auth/config: which ways of signing in this service offers. */
export interface AuthConfig {
  local_signup: boolean;
  /** Tokens from another issuer (Supabase) are accepted: the sign-in page offers to paste one. */
  external_tokens: boolean;
}

/** A project as the service answers it. */
export type Project = ProjectRow;

/** A diagram as lists give it: metadata only, never the XML. */
export type { DiagramMeta };

/** GET /diagrams/:id: the one read with the XML. */
export type Diagram = DiagramWithXml;

/** The service's collaborator row, with its role as the service only ever writes it. */
export interface Collaborator extends Omit<CollaboratorRow, "role"> {
  role: Role;
}

/** A pending invitation as the project's owners see it. */
export type Invitation = InvitationRow;

/** An invitation addressed to the caller (GET /invitations). */
export type { ReceivedInvitation };

export interface Attachment {
  id: string;
  project_id: string;
  name: string;
  size: number;
  content_type: string;
  sha256: string;
  created_by: string | null;
  created_at: string;
  url?: string;
  expiresAt?: string;
}

export interface ProjectBackup {
  id: string;
  project_id: string;
  size: number;
  sha256: string;
  created_at: string;
  trigger?: string;
  diagrams?: number;
  versions?: number;
  attachments?: number;
  url?: string;
  expiresAt?: string;
}

export interface RestoredProject {
  project_id: string;
  diagrams: number;
  versions: number;
  attachments: number;
}

/** GET /usage: the plan's limits (null = unlimited) and what the caller uses of them. */
export interface Usage {
  plan: Plan | string;
  limits: {
    projects: number | null;
    diagrams_per_project: number | null;
    personal_diagrams: number | null;
    versions_kept: number | null;
    total_storage_bytes: number | null;
    export_formats: string[];
  };
  used: { projects: number; diagrams: number; diagrams_in_trash: number; versions: number; bytes: number };
}

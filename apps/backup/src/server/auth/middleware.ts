/**
 * @module server/auth/middleware
 * Who is calling, for every `/api` route but the public ones:
 * - `Authorization: Bearer <api token>`: a token (stored as its SHA-256) acting as its user, no CSRF.
 * - the `stowage_session` cookie (HTTP-only, SameSite=Strict): a session; requests that change
 *   something must also send `X-CSRF-Token` equal to the session's CSRF token, which the SPA reads
 *   from the `stowage_csrf` cookie or from `GET /api/auth/me` / the login answer.
 * Then the role: a viewer may read (GET) and sign out, nothing else.
 */
import { timingSafeEqual } from "node:crypto";
import { getConnInfo } from "@hono/node-server/conninfo";
import type { Context, MiddlewareHandler } from "hono";
import { getCookie } from "hono/cookie";
import type { AppEnv, Services } from "../context.ts";
import { sha256 } from "../crypto/passwords.ts";
import { ApiError } from "../errors.ts";

export const SESSION_COOKIE = "stowage_session";
export const CSRF_COOKIE = "stowage_csrf";
export const CSRF_HEADER = "X-CSRF-Token";

/** Routes anyone may call: setup, sign-in, health, the API description and one-time download links. */
export function isPublic(method: string, path: string): boolean {
  if (path === "/api/setup") return method === "POST" || method === "GET";
  if (path === "/api/auth/login") return method === "POST";
  if (path === "/api/health" || path === "/api/openapi.json") return method === "GET";
  if (path.startsWith("/api/backup/download/")) return method === "GET" || method === "HEAD";
  return false;
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);
/** Writes a viewer may still do. */
const VIEWER_WRITES = new Set(["/api/auth/logout"]);
/** Reads only an admin may do. */
const ADMIN_READS = [/^\/api\/audit/, /^\/api\/users/];

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function clientIp(c: Context): string {
  try {
    return getConnInfo(c).remote.address ?? "unknown";
  } catch {
    return "unknown";
  }
}

export function authMiddleware(services: Services): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    c.set("ip", clientIp(c));
    const method = c.req.method;
    const path = c.req.path;
    if (!path.startsWith("/api/") || isPublic(method, path)) return next();

    const header = c.req.header("Authorization");
    if (header !== undefined) {
      const match = /^Bearer\s+(\S+)$/i.exec(header);
      if (!match) throw new ApiError("UNAUTHENTICATED", "the Authorization header must be `Bearer <api token>`");
      const token = await services.store.apiTokens.byHash(sha256(match[1]!));
      const user = token ? await services.store.users.byId(token.userId) : undefined;
      if (!token || !user) throw new ApiError("UNAUTHENTICATED", "the API token is unknown or was revoked");
      void services.store.apiTokens.touch(token.id, new Date());
      c.set("auth", { user, via: "token", tokenId: token.id, ip: c.get("ip") });
    } else {
      const raw = getCookie(c, SESSION_COOKIE);
      const session = raw ? await services.store.sessions.byId(sha256(raw)) : undefined;
      const now = new Date();
      if (!session || session.expiresAt <= now) {
        throw new ApiError("UNAUTHENTICATED", "sign in first (POST /api/auth/login) or send an API token");
      }
      const user = await services.store.users.byId(session.userId);
      if (!user) throw new ApiError("UNAUTHENTICATED", "sign in first (POST /api/auth/login) or send an API token");
      if (!SAFE_METHODS.has(method)) {
        const sent = c.req.header(CSRF_HEADER);
        if (!sent || !sameSecret(sent, session.csrfToken)) {
          throw new ApiError(
            "CSRF_FAILED",
            `missing or wrong ${CSRF_HEADER} header: send the csrfToken from GET /api/auth/me (or the ${CSRF_COOKIE} cookie) with every change`,
          );
        }
      }
      // Sliding expiry, written at most once a minute.
      if (now.getTime() - session.lastSeenAt.getTime() > 60_000) {
        await services.store.sessions.touch(
          session.id,
          now,
          new Date(now.getTime() + services.config.sessionTtlHours * 3600_000),
        );
      }
      c.set("auth", { user, via: "session", sessionId: session.id, csrfToken: session.csrfToken, ip: c.get("ip") });
    }

    const role = c.get("auth").user.role;
    if (role !== "admin") {
      if (!SAFE_METHODS.has(method) && !VIEWER_WRITES.has(path)) {
        throw new ApiError("FORBIDDEN", "your role (viewer) can read statuses and lists only; ask an admin for this change");
      }
      if (ADMIN_READS.some((re) => re.test(path))) throw new ApiError("FORBIDDEN", "only an admin can see this");
    }
    return next();
  };
}

/** Throws 403 unless the caller is an admin (for reads that show more than a viewer may see). */
export function requireAdmin(c: Context<AppEnv>): void {
  if (c.get("auth").user.role !== "admin") throw new ApiError("FORBIDDEN", "only an admin can do this");
}

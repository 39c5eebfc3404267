/**
 * @module server/routes/auth
 * First-run setup, sign-in/out, the current user, API tokens and users (admin).
 */
import { randomUUID } from "node:crypto";
import { type OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { deleteCookie, setCookie } from "hono/cookie";
import { CSRF_COOKIE, SESSION_COOKIE } from "../auth/middleware.ts";
import type { AppEnv, Services } from "../context.ts";
import { DUMMY_HASH, hashPassword, randomToken, sha256, verifyPassword } from "../crypto/passwords.ts";
import type { UserRecord } from "../db/store.ts";
import { ApiError, notFound } from "../errors.ts";
import { IdParam, iso, jsonBody, jsonRoute, Ok } from "./common.ts";

const Email = z
  .string()
  .trim()
  .toLowerCase()
  .max(254)
  .pipe(z.email({ message: "must be an email address" }));
const Password = z.string().min(12, "must be at least 12 characters").max(1024);
const Role = z.enum(["admin", "viewer"]);

export const User = z
  .object({ id: z.string(), email: z.string(), role: Role, createdAt: z.string(), lastLoginAt: z.string().nullable() })
  .openapi("User");
const Session = z
  .object({
    user: User,
    csrfToken: z
      .string()
      .optional()
      .openapi({ description: "Send as X-CSRF-Token on every change made with the session cookie" }),
  })
  .openapi("Session");
const ApiToken = z
  .object({ id: z.string(), name: z.string(), userId: z.string(), createdAt: z.string(), lastUsedAt: z.string().nullable() })
  .openapi("ApiToken");

const userView = (u: UserRecord) => ({
  id: u.id,
  email: u.email,
  role: u.role,
  createdAt: u.createdAt.toISOString(),
  lastLoginAt: iso(u.lastLoginAt),
});

function secureCookies(c: Context, s: Services): boolean {
  if (s.config.cookieSecure !== "auto") return s.config.cookieSecure;
  return new URL(c.req.url).protocol === "https:" || c.req.header("X-Forwarded-Proto") === "https";
}

async function startSession(c: Context<AppEnv>, s: Services, user: UserRecord): Promise<string> {
  const raw = randomToken();
  const csrfToken = randomToken();
  const now = new Date();
  const maxAge = Math.round(s.config.sessionTtlHours * 3600);
  await s.store.sessions.create({
    id: sha256(raw),
    userId: user.id,
    csrfToken,
    createdAt: now,
    lastSeenAt: now,
    expiresAt: new Date(now.getTime() + maxAge * 1000),
  });
  const secure = secureCookies(c, s);
  setCookie(c, SESSION_COOKIE, raw, { httpOnly: true, sameSite: "Strict", path: "/", secure, maxAge });
  setCookie(c, CSRF_COOKIE, csrfToken, { httpOnly: false, sameSite: "Strict", path: "/", secure, maxAge });
  return csrfToken;
}

export function authRoutes(app: OpenAPIHono<AppEnv>, s: Services): void {
  app.openapi(
    jsonRoute({
      method: "get",
      path: "/api/setup",
      tags: ["auth"],
      summary: "Whether the first admin still has to be created",
      public: true,
      schema: z.object({ setupRequired: z.boolean() }),
    }),
    async (c) => c.json({ setupRequired: (await s.store.users.count()) === 0 }, 200),
  );

  app.openapi(
    jsonRoute({
      method: "post",
      path: "/api/setup",
      tags: ["auth"],
      summary: "Create the first admin (only while no user exists); signs them in",
      public: true,
      request: jsonBody(z.object({ email: Email, password: Password })),
      status: 201,
      schema: Session,
      extraErrors: { 409: "Already set up", 422: "Invalid email or password" },
    }),
    async (c) => {
      const { email, password } = c.req.valid("json");
      const now = new Date();
      const user: UserRecord = {
        id: randomUUID(),
        email,
        passwordHash: await hashPassword(password),
        role: "admin",
        createdAt: now,
        updatedAt: now,
        lastLoginAt: now,
      };
      if (!(await s.store.users.createFirst(user))) {
        throw new ApiError("ALREADY_SET_UP", "Stowage is already set up: sign in at POST /api/auth/login");
      }
      await s.audit.record({ user, ip: c.get("ip") }, "setup", { type: "user", id: user.id });
      const csrfToken = await startSession(c, s, user);
      return c.json({ user: userView(user), csrfToken }, 201);
    },
  );

  app.openapi(
    jsonRoute({
      method: "post",
      path: "/api/auth/login",
      tags: ["auth"],
      summary: "Sign in: sets the HTTP-only session cookie and the readable CSRF cookie",
      public: true,
      request: jsonBody(z.object({ email: Email, password: z.string().min(1).max(1024) })),
      schema: Session,
      extraErrors: { 401: "Wrong email or password", 429: "Too many failed attempts" },
    }),
    async (c) => {
      const { email, password } = c.req.valid("json");
      const ip = c.get("ip");
      await s.loginLimiter.check(ip, email);
      const user = await s.store.users.byEmail(email);
      const ok = await verifyPassword(password, user?.passwordHash ?? DUMMY_HASH);
      if (!user || !ok) {
        await s.loginLimiter.failed(ip, email);
        await s.audit.record({ ip }, "sign_in_failed", undefined, { email });
        throw new ApiError("UNAUTHENTICATED", "wrong email or password");
      }
      await s.loginLimiter.succeeded(ip, email);
      const now = new Date();
      await s.store.users.update(user.id, { lastLoginAt: now });
      await s.audit.record({ user, ip }, "sign_in", { type: "user", id: user.id });
      const csrfToken = await startSession(c, s, user);
      return c.json({ user: userView({ ...user, lastLoginAt: now }), csrfToken }, 200);
    },
  );

  app.openapi(
    jsonRoute({ method: "post", path: "/api/auth/logout", tags: ["auth"], summary: "Sign out", schema: Ok }),
    async (c) => {
      const auth = c.get("auth");
      if (auth.sessionId) await s.store.sessions.delete(auth.sessionId);
      deleteCookie(c, SESSION_COOKIE, { path: "/" });
      deleteCookie(c, CSRF_COOKIE, { path: "/" });
      await s.audit.record({ user: auth.user, ip: auth.ip }, "sign_out");
      return c.json({ ok: true as const }, 200);
    },
  );

  app.openapi(
    jsonRoute({
      method: "get",
      path: "/api/auth/me",
      tags: ["auth"],
      summary: "The signed-in user (and the CSRF token)",
      schema: Session,
    }),
    async (c) => {
      const auth = c.get("auth");
      return c.json({ user: userView(auth.user), ...(auth.csrfToken ? { csrfToken: auth.csrfToken } : {}) }, 200);
    },
  );

  // API tokens
  app.openapi(
    jsonRoute({
      method: "get",
      path: "/api/tokens",
      tags: ["tokens"],
      summary: "API tokens (an admin sees all, a viewer their own)",
      schema: z.object({ items: z.array(ApiToken) }),
    }),
    async (c) => {
      const auth = c.get("auth");
      const tokens = await s.store.apiTokens.list(auth.user.role === "admin" ? undefined : auth.user.id);
      return c.json(
        {
          items: tokens.map((t) => ({
            id: t.id,
            name: t.name,
            userId: t.userId,
            createdAt: t.createdAt.toISOString(),
            lastUsedAt: iso(t.lastUsedAt),
          })),
        },
        200,
      );
    },
  );

  app.openapi(
    jsonRoute({
      method: "post",
      path: "/api/tokens",
      tags: ["tokens"],
      summary: "Create an API token; the token is shown in this answer only",
      request: jsonBody(
        z.object({
          name: z.string().trim().min(1).max(100),
          userId: z.string().optional().openapi({ description: "Admin only: issue the token for another user (e.g. a viewer)" }),
        }),
      ),
      status: 201,
      schema: z.object({ id: z.string(), token: z.string(), name: z.string() }),
    }),
    async (c) => {
      const { name, userId } = c.req.valid("json");
      const auth = c.get("auth");
      const owner = userId ? await s.store.users.byId(userId) : auth.user;
      if (!owner) throw new ApiError("INVALID_INPUT", "userId: no such user", "userId");
      const token = `stw_${randomToken()}`;
      const id = randomUUID();
      await s.store.apiTokens.create({
        id,
        userId: owner.id,
        name,
        tokenHash: sha256(token),
        createdAt: new Date(),
        lastUsedAt: null,
      });
      await s.audit.record(
        { user: auth.user, ip: auth.ip },
        "token_created",
        { type: "api_token", id },
        { tokenName: name, owner: owner.email },
      );
      return c.json({ id, token, name }, 201);
    },
  );

  app.openapi(
    jsonRoute({
      method: "delete",
      path: "/api/tokens/{id}",
      tags: ["tokens"],
      summary: "Revoke an API token",
      request: { params: IdParam },
      schema: Ok,
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const auth = c.get("auth");
      const token = await s.store.apiTokens.byId(id);
      if (!token || (auth.user.role !== "admin" && token.userId !== auth.user.id)) throw notFound("API token");
      await s.store.apiTokens.delete(id);
      await s.audit.record(
        { user: auth.user, ip: auth.ip },
        "token_deleted",
        { type: "api_token", id },
        { tokenName: token.name },
      );
      return c.json({ ok: true as const }, 200);
    },
  );

  // Users (admin)
  app.openapi(
    jsonRoute({
      method: "get",
      path: "/api/users",
      tags: ["users"],
      summary: "Users (admin)",
      schema: z.object({ items: z.array(User) }),
    }),
    async (c) => c.json({ items: (await s.store.users.list()).map(userView) }, 200),
  );

  app.openapi(
    jsonRoute({
      method: "post",
      path: "/api/users",
      tags: ["users"],
      summary: "Add a user (admin)",
      request: jsonBody(z.object({ email: Email, password: Password, role: Role })),
      status: 201,
      schema: User,
      extraErrors: { 409: "Email already used" },
    }),
    async (c) => {
      const { email, password, role } = c.req.valid("json");
      const auth = c.get("auth");
      if (await s.store.users.byEmail(email))
        throw new ApiError("CONFLICT", `a user with email ${email} already exists`, "email");
      const now = new Date();
      const user: UserRecord = {
        id: randomUUID(),
        email,
        passwordHash: await hashPassword(password),
        role,
        createdAt: now,
        updatedAt: now,
        lastLoginAt: null,
      };
      await s.store.users.create(user);
      await s.audit.record({ user: auth.user, ip: auth.ip }, "user_created", { type: "user", id: user.id }, { email, role });
      return c.json(userView(user), 201);
    },
  );

  app.openapi(
    jsonRoute({
      method: "patch",
      path: "/api/users/{id}",
      tags: ["users"],
      summary: "Change a user's role or password (admin)",
      request: { params: IdParam, ...jsonBody(z.object({ role: Role.optional(), password: Password.optional() })) },
      schema: User,
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const body = c.req.valid("json");
      const auth = c.get("auth");
      const user = await s.store.users.byId(id);
      if (!user) throw notFound("user");
      if (body.role === "viewer" && user.role === "admin" && (await s.store.users.countAdmins()) <= 1) {
        throw new ApiError("CONFLICT", "this is the last admin; make another user admin first", "role");
      }
      const patch = {
        updatedAt: new Date(),
        ...(body.role ? { role: body.role } : {}),
        ...(body.password ? { passwordHash: await hashPassword(body.password) } : {}),
      };
      await s.store.users.update(id, patch);
      if (body.password || body.role) await s.store.sessions.deleteForUser(id);
      await s.audit.record(
        { user: auth.user, ip: auth.ip },
        "user_changed",
        { type: "user", id },
        {
          role: body.role ?? null,
          passwordChanged: !!body.password,
        },
      );
      return c.json(userView({ ...user, ...patch }), 200);
    },
  );

  app.openapi(
    jsonRoute({
      method: "delete",
      path: "/api/users/{id}",
      tags: ["users"],
      summary: "Remove a user (admin)",
      request: { params: IdParam },
      schema: Ok,
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const auth = c.get("auth");
      const user = await s.store.users.byId(id);
      if (!user) throw notFound("user");
      if (user.role === "admin" && (await s.store.users.countAdmins()) <= 1) {
        throw new ApiError("CONFLICT", "this is the last admin and cannot be removed");
      }
      await s.store.users.delete(id);
      await s.audit.record({ user: auth.user, ip: auth.ip }, "user_deleted", { type: "user", id }, { email: user.email });
      return c.json({ ok: true as const }, 200);
    },
  );
}

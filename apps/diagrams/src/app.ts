/**
 * @module app
 * Builds the Hono application: request logging (never headers, so never tokens), `nosniff` on every
 * answer, body limits (a small default for every route; routes that take XML or files raise it),
 * compression (headers added in place, http/response-headers.ts), bearer-token authentication, the anonymous rate limit, the route groups, the OpenAPI
 * document, and the one error handler that turns every failure into `{ error: { code, message } }`.
 *
 * Route groups are registered in one list, `routeGroups`: a new resource adds one line there.
 */
import { type Context, Hono } from "hono";
import { compress } from "hono/compress";
import { authRoutes } from "./api/auth.ts";
import { collaboratorRoutes } from "./api/collaborators.ts";
import { type AppDeps, type AppEnv, type ResolvedDeps, resolveDeps } from "./api/context.ts";
import { diagramRoutes } from "./api/diagrams.ts";
import { invitationRoutes } from "./api/invitations.ts";
import { openApiDocument } from "./api/openapi.ts";
import { projectRoutes } from "./api/projects.ts";
import { usageRoutes } from "./api/usage.ts";
import { versionRoutes } from "./api/versions.ts";
import { ApiError, fromDatabaseError, unauthorized } from "./errors.ts";
import { JSON_BODY_LIMIT, limitBodies } from "./http/body-limit.ts";
import { clientIp } from "./http/rate-limit.ts";
import { setResponseHeader, varyOnAcceptEncoding } from "./http/response-headers.ts";

export type { AppDeps, ResolvedDeps } from "./api/context.ts";

/** A resource's routes, mounted under `path`. */
export interface RouteGroup {
  readonly path: string;
  readonly routes: (deps: ResolvedDeps) => Hono<AppEnv>;
}

/** Every route group of the API, in one place. */
export const routeGroups: readonly RouteGroup[] = [
  { path: "/auth", routes: authRoutes },
  { path: "/projects", routes: projectRoutes },
  { path: "/projects", routes: collaboratorRoutes },
  { path: "/invitations", routes: invitationRoutes },
  { path: "/diagrams", routes: diagramRoutes },
  { path: "/diagrams", routes: versionRoutes },
  { path: "/usage", routes: usageRoutes },
];

export function createApp(appDeps: AppDeps, extraGroups: readonly RouteGroup[] = []): Hono<AppEnv> {
  const deps = resolveDeps(appDeps);
  const app = new Hono<AppEnv>();
  const { logger } = deps;

  app.use("*", async (c, next) => {
    const started = performance.now();
    await next();
    setResponseHeader(c, "X-Content-Type-Options", "nosniff");
    // With LOG_LEVEL above info (warn, as the benchmark runs) nothing is built for a line never written.
    if (logger.isLevelEnabled("info")) {
      logger.info(
        { method: c.req.method, path: c.req.path, status: c.res.status, ms: Math.round(performance.now() - started) },
        "request",
      );
    }
  });
  app.use("*", limitBodies(JSON_BODY_LIMIT));
  app.use("*", compress());
  app.use("*", varyOnAcceptEncoding());

  app.use("*", async (c, next) => {
    const header = c.req.header("authorization");
    if (!header) {
      c.set("claims", null);
      // Anonymous callers share a budget per address (a diff spends more of it, see versions.ts).
      await deps.rateLimiter.consume("anonymous", clientIp(c, deps.trustProxy));
      return next();
    }
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) throw unauthorized('the Authorization header must be "Bearer <token>"');
    c.set("claims", await deps.tokens.verify(match[1]!));
    if (c.get("claims") === null) await deps.rateLimiter.consume("anonymous", clientIp(c, deps.trustProxy));
    return next();
  });

  app.get("/openapi.json", (c) => c.json(openApiDocument()));
  for (const group of [...routeGroups, ...extraGroups]) app.route(group.path, group.routes(deps));

  app.notFound((c) =>
    c.json({ error: { code: "NOT_FOUND", message: `no route ${c.req.method} ${c.req.path}; see GET /openapi.json` } }, 404),
  );

  app.onError((error, c) => errorResponse(error, c, deps));

  return app;
}

function errorResponse(error: Error, c: Context<AppEnv>, deps: ResolvedDeps): Response {
  const apiError = error instanceof ApiError ? error : fromDatabaseError(error);
  c.header("X-Content-Type-Options", "nosniff");
  if (apiError) {
    // The database's own text (constraint names, SQL) stays in the log.
    if (apiError.status >= 500 || !(error instanceof ApiError)) {
      deps.logger[apiError.status >= 500 ? "error" : "debug"]({ err: error, path: c.req.path }, "request failed");
    }
    for (const [name, value] of Object.entries(apiError.headers)) c.header(name, value);
    return c.json(apiError.toBody(), apiError.status as 400);
  }
  deps.logger.error({ err: error, method: c.req.method, path: c.req.path }, "unexpected error");
  return c.json({ error: { code: "INTERNAL", message: "internal error; the server log has the details" } }, 500);
}

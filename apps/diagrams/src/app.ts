/**
 * @module app
 * Builds the Hono application: request logging (never headers, so never tokens), compression,
 * bearer-token authentication, the routes of each resource, the OpenAPI document, and the one error
 * handler that turns every failure into `{ error: { code, message } }`.
 */
import { Hono } from "hono";
import { compress } from "hono/compress";
import { authRoutes } from "./api/auth.ts";
import { collaboratorRoutes } from "./api/collaborators.ts";
import type { AppDeps, AppEnv } from "./api/context.ts";
import { diagramRoutes } from "./api/diagrams.ts";
import { openApiDocument } from "./api/openapi.ts";
import { projectRoutes } from "./api/projects.ts";
import { versionRoutes } from "./api/versions.ts";
import { ApiError, fromDatabaseError, unauthorized } from "./errors.ts";

export type { AppDeps } from "./api/context.ts";

export function createApp(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const { logger } = deps;

  app.use("*", async (c, next) => {
    const started = performance.now();
    await next();
    logger.info(
      { method: c.req.method, path: c.req.path, status: c.res.status, ms: Math.round(performance.now() - started) },
      "request",
    );
  });
  app.use("*", compress());

  app.use("*", async (c, next) => {
    const header = c.req.header("authorization");
    if (!header) {
      c.set("claims", null);
      return next();
    }
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) throw unauthorized('the Authorization header must be "Bearer <token>"');
    c.set("claims", await deps.tokens.verify(match[1]!));
    return next();
  });

  app.get("/openapi.json", (c) => c.json(openApiDocument()));
  app.route("/auth", authRoutes(deps));
  app.route("/projects", projectRoutes(deps));
  app.route("/projects", collaboratorRoutes(deps));
  app.route("/diagrams", diagramRoutes(deps));
  app.route("/diagrams", versionRoutes(deps));

  app.notFound((c) =>
    c.json({ error: { code: "NOT_FOUND", message: `no route ${c.req.method} ${c.req.path}; see GET /openapi.json` } }, 404),
  );

  app.onError((error, c) => {
    const apiError = error instanceof ApiError ? error : fromDatabaseError(error);
    if (apiError) {
      if (apiError.status >= 500) logger.error({ err: error }, "request failed");
      return c.json(apiError.toBody(), apiError.status as 400);
    }
    logger.error({ err: error, method: c.req.method, path: c.req.path }, "unexpected error");
    return c.json({ error: { code: "INTERNAL", message: "internal error; the server log has the details" } }, 500);
  });

  return app;
}

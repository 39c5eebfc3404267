/**
 * @module server/app
 * The Hono application: error shape, body limits, authentication, every route (declared once with
 * @hono/zod-openapi; the document at GET /api/openapi.json), the one-time download links and the web UI.
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import { secureHeaders } from "hono/secure-headers";
import { authMiddleware } from "./auth/middleware.ts";
import type { AppEnv, Services } from "./context.ts";
import { ApiError } from "./errors.ts";
import { auditRoutes } from "./routes/audit.ts";
import { authRoutes } from "./routes/auth.ts";
import { backupRoutes } from "./routes/backups.ts";
import { destinationRoutes } from "./routes/destinations.ts";
import { downloadRoutes } from "./routes/download.ts";
import { healthRoutes } from "./routes/health.ts";
import { pointInTimeRoutes } from "./routes/point-in-time.ts";
import { projectRoutes } from "./routes/projects.ts";
import { restoreRoutes } from "./routes/restores.ts";
import { webRoutes } from "./web/static.ts";

/** Extra routes added by other modules (schedules, alerts, notifications: issue 12) before the web fallback. */
export type RouteModule = (app: OpenAPIHono<AppEnv>, services: Services) => void;

export function createApp(services: Services, extraRoutes: readonly RouteModule[] = []): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) {
        const issue = result.error.issues[0];
        const field = issue?.path.join(".") || undefined;
        throw new ApiError("INVALID_INPUT", `${field ? `${field}: ` : ""}${issue?.message ?? "invalid input"}`, field);
      }
    },
  });

  app.onError((error, c) => {
    if (error instanceof ApiError) {
      for (const [k, v] of Object.entries(error.headers ?? {})) c.header(k, v);
      return c.json(error.toBody(), error.status as 400);
    }
    if (error instanceof HTTPException) {
      if (error.status === 413) return c.json(new ApiError("PAYLOAD_TOO_LARGE", "the request body is too large").toBody(), 413);
      if (error.status === 400) {
        return c.json(new ApiError("INVALID_INPUT", `the request body is not valid: ${error.message}`).toBody(), 422);
      }
      return c.json({ error: { code: "HTTP_ERROR", message: error.message } }, error.status);
    }
    services.log.error({ err: error, method: c.req.method, path: c.req.path }, "request failed");
    return c.json(new ApiError("INTERNAL", "the server failed to handle this request; see its log").toBody(), 500);
  });
  app.notFound((c) => c.json(new ApiError("NOT_FOUND", `no route ${c.req.method} ${c.req.path}`).toBody(), 404));

  app.use("*", secureHeaders({ crossOriginResourcePolicy: "same-origin", referrerPolicy: "no-referrer" }));
  // JSON bodies are small; the one upload route (POST /api/restores) streams and sets its own limit.
  app.use("/api/*", async (c, next) => {
    if (c.req.path === "/api/restores" && c.req.method === "POST") return next();
    return bodyLimit({
      maxSize: services.config.maxJsonBytes,
      onError: () => {
        throw new ApiError("PAYLOAD_TOO_LARGE", `the request body is larger than ${services.config.maxJsonBytes} bytes`);
      },
    })(c, next);
  });
  app.use("/api/*", authMiddleware(services));

  app.openAPIRegistry.registerComponent("securitySchemes", "cookieSession", {
    type: "apiKey",
    in: "cookie",
    name: "stowage_session",
    description:
      "Session cookie set by POST /api/auth/login (HTTP-only, SameSite=Strict). Requests that change something must also send the header X-CSRF-Token with the csrfToken from the login answer, GET /api/auth/me or the stowage_csrf cookie.",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "bearerToken", {
    type: "http",
    scheme: "bearer",
    description: "API token from POST /api/tokens: `Authorization: Bearer <token>`; no CSRF header needed.",
  });

  healthRoutes(app, services);
  authRoutes(app, services);
  destinationRoutes(app, services);
  projectRoutes(app, services);
  backupRoutes(app, services);
  restoreRoutes(app, services);
  pointInTimeRoutes(app, services);
  auditRoutes(app, services);
  downloadRoutes(app, services);
  for (const add of extraRoutes) add(app, services);

  app.doc31("/api/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: "Stowage backup server",
      version: services.version,
      description:
        "Errors are `{ error: { code, message, field? } }`. Authenticate with the session cookie (plus X-CSRF-Token on changes) or `Authorization: Bearer <api token>`.",
    },
  });
  webRoutes(app, services);
  return app;
}

/** @module server/routes/health */
import { type OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv, Services } from "../context.ts";
import { jsonRoute } from "./common.ts";

export function healthRoutes(app: OpenAPIHono<AppEnv>, s: Services): void {
  app.openapi(
    jsonRoute({
      method: "get",
      path: "/api/health",
      tags: ["health"],
      summary: "Liveness and metadata database status (no auth)",
      public: true,
      schema: z.object({ status: z.enum(["ok", "degraded"]), version: z.string(), metadata: z.enum(["ok", "error"]) }),
    }),
    async (c) => {
      const up = await s.store.ping();
      return c.json(
        {
          status: up ? ("ok" as const) : ("degraded" as const),
          version: s.version,
          metadata: up ? ("ok" as const) : ("error" as const),
        },
        up ? 200 : (503 as 200),
      );
    },
  );
}

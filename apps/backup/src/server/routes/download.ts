/**
 * @module server/routes/download
 * The seed's `GET /api/backup/download/:token`: the storage layer's browser-download handler streams
 * the staged `.tar` once, then removes it; the token itself is the authorisation (no session needed).
 */
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { createDownloadHandler } from "@stowage/storage";
import type { AppEnv, Services } from "../context.ts";

export function downloadRoutes(app: OpenAPIHono<AppEnv>, s: Services): void {
  const handler = createDownloadHandler(s.downloads, { onError: (error) => s.log.error({ err: error }, "download failed") });
  app.openapi(
    createRoute({
      method: "get",
      path: "/api/backup/download/{token}",
      tags: ["backups"],
      summary: "One-time browser download of a backup as <name>-<timestamp>.tar (no auth: the token is the key)",
      request: {
        params: z.object({
          token: z
            .string()
            .min(1)
            .max(200)
            .openapi({ param: { name: "token", in: "path" } }),
        }),
      },
      responses: {
        200: { description: "The .tar", content: { "application/x-tar": { schema: z.string().openapi({ format: "binary" }) } } },
        404: { description: "Unknown or used", content: { "text/plain": { schema: z.string() } } },
        410: { description: "Expired", content: { "text/plain": { schema: z.string() } } },
      },
    }),
    async (c) => {
      // Resolved here too (the handler resolves again) so the audit event can name the backup.
      const found = await s.downloads.resolveToken(c.req.valid("param").token).catch(() => undefined);
      if (found?.status === "expired") {
        return c.text("This download link has expired; run the backup again for a new one.\n", 410, {
          "Cache-Control": "no-store",
        }) as never;
      }
      const response = await handler(c.req.raw);
      if (response.status === 200 && found?.status === "valid") {
        response.headers.set("Content-Type", "application/x-tar");
        if (c.req.method === "GET") {
          const backupId = found.key.slice(0, found.key.indexOf("/"));
          await s.audit.record({ ip: c.get("ip") }, "backup_downloaded", { type: "backup", id: backupId });
        }
      }
      return response as never;
    },
  );
}

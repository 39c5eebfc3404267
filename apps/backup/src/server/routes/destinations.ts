/** @module server/routes/destinations: the seed's StorageDestinationService over HTTP. */
import { type OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv, Services } from "../context.ts";
import { DESTINATION_TYPES } from "../services/destinations.ts";
import { IdParam, jsonBody, jsonRoute, Ok } from "./common.ts";

const Config = z.record(z.string(), z.unknown()).openapi({
  description:
    "Provider settings. s3: endpoint, region, bucket, prefix, accessKeyId, secretAccessKey, forcePathStyle. nextcloud: serverUrl, username, password, basePath. google_drive: folderId and serviceAccountKey or oauth. local_mapped: basePath. Secret fields are answered as { set: true }.",
});

export const Destination = z
  .object({
    id: z.string(),
    name: z.string(),
    type: z.enum(DESTINATION_TYPES),
    location: z.string().nullable(),
    config: Config,
    enabled: z.boolean(),
    isDefault: z.boolean(),
    lastValidated: z.string().nullable(),
    validationStatus: z.enum(["valid", "invalid", "pending"]).nullable(),
    validationError: z.string().nullable(),
    availableSpace: z.number().nullable(),
    totalBackups: z.number(),
    totalSize: z.number(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi("StorageDestination");

const Name = z.string().trim().min(1).max(100);

export function destinationRoutes(app: OpenAPIHono<AppEnv>, s: Services): void {
  const actor = (c: { get(k: "auth"): { user: { id: string; email: string }; ip: string } }) => ({
    user: c.get("auth").user,
    ip: c.get("auth").ip,
  });

  app.openapi(
    jsonRoute({
      method: "get",
      path: "/api/destinations",
      tags: ["destinations"],
      summary: "Storage destinations",
      schema: z.object({ items: z.array(Destination) }),
    }),
    async (c) => {
      const items = await Promise.all((await s.store.destinations.list()).map((r) => s.destinations.viewWithLocation(r)));
      return c.json({ items }, 200);
    },
  );

  app.openapi(
    jsonRoute({
      method: "post",
      path: "/api/destinations",
      tags: ["destinations"],
      summary: "Add a storage destination: the config and the connection are checked before it is saved",
      request: jsonBody(
        z.object({
          name: Name,
          type: z.enum(DESTINATION_TYPES),
          config: Config,
          enabled: z.boolean().optional(),
          isDefault: z.boolean().optional(),
        }),
      ),
      status: 201,
      schema: Destination,
      extraErrors: { 409: "Name already used" },
    }),
    async (c) => c.json(await s.destinations.create(c.req.valid("json"), actor(c)), 201),
  );

  app.openapi(
    jsonRoute({
      method: "get",
      path: "/api/destinations/{id}",
      tags: ["destinations"],
      summary: "One storage destination",
      request: { params: IdParam },
      schema: Destination,
    }),
    async (c) => c.json(await s.destinations.viewWithLocation(await s.destinations.get(c.req.valid("param").id)), 200),
  );

  app.openapi(
    jsonRoute({
      method: "patch",
      path: "/api/destinations/{id}",
      tags: ["destinations"],
      summary: "Change a destination; secrets left out (or sent back as { set: true }) are kept",
      request: {
        params: IdParam,
        ...jsonBody(
          z.object({
            name: Name.optional(),
            config: Config.optional(),
            enabled: z.boolean().optional(),
            isDefault: z.boolean().optional(),
          }),
        ),
      },
      schema: Destination,
    }),
    async (c) => c.json(await s.destinations.update(c.req.valid("param").id, c.req.valid("json"), actor(c)), 200),
  );

  app.openapi(
    jsonRoute({
      method: "delete",
      path: "/api/destinations/{id}",
      tags: ["destinations"],
      summary: "Remove a destination (its backups stay where they are)",
      request: { params: IdParam },
      schema: Ok,
    }),
    async (c) => {
      await s.destinations.delete(c.req.valid("param").id, actor(c));
      return c.json({ ok: true as const }, 200);
    },
  );

  app.openapi(
    jsonRoute({
      method: "post",
      path: "/api/destinations/{id}/test",
      tags: ["destinations"],
      summary: "Test the connection; updates the validation columns",
      request: { params: IdParam },
      schema: z.object({
        valid: z.boolean(),
        error: z.string().optional(),
        availableSpace: z.number().nullable(),
        lastTested: z.string(),
      }),
    }),
    async (c) => c.json(await s.destinations.test(c.req.valid("param").id), 200),
  );
}

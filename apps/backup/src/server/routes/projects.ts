/** @module server/routes/projects: databases to back up. */
import { type OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv, Services } from "../context.ts";
import { PROJECT_KINDS } from "../services/projects.ts";
import { IdParam, jsonBody, jsonRoute, Ok } from "./common.ts";

export const Project = z
  .object({
    id: z.string(),
    name: z.string(),
    databaseUrl: z.string().openapi({ description: "The URL with its password shown as ***" }),
    hasPassword: z.boolean(),
    kind: z.enum(PROJECT_KINDS),
    includeMigrationHistory: z.boolean(),
    lastTestedAt: z.string().nullable(),
    lastTestOk: z.boolean().nullable(),
    lastTestError: z.string().nullable(),
    serverVersion: z.string().nullable(),
    supabase: z.boolean().nullable(),
    sizeBytes: z.number().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi("Project");

const Name = z.string().trim().min(1).max(100);
const Url = z.string().trim().min(1).max(4096).openapi({ description: "postgresql://user:password@host:5432/database" });

export function projectRoutes(app: OpenAPIHono<AppEnv>, s: Services): void {
  const actor = (c: { get(k: "auth"): { user: { id: string; email: string }; ip: string } }) => ({
    user: c.get("auth").user,
    ip: c.get("auth").ip,
  });

  app.openapi(
    jsonRoute({
      method: "get",
      path: "/api/projects",
      tags: ["projects"],
      summary: "Projects",
      schema: z.object({ items: z.array(Project) }),
    }),
    async (c) => c.json({ items: (await s.store.projects.list()).map((p) => s.projects.view(p)) }, 200),
  );

  app.openapi(
    jsonRoute({
      method: "post",
      path: "/api/projects",
      tags: ["projects"],
      summary: "Add a project (a database to back up)",
      request: jsonBody(
        z.object({
          name: Name,
          databaseUrl: Url,
          kind: z.enum(PROJECT_KINDS).default("auto"),
          includeMigrationHistory: z.boolean().default(true),
        }),
      ),
      status: 201,
      schema: Project,
      extraErrors: { 409: "Name already used" },
    }),
    async (c) => c.json(await s.projects.create(c.req.valid("json"), actor(c)), 201),
  );

  app.openapi(
    jsonRoute({
      method: "get",
      path: "/api/projects/{id}",
      tags: ["projects"],
      summary: "One project",
      request: { params: IdParam },
      schema: Project,
    }),
    async (c) => c.json(s.projects.view(await s.projects.get(c.req.valid("param").id)), 200),
  );

  app.openapi(
    jsonRoute({
      method: "patch",
      path: "/api/projects/{id}",
      tags: ["projects"],
      summary: "Change a project; a databaseUrl whose password is *** keeps the stored password",
      request: {
        params: IdParam,
        ...jsonBody(
          z.object({
            name: Name.optional(),
            databaseUrl: Url.optional(),
            kind: z.enum(PROJECT_KINDS).optional(),
            includeMigrationHistory: z.boolean().optional(),
          }),
        ),
      },
      schema: Project,
    }),
    async (c) => c.json(await s.projects.update(c.req.valid("param").id, c.req.valid("json"), actor(c)), 200),
  );

  app.openapi(
    jsonRoute({
      method: "delete",
      path: "/api/projects/{id}",
      tags: ["projects"],
      summary: "Remove a project (its backups stay)",
      request: { params: IdParam },
      schema: Ok,
    }),
    async (c) => {
      await s.projects.delete(c.req.valid("param").id, actor(c));
      return c.json({ ok: true as const }, 200);
    },
  );

  app.openapi(
    jsonRoute({
      method: "post",
      path: "/api/projects/{id}/test",
      tags: ["projects"],
      summary: "Test the connection: server version, Supabase or plain PostgreSQL, size",
      request: { params: IdParam },
      schema: z.object({
        ok: z.boolean(),
        serverVersion: z.string().nullable(),
        supabase: z.boolean().nullable(),
        sizeBytes: z.number().nullable(),
        error: z.string().optional(),
      }),
    }),
    async (c) => c.json(await s.projects.test(c.req.valid("param").id), 200),
  );
}

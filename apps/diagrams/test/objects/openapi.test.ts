/**
 * GET /openapi.json describes exactly the API the service mounts: every route of every route group
 * (the core groups and part 2's, as server.ts composes them) is in the document with its method, and
 * every documented method and path is a mounted route. A route added without its documentation, or
 * documentation left behind by a removed route, fails here.
 */
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../src/app.ts";
import { createTokenService } from "../../src/auth/tokens.ts";
import { objectRouteGroups } from "../../src/objects/wiring.ts";
import { type ObjectHarness, startObjectService } from "./harness.ts";

const METHODS = new Set(["get", "put", "post", "delete", "patch", "head", "options"]);

/** Hono's `/diagrams/:diagramId/exports` and `/objects/public/*` in OpenAPI's template form. */
function toTemplate(path: string): string {
  const template = path.replace(/:([A-Za-z_]\w*)/g, "{$1}").replace(/\/\*$/, "/{path}");
  return template.length > 1 ? template.replace(/\/$/, "") : template;
}

describe("openapi.json", () => {
  let h: ObjectHarness;
  beforeAll(async () => {
    h = await startObjectService();
  });
  afterAll(async () => {
    await h?.close();
  });

  it("documents every mounted route, and documents nothing that is not mounted", async () => {
    const app = createApp(
      {
        db: h.db,
        tokens: createTokenService({ secret: "openapi-test-secret-0123456789abcdef" }),
        logger: pino({ level: "silent" }),
        maxDiagramBytes: 1024 * 1024,
      },
      objectRouteGroups(h.services),
    );
    const mounted = new Set(
      app.routes
        .filter((r) => METHODS.has(r.method.toLowerCase())) // not the "ALL" middlewares
        .map((r) => `${r.method.toLowerCase()} ${toTemplate(r.path)}`)
        .filter((r) => r !== "get /openapi.json"),
    );
    const res = await app.request("/openapi.json");
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { paths: Record<string, Record<string, unknown>> };
    const documented = new Set(
      Object.entries(doc.paths).flatMap(([path, item]) =>
        Object.keys(item)
          .filter((k) => METHODS.has(k))
          .map((method) => `${method} ${path}`),
      ),
    );
    // Part 2's routes are among those checked (they were missing from the document before).
    for (const route of [
      "post /diagrams/{diagramId}/exports",
      "put /diagrams/{diagramId}/draft",
      "post /projects/{projectId}/imports",
      "delete /projects/{projectId}/attachments/{attachmentId}",
      "post /projects/{projectId}/backups/{backupId}/restore",
      "get /objects/private/{path}",
      "get /metrics",
    ]) {
      expect(mounted).toContain(route);
    }
    expect([...mounted].filter((r) => !documented.has(r)).sort()).toEqual([]);
    expect([...documented].filter((r) => !mounted.has(r)).sort()).toEqual([]);
  });

  it("takes request bodies from the routes' zod schemas", async () => {
    const res = await fetch(`${h.url}/openapi.json`);
    const doc = (await res.json()) as {
      paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: { properties?: object } }> } }>>;
    };
    const exportBody = doc.paths["/diagrams/{diagramId}/exports"]!.post!.requestBody!.content["application/json"]!.schema;
    expect(exportBody.properties).toMatchObject({ format: { enum: ["png", "svg", "pdf", "xml"] } });
    const draftBody = doc.paths["/diagrams/{diagramId}/draft"]!.put!.requestBody!.content["application/json"]!.schema;
    expect(Object.keys(draftBody.properties ?? {})).toEqual(["bpmn_xml", "base_version"]);
  });
});

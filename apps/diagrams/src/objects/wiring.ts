/**
 * @module objects/wiring
 * How part 2 plugs into the app without the core routes knowing about it:
 *  - `objectRouteGroups(services)`: its route groups, passed to `createApp(deps, extraGroups)`;
 *  - `withObjectHooks(fetch, services)`: a wrapper around the app's fetch that reacts to successful
 *    writes of the core routes: a diagram's content changed → its thumbnail is re-rendered (debounced,
 *    after the answer); a diagram's or project's visibility may have changed (PATCH, DELETE, restore)
 *    → its objects are moved between the buckets before the answer leaves, so a diagram made private
 *    has no public objects by the time the client hears back.
 */

import { attachmentRoutes } from "../api/attachments.ts";
import { draftRoutes } from "../api/drafts.ts";
import { exportRoutes } from "../api/exports.ts";
import { importRoutes } from "../api/imports.ts";
import { metricsRoutes } from "../api/metrics.ts";
import { objectRoutes } from "../api/objects.ts";
import { projectBackupRoutes } from "../api/project-backups.ts";
import type { RouteGroup } from "../app.ts";
import type { ObjectServices } from "./services.ts";

export function objectRouteGroups(services: ObjectServices): RouteGroup[] {
  return [
    { path: "/objects", routes: () => objectRoutes(services) },
    { path: "/metrics", routes: () => metricsRoutes(services) },
    { path: "/diagrams", routes: () => exportRoutes(services) },
    { path: "/diagrams", routes: (deps) => draftRoutes(deps, services) },
    { path: "/projects", routes: (deps) => importRoutes(deps, services) },
    { path: "/projects", routes: (deps) => attachmentRoutes(deps, services) },
    { path: "/projects", routes: (deps) => projectBackupRoutes(deps, services) },
  ];
}

/** Marks the diagram's project changed (automatic backups after changes); never fails the request. */
async function markDiagramChanged(services: ObjectServices, diagramId: string): Promise<void> {
  try {
    await services.backups.markDiagramChanged(diagramId);
  } catch {}
}

/** The JSON of a response as a client would read it (the app may have compressed it). */
async function readJson(response: Response): Promise<unknown> {
  const encoding = response.headers.get("content-encoding");
  let body = response.body;
  if (!body) return null;
  if (encoding === "gzip" || encoding === "deflate") body = body.pipeThrough(new DecompressionStream(encoding));
  try {
    return await new Response(body).json();
  } catch {
    return null;
  }
}

type Fetch = (request: Request, ...rest: never[]) => Response | Promise<Response>;

const UUID = "[0-9a-fA-F-]{36}";
const DIAGRAM_WRITE = new RegExp(`^/diagrams/(${UUID})(/.*)?$`);
const PROJECT_WRITE = new RegExp(`^/projects/(${UUID})(/(restore))?$`);
const CREATES_DIAGRAM = /^\/diagrams(\/import)?\/?$/;

export function withObjectHooks<F extends Fetch>(fetch: F, services: ObjectServices): F {
  const { store, thumbnails } = services;
  const wrapped = async (request: Request, ...rest: never[]) => {
    const response = await fetch(request, ...rest);
    if (request.method === "GET" || request.method === "HEAD" || response.status >= 300) return response;
    const path = new URL(request.url).pathname;
    const diagram = DIAGRAM_WRITE.exec(path);
    if (diagram) {
      const id = diagram[1]!.toLowerCase();
      const sub = diagram[2] ?? "";
      if (/^\/(content|restore|versions\/\d+\/restore)$/.test(sub)) thumbnails.schedule(id);
      void markDiagramChanged(services, id);
      if (sub === "" || /restore$/.test(sub)) {
        await thumbnails.settled();
        await store.syncDiagramVisibility([id]).catch(() => undefined);
      }
      return response;
    }
    const project = PROJECT_WRITE.exec(path);
    if (project) {
      void services.backups.markChanged(project[1]!.toLowerCase()).catch(() => undefined);
      await thumbnails.settled();
      await store.syncProjectVisibility(project[1]!.toLowerCase()).catch(() => undefined);
      return response;
    }
    if (request.method === "POST" && CREATES_DIAGRAM.test(path) && response.status === 201) {
      const body = (await readJson(response.clone())) as { diagram?: { id?: string } } | null;
      if (body?.diagram?.id) thumbnails.schedule(body.diagram.id);
    }
    return response;
  };
  return wrapped as F;
}

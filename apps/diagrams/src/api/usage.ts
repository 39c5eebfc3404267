/**
 * @module api/usage
 * `GET /usage`: the caller's plan, its limits (null = unlimited) and what the caller uses of them:
 * live projects, diagrams (personal space and the caller's projects, live and in the trash), the
 * versions kept of those diagrams, and bytes charged to the caller (profiles.storage_used_bytes:
 * diagram XML, versions, exports, attachments and backups). What the "Plan and storage" screen
 * shows; counted under row level security like every other read.
 */
import { Hono } from "hono";
import { notFound } from "../errors.ts";
import { type AppEnv, type ResolvedDeps, requireUser } from "./context.ts";

interface UsageRow {
  plan: string;
  projects_limit: number | null;
  diagrams_per_project: number | null;
  personal_diagrams: number | null;
  version_history: number | null;
  total_storage_bytes: number | null;
  export_formats: string[];
  projects: number;
  diagrams: number;
  diagrams_in_trash: number;
  versions: number;
  bytes: number;
}

export function usageRoutes(deps: ResolvedDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.get("/", async (c) => {
    const claims = requireUser(c);
    const row = await deps.db.asUser(claims, async (sql) => {
      // The diagrams charged to the caller: the personal space and every diagram of the caller's
      // projects (also those an editor created there), as the plan limits count them.
      const { rows } = await sql.query<UsageRow>(
        `with mine as (
           select d.id, d.deleted_at from public.diagrams d
           left join public.projects p on p.id = d.project_id
           where (d.project_id is null and d.profile_id = $1) or p.profile_id = $1
         )
         select pr.plan, l.projects as projects_limit, l.diagrams_per_project, l.personal_diagrams, l.version_history,
           l.total_storage_bytes::float8 as total_storage_bytes, l.export_formats,
           (select count(*) from public.projects p where p.profile_id = $1 and p.deleted_at is null)::int as projects,
           (select count(*) from mine where mine.deleted_at is null)::int as diagrams,
           (select count(*) from mine where mine.deleted_at is not null)::int as diagrams_in_trash,
           (select count(*) from public.diagram_versions v join mine on mine.id = v.diagram_id)::int as versions,
           pr.storage_used_bytes::float8 as bytes
         from public.profiles pr join public.plan_limits l on l.plan = pr.plan
         where pr.id = $1`,
        [claims.sub],
      );
      return rows[0];
    });
    if (!row) throw notFound("profile (sign up first)");
    return c.json({
      plan: row.plan,
      limits: {
        projects: row.projects_limit,
        diagrams_per_project: row.diagrams_per_project,
        personal_diagrams: row.personal_diagrams,
        versions_kept: row.version_history,
        total_storage_bytes: row.total_storage_bytes,
        export_formats: row.export_formats,
      },
      used: {
        projects: row.projects,
        diagrams: row.diagrams,
        diagrams_in_trash: row.diagrams_in_trash,
        versions: row.versions,
        bytes: row.bytes,
      },
    });
  });

  return app;
}

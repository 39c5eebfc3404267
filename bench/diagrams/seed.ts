/**
 * @module bench/diagrams/seed
 * Seeds the benchmark database with generate_series, in SQL only (seconds, not hours): users with
 * PRO profiles (no limits, full history), projects, diagrams and versions whose XML is a real BPMN
 * file with one name changed per diagram and version (so TOAST compresses realistic, distinct values).
 *
 * Triggers are switched off for the bulk insert (`session_replication_role = replica`, superuser
 * only) and their bookkeeping is done once afterwards: `diagrams.version` is the last version and
 * `profiles.storage_used_bytes` the exact sum, as the triggers would have left them.
 */
import type pg from "pg";

export interface SeedSize {
  users: number;
  diagrams: number;
  versions: number;
  /** Diagrams in the personal space of the first ("heavy") user: the list walked to depth 5,000. */
  heavyDiagrams: number;
  projectsPerUser: number;
}

export const HEAVY_EMAIL = "bench-1@example.test";

export async function seed(client: pg.Client, size: SeedSize, templateXml: string): Promise<void> {
  const perDiagram = Math.max(1, Math.round(size.versions / size.diagrams));
  const others = size.diagrams - size.heavyDiagrams;
  await client.query("begin");
  await client.query("set local session_replication_role = replica");
  await client.query("create temp table tpl (xml text) on commit drop");
  await client.query("insert into tpl values ($1)", [templateXml]);
  await client.query(
    `insert into auth.users (id, email) select gen_random_uuid(), 'bench-' || g || '@example.test' from generate_series(1, $1::int) g`,
    [size.users],
  );
  await client.query(
    `insert into public.profiles (id, email, plan) select id, email, 'PRO' from auth.users where email like 'bench-%'`,
  );
  await client.query(
    `insert into public.projects (profile_id, name, created_at, updated_at)
     select p.id, 'Project ' || k, now() - interval '30 days', now() - interval '30 days'
     from public.profiles p cross join generate_series(1, $1::int) k where p.email <> $2`,
    [size.projectsPerUser, HEAVY_EMAIL],
  );
  // The heavy user's personal space: one diagram per second of history, microseconds varied.
  await client.query(
    `insert into public.diagrams (profile_id, created_by, title, bpmn_xml, version, created_at, updated_at)
     select p.id, p.id, 'Diagram ' || g, replace(t.xml, 'BENCH_NAME', 'H' || g || ' v' || $2::int), $2::int,
            ts, ts
     from public.profiles p, tpl t, generate_series(1, $1::int) g,
          lateral (select now() - g * interval '1 second' - (random() * 999999)::int * interval '1 microsecond' as ts) x
     where p.email = $3`,
    [size.heavyDiagrams, perDiagram, HEAVY_EMAIL],
  );
  await client.query(
    `with pr as (select id, profile_id, row_number() over (order by id) - 1 as rn, count(*) over () as n from public.projects)
     insert into public.diagrams (project_id, profile_id, created_by, title, bpmn_xml, version, created_at, updated_at)
     select pr.id, pr.profile_id, pr.profile_id, 'Diagram ' || g, replace(t.xml, 'BENCH_NAME', 'O' || g || ' v' || $2::int), $2::int,
            now() - g * interval '10 ms', now() - g * interval '10 ms'
     from generate_series(1, $1::int) g, tpl t, pr where pr.rn = g % pr.n`,
    [others, perDiagram],
  );
  await client.query(
    `insert into public.diagram_versions (diagram_id, version, bpmn_xml, author_id, message, created_at)
     select d.id, v, replace(t.xml, 'BENCH_NAME', split_part(d.title, ' ', 2) || ' v' || v), d.profile_id, 'save ' || v, d.created_at
     from public.diagrams d, tpl t, generate_series(1, $1::int) v`,
    [perDiagram],
  );
  await client.query(
    `update public.profiles p set storage_used_bytes = s.bytes
     from (select d.profile_id, sum(d.xml_bytes) + sum((select sum(v.xml_bytes) from public.diagram_versions v where v.diagram_id = d.id)) as bytes
           from public.diagrams d group by d.profile_id) s
     where s.profile_id = p.id`,
  );
  await client.query("commit");
  await client.query("analyze");
}

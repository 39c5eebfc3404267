-- 0003_rls.sql
-- Row level security is the enforcement. Requests run as `authenticated` (or `anon`) with the JWT
-- claims set; these policies decide what each caller sees and changes.
--
-- ENABLE, not FORCE: the tables' owner (the service connection that runs migrations, local sign-up
-- and maintenance) bypasses RLS, and so do the SECURITY DEFINER helpers it owns, which must count an
-- owner's rows for plan limits and maintain storage totals whatever the caller may see. FORCE would
-- subject those to the policies too (where auth.uid() is the caller's) and break them. User requests
-- never run as the owner: the adapters always SET LOCAL ROLE authenticated/anon first.
--
-- Access model (who may do what):
--   project owner (projects.profile_id)  everything on the project, its diagrams and collaborators;
--                                        the only one who sees/restores/purges trash, trashes or
--                                        purges the project itself
--   collaborator 'owner'                 co-owner: edits the project row, manages collaborators,
--                                        creates/edits/trashes/purges the project's diagrams
--   collaborator 'editor'                reads the project; creates diagrams in it and edits them
--                                        (content, title, metadata); cannot trash, purge or share
--   collaborator 'viewer'                reads the project and its diagrams, writes nothing
--   anyone incl. anon                    reads public, non-deleted projects and diagrams, the live
--                                        diagrams of public projects, and the versions of readable
--                                        diagrams
--   personal-space diagrams (project_id is null) belong to their owner alone (unless public).
-- Soft-deleted rows are invisible to everybody but their owner (the trash).

-- ── membership helper ───────────────────────────────────────────────────────────────────────
-- The caller's role in a project: 'owner' | 'editor' | 'viewer' | null. SECURITY DEFINER so policies
-- on projects/collaborators/diagrams can use it without recursing into each other's policies.
-- Collaborators lose access while the project is in the trash; its owner keeps it.
create function public.project_role(p_project_id uuid) returns text
  language sql
  stable
  security definer
  set search_path = ''
  as $$
    select case
             when p.profile_id = (select auth.uid()) then 'owner'
             when p.deleted_at is null then (
               select c.role from public.collaborators c
               where c.project_id = p.id and c.user_id = (select auth.uid())
             )
           end
    from public.projects p
    where p.id = p_project_id
  $$;

-- Whether the caller shares a live project with profile `p_profile_id` (to show collaborators'
-- names and emails).
create function public.is_project_peer(p_profile_id uuid) returns boolean
  language sql
  stable
  security definer
  set search_path = ''
  as $$
    select exists (
      select 1
      from public.projects p
      left join public.collaborators mine on mine.project_id = p.id and mine.user_id = (select auth.uid())
      left join public.collaborators theirs on theirs.project_id = p.id and theirs.user_id = p_profile_id
      where p.deleted_at is null
        and (p.profile_id = (select auth.uid()) or mine.user_id is not null)
        and (p.profile_id = p_profile_id or theirs.user_id is not null)
    )
  $$;

-- Whether a project is public and not in the trash (its live diagrams are then public too).
create function public.project_is_public(p_project_id uuid) returns boolean
  language sql
  stable
  security definer
  set search_path = ''
  as $$
    select exists (
      select 1 from public.projects p where p.id = p_project_id and p.is_public and p.deleted_at is null
    )
  $$;

revoke all on function public.project_is_public(uuid) from public;
grant execute on function public.project_is_public(uuid) to anon, authenticated;
revoke all on function public.project_role(uuid) from public;
revoke all on function public.is_project_peer(uuid) from public;
grant execute on function public.project_role(uuid) to anon, authenticated;
grant execute on function public.is_project_peer(uuid) to authenticated;

-- ── grants ──────────────────────────────────────────────────────────────────────────────────
-- Supabase grants ALL on new public tables to anon/authenticated by default privileges: start from
-- nothing, then grant exactly what the policies need. Column lists keep ids, owners, versions,
-- counters and timestamps out of users' hands (triggers maintain them).
grant usage on schema public to anon, authenticated;

revoke all on public.plan_limits, public.profiles, public.projects, public.collaborators,
              public.diagrams, public.diagram_versions from anon, authenticated;

grant select on public.plan_limits to anon, authenticated;

grant select on public.profiles to authenticated;
grant update (display_name) on public.profiles to authenticated;

grant select on public.projects to anon, authenticated;
grant insert (id, profile_id, name, description, settings, metadata, is_public) on public.projects to authenticated;
grant update (name, description, settings, metadata, is_public, deleted_at) on public.projects to authenticated;
grant delete on public.projects to authenticated;

grant select on public.collaborators to authenticated;
grant insert (project_id, user_id, role) on public.collaborators to authenticated;
grant update (role) on public.collaborators to authenticated;
grant delete on public.collaborators to authenticated;

grant select on public.diagrams to anon, authenticated;
grant insert (id, project_id, profile_id, title, bpmn_xml, thumbnail, metadata, is_public) on public.diagrams to authenticated;
grant update (project_id, title, bpmn_xml, thumbnail, metadata, is_public, deleted_at) on public.diagrams to authenticated;
grant delete on public.diagrams to authenticated;

-- Versions are written only by the diagrams trigger (0004): no INSERT/UPDATE/DELETE for users.
grant select on public.diagram_versions to anon, authenticated;

alter table public.plan_limits enable row level security;
alter table public.profiles enable row level security;
alter table public.projects enable row level security;
alter table public.collaborators enable row level security;
alter table public.diagrams enable row level security;
alter table public.diagram_versions enable row level security;

-- ── plan_limits ─────────────────────────────────────────────────────────────────────────────
create policy "Plan limits are public" on public.plan_limits
  for select to anon, authenticated using (true);

-- ── profiles ────────────────────────────────────────────────────────────────────────────────
create policy "Users read own profile and their collaborators'" on public.profiles
  for select to authenticated
  using (id = (select auth.uid()) or public.is_project_peer(id));

create policy "Users update own profile" on public.profiles
  for update to authenticated
  using (id = (select auth.uid()))
  with check (id = (select auth.uid()));

-- ── projects ────────────────────────────────────────────────────────────────────────────────
create policy "Owners and collaborators read projects" on public.projects
  for select to authenticated
  using (
    profile_id = (select auth.uid())
    or (deleted_at is null and (is_public or public.project_role(id) is not null))
  );

create policy "Public projects are readable by anyone" on public.projects
  for select to anon
  using (is_public and deleted_at is null);

create policy "Users create own projects" on public.projects
  for insert to authenticated
  with check (profile_id = (select auth.uid()));

-- Co-owners may edit the project row; trashing/restoring is reserved to the owner by the
-- projects_guard trigger (0004), which can compare old and new deleted_at.
create policy "Owners update projects" on public.projects
  for update to authenticated
  using (public.project_role(id) = 'owner')
  with check (public.project_role(id) = 'owner');

create policy "Owners purge projects" on public.projects
  for delete to authenticated
  using (profile_id = (select auth.uid()));

-- ── collaborators ───────────────────────────────────────────────────────────────────────────
create policy "Members read the project's collaborators" on public.collaborators
  for select to authenticated
  using (user_id = (select auth.uid()) or public.project_role(project_id) is not null);

create policy "Owners share projects" on public.collaborators
  for insert to authenticated
  with check (public.project_role(project_id) = 'owner');

create policy "Owners change roles" on public.collaborators
  for update to authenticated
  using (public.project_role(project_id) = 'owner')
  with check (public.project_role(project_id) = 'owner');

-- Owners remove anyone; a collaborator may leave.
create policy "Owners unshare, collaborators leave" on public.collaborators
  for delete to authenticated
  using (user_id = (select auth.uid()) or public.project_role(project_id) = 'owner');

-- ── diagrams ────────────────────────────────────────────────────────────────────────────────
create policy "Owners and collaborators read diagrams" on public.diagrams
  for select to authenticated
  using (
    profile_id = (select auth.uid())
    or (deleted_at is null
        and (is_public
             or (project_id is not null and public.project_role(project_id) is not null)
             or (project_id is not null and public.project_is_public(project_id))))
  );

-- Public diagrams, and the live diagrams of public projects.
create policy "Public diagrams viewable" on public.diagrams
  for select to anon
  using (deleted_at is null and (is_public or (project_id is not null and public.project_is_public(project_id))));

-- profile_id of a project diagram is set to the project's owner by a BEFORE trigger (0004), which
-- runs before this check.
create policy "Owners and editors create diagrams" on public.diagrams
  for insert to authenticated
  with check (
    (project_id is null and profile_id = (select auth.uid()))
    or (project_id is not null and public.project_role(project_id) in ('owner', 'editor'))
  );

-- Trashing, restoring and moving are narrowed further by the diagrams_guard trigger (0004).
create policy "Owners and editors update diagrams" on public.diagrams
  for update to authenticated
  using (
    profile_id = (select auth.uid())
    or (deleted_at is null and project_id is not null
        and public.project_role(project_id) in ('owner', 'editor'))
  )
  with check (
    (project_id is null and profile_id = (select auth.uid()))
    or (project_id is not null and public.project_role(project_id) in ('owner', 'editor'))
  );

create policy "Owners purge diagrams" on public.diagrams
  for delete to authenticated
  using (
    profile_id = (select auth.uid())
    or (project_id is not null and public.project_role(project_id) = 'owner')
  );

-- ── diagram_versions ────────────────────────────────────────────────────────────────────────
-- Readable exactly when the diagram is: the subquery runs under the diagrams policies of the caller.
create policy "Versions of readable diagrams" on public.diagram_versions
  for select to anon, authenticated
  using (exists (select 1 from public.diagrams d where d.id = diagram_id));

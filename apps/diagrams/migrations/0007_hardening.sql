-- 0007_hardening.sql
-- Sharing by consent, one rule for publishing, private helpers, and JSON fields that count.
--
--   * The SECURITY DEFINER helpers project_role, is_project_peer and project_is_public move from
--     `public` (which Supabase exposes as RPC: security definer functions never go there) to
--     `stowage_private`. Policies and triggers are switched over, the public ones dropped.
--   * Sharing is an invitation: a project owner invites an email or a user id (public.invitations);
--     the invitee accepts (stowage_private.accept_invitation) before they become a collaborator,
--     count as a member or see, or are seen by, the project's members. Users can no longer insert
--     collaborator rows themselves: adding someone's id used to reveal their email through the
--     collaborator list. An invitation shows the inviter only what they typed.
--   * Owners decide what is public: only the project's owner (or a co-owner, collaborator role
--     'owner'), or the owner of a personal-space diagram, may set or clear a diagram's is_public,
--     also when creating it (SL403 otherwise). Editors edit content, title and metadata only. The
--     project row (and so its is_public) was already writable by owners only.
--   * projects.settings / projects.metadata / diagrams.metadata are capped (the API allows 64 KiB of
--     compact JSON; the database refuses more than 128 KiB of jsonb text, a backstop for direct SQL)
--     and, with thumbnails, count toward the owner's storage total like diagram XML.

-- ── helpers in stowage_private ──────────────────────────────────────────────────────────────
-- Policies run as the caller: anon/authenticated need USAGE on the schema and EXECUTE on exactly
-- the helpers below (every other function there stays owner-only, revoked from PUBLIC in 0004).
grant usage on schema stowage_private to anon, authenticated;
-- Functions created later in this schema by the migration role are not executable by PUBLIC either.
alter default privileges in schema stowage_private revoke execute on functions from public;

-- The caller's role in a project: 'owner' | 'editor' | 'viewer' | null (as 0003's public version).
create function stowage_private.project_role(p_project_id uuid) returns text
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

-- Whether the caller shares a live project with profile `p_profile_id` (to show members' names and
-- emails). Only collaborators count, and collaborator rows exist only for accepted invitations.
create function stowage_private.is_project_peer(p_profile_id uuid) returns boolean
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
create function stowage_private.project_is_public(p_project_id uuid) returns boolean
  language sql
  stable
  security definer
  set search_path = ''
  as $$
    select exists (
      select 1 from public.projects p where p.id = p_project_id and p.is_public and p.deleted_at is null
    )
  $$;

revoke all on function stowage_private.project_role(uuid) from public;
revoke all on function stowage_private.is_project_peer(uuid) from public;
revoke all on function stowage_private.project_is_public(uuid) from public;
grant execute on function stowage_private.project_role(uuid) to anon, authenticated;
grant execute on function stowage_private.is_project_peer(uuid) to authenticated;
grant execute on function stowage_private.project_is_public(uuid) to anon, authenticated;

-- ── policies switched to the private helpers ────────────────────────────────────────────────
alter policy "Users read own profile and their collaborators'" on public.profiles
  using (id = (select auth.uid()) or stowage_private.is_project_peer(id));

alter policy "Owners and collaborators read projects" on public.projects
  using (
    profile_id = (select auth.uid())
    or (deleted_at is null and (is_public or stowage_private.project_role(id) is not null))
  );

alter policy "Owners update projects" on public.projects
  using (stowage_private.project_role(id) = 'owner')
  with check (stowage_private.project_role(id) = 'owner');

alter policy "Members read the project's collaborators" on public.collaborators
  using (user_id = (select auth.uid()) or stowage_private.project_role(project_id) is not null);

alter policy "Owners change roles" on public.collaborators
  using (stowage_private.project_role(project_id) = 'owner')
  with check (stowage_private.project_role(project_id) = 'owner');

alter policy "Owners unshare, collaborators leave" on public.collaborators
  using (user_id = (select auth.uid()) or stowage_private.project_role(project_id) = 'owner');

-- Collaborators are added only by accepting an invitation (stowage_private.accept_invitation).
drop policy "Owners share projects" on public.collaborators;
revoke insert on public.collaborators from authenticated;

alter policy "Owners and collaborators read diagrams" on public.diagrams
  using (
    profile_id = (select auth.uid())
    or (deleted_at is null
        and (is_public
             or (project_id is not null and stowage_private.project_role(project_id) is not null)
             or (project_id is not null and stowage_private.project_is_public(project_id))))
  );

alter policy "Public diagrams viewable" on public.diagrams
  using (deleted_at is null and (is_public or (project_id is not null and stowage_private.project_is_public(project_id))));

alter policy "Owners and editors create diagrams" on public.diagrams
  with check (
    (project_id is null and profile_id = (select auth.uid()))
    or (project_id is not null and stowage_private.project_role(project_id) in ('owner', 'editor'))
  );

alter policy "Owners and editors update diagrams" on public.diagrams
  using (
    profile_id = (select auth.uid())
    or (deleted_at is null and project_id is not null
        and stowage_private.project_role(project_id) in ('owner', 'editor'))
  )
  with check (
    (project_id is null and profile_id = (select auth.uid()))
    or (project_id is not null and stowage_private.project_role(project_id) in ('owner', 'editor'))
  );

alter policy "Owners purge diagrams" on public.diagrams
  using (
    profile_id = (select auth.uid())
    or (project_id is not null and stowage_private.project_role(project_id) = 'owner')
  );

-- ── owners decide what is public ────────────────────────────────────────────────────────────
-- Whether the caller may publish or unpublish a diagram of `p_owner` in `p_project_id`: the owner
-- of the diagram (the project's owner for project diagrams), or a co-owner of its project. Service
-- connections (no auth.uid()) may.
create function stowage_private.may_publish(p_owner uuid, p_project_id uuid) returns boolean
  language sql
  stable
  security definer
  set search_path = ''
  as $$
    select (select auth.uid()) is null
        or (select auth.uid()) = p_owner
        or (p_project_id is not null and stowage_private.project_role(p_project_id) = 'owner')
  $$;

-- 0004's guard, with the private helper and the publishing rule.
create or replace function stowage_private.diagrams_guard() returns trigger
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_uid uuid := (select auth.uid());
  v_restoring boolean := old.deleted_at is not null and new.deleted_at is null;
  v_moving boolean := new.project_id is distinct from old.project_id;
begin
  if new.deleted_at is distinct from old.deleted_at and v_uid is not null
     and v_uid is distinct from old.profile_id
     and stowage_private.project_role(old.project_id) is distinct from 'owner' then
    raise exception using errcode = '42501',
      message = format('only an owner of diagram %s can move it to the trash or restore it', old.id);
  end if;
  if new.is_public is distinct from old.is_public
     and not stowage_private.may_publish(old.profile_id, old.project_id) then
    raise exception using errcode = 'SL403',
      message = 'only an owner of the project decides whether a diagram is public; editors can change its content, title and metadata';
  end if;
  if v_moving then
    if new.project_id is not null then
      new.profile_id := stowage_private.project_owner_for_diagram(new.project_id);
    elsif v_uid is not null then
      new.profile_id := v_uid;
    end if;
    if new.profile_id is distinct from old.profile_id then
      raise exception using errcode = '42501',
        message = 'a diagram can only move between projects (or the personal space) of the same owner';
    end if;
  elsif new.profile_id is distinct from old.profile_id then
    raise exception using errcode = '42501', message = 'a diagram cannot change owner';
  end if;
  if new.deleted_at is null and (v_moving or v_restoring) then
    perform stowage_private.check_diagram_limit(new.profile_id, new.project_id);
  end if;
  return new;
end
$$;

-- 0004's insert trigger, with the publishing rule (an editor creates private diagrams only).
create or replace function stowage_private.diagrams_before_insert() returns trigger
  language plpgsql
  security definer
  set search_path = ''
  as $$
begin
  if new.project_id is not null then
    new.profile_id := stowage_private.project_owner_for_diagram(new.project_id);
  end if;
  new.created_by := coalesce((select auth.uid()), new.created_by);
  new.version := 1;
  if new.is_public and not stowage_private.may_publish(new.profile_id, new.project_id) then
    raise exception using errcode = 'SL403',
      message = 'only an owner of the project decides whether a diagram is public; create it private';
  end if;
  if new.deleted_at is null then
    perform stowage_private.check_diagram_limit(new.profile_id, new.project_id);
  end if;
  return new;
end
$$;

revoke all on function stowage_private.may_publish(uuid, uuid) from public;

drop function public.project_role(uuid);
drop function public.is_project_peer(uuid);
drop function public.project_is_public(uuid);

-- ── invitations ─────────────────────────────────────────────────────────────────────────────
-- What the inviter typed: an email (stored lower-cased) or a user id, never both. invitee_id has no
-- foreign key on purpose: inviting an id that has no account must answer like one that has.
create table public.invitations (
  id          uuid primary key default gen_random_uuid(),
  project_id  uuid not null references public.projects (id) on delete cascade,
  email       text check (email is null or (char_length(email) <= 254 and email = lower(email))),
  invitee_id  uuid,
  role        text not null check (role in ('viewer', 'editor')),
  invited_by  uuid default auth.uid() references public.profiles (id) on delete set null,
  created_at  timestamptz not null default now(),
  updated_at  timestamptz not null default now(),
  constraint invitations_one_target check ((email is null) <> (invitee_id is null))
);
create unique index invitations_project_email_key on public.invitations (project_id, email) where email is not null;
create unique index invitations_project_invitee_key on public.invitations (project_id, invitee_id)
  where invitee_id is not null;
create index invitations_email_idx on public.invitations (email) where email is not null;
create index invitations_invitee_idx on public.invitations (invitee_id) where invitee_id is not null;

create trigger invitations_set_updated_at before update on public.invitations
  for each row execute function stowage_private.set_updated_at();

-- The caller's own email as their profile has it (not the token's claim).
create function stowage_private.my_email() returns text
  language sql
  stable
  security definer
  set search_path = ''
  as $$ select lower(p.email) from public.profiles p where p.id = (select auth.uid()) $$;
revoke all on function stowage_private.my_email() from public;
grant execute on function stowage_private.my_email() to authenticated;

revoke all on public.invitations from anon, authenticated;
grant select on public.invitations to authenticated;
grant insert (project_id, email, invitee_id, role) on public.invitations to authenticated;
grant update (role) on public.invitations to authenticated;
grant delete on public.invitations to authenticated;
alter table public.invitations enable row level security;

create policy "Owners and invitees read invitations" on public.invitations
  for select to authenticated
  using (
    stowage_private.project_role(project_id) = 'owner'
    or invitee_id = (select auth.uid())
    or (email is not null and email = (select stowage_private.my_email()))
  );

create policy "Owners invite" on public.invitations
  for insert to authenticated
  with check (stowage_private.project_role(project_id) = 'owner' and invited_by = (select auth.uid()));

create policy "Owners change invitations" on public.invitations
  for update to authenticated
  using (stowage_private.project_role(project_id) = 'owner')
  with check (stowage_private.project_role(project_id) = 'owner');

-- Owners withdraw, invitees decline.
create policy "Owners withdraw, invitees decline" on public.invitations
  for delete to authenticated
  using (
    stowage_private.project_role(project_id) = 'owner'
    or invitee_id = (select auth.uid())
    or (email is not null and email = (select stowage_private.my_email()))
  );

-- Accepts an invitation addressed to the caller (by id, or by the email of their profile): the
-- caller becomes a collaborator with the invitation's role (an existing membership takes the new
-- role) and the invitation is gone. SL404 when there is no such invitation for the caller, 55000
-- when the project is in the trash.
create function stowage_private.accept_invitation(p_invitation_id uuid)
  returns table (project_id uuid, role text)
  language plpgsql
  security definer
  set search_path = ''
  as $$
#variable_conflict use_column
declare
  v_uid uuid := (select auth.uid());
  v_inv public.invitations;
  v_owner uuid;
  v_deleted timestamptz;
begin
  select i.* into v_inv from public.invitations i
    where i.id = p_invitation_id
      and v_uid is not null
      and (i.invitee_id = v_uid or (i.email is not null and i.email = stowage_private.my_email()))
    for update;
  if not found then
    raise exception using errcode = 'SL404', message = 'invitation not found (it was withdrawn, accepted, or is not addressed to you)';
  end if;
  select p.profile_id, p.deleted_at into v_owner, v_deleted from public.projects p where p.id = v_inv.project_id;
  if v_deleted is not null then
    raise exception using errcode = '55000', message = 'the project of this invitation is in the trash; ask its owner to restore it';
  end if;
  if v_owner = v_uid then
    delete from public.invitations i where i.id = v_inv.id;
    return query select v_inv.project_id, 'owner'::text;
    return;
  end if;
  insert into public.collaborators as c (project_id, user_id, role, invited_by)
    values (v_inv.project_id, v_uid, v_inv.role, v_inv.invited_by)
    on conflict (project_id, user_id) do update set role = excluded.role;
  delete from public.invitations i where i.id = v_inv.id;
  return query select v_inv.project_id, v_inv.role;
end
$$;
revoke all on function stowage_private.accept_invitation(uuid) from public;
grant execute on function stowage_private.accept_invitation(uuid) to authenticated;

-- ── JSON fields: capped, and counted in storage ─────────────────────────────────────────────
alter table public.projects add constraint projects_settings_size check (octet_length(settings::text) <= 131072) not valid;
alter table public.projects add constraint projects_metadata_size check (octet_length(metadata::text) <= 131072) not valid;
alter table public.diagrams add constraint diagrams_metadata_size check (octet_length(metadata::text) <= 131072) not valid;

create function stowage_private.project_json_bytes(p public.projects) returns bigint
  language sql immutable set search_path = ''
  as $$ select octet_length(p.settings::text)::bigint + octet_length(p.metadata::text) $$;

create function stowage_private.diagram_extra_bytes(d public.diagrams) returns bigint
  language sql immutable set search_path = ''
  as $$ select octet_length(d.metadata::text)::bigint + coalesce(octet_length(d.thumbnail), 0) $$;

-- Charges the owner for settings + metadata (projects) and metadata + thumbnail (diagrams), with the
-- same profile-row lock and SL402 as diagram XML (stowage_private.charge_storage).
create function stowage_private.projects_json_storage() returns trigger
  language plpgsql
  security definer
  set search_path = ''
  as $$
begin
  if tg_op = 'INSERT' then
    perform stowage_private.charge_storage(new.profile_id, stowage_private.project_json_bytes(new));
  elsif tg_op = 'UPDATE' then
    perform stowage_private.charge_storage(new.profile_id,
      stowage_private.project_json_bytes(new) - stowage_private.project_json_bytes(old));
  else
    perform stowage_private.charge_storage(old.profile_id, -stowage_private.project_json_bytes(old));
  end if;
  return null;
end
$$;

create function stowage_private.diagrams_extra_storage() returns trigger
  language plpgsql
  security definer
  set search_path = ''
  as $$
begin
  if tg_op = 'INSERT' then
    perform stowage_private.charge_storage(new.profile_id, stowage_private.diagram_extra_bytes(new));
  elsif tg_op = 'UPDATE' then
    perform stowage_private.charge_storage(new.profile_id,
      stowage_private.diagram_extra_bytes(new) - stowage_private.diagram_extra_bytes(old));
  else
    perform stowage_private.charge_storage(old.profile_id, -stowage_private.diagram_extra_bytes(old));
  end if;
  return null;
end
$$;

revoke all on function stowage_private.project_json_bytes(public.projects) from public;
revoke all on function stowage_private.diagram_extra_bytes(public.diagrams) from public;
revoke all on function stowage_private.projects_json_storage() from public;
revoke all on function stowage_private.diagrams_extra_storage() from public;

create trigger projects_json_storage after insert or delete or update of settings, metadata on public.projects
  for each row execute function stowage_private.projects_json_storage();
create trigger diagrams_extra_storage after insert or delete or update of metadata, thumbnail on public.diagrams
  for each row execute function stowage_private.diagrams_extra_storage();

-- What existing rows already hold (no limit check: the data is there).
update public.profiles pr set storage_used_bytes = pr.storage_used_bytes + s.bytes
  from (
    select owner, sum(bytes) as bytes from (
      select p.profile_id as owner, stowage_private.project_json_bytes(p) as bytes from public.projects p
      union all
      select d.profile_id, stowage_private.diagram_extra_bytes(d) from public.diagrams d
    ) x group by owner
  ) s
  where pr.id = s.owner;

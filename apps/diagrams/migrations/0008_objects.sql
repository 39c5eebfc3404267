-- 0008_objects.sql
-- Object storage (exports, thumbnails, attachments, imports, project backups) kept outside
-- PostgreSQL in a @stowage/storage destination, recorded here so that
--   * who may see an object is decided by row level security, like the diagram or project it
--     belongs to (signed URLs are only issued after this table answered the caller's SELECT);
--   * every stored byte counts toward the owner's plan total (profiles.storage_used_bytes), charged
--     under the same profile-row lock as diagram XML, so concurrent uploads cannot pass the limit;
--   * an upload in flight is a row with `complete = false` whose size_bytes grows (and is charged)
--     as bytes arrive, so the limit is hit mid-stream, not after the object is stored, and
--     concurrent uploads of one owner are serialised on the profile row like every other charge;
--   * rows removed by a cascade (diagram or project purged) leave their storage paths in
--     stowage_private.object_tombstones for the service to delete from the destination.

-- The caller's role in a project ('owner' | 'editor' | 'viewer' | null). A thin wrapper so that the
-- policies below keep working wherever the membership helper lives (public.project_role in 0003;
-- stowage_private.project_role once moved out of the schema Supabase exposes).
do $$
declare
  v_target text := case
    when to_regprocedure('stowage_private.project_role(uuid)') is not null then 'stowage_private.project_role'
    when to_regprocedure('public.project_role(uuid)') is not null then 'public.project_role'
  end;
begin
  if v_target is null then
    raise exception 'project_role(uuid) not found: apply the earlier migrations first';
  end if;
  execute format($f$
    create function stowage_private.object_project_role(p_project_id uuid) returns text
      language sql stable security definer set search_path = ''
      as 'select %s($1)'
  $f$, v_target);
end
$$;
revoke all on function stowage_private.object_project_role(uuid) from public;
grant execute on function stowage_private.object_project_role(uuid) to anon, authenticated;
-- No USAGE on stowage_private for users: a policy refers to the function by its id, so it runs
-- without users being able to name (or call) anything in that schema.

create table public.stored_objects (
  id            uuid primary key default gen_random_uuid(),
  kind          text not null check (kind in ('export', 'thumbnail', 'attachment', 'import', 'backup')),
  bucket        text not null check (bucket in ('public', 'private')),
  path          text not null unique check (char_length(path) between 1 and 1024),
  -- Charged for the bytes: the project's owner, or the diagram's owner (set by trigger).
  owner_id      uuid not null references public.profiles (id) on delete cascade,
  project_id    uuid references public.projects (id) on delete cascade,
  diagram_id    uuid references public.diagrams (id) on delete cascade,
  name          text check (char_length(name) between 1 and 255),
  content_type  text not null check (char_length(content_type) <= 255),
  size_bytes    bigint not null check (size_bytes >= 0),
  sha256        text check (sha256 ~ '^[0-9a-f]{64}$'),
  format        text,
  version       integer,
  metadata      jsonb not null default '{}',
  -- false while the bytes are being stored; readers only ever see complete objects
  complete      boolean not null default false,
  created_by    uuid default auth.uid() references public.profiles (id) on delete set null,
  created_at    timestamptz not null default now(),
  check (project_id is not null or diagram_id is not null),
  -- only diagram objects may be public (exports and thumbnails of public diagrams)
  check (bucket = 'private' or kind in ('export', 'thumbnail')),
  -- each kind lives in its own folder (the seed's layout), so no row can claim another kind's path
  check (case kind
           when 'export' then path ~ '^exports/'
           when 'thumbnail' then path ~ '^thumbnails/[0-9a-f-]+/preview\.png$'
           when 'attachment' then path ~ '^projects/[^/]+/[^/]+/attachments/[^/]+$'
           when 'import' then path ~ '^projects/[^/]+/[^/]+/imports/[^/]+$'
           when 'backup' then path ~ '^projects/[^/]+/[^/]+/backups/[^/]+$'
         end)
);
create index stored_objects_diagram_idx on public.stored_objects (diagram_id, kind, created_at desc) where diagram_id is not null;
create index stored_objects_project_idx on public.stored_objects (project_id, kind, created_at desc) where project_id is not null;
create index stored_objects_owner_idx on public.stored_objects (owner_id);
create index stored_objects_incomplete_idx on public.stored_objects (created_at) where not complete;

create table stowage_private.object_tombstones (
  bucket      text not null,
  path        text not null,
  removed_at  timestamptz not null default now(),
  primary key (bucket, path)
);

-- ── ownership and charging ──────────────────────────────────────────────────────────────────
create function stowage_private.stored_objects_before_insert() returns trigger
  language plpgsql security definer set search_path = ''
  as $$
begin
  if new.project_id is not null then
    select p.profile_id into new.owner_id from public.projects p where p.id = new.project_id;
  elsif new.diagram_id is not null then
    select d.profile_id into new.owner_id from public.diagrams d where d.id = new.diagram_id;
  end if;
  if new.owner_id is null then
    raise exception using errcode = 'SL404', message = 'the object''s project or diagram was not found';
  end if;
  return new;
end
$$;
create trigger stored_objects_before_insert before insert on public.stored_objects
  for each row execute function stowage_private.stored_objects_before_insert();

create function stowage_private.stored_objects_charge() returns trigger
  language plpgsql security definer set search_path = ''
  as $$
begin
  if tg_op = 'INSERT' then
    perform stowage_private.charge_storage(new.owner_id, new.size_bytes);
  elsif tg_op = 'DELETE' then
    perform stowage_private.charge_storage(old.owner_id, -old.size_bytes);
    insert into stowage_private.object_tombstones (bucket, path) values (old.bucket, old.path)
      on conflict do nothing;
  elsif new.size_bytes <> old.size_bytes then
    perform stowage_private.charge_storage(new.owner_id, new.size_bytes - old.size_bytes);
  end if;
  return null;
end
$$;
create trigger stored_objects_charge after insert or delete or update of size_bytes on public.stored_objects
  for each row execute function stowage_private.stored_objects_charge();

-- ── row level security ──────────────────────────────────────────────────────────────────────
alter table public.stored_objects enable row level security;
revoke all on public.stored_objects from anon, authenticated;
grant select on public.stored_objects to anon, authenticated;
grant insert (id, project_id, name, kind, bucket, path, content_type, size_bytes, metadata)
  on public.stored_objects to authenticated;
grant delete on public.stored_objects to authenticated;

-- Diagram objects (exports, thumbnails, the import a diagram came from) are visible exactly when the
-- diagram is (its own RLS decides, public diagrams included); project files to the project's
-- members; backups to the project's owners only.
create policy stored_objects_select on public.stored_objects for select to anon, authenticated
  using (
    complete and case
      when diagram_id is not null then exists (select 1 from public.diagrams d where d.id = diagram_id)
      when kind = 'backup' then stowage_private.object_project_role(project_id) = 'owner'
      else stowage_private.object_project_role(project_id) is not null
    end);

-- Attachments: editors add and delete, viewers read (as for diagrams). Everything else is written by
-- the service after the caller's permission was checked under RLS.
create policy stored_objects_insert on public.stored_objects for insert to authenticated
  with check (
    kind = 'attachment' and bucket = 'private' and diagram_id is null
    and created_by = (select auth.uid())
    and stowage_private.object_project_role(project_id) in ('owner', 'editor'));

create policy stored_objects_delete on public.stored_objects for delete to authenticated
  using (kind = 'attachment' and stowage_private.object_project_role(project_id) in ('owner', 'editor'));

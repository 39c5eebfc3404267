-- 0002_schema.sql
-- The seed's tables (projects, diagrams, diagram_versions) with every seed column, plus profiles,
-- collaborators and plan_limits. Timestamps are timestamptz; rows are soft-deleted through
-- `deleted_at`; `updated_at` is maintained by a trigger. Row level security, grants and the
-- behaviour triggers (versions, plan limits, storage accounting) follow in 0003 and 0004.

-- Internal schema: the migrations table and helper functions that users must not call. Not exposed
-- to anon/authenticated (no USAGE), so on Supabase PostgREST never serves it.
create schema if not exists stowage_private;
revoke all on schema stowage_private from public;

-- ── plan_limits ─────────────────────────────────────────────────────────────────────────────
-- The seed's STORAGE_LIMITS as data; NULL means unlimited. `personal_diagrams` is the limit of
-- diagrams without a project (the seed is silent: FREE gets the same 5 as one project).
create table public.plan_limits (
  plan                  text primary key check (plan in ('FREE', 'PRO', 'ENTERPRISE')),
  projects              integer check (projects >= 0),
  diagrams_per_project  integer check (diagrams_per_project >= 0),
  personal_diagrams     integer check (personal_diagrams >= 0),
  total_storage_bytes   bigint check (total_storage_bytes >= 0),
  version_history       integer check (version_history >= 1),
  export_formats        text[] not null,
  backup                text not null
);

insert into public.plan_limits
  (plan, projects, diagrams_per_project, personal_diagrams, total_storage_bytes, version_history, export_formats, backup)
values
  ('FREE',       2,    5,    5,    100::bigint * 1024 * 1024,         5,    array['xml'],                      'manual'),
  ('PRO',        null, null, null, 10::bigint * 1024 * 1024 * 1024,   null, array['xml', 'pdf', 'png', 'svg'], 'daily'),
  ('ENTERPRISE', null, null, null, 100::bigint * 1024 * 1024 * 1024,  null, array['xml', 'pdf', 'png', 'svg'], 'continuous');

-- ── profiles ────────────────────────────────────────────────────────────────────────────────
-- One per auth user (same id). `storage_used_bytes` = bytes of XML in the owner's diagrams plus
-- their versions, maintained atomically by triggers (0004); the row is also the lock that
-- serialises an owner's limit checks.
create table public.profiles (
  id                 uuid primary key references auth.users (id) on delete cascade,
  email              text,
  display_name       text check (char_length(display_name) <= 255),
  plan               text not null default 'FREE' references public.plan_limits (plan),
  storage_used_bytes bigint not null default 0 check (storage_used_bytes >= 0),
  created_at         timestamptz not null default now(),
  updated_at         timestamptz not null default now()
);
alter table public.profiles add constraint profiles_plan_check check (plan in ('FREE', 'PRO', 'ENTERPRISE'));
create index profiles_plan_idx on public.profiles (plan);

-- ── projects ────────────────────────────────────────────────────────────────────────────────
create table public.projects (
  id          uuid primary key default gen_random_uuid(),
  profile_id  uuid not null default auth.uid() references public.profiles (id) on delete cascade,
  name        varchar(255) not null check (btrim(name) <> ''),
  description text,
  settings    jsonb not null default '{}',
  metadata    jsonb not null default '{}',
  is_public   boolean not null default false,
  deleted_at  timestamptz,
  created_at  timestamptz not null default now(),
  updated_at  timestamptz not null default now()
);
-- Keyset list of a user's live projects: WHERE profile_id = $1 AND deleted_at IS NULL
-- AND (updated_at, id) < ($2, $3) ORDER BY updated_at DESC, id DESC. Also serves the plan-limit count.
create index projects_owner_list_idx on public.projects (profile_id, updated_at desc, id desc)
  where deleted_at is null;
-- The owner's trash.
create index projects_owner_trash_idx on public.projects (profile_id, deleted_at desc, id desc)
  where deleted_at is not null;
-- Public listing / public read policy.
create index projects_public_list_idx on public.projects (updated_at desc, id desc)
  where is_public and deleted_at is null;

-- ── collaborators ───────────────────────────────────────────────────────────────────────────
create table public.collaborators (
  id         uuid primary key default gen_random_uuid(),
  project_id uuid not null references public.projects (id) on delete cascade,
  user_id    uuid not null references public.profiles (id) on delete cascade,
  role       text not null default 'viewer' check (role in ('viewer', 'editor', 'owner')),
  invited_by uuid default auth.uid() references public.profiles (id) on delete set null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (project_id, user_id)
);
-- project_role() looks up (project_id, user_id): served by the unique index. "Shared with me":
create index collaborators_user_idx on public.collaborators (user_id, project_id);
create index collaborators_invited_by_idx on public.collaborators (invited_by);

-- ── diagrams ────────────────────────────────────────────────────────────────────────────────
-- `profile_id` is the OWNER (for a project diagram: always the project's owner, set by trigger);
-- `created_by` is who created it (an editor of a shared project may). `version` is the number of
-- the current content; every change of `bpmn_xml` writes a diagram_versions row (0004).
create table public.diagrams (
  id          uuid primary key default gen_random_uuid(),
  project_id  uuid references public.projects (id) on delete cascade,
  profile_id  uuid not null default auth.uid() references public.profiles (id) on delete cascade,
  created_by  uuid default auth.uid() references public.profiles (id) on delete set null,
  title       varchar(255) not null default 'Untitled Diagram',
  bpmn_xml    text not null,
  xml_bytes   bigint generated always as (octet_length(bpmn_xml)) stored,
  thumbnail   text,
  metadata    jsonb not null default '{}',
  version     integer not null default 1 check (version >= 1),
  is_public   boolean not null default false,
  deleted_at  timestamptz,
  created_at  timestamptz not null default now(),
  updated_at  timestamptz not null default now()
);
-- Keyset list of a project's live diagrams; also the per-project limit count.
create index diagrams_project_list_idx on public.diagrams (project_id, updated_at desc, id desc)
  where deleted_at is null;
-- Keyset list of all of an owner's live diagrams (and the owner policy).
create index diagrams_owner_list_idx on public.diagrams (profile_id, updated_at desc, id desc)
  where deleted_at is null;
-- Keyset list of the personal space; also the personal-space limit count.
create index diagrams_personal_list_idx on public.diagrams (profile_id, updated_at desc, id desc)
  where project_id is null and deleted_at is null;
-- The owner's trash.
create index diagrams_owner_trash_idx on public.diagrams (profile_id, deleted_at desc, id desc)
  where deleted_at is not null;
-- Public listing / public read policy.
create index diagrams_public_list_idx on public.diagrams (updated_at desc, id desc)
  where is_public and deleted_at is null;
create index diagrams_created_by_idx on public.diagrams (created_by);

-- ── diagram_versions ────────────────────────────────────────────────────────────────────────
create table public.diagram_versions (
  id          uuid primary key default gen_random_uuid(),
  diagram_id  uuid not null references public.diagrams (id) on delete cascade,
  version     integer not null check (version >= 1),
  bpmn_xml    text not null,
  xml_bytes   bigint generated always as (octet_length(bpmn_xml)) stored,
  metadata    jsonb not null default '{}',
  author_id   uuid references public.profiles (id) on delete set null,
  message     text,
  created_at  timestamptz not null default now(),
  unique (diagram_id, version)
);
-- History list (diagram_id, version DESC) is served by the unique index (scanned backwards).
create index diagram_versions_author_idx on public.diagram_versions (author_id);

-- ── updated_at ──────────────────────────────────────────────────────────────────────────────
create function stowage_private.set_updated_at() returns trigger
  language plpgsql
  set search_path = ''
  as $$
begin
  new.updated_at := now();
  return new;
end
$$;

create trigger profiles_set_updated_at before update on public.profiles
  for each row execute function stowage_private.set_updated_at();
create trigger projects_set_updated_at before update on public.projects
  for each row execute function stowage_private.set_updated_at();
create trigger collaborators_set_updated_at before update on public.collaborators
  for each row execute function stowage_private.set_updated_at();
create trigger diagrams_set_updated_at before update on public.diagrams
  for each row execute function stowage_private.set_updated_at();

-- ── profile per auth user ───────────────────────────────────────────────────────────────────
-- The Supabase pattern: a profile row appears when a user signs up (GoTrue on Supabase, the local
-- sign-up in standalone mode), and users that existed before this migration get one now.
create function stowage_private.create_profile_for_user() returns trigger
  language plpgsql
  security definer
  set search_path = ''
  as $$
begin
  insert into public.profiles (id, email, display_name)
  values (new.id, new.email, nullif(new.raw_user_meta_data ->> 'display_name', ''))
  on conflict (id) do nothing;
  return new;
end
$$;

create trigger stowage_on_auth_user_created after insert on auth.users
  for each row execute function stowage_private.create_profile_for_user();

insert into public.profiles (id, email)
  select u.id, u.email from auth.users u
  on conflict (id) do nothing;

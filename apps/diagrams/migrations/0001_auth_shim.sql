-- 0001_auth_shim.sql
-- Gives a plain PostgreSQL (or PGlite) what a Supabase database already has: the roles `anon`,
-- `authenticated` and `service_role`, and an `auth` schema with `auth.uid()`, `auth.jwt()`,
-- `auth.role()`, `auth.email()` reading the claims exactly as Supabase/PostgREST sets them
-- (`request.jwt.claims`, and the older `request.jwt.claim.*` settings), plus a minimal `auth.users`
-- table for the standalone sign-up. Every object is created ONLY when absent, so on Supabase this
-- migration leaves the real auth schema, its functions, tables and roles alone.

-- Roles are global to the cluster: two databases migrating at once (parallel tests) may both find a
-- role absent; the loser of that race finds it created and carries on.
do $do$
declare
  r text;
begin
  foreach r in array array['anon', 'authenticated', 'service_role'] loop
    if not exists (select 1 from pg_roles where rolname = r) then
      begin
        execute format('create role %I nologin noinherit%s', r, case when r = 'service_role' then ' bypassrls' else '' end);
      exception when duplicate_object or unique_violation then
        null;
      end;
    end if;
  end loop;
end
$do$;

-- The service connection switches to these roles per request (SET LOCAL ROLE), which needs membership
-- unless it is a superuser. Granting needs CREATEROLE/admin rights: when the connecting role lacks
-- them (a managed database that already set this up), say so and carry on.
do $do$
declare
  r text;
begin
  foreach r in array array['anon', 'authenticated'] loop
    if not pg_has_role(current_user, r, 'MEMBER') then
      begin
        execute format('grant %I to %I', r, current_user);
      exception
        when duplicate_object or unique_violation then
          null; -- granted concurrently
        when insufficient_privilege then
        raise warning 'role % cannot be granted to %: grant it so the service can SET ROLE %', r, current_user, r;
      end;
    end if;
  end loop;
end
$do$;

do $do$
begin
  if not exists (select 1 from pg_namespace where nspname = 'auth') then
    create schema auth;
    grant usage on schema auth to anon, authenticated, service_role;
  end if;
end
$do$;

do $do$
begin
  if not exists (select 1 from pg_proc p join pg_namespace n on n.oid = p.pronamespace
                 where n.nspname = 'auth' and p.proname = 'jwt') then
    create function auth.jwt() returns jsonb
      language sql stable
      as $fn$
        select coalesce(
          nullif(current_setting('request.jwt.claim', true), ''),
          nullif(current_setting('request.jwt.claims', true), '')
        )::jsonb
      $fn$;
  end if;

  if not exists (select 1 from pg_proc p join pg_namespace n on n.oid = p.pronamespace
                 where n.nspname = 'auth' and p.proname = 'uid') then
    create function auth.uid() returns uuid
      language sql stable
      as $fn$
        select coalesce(
          nullif(current_setting('request.jwt.claim.sub', true), ''),
          (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
        )::uuid
      $fn$;
  end if;

  if not exists (select 1 from pg_proc p join pg_namespace n on n.oid = p.pronamespace
                 where n.nspname = 'auth' and p.proname = 'role') then
    create function auth.role() returns text
      language sql stable
      as $fn$
        select coalesce(
          nullif(current_setting('request.jwt.claim.role', true), ''),
          (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
        )::text
      $fn$;
  end if;

  if not exists (select 1 from pg_proc p join pg_namespace n on n.oid = p.pronamespace
                 where n.nspname = 'auth' and p.proname = 'email') then
    create function auth.email() returns text
      language sql stable
      as $fn$
        select coalesce(
          nullif(current_setting('request.jwt.claim.email', true), ''),
          (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'email')
        )::text
      $fn$;
  end if;
end
$do$;

-- Minimal users table for the standalone mode (local sign-up). Supabase's GoTrue owns the real one,
-- with these columns among many others, so the same INSERT works on both.
create table if not exists auth.users (
  id                 uuid primary key default gen_random_uuid(),
  email              text unique,
  encrypted_password text,
  raw_user_meta_data jsonb not null default '{}',
  created_at         timestamptz not null default now(),
  updated_at         timestamptz not null default now()
);

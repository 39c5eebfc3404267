-- 0004_versions_limits.sql
-- Behaviour the database guarantees whatever the client does:
--   * every change of a diagram's XML creates exactly one diagram_versions row (version = the
--     diagram's new version, author = auth.uid()); users cannot write versions directly;
--   * version history is pruned to the owner's plan (FREE keeps 5: the sixth version prunes v1);
--   * plan limits (projects, diagrams per project, personal-space diagrams, total storage) are
--     checked under a lock on the owner's profile row, so concurrent requests cannot exceed them;
--   * profiles.storage_used_bytes = bytes of XML in the owner's diagrams + their versions, exactly;
--   * save_diagram / restore_diagram_version: optimistic concurrency on the version number.
-- Error codes raised (SQLSTATE, see README.md): SL402 plan limit, SL409 stale save, SL404 not
-- found (or not visible), SL403 visible but read-only, 42501 forbidden transition, 55000 trashed parent.

-- ── plan limits ─────────────────────────────────────────────────────────────────────────────
-- Locks the owner's profile row (serialising every limit check and storage change of that owner)
-- and returns the limits of the owner's plan.
create function stowage_private.lock_owner_limits(p_owner uuid) returns public.plan_limits
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_limits public.plan_limits;
begin
  select l.* into v_limits
  from public.profiles p join public.plan_limits l on l.plan = p.plan
  where p.id = p_owner
  for update of p;
  if not found then
    raise exception using errcode = 'SL404', message = format('profile %s not found', p_owner),
      hint = 'the user must have a profile (created at sign-up) before owning projects or diagrams';
  end if;
  return v_limits;
end
$$;

create function stowage_private.raise_plan_limit(p_plan text, p_limit text, p_max bigint, p_message text)
  returns void
  language plpgsql
  set search_path = ''
  as $$
begin
  raise exception using
    errcode = 'SL402',
    message = p_message,
    detail = json_build_object('limit', p_limit, 'plan', p_plan, 'max', p_max)::text,
    hint = case p_plan when 'FREE' then 'upgrade to PRO' else 'upgrade to ENTERPRISE' end;
end
$$;

create function stowage_private.check_project_limit(p_owner uuid) returns void
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_limits public.plan_limits := stowage_private.lock_owner_limits(p_owner);
  v_count bigint;
begin
  if v_limits.projects is null then return; end if;
  -- Counted after taking the lock: a concurrent creation has committed (and is counted) or waits.
  select count(*) into v_count from public.projects p where p.profile_id = p_owner and p.deleted_at is null;
  if v_count >= v_limits.projects then
    perform stowage_private.raise_plan_limit(v_limits.plan, 'projects', v_limits.projects,
      format('%s plan allows %s projects; upgrade to PRO or delete a project', v_limits.plan, v_limits.projects));
  end if;
end
$$;

-- p_project_id null = the owner's personal space.
create function stowage_private.check_diagram_limit(p_owner uuid, p_project_id uuid) returns void
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_limits public.plan_limits := stowage_private.lock_owner_limits(p_owner);
  v_count bigint;
begin
  if p_project_id is null then
    if v_limits.personal_diagrams is null then return; end if;
    select count(*) into v_count from public.diagrams d
      where d.profile_id = p_owner and d.project_id is null and d.deleted_at is null;
    if v_count >= v_limits.personal_diagrams then
      perform stowage_private.raise_plan_limit(v_limits.plan, 'personal_diagrams', v_limits.personal_diagrams,
        format('%s plan allows %s diagrams in the personal space; upgrade to PRO, move one into a project or delete one',
               v_limits.plan, v_limits.personal_diagrams));
    end if;
  else
    if v_limits.diagrams_per_project is null then return; end if;
    select count(*) into v_count from public.diagrams d
      where d.project_id = p_project_id and d.deleted_at is null;
    if v_count >= v_limits.diagrams_per_project then
      perform stowage_private.raise_plan_limit(v_limits.plan, 'diagrams_per_project', v_limits.diagrams_per_project,
        format('%s plan allows %s diagrams per project; upgrade to PRO or delete a diagram from this project',
               v_limits.plan, v_limits.diagrams_per_project));
    end if;
  end if;
end
$$;

-- ── storage accounting ──────────────────────────────────────────────────────────────────────
-- Adds p_delta bytes to the owner's total; growing past the plan's total_storage_bytes raises
-- SL402 (the whole statement rolls back). The UPDATE takes the profile row lock, so concurrent
-- saves of one owner are serialised here.
create function stowage_private.charge_storage(p_owner uuid, p_delta bigint) returns void
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_used bigint;
  v_plan text;
  v_max bigint;
begin
  if p_owner is null or p_delta = 0 then return; end if;
  update public.profiles p set storage_used_bytes = p.storage_used_bytes + p_delta
    where p.id = p_owner
    returning p.storage_used_bytes, p.plan into v_used, v_plan;
  if not found or p_delta < 0 then return; end if;
  select l.total_storage_bytes into v_max from public.plan_limits l where l.plan = v_plan;
  if v_max is not null and v_used > v_max then
    perform stowage_private.raise_plan_limit(v_plan, 'total_storage', v_max,
      format('%s plan allows %s of storage in total and this change would use %s; upgrade to PRO or delete diagrams or old versions',
             v_plan, pg_size_pretty(v_max), pg_size_pretty(v_used)));
  end if;
end
$$;

-- profiles.updated_at tracks what the user changes, not every storage counter update.
drop trigger profiles_set_updated_at on public.profiles;
create trigger profiles_set_updated_at before update of email, display_name, plan on public.profiles
  for each row execute function stowage_private.set_updated_at();

-- ── projects ────────────────────────────────────────────────────────────────────────────────
create function stowage_private.projects_before_insert() returns trigger
  language plpgsql
  security definer
  set search_path = ''
  as $$
begin
  if new.deleted_at is null then
    perform stowage_private.check_project_limit(new.profile_id);
  end if;
  return new;
end
$$;

create function stowage_private.projects_guard() returns trigger
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_uid uuid := (select auth.uid());
begin
  if new.profile_id is distinct from old.profile_id then
    raise exception using errcode = '42501', message = 'a project cannot change owner';
  end if;
  if new.deleted_at is distinct from old.deleted_at then
    if v_uid is not null and v_uid is distinct from old.profile_id then
      raise exception using errcode = '42501',
        message = format('only the owner of project %s can move it to the trash or restore it', old.id);
    end if;
    if old.deleted_at is not null and new.deleted_at is null then
      perform stowage_private.check_project_limit(new.profile_id);
    end if;
  end if;
  return new;
end
$$;

create trigger projects_before_insert before insert on public.projects
  for each row execute function stowage_private.projects_before_insert();
create trigger projects_guard before update on public.projects
  for each row execute function stowage_private.projects_guard();

-- ── collaborators ───────────────────────────────────────────────────────────────────────────
create function stowage_private.collaborators_guard() returns trigger
  language plpgsql
  security definer
  set search_path = ''
  as $$
begin
  if tg_op = 'UPDATE' and (new.project_id <> old.project_id or new.user_id <> old.user_id) then
    raise exception using errcode = '42501', message = 'a collaborator row can only change its role';
  end if;
  if exists (select 1 from public.projects p where p.id = new.project_id and p.profile_id = new.user_id) then
    raise exception using errcode = '23514',
      message = 'the project owner cannot be added as a collaborator of their own project';
  end if;
  return new;
end
$$;

create trigger collaborators_guard before insert or update on public.collaborators
  for each row execute function stowage_private.collaborators_guard();

-- ── diagrams ────────────────────────────────────────────────────────────────────────────────
-- The owner of a project diagram is the project's owner (plan limits and storage are charged to
-- them, also when an editor creates it). Raises 55000 when the project is in the trash.
create function stowage_private.project_owner_for_diagram(p_project_id uuid) returns uuid
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_owner uuid;
  v_deleted timestamptz;
begin
  select p.profile_id, p.deleted_at into v_owner, v_deleted from public.projects p where p.id = p_project_id;
  if not found then
    raise exception using errcode = 'SL404', message = format('project %s not found', p_project_id);
  end if;
  if v_deleted is not null then
    raise exception using errcode = '55000',
      message = format('project %s is in the trash: restore it before adding diagrams to it', p_project_id);
  end if;
  return v_owner;
end
$$;

create function stowage_private.diagrams_before_insert() returns trigger
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
  if new.deleted_at is null then
    perform stowage_private.check_diagram_limit(new.profile_id, new.project_id);
  end if;
  return new;
end
$$;

create function stowage_private.diagrams_guard() returns trigger
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
     and public.project_role(old.project_id) is distinct from 'owner' then
    raise exception using errcode = '42501',
      message = format('only an owner of diagram %s can move it to the trash or restore it', old.id);
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

-- Fires when bpmn_xml is in the UPDATE's SET list (even with identical content: a save is a save).
create function stowage_private.diagrams_next_version() returns trigger
  language plpgsql
  set search_path = ''
  as $$
begin
  new.version := old.version + 1;
  return new;
end
$$;

-- Writes the version row for the diagram's current content, after pruning what the plan does not
-- keep (so the freed bytes count before the new ones are charged). Message, metadata: from the
-- transaction-local settings stowage.version_message / stowage.version_metadata (save_diagram sets them).
create function stowage_private.diagrams_write_version() returns trigger
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_keep integer;
begin
  if tg_op = 'UPDATE' then
    select l.version_history into v_keep
      from public.profiles p join public.plan_limits l on l.plan = p.plan where p.id = new.profile_id;
    if v_keep is not null then
      delete from public.diagram_versions v where v.diagram_id = new.id and v.version <= new.version - v_keep;
    end if;
    perform stowage_private.charge_storage(new.profile_id, new.xml_bytes - old.xml_bytes);
  else
    perform stowage_private.charge_storage(new.profile_id, new.xml_bytes);
  end if;
  insert into public.diagram_versions (diagram_id, version, bpmn_xml, author_id, message, metadata)
  values (
    new.id, new.version, new.bpmn_xml, (select auth.uid()),
    nullif(current_setting('stowage.version_message', true), ''),
    coalesce(nullif(current_setting('stowage.version_metadata', true), '')::jsonb, '{}'::jsonb)
  );
  return null;
end
$$;

-- Releases the diagram's bytes and its versions' before the cascade removes the versions (their own
-- trigger then finds no diagram and does nothing).
create function stowage_private.diagrams_before_delete() returns trigger
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_versions bigint;
begin
  select coalesce(sum(v.xml_bytes), 0) into v_versions from public.diagram_versions v where v.diagram_id = old.id;
  perform stowage_private.charge_storage(old.profile_id, -(old.xml_bytes + v_versions));
  return old;
end
$$;

create trigger diagrams_before_insert before insert on public.diagrams
  for each row execute function stowage_private.diagrams_before_insert();
create trigger diagrams_guard before update on public.diagrams
  for each row execute function stowage_private.diagrams_guard();
create trigger diagrams_next_version before update of bpmn_xml on public.diagrams
  for each row execute function stowage_private.diagrams_next_version();
create trigger diagrams_write_version_on_insert after insert on public.diagrams
  for each row execute function stowage_private.diagrams_write_version();
create trigger diagrams_write_version_on_update after update of bpmn_xml on public.diagrams
  for each row execute function stowage_private.diagrams_write_version();
create trigger diagrams_before_delete before delete on public.diagrams
  for each row execute function stowage_private.diagrams_before_delete();

-- ── diagram_versions storage ────────────────────────────────────────────────────────────────
create function stowage_private.diagram_versions_storage() returns trigger
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_owner uuid;
begin
  if tg_op = 'INSERT' then
    select d.profile_id into v_owner from public.diagrams d where d.id = new.diagram_id;
    perform stowage_private.charge_storage(v_owner, new.xml_bytes);
  else
    -- Pruning: the diagram exists. Cascade from a diagram purge: it is gone and already accounted.
    select d.profile_id into v_owner from public.diagrams d where d.id = old.diagram_id;
    perform stowage_private.charge_storage(v_owner, -old.xml_bytes);
  end if;
  return null;
end
$$;

create trigger diagram_versions_storage after insert or delete on public.diagram_versions
  for each row execute function stowage_private.diagram_versions_storage();

-- ── save / restore ──────────────────────────────────────────────────────────────────────────
-- Saves new content if the caller edited the current version. SECURITY INVOKER: the caller's
-- policies apply. Raises SL404 (not visible / in the trash), SL403 (read-only for the caller),
-- SL409 (stale: DETAIL = the current version number), SL402 (storage limit).
create function public.save_diagram(
  p_diagram_id uuid, p_base_version integer, p_xml text, p_message text default null
) returns table (version integer, updated_at timestamptz)
  language plpgsql
  security invoker
  set search_path = ''
  as $$
#variable_conflict use_column
declare
  v_current integer;
begin
  perform 1 from public.diagrams d where d.id = p_diagram_id and d.deleted_at is null;
  if not found then
    raise exception using errcode = 'SL404', message = format('diagram %s not found', p_diagram_id);
  end if;
  -- FOR UPDATE applies the UPDATE policy: a viewer gets no row here.
  select d.version into v_current from public.diagrams d
    where d.id = p_diagram_id and d.deleted_at is null
    for update;
  if not found then
    raise exception using errcode = 'SL403',
      message = format('you can read diagram %s but not change it', p_diagram_id);
  end if;
  if v_current <> p_base_version then
    raise exception using errcode = 'SL409',
      message = format('diagram %s changed since version %s: the current version is %s', p_diagram_id, p_base_version, v_current),
      detail = v_current::text,
      hint = 'reload the current version, apply your changes to it and save again';
  end if;
  perform set_config('stowage.version_message', coalesce(p_message, ''), true);
  return query
    update public.diagrams d set bpmn_xml = p_xml where d.id = p_diagram_id
    returning d.version, d.updated_at;
  perform set_config('stowage.version_message', '', true);
  perform set_config('stowage.version_metadata', '', true);
end
$$;

-- Restores version p_version as a new version ("restored from vN"), with the same concurrency rule.
create function public.restore_diagram_version(
  p_diagram_id uuid, p_version integer, p_base_version integer
) returns table (version integer, updated_at timestamptz)
  language plpgsql
  security invoker
  set search_path = ''
  as $$
#variable_conflict use_column
declare
  v_xml text;
begin
  select v.bpmn_xml into v_xml from public.diagram_versions v
    where v.diagram_id = p_diagram_id and v.version = p_version;
  if not found then
    raise exception using errcode = 'SL404',
      message = format('version %s of diagram %s not found', p_version, p_diagram_id),
      hint = 'the FREE plan keeps the last 5 versions; older ones are pruned';
  end if;
  perform set_config('stowage.version_metadata', json_build_object('restored_from', p_version)::text, true);
  return query
    select s.version, s.updated_at
    from public.save_diagram(p_diagram_id, p_base_version, v_xml, format('restored from v%s', p_version)) s;
end
$$;

revoke all on function public.save_diagram(uuid, integer, text, text) from public;
revoke all on function public.restore_diagram_version(uuid, integer, integer) from public;
grant execute on function public.save_diagram(uuid, integer, text, text) to authenticated;
grant execute on function public.restore_diagram_version(uuid, integer, integer) to authenticated;

-- Internal helpers: nobody but the owner calls them (triggers run them regardless of EXECUTE).
revoke all on all functions in schema stowage_private from public;

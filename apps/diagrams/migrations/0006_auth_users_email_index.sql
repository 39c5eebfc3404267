-- 0006_auth_users_email_index.sql
-- Local sign-in looks users up by lower(email): index it in the shim's auth.users. On Supabase the
-- table belongs to GoTrue (not ours to index): lacking the privilege, skip.
do $do$
begin
  create index if not exists users_email_lower_idx on auth.users (lower(email));
exception when insufficient_privilege then
  raise notice 'auth.users is not ours to index (Supabase): skipping users_email_lower_idx';
end
$do$;

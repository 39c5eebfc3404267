-- 0009_project_backup_state.sql
-- Automatic project backups (the seed's section 4, per plan): PRO daily, ENTERPRISE after changes
-- (at most one per project per debounce period), FREE manual only. One row per project records when
-- the last automatic backup was claimed and since when the project has unsaved-in-a-backup changes.
-- A process claims a due backup with one UPDATE … RETURNING: when several service processes run,
-- exactly one of them wins the row and runs the backup.
create table stowage_private.project_backup_state (
  project_id    uuid primary key references public.projects (id) on delete cascade,
  last_auto_at  timestamptz,
  dirty_since   timestamptz
);

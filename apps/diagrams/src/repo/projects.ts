/**
 * @module repo/projects
 * SQL of the project routes. Every function runs on the SqlExecutor of `db.asUser`, so row level
 * security decides what is visible and changeable; a row RLS hides comes back as "no row" and the
 * route answers 404.
 */
import type { SqlExecutor } from "../db/database.ts";
import { decodeCursor, type Page, toPage } from "./cursor.ts";

export interface ProjectRow {
  id: string;
  profile_id: string;
  name: string;
  description: string | null;
  settings: Record<string, unknown>;
  metadata: Record<string, unknown>;
  is_public: boolean;
  deleted_at: string | null;
  created_at: string;
  updated_at: string;
}

const COLUMNS = `p.id, p.profile_id, p.name, p.description, p.settings, p.metadata, p.is_public,
  p.deleted_at, p.created_at, p.updated_at, p.updated_at::text as updated_at_key`;

type KeyedProjectRow = ProjectRow & { updated_at_key: string };
const strip = ({ updated_at_key: _k, ...row }: KeyedProjectRow): ProjectRow => row;

export interface NewProject {
  name: string;
  description?: string | null | undefined;
  settings?: Record<string, unknown> | undefined;
  metadata?: Record<string, unknown> | undefined;
  is_public?: boolean | undefined;
}

export async function createProject(sql: SqlExecutor, ownerId: string, p: NewProject): Promise<ProjectRow> {
  const { rows } = await sql.query<KeyedProjectRow>(
    `insert into public.projects as p (profile_id, name, description, settings, metadata, is_public)
     values ($1, $2, $3, coalesce($4::jsonb, '{}'::jsonb), coalesce($5::jsonb, '{}'::jsonb), coalesce($6::boolean, false))
     returning ${COLUMNS}`,
    [
      ownerId,
      p.name,
      p.description ?? null,
      p.settings ? JSON.stringify(p.settings) : null,
      p.metadata ? JSON.stringify(p.metadata) : null,
      p.is_public ?? null,
    ],
  );
  return strip(rows[0]!);
}

export interface ListProjectsOptions {
  /** true: the owner's trash; false: live projects. */
  trash: boolean;
  /** owned: the caller's own projects; shared: projects the caller collaborates on. */
  scope: "owned" | "shared";
  userId: string;
  limit: number;
  cursor?: string | undefined;
}

/**
 * A page of projects, newest change first. The explicit owner/collaborator filter selects WHICH
 * visible projects the list means (RLS would also let public projects of others through) and lets
 * PostgreSQL use the (profile_id, updated_at, id) index.
 */
export async function listProjects(sql: SqlExecutor, opts: ListProjectsOptions): Promise<Page<ProjectRow>> {
  const key = opts.cursor ? decodeCursor(opts.cursor) : null;
  const params: unknown[] = [opts.limit + 1, opts.userId];
  let after = "";
  if (key) {
    params.push(key.updatedAt, key.id);
    after = "and (p.updated_at, p.id) < ($3, $4)";
  }
  const who =
    opts.scope === "owned"
      ? "p.profile_id = $2"
      : "p.id in (select c.project_id from public.collaborators c where c.user_id = $2) and p.profile_id <> $2";
  const { rows } = await sql.query<KeyedProjectRow>(
    `select ${COLUMNS} from public.projects p
     where ${who} and p.deleted_at is ${opts.trash ? "not null" : "null"} ${after}
     order by p.updated_at desc, p.id desc limit $1`,
    params,
  );
  return toPage(rows, opts.limit, strip);
}

export async function getProject(sql: SqlExecutor, id: string): Promise<ProjectRow | null> {
  const { rows } = await sql.query<KeyedProjectRow>(
    `select ${COLUMNS} from public.projects p where p.id = $1 and p.deleted_at is null`,
    [id],
  );
  return rows[0] ? strip(rows[0]) : null;
}

export interface ProjectPatch {
  name?: string | undefined;
  description?: string | null | undefined;
  settings?: Record<string, unknown> | undefined;
  metadata?: Record<string, unknown> | undefined;
  is_public?: boolean | undefined;
}

export async function updateProject(sql: SqlExecutor, id: string, patch: ProjectPatch): Promise<ProjectRow | null> {
  const sets: string[] = [];
  const params: unknown[] = [id];
  const set = (column: string, value: unknown, cast = "") => {
    params.push(value);
    sets.push(`${column} = $${params.length}${cast}`);
  };
  if (patch.name !== undefined) set("name", patch.name);
  if (patch.description !== undefined) set("description", patch.description);
  if (patch.settings !== undefined) set("settings", JSON.stringify(patch.settings), "::jsonb");
  if (patch.metadata !== undefined) set("metadata", JSON.stringify(patch.metadata), "::jsonb");
  if (patch.is_public !== undefined) set("is_public", patch.is_public);
  if (sets.length === 0) return getProject(sql, id);
  const { rows } = await sql.query<KeyedProjectRow>(
    `update public.projects p set ${sets.join(", ")} where p.id = $1 and p.deleted_at is null returning ${COLUMNS}`,
    params,
  );
  return rows[0] ? strip(rows[0]) : null;
}

/** Moves a project to the trash; false when there is no such live project the caller may delete. */
export async function trashProject(sql: SqlExecutor, id: string): Promise<boolean> {
  const { rowCount } = await sql.query(`update public.projects set deleted_at = now() where id = $1 and deleted_at is null`, [
    id,
  ]);
  return rowCount > 0;
}

export async function restoreProject(sql: SqlExecutor, id: string): Promise<ProjectRow | null> {
  const { rows } = await sql.query<KeyedProjectRow>(
    `update public.projects p set deleted_at = null where p.id = $1 and p.deleted_at is not null returning ${COLUMNS}`,
    [id],
  );
  return rows[0] ? strip(rows[0]) : null;
}

/** Deletes a project for good (its diagrams and versions cascade). */
export async function purgeProject(sql: SqlExecutor, id: string): Promise<boolean> {
  const { rowCount } = await sql.query(`delete from public.projects where id = $1`, [id]);
  return rowCount > 0;
}

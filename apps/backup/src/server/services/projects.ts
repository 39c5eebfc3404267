/**
 * @module server/services/projects
 * Databases to back up. The URL is stored encrypted; answers show it with the password replaced by
 * `***` (and `hasPassword`); a PATCH whose URL still says `***` keeps the stored password.
 */
import { randomUUID } from "node:crypto";
import { BackupError, classifyConnectionError, parseDatabaseUrl } from "@stowage/backup-core";
import pg from "pg";
import type { AuditLog } from "../audit.ts";
import type { SecretBox } from "../crypto/secret-box.ts";
import type { MetadataStore, ProjectRecord } from "../db/store.ts";
import { ApiError, notFound } from "../errors.ts";

export const PROJECT_KINDS = ["auto", "supabase", "postgres"] as const;
const MASK = "***";
const aad = (id: string) => `project:${id}:database_url`;

export interface ProjectView {
  id: string;
  name: string;
  databaseUrl: string;
  hasPassword: boolean;
  kind: (typeof PROJECT_KINDS)[number];
  includeMigrationHistory: boolean;
  lastTestedAt: string | null;
  lastTestOk: boolean | null;
  lastTestError: string | null;
  serverVersion: string | null;
  supabase: boolean | null;
  sizeBytes: number | null;
  createdAt: string;
  updatedAt: string;
}

export interface ProjectTest {
  ok: boolean;
  serverVersion: string | null;
  supabase: boolean | null;
  sizeBytes: number | null;
  error?: string;
}

/** Checks the URL's shape (422 naming `databaseUrl`); env-free so PGPASSWORD never leaks in. */
function checkUrl(url: string): void {
  try {
    parseDatabaseUrl(url, {});
  } catch (error) {
    throw new ApiError("INVALID_INPUT", `databaseUrl: ${(error as Error).message}`, "databaseUrl");
  }
}

export function maskUrl(url: string): { url: string; hasPassword: boolean } {
  try {
    const parsed = new URL(url);
    const hasPassword = parsed.password !== "" || parsed.searchParams.has("password");
    if (parsed.password) parsed.password = MASK;
    if (parsed.searchParams.has("password")) parsed.searchParams.set("password", MASK);
    return { url: parsed.toString(), hasPassword };
  } catch {
    return { url: "(invalid URL)", hasPassword: false };
  }
}

export class ProjectService {
  constructor(
    private readonly store: MetadataStore,
    private readonly box: SecretBox,
    private readonly audit: AuditLog,
  ) {}

  /** The clear database URL: only for handing to the engine. */
  databaseUrl(record: ProjectRecord): string {
    return this.box.decrypt(record.databaseUrl, aad(record.id));
  }

  view(record: ProjectRecord): ProjectView {
    const { url, hasPassword } = maskUrl(this.databaseUrl(record));
    return {
      id: record.id,
      name: record.name,
      databaseUrl: url,
      hasPassword,
      kind: record.kind,
      includeMigrationHistory: record.includeMigrationHistory,
      lastTestedAt: record.lastTestedAt?.toISOString() ?? null,
      lastTestOk: record.lastTestOk,
      lastTestError: record.lastTestError,
      serverVersion: record.serverVersion,
      supabase: record.supabase,
      sizeBytes: record.sizeBytes,
      createdAt: record.createdAt.toISOString(),
      updatedAt: record.updatedAt.toISOString(),
    };
  }

  async get(id: string): Promise<ProjectRecord> {
    const record = await this.store.projects.byId(id);
    if (!record) throw notFound("project");
    return record;
  }

  async create(
    input: { name: string; databaseUrl: string; kind: ProjectRecord["kind"]; includeMigrationHistory: boolean },
    actor: Parameters<AuditLog["record"]>[0],
  ): Promise<ProjectView> {
    checkUrl(input.databaseUrl);
    if (await this.store.projects.byName(input.name)) {
      throw new ApiError("CONFLICT", `a project named "${input.name}" already exists`, "name");
    }
    const now = new Date();
    const id = randomUUID();
    const record: ProjectRecord = {
      id,
      name: input.name,
      databaseUrl: this.box.encrypt(input.databaseUrl, aad(id)),
      kind: input.kind,
      includeMigrationHistory: input.includeMigrationHistory,
      lastTestedAt: null,
      lastTestOk: null,
      lastTestError: null,
      serverVersion: null,
      supabase: null,
      sizeBytes: null,
      createdAt: now,
      updatedAt: now,
    };
    await this.store.projects.create(record);
    await this.audit.record(actor, "project_created", { type: "project", id }, { name: input.name, kind: input.kind });
    return this.view(record);
  }

  async update(
    id: string,
    patch: { name?: string; databaseUrl?: string; kind?: ProjectRecord["kind"]; includeMigrationHistory?: boolean },
    actor: Parameters<AuditLog["record"]>[0],
  ): Promise<ProjectView> {
    const record = await this.get(id);
    const changes: Partial<ProjectRecord> = { updatedAt: new Date() };
    if (patch.name && patch.name !== record.name) {
      if (await this.store.projects.byName(patch.name))
        throw new ApiError("CONFLICT", `a project named "${patch.name}" already exists`, "name");
      changes.name = patch.name;
    }
    if (patch.databaseUrl !== undefined) {
      let next = patch.databaseUrl;
      const parsed = URL.canParse(next) ? new URL(next) : undefined;
      if (parsed && decodeURIComponent(parsed.password) === MASK) {
        const old = new URL(this.databaseUrl(record));
        parsed.password = old.password;
        next = parsed.toString();
      }
      checkUrl(next);
      changes.databaseUrl = this.box.encrypt(next, aad(id));
    }
    if (patch.kind) changes.kind = patch.kind;
    if (patch.includeMigrationHistory !== undefined) changes.includeMigrationHistory = patch.includeMigrationHistory;
    await this.store.projects.update(id, changes);
    await this.audit.record(
      actor,
      "project_changed",
      { type: "project", id },
      {
        name: changes.name ?? record.name,
        urlChanged: patch.databaseUrl !== undefined,
      },
    );
    return this.view((await this.store.projects.byId(id))!);
  }

  async delete(id: string, actor: Parameters<AuditLog["record"]>[0]): Promise<void> {
    const record = await this.get(id);
    await this.store.projects.delete(id);
    await this.audit.record(actor, "project_deleted", { type: "project", id }, { name: record.name });
  }

  /** Connects, reads version / Supabase markers / size; records the outcome on the row. */
  async test(id: string): Promise<ProjectTest> {
    const record = await this.get(id);
    const url = this.databaseUrl(record);
    const target = parseDatabaseUrl(url);
    const client = new pg.Client({
      connectionString: target.connectionString,
      connectionTimeoutMillis: 10_000,
      statement_timeout: 15_000,
    });
    let result: ProjectTest;
    try {
      await client.connect();
      const { rows } = await client.query<{ version: string; supabase: boolean; size: string }>(
        `select current_setting('server_version') as version,
                exists(select 1 from pg_namespace where nspname = 'auth')
                  and exists(select 1 from pg_namespace where nspname = 'storage')
                  and (select count(*) from pg_roles where rolname in ('anon', 'authenticated', 'service_role')) = 3 as supabase,
                pg_database_size(current_database())::text as size`,
      );
      const row = rows[0]!;
      result = { ok: true, serverVersion: row.version, supabase: row.supabase, sizeBytes: Number(row.size) };
    } catch (error) {
      const classified = error instanceof BackupError ? error : classifyConnectionError(error, target);
      result = { ok: false, serverVersion: null, supabase: null, sizeBytes: null, error: classified.message };
    } finally {
      await client.end().catch(() => {});
    }
    await this.store.projects.update(id, {
      lastTestedAt: new Date(),
      lastTestOk: result.ok,
      lastTestError: result.error ?? null,
      ...(result.ok ? { serverVersion: result.serverVersion, supabase: result.supabase, sizeBytes: result.sizeBytes } : {}),
    });
    return result;
  }
}

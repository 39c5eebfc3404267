/**
 * @module objects/backup-scheduler
 * Automatic project backups per the owner's plan (`plan_limits.backup`): `daily` (PRO) — a backup
 * when the last automatic one is a day old; `continuous` (ENTERPRISE) — after changes, at most one
 * per project per debounce period (default 5 minutes); `manual` (FREE) — none. Every tick, each
 * process claims due projects with one UPDATE … RETURNING on stowage_private.project_backup_state,
 * so with several service processes each backup runs exactly once.
 */
import type { Logger } from "pino";
import type { Database } from "../db/database.ts";
import { createProjectBackup } from "./project-backup.ts";
import type { ObjectStore } from "./store.ts";

export const DAILY_MS = 24 * 60 * 60 * 1000;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export class BackupScheduler {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;
  backupsRun = 0;
  /** Diagrams whose change mark waits for the next statement (markDiagramChanged). */
  private readonly marksQueued = new Set<string>();
  /** The batch that queued diagrams will go in; undefined once it has started. */
  private nextMarks: Promise<void> | undefined;
  /** The last batch started (settled when it ends, failed or not). */
  private marksRunning: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: Database,
    private readonly store: ObjectStore,
    private readonly logger: Logger,
    private readonly debounceMs: number,
  ) {}

  start(intervalMs = 60_000): void {
    this.timer = setInterval(() => void this.tick(), intervalMs);
    this.timer.unref();
  }

  /**
   * Records that a project changed (ENTERPRISE backups follow changes). A project already marked
   * is not written again until its next backup clears the mark.
   */
  async markChanged(projectId: string): Promise<void> {
    await this.db.queryAsService(
      `insert into stowage_private.project_backup_state (project_id, dirty_since) values ($1, now())
       on conflict (project_id) do update set dirty_since = now() where project_backup_state.dirty_since is null`,
      [projectId],
    );
  }

  /**
   * `markChanged` for the project of a diagram (none for a personal-space diagram), run after every
   * diagram write (it was two transactions, six round trips, per save: issue 17). Marks are
   * coalesced: one statement at a time, and the diagrams written while it runs go together in the
   * next one (under 16 concurrent saves, one round trip per several saves instead of one per save).
   * Resolves once the statement carrying `diagramId` has run.
   */
  markDiagramChanged(diagramId: string): Promise<void> {
    // Not a UUID, not a diagram: kept out of the batch, whose uuid[] cast it would fail.
    if (!UUID.test(diagramId)) return Promise.resolve();
    this.marksQueued.add(diagramId);
    if (!this.nextMarks) {
      const batch = this.marksRunning.then(() => {
        this.nextMarks = undefined; // diagrams written from now on go in the batch after this one
        const ids = [...this.marksQueued];
        this.marksQueued.clear();
        return this.writeMarks(ids);
      });
      this.nextMarks = batch;
      this.marksRunning = batch.catch(() => {});
    }
    return this.nextMarks;
  }

  private async writeMarks(diagramIds: string[]): Promise<void> {
    // distinct: two diagrams of one project in a batch must not update its row twice in one statement.
    await this.db.queryAsService(
      `insert into stowage_private.project_backup_state (project_id, dirty_since)
       select distinct d.project_id, now() from public.diagrams d where d.id = any($1::uuid[]) and d.project_id is not null
       on conflict (project_id) do update set dirty_since = now() where project_backup_state.dirty_since is null`,
      [diagramIds],
    );
  }

  /** Claims and runs every due backup; returns how many ran. One tick at a time per process. */
  tick(): Promise<number> {
    this.running ??= this.runDue().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async runDue(): Promise<number> {
    const claimed = await this.db.asService(async (sql) => {
      // Projects of plans with automatic backups get a state row.
      await sql.query(
        `insert into stowage_private.project_backup_state (project_id)
         select p.id from public.projects p join public.profiles o on o.id = p.profile_id
           join public.plan_limits l on l.plan = o.plan
         where p.deleted_at is null and l.backup in ('daily', 'continuous')
         on conflict do nothing`,
      );
      const { rows } = await sql.query<{ project_id: string; trigger: "daily" | "after_changes" }>(
        `update stowage_private.project_backup_state s
           set last_auto_at = now(), dirty_since = null
         from public.projects p join public.profiles o on o.id = p.profile_id join public.plan_limits l on l.plan = o.plan
         where p.id = s.project_id and p.deleted_at is null
           and ((l.backup = 'daily' and (s.last_auto_at is null or s.last_auto_at <= now() - $1 * interval '1 millisecond'))
             or (l.backup = 'continuous' and s.dirty_since is not null
                 and (s.last_auto_at is null or s.last_auto_at <= now() - $2 * interval '1 millisecond')))
         returning s.project_id, case l.backup when 'daily' then 'daily' else 'after_changes' end as trigger`,
        [DAILY_MS, this.debounceMs],
      );
      return rows;
    });
    for (const { project_id, trigger } of claimed) {
      try {
        await createProjectBackup(this.db, this.store, project_id, trigger, null);
        this.backupsRun++;
      } catch (error) {
        this.logger.error(
          { err: error, projectId: project_id },
          "automatic project backup failed; retried at the next change or day",
        );
      }
    }
    return claimed.length;
  }

  close(): void {
    clearInterval(this.timer);
  }
}

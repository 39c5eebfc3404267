/**
 * @module server/context
 * What every route handler can reach: the Hono env type (the authenticated caller) and the
 * server's services, built once in server.ts.
 */
import type { BrowserDownloadDestination } from "@stowage/storage";
import type { Logger } from "pino";
import type { AuditLog } from "./audit.ts";
import type { LoginLimiter } from "./auth/rate-limit.ts";
import type { ServerConfig } from "./config.ts";
import type { SecretBox } from "./crypto/secret-box.ts";
import type { MetadataStore, UserRecord } from "./db/store.ts";
import type { JobQueue } from "./jobs/queue.ts";
import type { JobRunner } from "./jobs/runner.ts";
import type { BackupService } from "./services/backups.ts";
import type { DestinationService } from "./services/destinations.ts";
import type { ProjectService } from "./services/projects.ts";
import type { RestoreService } from "./services/restores.ts";

export interface AuthInfo {
  readonly user: UserRecord;
  readonly via: "session" | "token";
  readonly sessionId?: string;
  readonly csrfToken?: string;
  readonly tokenId?: string;
  readonly ip: string;
}

export interface AppEnv {
  Variables: {
    auth: AuthInfo;
    ip: string;
  };
}

export interface Services {
  readonly config: ServerConfig;
  readonly store: MetadataStore;
  readonly box: SecretBox;
  readonly log: Logger;
  readonly audit: AuditLog;
  readonly jobs: JobRunner;
  /** Which server runs a job: pg-boss with PostgreSQL metadata, this process with SQLite. */
  readonly queue: JobQueue;
  /** This server process, as written in `owner` on the rows it runs. */
  readonly instanceId: string;
  readonly destinations: DestinationService;
  readonly projects: ProjectService;
  readonly backups: BackupService;
  readonly restores: RestoreService;
  readonly downloads: BrowserDownloadDestination;
  readonly loginLimiter: LoginLimiter;
  readonly version: string;
}

/**
 * @module providers/google-drive/provider
 * Google Drive (v3) under one folder (`folderId`): in a shared drive the identity is a member of, or in
 * the Drive of the OAuth user or of the Workspace user a service account impersonates. A service account
 * on its own has no storage ("Service Accounts do not have storage quota. Leverage shared drives…"), so
 * `validateConnection` refuses a folder outside a shared drive for it, before the first backup fails.
 * In a shared drive the member's role decides what works (files.delete: "If the file belongs to a shared
 * drive, the user must be an organizer on the parent folder"): a Manager (organizer) deletes for good, a
 * Content manager (fileOrganizer) can only move files to the drive's trash (Drive empties it after 30 days),
 * a Contributor (writer) can neither; the check reports the role and warns about the last two.
 * Keys map to a folder hierarchy: `a/b/c.bin` is file `c.bin` in sub-folder `b` of sub-folder `a`;
 * sub-folders are created on demand and their ids cached. Uploads use the resumable protocol under a
 * temporary name (`.stowage-partial-…`, skipped by listings); Drive only creates the file when the
 * session completes, and only then is it renamed to the key and the previous file of that name deleted.
 * Every call goes to the configured `rootUrl`/`tokenUrl`: Google in production, the emulator in tests.
 */
import { Readable } from "node:stream";
import { type drive_v3, drive as driveClient } from "@googleapis/drive";
import type {
  ConnectionNotes,
  DownloadOptions,
  StorageObjectInfo,
  UploadOptions,
  UploadResult,
  UploadSource,
} from "../../contract.ts";
import { StorageError } from "../../errors.ts";
import { DestinationLayer } from "../../layer/destination-layer.ts";
import type { DriverContext, StorageDriver } from "../../layer/provider.ts";
import { retry } from "../../layer/retry.ts";
import { tempName } from "../../layer/temp-name.ts";
import { meterSource, openSource } from "../../stream/meter.ts";
import { createDriveAuth, type DriveAuth } from "./auth.ts";
import type { GoogleDriveConfig } from "./config.ts";
import { googleDriveDescription } from "./description.ts";
import { driveReason, driveStatus, isRetryable, retryAfterMs, toStorageError } from "./drive-errors.ts";
import { uploadResumable } from "./resumable-upload.ts";

export const FOLDER_MIME = "application/vnd.google-apps.folder";
const FILE_FIELDS = "id,name,mimeType,size,md5Checksum,modifiedTime,createdTime";
const API_TIMEOUT_MS = 20_000;
/** Drive's maximum page size for files.list. */
const PAGE_SIZE = 1000;

/** Quotes a value for a Drive `q` string literal. */
export function driveQuote(value: string): string {
  return `'${value.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

type MethodOptions = { rootUrl: string; timeout: number; retry: false; signal?: AbortSignal };

/** What the identity may do in the root folder's shared drive (Drive's `capabilities` of the folder). */
interface SharedDriveAccess {
  readonly canAdd: boolean;
  readonly canTrash: boolean;
  readonly canDelete: boolean;
}

/** The shared drive role these capabilities mean, in the words of Drive's sharing dialog and API. */
function roleOf(access: SharedDriveAccess): string {
  if (access.canDelete) return "Manager (organizer)";
  if (access.canTrash) return "Content manager (fileOrganizer)";
  if (access.canAdd) return "Contributor (writer)";
  return "Commenter or Viewer";
}

export class GoogleDriveDriver implements StorageDriver {
  private readonly auth: DriveAuth;
  private readonly drive: drive_v3.Drive;
  /** Folder path ("" = the root folder) → id; promises, so concurrent uploads create a folder once. */
  private folders = new Map<string, Promise<string>>();
  private rootVerified = false;
  /** The shared drive that holds the folder (from verifyRoot), undefined for My Drive. */
  private driveId: string | undefined;
  /** In a shared drive: what the identity may do there (from verifyRoot). */
  private access: SharedDriveAccess | undefined;
  private readonly cfg: GoogleDriveConfig;

  constructor(
    config: GoogleDriveConfig,
    private readonly context: DriverContext,
  ) {
    this.cfg = { ...config, rootUrl: config.rootUrl.endsWith("/") ? config.rootUrl : `${config.rootUrl}/` };
    this.auth = createDriveAuth(this.cfg);
    // `auth` is google-auth-library's client; googleapis-common bundles its own copy of the types.
    this.drive = driveClient({ version: "v3", auth: this.auth.client as unknown as drive_v3.Options["auth"] });
  }

  private get name(): string {
    return this.context.name;
  }

  /**
   * Every Drive request is retried on its own with the layer's one policy (Google's guide asks for
   * per-request backoff; a list of many pages should not restart from page one). What still fails
   * comes out permanent, so the layer does not retry it a second time.
   */
  private retrying<T>(run: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    return retry(run, { policy: this.context.policy, isTransient: isRetryable, signal, retryAfterMs });
  }

  private toError(error: unknown, what: string, signal?: AbortSignal): StorageError {
    return toStorageError(error, {
      destination: this.name,
      what,
      secrets: this.auth.secrets(),
      serviceAccountEmail: this.auth.serviceAccountEmail,
      signal,
      rootUrl: this.cfg.rootUrl,
    });
  }

  /** One Drive API call with retries; errors become StorageErrors. */
  private async call<T>(what: string, run: (options: MethodOptions) => Promise<{ data: T }>, signal?: AbortSignal): Promise<T> {
    try {
      const options: MethodOptions = { rootUrl: this.cfg.rootUrl, timeout: API_TIMEOUT_MS, retry: false, signal };
      return (await this.retrying(() => run(options), signal)).data;
    } catch (error) {
      throw this.toError(error, what, signal);
    }
  }

  private get common() {
    return { supportsAllDrives: this.cfg.supportsAllDrives };
  }

  /**
   * Where listings search. `corpora: "allDrives"` is documented as possibly incomplete ("Prefer user or
   * drive to allDrives for efficiency… results may be incomplete", Drive API files.list reference): a
   * missed manifest would make a backup look incomplete and `prune --prune-incomplete` delete it. So:
   * the folder's own shared drive (`corpora: "drive"` + `driveId`) when it is in one, else the user's
   * corpus (`corpora: "user"`, My Drive and what is shared with the identity).
   */
  private get listCommon() {
    if (this.driveId) {
      return { supportsAllDrives: true, includeItemsFromAllDrives: true, corpora: "drive", driveId: this.driveId };
    }
    return { supportsAllDrives: this.cfg.supportsAllDrives, corpora: "user" };
  }

  /** Checks once that `folderId` is a folder this identity can see; a 404 becomes NOT_FOUND naming it. */
  private async verifyRoot(force = false): Promise<void> {
    if (this.rootVerified && !force) return;
    const folderId = this.cfg.folderId;
    let folder: drive_v3.Schema$File;
    try {
      folder = await this.call("root folder", (o) =>
        this.drive.files.get(
          {
            fileId: folderId,
            fields: "id,name,mimeType,trashed,driveId,capabilities(canAddChildren,canTrashChildren,canDeleteChildren)",
            ...this.common,
          },
          o,
        ),
      );
    } catch (error) {
      if (StorageError.is(error, "NOT_FOUND")) {
        const who = this.auth?.serviceAccountEmail ?? "the OAuth account";
        throw new StorageError(
          "NOT_FOUND",
          this.name,
          `the folder ${folderId} does not exist or ${who} cannot see it; check folderId (the last part of the folder's URL), and make ${who} a member of the folder's shared drive (or, for a user's own Drive, share the folder with that user)`,
        );
      }
      throw error;
    }
    if (folder.mimeType !== FOLDER_MIME || folder.trashed) {
      throw new StorageError(
        "NOT_FOUND",
        this.name,
        `${folderId} is ${folder.trashed ? "in the trash" : "not a folder"}; set folderId to a folder's id`,
      );
    }
    this.driveId = folder.driveId ?? undefined;
    this.access = this.driveId
      ? {
          canAdd: folder.capabilities?.canAddChildren === true,
          canTrash: folder.capabilities?.canTrashChildren === true,
          canDelete: folder.capabilities?.canDeleteChildren === true,
        }
      : undefined;
    this.rootVerified = true;
  }

  /** Every page of a files.list query. */
  private async listAll(q: string, what: string, signal?: AbortSignal): Promise<drive_v3.Schema$File[]> {
    const out: drive_v3.Schema$File[] = [];
    let pageToken: string | undefined;
    do {
      const page: drive_v3.Schema$FileList = await this.call(
        what,
        (o) =>
          this.drive.files.list(
            {
              q,
              pageSize: PAGE_SIZE,
              pageToken,
              fields: `nextPageToken,incompleteSearch,files(${FILE_FIELDS})`,
              ...this.listCommon,
            },
            o,
          ),
        signal,
      );
      // An incomplete answer is never taken for "these are all the files" (a missing manifest reads as
      // an incomplete backup, which prune may then delete).
      if (page.incompleteSearch) {
        throw new StorageError(
          "UNREACHABLE",
          this.name,
          `${what}: Google Drive answered with an incomplete search (incompleteSearch: true); try again later`,
          { transient: true },
        );
      }
      out.push(...(page.files ?? []));
      pageToken = page.nextPageToken ?? undefined;
    } while (pageToken);
    return out;
  }

  /** Children of `parentId` named `name`: folders or files. */
  private children(parentId: string, name: string, kind: "folder" | "file", what: string, signal?: AbortSignal) {
    const mime = kind === "folder" ? `mimeType = ${driveQuote(FOLDER_MIME)}` : `mimeType != ${driveQuote(FOLDER_MIME)}`;
    return this.listAll(
      `name = ${driveQuote(name)} and ${driveQuote(parentId)} in parents and trashed = false and ${mime}`,
      what,
      signal,
    );
  }

  /** Id of the folder at `path` (relative to the root), created on demand when `create`; undefined when absent. */
  private async folderId(path: string, create: boolean, signal?: AbortSignal): Promise<string | undefined> {
    await this.verifyRoot();
    if (path === "") return this.cfg.folderId;
    const cached = this.folders.get(path);
    if (cached) return cached;
    const slash = path.lastIndexOf("/");
    const parentPath = slash >= 0 ? path.slice(0, slash) : "";
    const name = path.slice(slash + 1);
    const lookup = async (): Promise<string | undefined> => {
      const parentId = await this.folderId(parentPath, create, signal);
      if (!parentId) return undefined;
      const found = await this.children(parentId, name, "folder", `folder ${path}`, signal);
      // Two writers may have raced to create it: everyone uses the oldest.
      found.sort((a, b) => (a.createdTime ?? "").localeCompare(b.createdTime ?? ""));
      if (found[0]?.id) return found[0].id;
      if (!create) return undefined;
      const made = await this.call(
        `create folder ${path}`,
        (o) =>
          this.drive.files.create(
            { requestBody: { name, mimeType: FOLDER_MIME, parents: [parentId] }, fields: "id", ...this.common },
            o,
          ),
        signal,
      );
      if (!made.id) throw new StorageError("UNKNOWN", this.name, `create folder ${path}: Drive returned no id`);
      return made.id;
    };
    if (!create) {
      const id = await lookup();
      if (id) this.folders.set(path, Promise.resolve(id));
      return id;
    }
    const pending = lookup().then((id) => id as string);
    this.folders.set(path, pending);
    pending.catch(() => this.folders.delete(path));
    return pending;
  }

  private splitKey(key: string): { folder: string; name: string } {
    const slash = key.lastIndexOf("/");
    return { folder: slash >= 0 ? key.slice(0, slash) : "", name: key.slice(slash + 1) };
  }

  /** The files stored under `key`, newest first (more than one only for an instant during a replace). */
  private async filesOf(key: string, signal?: AbortSignal): Promise<drive_v3.Schema$File[]> {
    const { folder, name } = this.splitKey(key);
    const parentId = await this.folderId(folder, false, signal);
    if (!parentId) return [];
    const files = await this.children(parentId, name, "file", key, signal);
    return files.sort((a, b) => (b.createdTime ?? "").localeCompare(a.createdTime ?? ""));
  }

  /** Who acts in Drive: the impersonated user, the service account, or the OAuth user. */
  private get actor(): string {
    return this.cfg.subject ?? this.auth.serviceAccountEmail ?? "the OAuth account";
  }

  /**
   * Deletes a file for good, or, for a Content manager of the shared drive (who may not delete), moves it
   * to the drive's trash, which Drive empties after 30 days. A missing file is not an error.
   */
  private async deleteFile(id: string, what: string): Promise<void> {
    const options: MethodOptions = { rootUrl: this.cfg.rootUrl, timeout: API_TIMEOUT_MS, retry: false };
    const trashOnly = this.access !== undefined && !this.access.canDelete && this.access.canTrash;
    try {
      await this.retrying(
        async (): Promise<unknown> =>
          trashOnly
            ? this.drive.files.update(
                { fileId: id, requestBody: { trashed: true }, fields: "id", supportsAllDrives: true },
                options,
              )
            : this.drive.files.delete({ fileId: id, ...this.common }, options),
      );
    } catch (error) {
      if (driveStatus(error) === 404) return;
      if (this.access && driveStatus(error) === 403 && driveReason(error) === "insufficientFilePermissions") {
        throw new StorageError(
          "AUTH",
          this.name,
          `${what}: deleting files in a shared drive needs the Manager role (organizer), and ${this.actor} is a ${roleOf(this.access)} there; make it a Manager in the shared drive's "Manage members" (a Content manager can only move files to the trash)`,
        );
      }
      throw this.toError(error, what);
    }
  }

  async upload(source: UploadSource, key: string, options: UploadOptions): Promise<UploadResult> {
    const { folder, name } = this.splitKey(key);
    const signal = options.signal;
    const what = `upload of ${key}`;
    const input = openSource(source);
    const meter = meterSource(input, options.onProgress);
    const onAbort = () => meter.destroy(Object.assign(new Error("aborted"), { name: "AbortError" }));
    signal?.addEventListener("abort", onAbort, { once: true });
    let uploadedId: string | undefined;
    try {
      const parentId = (await this.folderId(folder, true, signal)) as string;
      const file = await uploadResumable(meter, {
        client: this.auth.client,
        rootUrl: this.cfg.rootUrl,
        metadata: {
          name: tempName(),
          parents: [parentId],
          mimeType: options.contentType ?? "application/octet-stream",
          ...(options.metadata ? { appProperties: { ...options.metadata } } : {}),
        },
        chunkSize: this.cfg.chunkSizeBytes,
        supportsAllDrives: this.cfg.supportsAllDrives,
        fields: FILE_FIELDS,
        retry: this.context.policy,
        signal,
      });
      uploadedId = file.id;
      // Replace: the new file takes the name, then the old ones go.
      const previous = await this.children(parentId, name, "file", what, signal);
      await this.call(
        what,
        (o) => this.drive.files.update({ fileId: file.id, requestBody: { name }, fields: "id", ...this.common }, o),
        signal,
      );
      const renamed = uploadedId;
      uploadedId = undefined;
      for (const old of previous) {
        if (old.id && old.id !== renamed) await this.deleteFile(old.id, `${what}: removing the previous version`);
      }
      const { bytes, sha256 } = await meter.totals();
      return {
        storagePath: file.id,
        url: `https://drive.google.com/file/d/${file.id}/view`,
        ...(file.md5Checksum ? { etag: file.md5Checksum } : {}),
        size: bytes,
        sha256,
      };
    } catch (error) {
      if (uploadedId) await this.deleteFile(uploadedId, `${what}: cleanup`).catch(() => undefined);
      meter.destroy();
      if (!(source instanceof Readable)) input.destroy();
      if (!signal?.aborted && !(error instanceof StorageError) && driveStatus(error) === undefined && meter.errored === error) {
        throw new StorageError(
          "INTERRUPTED",
          this.name,
          `${what}: the source stream failed (${(error as Error).message}); nothing was stored`,
        );
      }
      throw this.toError(error, what, signal);
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
  }

  async download(key: string, options: DownloadOptions): Promise<Readable> {
    const [file] = await this.filesOf(key, options.signal);
    if (!file?.id) throw new StorageError("NOT_FOUND", this.name, `${key}: no such file`);
    const fileId = file.id;
    try {
      const response = await this.retrying(
        () =>
          this.drive.files.get(
            { fileId, alt: "media", ...this.common },
            // No overall timeout: a large download may take hours.
            { rootUrl: this.cfg.rootUrl, timeout: 0, retry: false, signal: options.signal, responseType: "stream" },
          ),
        options.signal,
      );
      return response.data as unknown as Readable;
    } catch (error) {
      throw this.toError(error, `download of ${key}`, options.signal);
    }
  }

  async stat(key: string): Promise<StorageObjectInfo> {
    const [file] = await this.filesOf(key);
    if (!file) throw new StorageError("NOT_FOUND", this.name, `${key}: no such file`);
    return info(key, file);
  }

  async delete(key: string): Promise<void> {
    for (const file of await this.filesOf(key)) {
      if (file.id) await this.deleteFile(file.id, `delete of ${key}`);
    }
  }

  async list(prefix: string): Promise<StorageObjectInfo[]> {
    const slash = prefix.lastIndexOf("/");
    const start = slash >= 0 ? prefix.slice(0, slash) : "";
    const startId = await this.folderId(start, false);
    if (!startId) return [];
    const found = new Map<string, { info: StorageObjectInfo; created: string }>();
    const walk = async (folderId: string, folderKey: string): Promise<void> => {
      const entries = await this.listAll(`${driveQuote(folderId)} in parents and trashed = false`, `list of ${prefix || "/"}`);
      for (const entry of entries) {
        if (!entry.name || !entry.id) continue;
        const key = folderKey ? `${folderKey}/${entry.name}` : entry.name;
        if (entry.mimeType === FOLDER_MIME) {
          if (prefix.startsWith(`${key}/`) || `${key}/`.startsWith(prefix)) await walk(entry.id, key);
        } else if (key.startsWith(prefix)) {
          const created = entry.createdTime ?? "";
          const seen = found.get(key);
          if (!seen || seen.created < created) found.set(key, { info: info(key, entry), created });
        }
      }
    };
    await walk(startId, start);
    return [...found.values()].map((f) => f.info);
  }

  async checkConnection(): Promise<ConnectionNotes | undefined> {
    await this.verifyRoot(true);
    const folderId = this.cfg.folderId;
    const serviceAccount = this.auth.serviceAccountEmail;
    if (!this.driveId || !this.access) {
      if (serviceAccount && !this.cfg.subject) {
        throw new StorageError(
          "INVALID_CONFIG",
          this.name,
          `the folder ${folderId} is not in a shared drive, and service accounts have no Drive storage of their own (Google: "Service Accounts do not have storage quota"), so the first upload would fail with storageQuotaExceeded even though the folder is shared with ${serviceAccount}. Use a folder in a shared drive with ${serviceAccount} as a member (Content manager to upload, Manager to also delete old backups), or set GOOGLE_DRIVE_IMPERSONATE (config subject) to a Google Workspace user the service account may impersonate (domain-wide delegation), or use an OAuth client with a refresh token`,
        );
      }
      return undefined;
    }
    const driveId = this.driveId;
    const drive = await this.call("shared drive", (o) => this.drive.drives.get({ driveId, fields: "id,name" }, o)).catch(
      () => undefined,
    );
    const role = roleOf(this.access);
    const details = [
      `the folder is in the shared drive ${drive?.name ? `"${drive.name}" ` : ""}(${driveId}), where ${this.actor} is a ${role}`,
    ];
    if (!this.access.canAdd) {
      throw new StorageError(
        "AUTH",
        this.name,
        `${this.actor} is a ${role} of the shared drive ${drive?.name ? `"${drive.name}" ` : ""}(${driveId}) and cannot add files; make it a Manager (organizer) in the shared drive's "Manage members" (or a Content manager, which can upload but only trash old backups)`,
      );
    }
    if (this.access.canDelete) return { details };
    const warning = this.access.canTrash
      ? `${this.actor} is a Content manager of the shared drive, which may not delete files for good: prune and replaced files move to the shared drive's trash, where Drive keeps them 30 days (still using storage); make it a Manager (organizer) to delete them at once`
      : `${this.actor} is a Contributor of the shared drive, which may neither delete nor trash files: prune and replacing an existing file will fail; make it a Manager (organizer) in the shared drive's "Manage members"`;
    return { details, warnings: [warning] };
  }

  async getAvailableSpace(): Promise<number | null> {
    // A service account's own quota is zero and meaningless: its files live in shared drives, whose storage
    // is the organisation's pool, which the Drive API does not report per drive.
    if (this.auth.serviceAccountEmail && !this.cfg.subject) return null;
    const about = await this.call("free space", (o) => this.drive.about.get({ fields: "storageQuota" }, o));
    const limit = about.storageQuota?.limit;
    if (limit === undefined || limit === null || limit === "") return null;
    return Math.max(0, Number(limit) - Number(about.storageQuota?.usage ?? 0));
  }

  async close(): Promise<void> {
    this.folders.clear();
  }
}

/** Google Drive behind the destination layer. */
export class GoogleDriveDestination extends DestinationLayer<GoogleDriveConfig, GoogleDriveDriver> {
  declare readonly type: "google_drive";

  constructor(config?: unknown) {
    super(googleDriveDescription, (c, ctx) => new GoogleDriveDriver(c, ctx), config);
  }
}

function info(key: string, file: drive_v3.Schema$File): StorageObjectInfo {
  return {
    key,
    size: Number(file.size ?? 0),
    modifiedAt: new Date(file.modifiedTime ?? file.createdTime ?? 0),
    ...(file.md5Checksum ? { etag: file.md5Checksum } : {}),
  };
}

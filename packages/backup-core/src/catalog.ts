/**
 * @module catalog
 * What backups a destination holds. A backup is a folder `<name>/<UTC timestamp>-<short id>/`;
 * it is COMPLETE when it holds a valid manifest.json (written last, the commit marker) and
 * INCOMPLETE otherwise (an interrupted run, or a prune that stopped after deleting the manifest).
 */
import { isAbsolute, resolve } from "node:path";
import { text } from "node:stream/consumers";
import { LocalMappedDestination, type StorageDestination, StorageError, type StorageObjectInfo } from "@stowage/storage";
import { BackupError } from "./errors.ts";
import { type BackupManifest, MANIFEST_FILE, manifestSchema, timeFromBackupId } from "./manifest.ts";
import { rememberRawManifest } from "./manifest-mac.ts";

/** What the read side needs of a destination: its display name and downloads (a tar reader has only these). */
export type BackupReader = Pick<StorageDestination, "name" | "download">;

/** Where one backup lives: a destination (or a tar) and the folder (key prefix, no trailing slash) inside it. */
export interface BackupLocation<D extends BackupReader = StorageDestination> {
  readonly destination: D;
  /** `mydb/20261125T101500Z-ab12cd`, or `""` when the destination IS the backup folder. */
  readonly folder: string;
}

export interface BackupEntry {
  /** The folder path under the destination, e.g. `mydb/20261125T101500Z-ab12cd`. */
  readonly id: string;
  /** Start time: the manifest's `startedAt`, else the time in the folder name. */
  readonly time: Date;
  readonly complete: boolean;
  /** Present when complete. */
  readonly manifest?: BackupManifest;
  /** Why a folder with a manifest.json still counts as incomplete (invalid manifest). */
  readonly problem?: string;
  /** Bytes stored in the folder (all files, the manifest included). */
  readonly size: number;
  /** Keys of every object in the folder. */
  readonly keys: readonly string[];
  /** Newest modification time of any object in the folder. */
  readonly lastModified: Date;
}

/** `20261125T101500Z-ab12cd`: the last segment of a backup folder. */
const BACKUP_FOLDER_RE = /^\d{8}T\d{6}Z-[0-9a-z]+$/;

/** The key of `name` inside a backup folder. */
export function keyIn(location: BackupLocation<BackupReader>, name: string): string {
  return location.folder ? `${location.folder}/${name}` : name;
}

/**
 * Reads and validates a backup's manifest. Throws `MANIFEST_NOT_FOUND` for an incomplete backup
 * and `MANIFEST_INVALID` for a file that is not a Stowage manifest.
 */
export async function readManifest(location: BackupLocation<BackupReader>): Promise<BackupManifest> {
  const where = `${location.destination.name}${location.folder ? `/${location.folder}` : ""}`;
  let raw: string;
  try {
    raw = await text(await location.destination.download(keyIn(location, MANIFEST_FILE)));
  } catch (error) {
    if (StorageError.is(error, "NOT_FOUND")) {
      throw new BackupError(
        "MANIFEST_NOT_FOUND",
        `${where} has no ${MANIFEST_FILE}: it is an incomplete backup (or not a backup); run \`stowage list\` to see the complete ones`,
        { cause: error, file: MANIFEST_FILE },
      );
    }
    throw error;
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (error) {
    throw new BackupError("MANIFEST_INVALID", `${where}/${MANIFEST_FILE} is not valid JSON: the file is damaged`, {
      cause: error,
      file: MANIFEST_FILE,
    });
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path.join(".") || "(root)";
    throw new BackupError(
      "MANIFEST_INVALID",
      `${where}/${MANIFEST_FILE} is not a valid Stowage manifest (field ${path}: ${issue?.message}); it may be damaged or from a newer Stowage`,
      { cause: parsed.error, file: MANIFEST_FILE },
    );
  }
  rememberRawManifest(parsed.data, json);
  return parsed.data;
}

/** Groups a listing into backup folders (any depth, last segment `<timestamp>-<id>`). */
function groupFolders(objects: readonly StorageObjectInfo[]): Map<string, StorageObjectInfo[]> {
  const folders = new Map<string, StorageObjectInfo[]>();
  for (const object of objects) {
    const slash = object.key.lastIndexOf("/");
    if (slash <= 0) continue;
    const folder = object.key.slice(0, slash);
    const last = folder.slice(folder.lastIndexOf("/") + 1);
    if (!BACKUP_FOLDER_RE.test(last)) continue;
    const list = folders.get(folder) ?? [];
    list.push(object);
    folders.set(folder, list);
  }
  return folders;
}

/** Every backup under `prefix` of the destination, oldest first, complete or not. */
export async function listBackups(destination: StorageDestination, prefix = ""): Promise<BackupEntry[]> {
  const objects = await destination.list(prefix);
  const entries: BackupEntry[] = [];
  for (const [folder, files] of groupFolders(objects)) {
    const size = files.reduce((sum, f) => sum + f.size, 0);
    const lastModified = new Date(Math.max(...files.map((f) => f.modifiedAt.getTime())));
    const fallbackTime = timeFromBackupId(folder) ?? lastModified;
    const base = { id: folder, size, keys: files.map((f) => f.key), lastModified };
    if (!files.some((f) => f.key === `${folder}/${MANIFEST_FILE}`)) {
      entries.push({ ...base, time: fallbackTime, complete: false });
      continue;
    }
    try {
      const manifest = await readManifest({ destination, folder });
      entries.push({ ...base, time: new Date(manifest.startedAt), complete: true, manifest });
    } catch (error) {
      // A folder whose manifest vanished between list and read is incomplete (a prune in progress).
      if (!BackupError.is(error)) throw error;
      entries.push({ ...base, time: fallbackTime, complete: false, problem: error.message });
    }
  }
  return entries.sort((a, b) => a.time.getTime() - b.time.getTime() || a.id.localeCompare(b.id));
}

/**
 * Resolves the `<backup>` argument of restore/verify: a backup id on a destination
 * (`--from <dest> mydb/2026…`), or a local folder path holding manifest.json.
 */
export function locateBackup(backup: string, destination?: StorageDestination): BackupLocation {
  if (destination) {
    const folder = backup.replace(/^\/+|\/+$/g, "");
    return { destination, folder };
  }
  const path = isAbsolute(backup) ? backup : resolve(backup);
  return { destination: new LocalMappedDestination({ basePath: path.replace(/\/+$/, "") || "/" }), folder: "" };
}

/**
 * @module providers/local-mapped/provider
 * A folder on this machine (a Docker volume, a NAS mount). Uploads go to a hidden temp file beside
 * the target, are fsynced, renamed into place and the directory fsynced, so a crash never leaves a
 * partial file under the real name. What it writes is private: files 0600, folders 0700 (they hold
 * whole databases). The base folder is created on first upload (`mkdir -p`), unless `mustExist`.
 */
import { createReadStream, createWriteStream } from "node:fs";
import { access, constants, mkdir, open, readdir, realpath, rename, rm, stat, statfs } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { DownloadOptions, StorageObjectInfo, UploadOptions, UploadResult, UploadSource } from "../../contract.ts";
import { isAbortError, StorageError } from "../../errors.ts";
import { DestinationLayer } from "../../layer/destination-layer.ts";
import type { DriverContext, StorageDriver } from "../../layer/provider.ts";
import { tempName } from "../../layer/temp-name.ts";
import { meterSource } from "../../stream/meter.ts";
import type { LocalMappedConfig } from "./config.ts";
import { localMappedDescription } from "./description.ts";

/** Modes of what Stowage creates: backups are readable by their owner only. */
export const FILE_MODE = 0o600;
export const FOLDER_MODE = 0o700;

/**
 * Bytes the file stream may hold before it pushes back. With the 16 KiB default, hashing (main
 * thread) and writing (libuv pool) barely overlap; a few MiB lets them run side by side.
 */
const WRITE_BUFFER_BYTES = 4 * 1024 * 1024;

const fsCode = (error: unknown) => (error as NodeJS.ErrnoException | null)?.code;

/** The deepest existing folder of `path` (itself included), for "cannot create X: Y is not writable". */
async function nearestExisting(path: string): Promise<string> {
  for (let current = path; ; current = dirname(current)) {
    try {
      await stat(current);
      return current;
    } catch {
      if (dirname(current) === current) return current;
    }
  }
}

export class LocalMappedDriver implements StorageDriver {
  constructor(
    private readonly cfg: LocalMappedConfig,
    private readonly ctx: DriverContext,
  ) {}

  private error(code: StorageError["code"], message: string, cause?: unknown): StorageError {
    return new StorageError(code, this.ctx.name, message, { cause });
  }

  /** Maps an fs error to a StorageError code, naming the path it concerns. */
  private mapFsError(error: unknown, what: string): StorageError {
    if (error instanceof StorageError) return error;
    if (isAbortError(error)) return this.error("INTERRUPTED", `${what}: aborted`, error);
    const path = (error as NodeJS.ErrnoException).path;
    const where = path ? ` (${path})` : "";
    switch (fsCode(error)) {
      case "ENOENT":
        return this.error("NOT_FOUND", `${what}: no such file${where}`, error);
      case "EACCES":
      case "EPERM":
      case "EROFS":
        return this.error("AUTH", `${what}: permission denied${where}; check that the folder is writable by this process`, error);
      case "ENOSPC":
      case "EDQUOT":
        return this.error("QUOTA_EXCEEDED", `${what}: the disk is full${where}`, error);
      default:
        return this.error("UNKNOWN", `${what}: ${(error as Error).message}`, error);
    }
  }

  private missingBase(): StorageError {
    return this.error(
      "NOT_FOUND",
      `the folder ${this.cfg.basePath} does not exist; must_exist is set, so it is not created: mount the volume or create it`,
    );
  }

  /**
   * Makes sure the base folder exists: creates it and its missing parents (mode 0700), or with
   * `mustExist` refuses when it is missing. Errors name the exact folder that is missing or not writable.
   */
  private async ensureBase(): Promise<void> {
    const base = this.cfg.basePath;
    if (this.cfg.mustExist) {
      const info = await stat(base).catch((error: unknown) => {
        throw fsCode(error) === "ENOENT" ? this.missingBase() : this.mapFsError(error, "base folder");
      });
      if (!info.isDirectory()) throw this.error("NOT_FOUND", `${base} is not a folder`);
      return;
    }
    try {
      await mkdir(base, { recursive: true, mode: FOLDER_MODE });
    } catch (error) {
      const code = fsCode(error);
      const existing = await nearestExisting(base);
      if (code === "EACCES" || code === "EPERM" || code === "EROFS") {
        throw this.error("AUTH", `cannot create the folder ${base}: ${existing} is not writable by this process`, error);
      }
      if (code === "ENOTDIR" || code === "EEXIST") {
        throw this.error("NOT_FOUND", `cannot create the folder ${base}: ${existing} is a file, not a folder`, error);
      }
      throw this.mapFsError(error, `creating the folder ${base}`);
    }
  }

  /** Refuses paths whose real location (after symlinks) is outside the base folder. */
  private async assertInside(path: string, key: string): Promise<void> {
    let base: string;
    let real: string;
    try {
      base = await realpath(this.cfg.basePath);
      real = await realpath(path);
    } catch (error) {
      // A missing base or path holds nothing, so nothing in it can point elsewhere.
      if (fsCode(error) === "ENOENT") return;
      throw this.mapFsError(error, key);
    }
    if (real !== base && !real.startsWith(base + sep)) {
      throw this.error(
        "INVALID_KEY",
        `invalid object key ${JSON.stringify(key)}: it resolves outside the base folder (through a symlink)`,
      );
    }
  }

  private pathOf(key: string): string {
    return join(this.cfg.basePath, ...key.split("/"));
  }

  async upload(source: UploadSource, key: string, options: UploadOptions): Promise<UploadResult> {
    const target = this.pathOf(key);
    const folder = dirname(target);
    const { signal } = options;
    await this.ensureBase();
    try {
      await this.assertInside(folder, key);
      await mkdir(folder, { recursive: true, mode: FOLDER_MODE });
      await this.assertInside(folder, key);
    } catch (error) {
      throw this.mapFsError(error, `upload of ${key}`);
    }
    const temp = join(folder, tempName());
    const budget = this.cfg.maxSize === undefined ? undefined : this.cfg.maxSize - (await this.usedBytes(key));
    const meter = meterSource(source, (bytes) => {
      options.onProgress?.(bytes);
      if (budget !== undefined && bytes > budget) {
        meter.destroy(
          this.error(
            "QUOTA_EXCEEDED",
            `upload of ${key}: the destination's maxSize of ${this.cfg.maxSize} bytes would be exceeded`,
          ),
        );
      }
    });
    try {
      const file = createWriteStream(temp, { flags: "wx", mode: FILE_MODE, highWaterMark: WRITE_BUFFER_BYTES });
      await pipeline(meter, file, { signal });
      const handle = await open(temp, "r+");
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, target);
      await fsyncDir(folder);
    } catch (error) {
      await rm(temp, { force: true });
      throw this.mapFsError(error, `upload of ${key}`);
    }
    const { bytes, sha256 } = await meter.totals();
    return { storagePath: target, url: `file://${target}`, size: bytes, sha256 };
  }

  private async fileInfo(key: string): Promise<StorageObjectInfo> {
    const path = this.pathOf(key);
    await this.assertInside(path, key);
    try {
      const info = await stat(path);
      if (!info.isFile()) throw this.error("NOT_FOUND", `${key}: not a file`);
      return { key, size: info.size, modifiedAt: info.mtime };
    } catch (error) {
      throw this.mapFsError(error, key);
    }
  }

  async download(key: string, options: DownloadOptions): Promise<Readable> {
    await this.fileInfo(key);
    return createReadStream(this.pathOf(key), { signal: options.signal });
  }

  stat(key: string): Promise<StorageObjectInfo> {
    return this.fileInfo(key);
  }

  async delete(key: string): Promise<void> {
    const path = this.pathOf(key);
    await this.assertInside(path, key);
    try {
      await rm(path, { force: true });
    } catch (error) {
      throw this.mapFsError(error, `delete of ${key}`);
    }
    // Remove folders left empty, up to (not including) the base folder.
    let folder = dirname(path);
    while (relative(this.cfg.basePath, folder) !== "" && !relative(this.cfg.basePath, folder).startsWith("..")) {
      try {
        await rm(folder, { recursive: false });
      } catch {
        break;
      }
      folder = dirname(folder);
    }
  }

  async list(prefix: string): Promise<StorageObjectInfo[]> {
    const base = this.cfg.basePath;
    const out: StorageObjectInfo[] = [];
    // Walk only the deepest folder the prefix names; everything else cannot match.
    const lastSlash = prefix.lastIndexOf("/");
    const walk = async (folderKey: string): Promise<void> => {
      let entries: import("node:fs").Dirent[];
      try {
        entries = await readdir(join(base, ...folderKey.split("/").filter(Boolean)), { withFileTypes: true });
      } catch (error) {
        if (fsCode(error) === "ENOENT" || fsCode(error) === "ENOTDIR") return;
        throw this.mapFsError(error, `list of ${prefix || "/"}`);
      }
      for (const entry of entries) {
        const key = folderKey ? `${folderKey}/${entry.name}` : entry.name;
        if (entry.isDirectory()) {
          if (prefix.startsWith(`${key}/`) || `${key}/`.startsWith(prefix) || key.startsWith(prefix)) await walk(key);
        } else if (entry.isFile() && key.startsWith(prefix)) {
          const info = await stat(join(base, ...key.split("/")));
          out.push({ key, size: info.size, modifiedAt: info.mtime });
        }
      }
    };
    await walk(lastSlash >= 0 ? prefix.slice(0, lastSlash) : "");
    return out;
  }

  private async usedBytes(excludeKey: string): Promise<number> {
    const all = await this.list("");
    return all.filter((o) => o.key !== excludeKey).reduce((sum, o) => sum + o.size, 0);
  }

  async checkConnection(): Promise<void> {
    const base = this.cfg.basePath;
    let info: Awaited<ReturnType<typeof stat>>;
    try {
      info = await stat(base);
    } catch (error) {
      if (fsCode(error) !== "ENOENT") throw this.mapFsError(error, "base folder");
      if (this.cfg.mustExist) throw this.missingBase();
      // Created on first upload: check that it can be.
      const existing = await nearestExisting(base);
      const parent = await stat(existing);
      if (!parent.isDirectory())
        throw this.error("NOT_FOUND", `cannot create the folder ${base}: ${existing} is a file, not a folder`);
      await access(existing, constants.W_OK).catch((cause: unknown) => {
        throw this.error("AUTH", `cannot create the folder ${base}: ${existing} is not writable by this process`, cause);
      });
      return;
    }
    if (!info.isDirectory()) throw this.error("NOT_FOUND", `${base} is not a folder`);
    await access(base, constants.W_OK | constants.R_OK).catch((cause: unknown) => {
      throw this.error("AUTH", `the folder ${base} is not readable and writable by this process`, cause);
    });
  }

  async getAvailableSpace(): Promise<number | null> {
    let free: number;
    try {
      // Before the first upload the folder may not exist yet: its nearest existing parent is on the same disk.
      const fs = await statfs(await nearestExisting(this.cfg.basePath));
      free = Number(fs.bavail) * Number(fs.bsize);
    } catch (error) {
      throw this.mapFsError(error, "free space");
    }
    if (this.cfg.maxSize === undefined) return free;
    return Math.max(0, Math.min(free, this.cfg.maxSize - (await this.usedBytes(""))));
  }

  async close(): Promise<void> {}
}

async function fsyncDir(path: string): Promise<void> {
  const handle = await open(path, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** A folder on this machine behind the destination layer. */
export class LocalMappedDestination extends DestinationLayer<LocalMappedConfig, LocalMappedDriver> {
  declare readonly type: "local_mapped";

  constructor(config?: unknown) {
    super(localMappedDescription, (c, ctx) => new LocalMappedDriver(c, ctx), config);
  }
}

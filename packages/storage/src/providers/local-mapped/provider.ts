/**
 * @module providers/local-mapped/provider
 * A folder on this machine (a Docker volume, a NAS mount). Uploads go to a hidden temp file beside
 * the target, are fsynced, renamed into place and the directory fsynced, so a crash never leaves a
 * partial file under the real name.
 */
import { randomBytes } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { access, constants, mkdir, open, readdir, realpath, rename, rm, stat, statfs } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { parseProviderConfig } from "../../config.ts";
import type {
  ConnectionCheck,
  DownloadOptions,
  StorageCapabilities,
  StorageDestination,
  StorageObjectInfo,
  UploadOptions,
  UploadResult,
  UploadSource,
} from "../../contract.ts";
import { isAbortError, StorageError } from "../../errors.ts";
import { validateKey, validatePrefix } from "../../keys.ts";
import { meterSource } from "../../stream/meter.ts";
import { type LocalMappedConfig, localMappedConfigSchema, localMappedDisplayName } from "./config.ts";

/** Temp files carry this prefix; listings skip them. */
export const TEMP_PREFIX = ".stowage-partial-";

/**
 * Bytes the file stream may hold before it pushes back. With the 16 KiB default, hashing (main
 * thread) and writing (libuv pool) barely overlap; a few MiB lets them run side by side.
 */
const WRITE_BUFFER_BYTES = 4 * 1024 * 1024;

export class LocalMappedDestination implements StorageDestination {
  readonly type = "local_mapped" as const;
  readonly capabilities: StorageCapabilities = {
    atomicReplace: true,
    unknownLengthUpload: true,
    reportsFreeSpace: true,
    hierarchical: true,
  };
  private config: LocalMappedConfig | undefined;

  constructor(config?: unknown) {
    if (config !== undefined) this.config = parseProviderConfig(localMappedConfigSchema, config, "local_mapped");
  }

  get name(): string {
    return this.config ? localMappedDisplayName(this.config) : "local_mapped (not configured)";
  }

  async configure(config: unknown): Promise<void> {
    this.config = parseProviderConfig(localMappedConfigSchema, config, "local_mapped");
  }

  private get cfg(): LocalMappedConfig {
    if (!this.config) throw new StorageError("INVALID_CONFIG", this.name, "not configured: call configure() first");
    return this.config;
  }

  private error(code: StorageError["code"], message: string, cause?: unknown): StorageError {
    return new StorageError(code, this.name, message, { cause });
  }

  /** Maps an fs error to a StorageError code. */
  private mapFsError(error: unknown, what: string): StorageError {
    if (error instanceof StorageError) return error;
    if (isAbortError(error)) return this.error("INTERRUPTED", `${what}: aborted`, error);
    const code = (error as NodeJS.ErrnoException).code;
    switch (code) {
      case "ENOENT":
        return this.error("NOT_FOUND", `${what}: no such file`, error);
      case "EACCES":
      case "EPERM":
      case "EROFS":
        return this.error("AUTH", `${what}: permission denied (check that the folder is writable by this process)`, error);
      case "ENOSPC":
      case "EDQUOT":
        return this.error("QUOTA_EXCEEDED", `${what}: the disk is full`, error);
      default:
        return this.error("UNKNOWN", `${what}: ${(error as Error).message}`, error);
    }
  }

  private async realBase(): Promise<string> {
    try {
      return await realpath(this.cfg.basePath);
    } catch (error) {
      throw this.mapFsError(error, "base folder");
    }
  }

  /** Refuses paths whose real location (after symlinks) is outside the base folder. */
  private async assertInside(path: string, key: string): Promise<void> {
    const base = await this.realBase();
    let real: string;
    try {
      real = await realpath(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
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
    validateKey(key, this.name);
    return join(this.cfg.basePath, ...key.split("/"));
  }

  async upload(source: UploadSource, key: string, options: UploadOptions = {}): Promise<UploadResult> {
    const target = this.pathOf(key);
    const folder = dirname(target);
    const signal = options.signal;
    if (signal?.aborted) throw this.error("INTERRUPTED", `upload of ${key}: aborted before it started`);
    try {
      await this.assertInside(folder, key);
      await mkdir(folder, { recursive: true });
      await this.assertInside(folder, key);
    } catch (error) {
      throw this.mapFsError(error, `upload of ${key}`);
    }
    const temp = join(folder, `${TEMP_PREFIX}${randomBytes(8).toString("hex")}`);
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
      await pipeline(meter, createWriteStream(temp, { flags: "wx", highWaterMark: WRITE_BUFFER_BYTES }), { signal });
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

  async download(key: string, options: DownloadOptions = {}): Promise<Readable> {
    const path = this.pathOf(key);
    await this.assertInside(path, key);
    try {
      const info = await stat(path);
      if (!info.isFile()) throw this.error("NOT_FOUND", `${key}: not a file`);
    } catch (error) {
      throw this.mapFsError(error, key);
    }
    return createReadStream(path, { signal: options.signal });
  }

  async stat(key: string): Promise<StorageObjectInfo> {
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

  async list(prefix = ""): Promise<StorageObjectInfo[]> {
    validatePrefix(prefix, this.name);
    const base = this.cfg.basePath;
    const out: StorageObjectInfo[] = [];
    // Walk only the deepest folder the prefix names; everything else cannot match.
    const lastSlash = prefix.lastIndexOf("/");
    const startKey = lastSlash >= 0 ? prefix.slice(0, lastSlash) : "";
    const walk = async (folderKey: string): Promise<void> => {
      let entries: import("node:fs").Dirent[];
      try {
        entries = await readdir(join(base, ...folderKey.split("/").filter(Boolean)), { withFileTypes: true });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT" || (error as NodeJS.ErrnoException).code === "ENOTDIR") return;
        throw this.mapFsError(error, `list of ${prefix || "/"}`);
      }
      for (const entry of entries) {
        if (entry.name.startsWith(TEMP_PREFIX)) continue;
        const key = folderKey ? `${folderKey}/${entry.name}` : entry.name;
        if (entry.isDirectory()) {
          if (prefix.startsWith(`${key}/`) || `${key}/`.startsWith(prefix) || key.startsWith(prefix)) await walk(key);
        } else if (entry.isFile() && key.startsWith(prefix)) {
          const info = await stat(join(base, ...key.split("/")));
          out.push({ key, size: info.size, modifiedAt: info.mtime });
        }
      }
    };
    await walk(startKey);
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  private async usedBytes(excludeKey: string): Promise<number> {
    const all = await this.list("");
    return all.filter((o) => o.key !== excludeKey).reduce((sum, o) => sum + o.size, 0);
  }

  async validateConnection(): Promise<ConnectionCheck> {
    const started = performance.now();
    const latency = () => Math.round(performance.now() - started);
    try {
      const info = await stat(this.cfg.basePath);
      if (!info.isDirectory()) return { ok: false, error: `${this.name}: the base path is not a folder`, latencyMs: latency() };
      await access(this.cfg.basePath, constants.W_OK | constants.R_OK);
      return { ok: true, latencyMs: latency() };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const message =
        code === "ENOENT"
          ? `${this.name}: the folder does not exist (create it, or mount the volume)`
          : code === "EACCES"
            ? `${this.name}: the folder is not readable and writable by this process`
            : error instanceof Error
              ? error.message
              : String(error);
      return { ok: false, error: message, latencyMs: latency() };
    }
  }

  async getAvailableSpace(): Promise<number | null> {
    let free: number;
    try {
      const fs = await statfs(this.cfg.basePath);
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

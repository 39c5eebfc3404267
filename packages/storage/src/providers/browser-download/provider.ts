/**
 * @module providers/browser-download/provider
 * The result is handed to the user's browser instead of being sent somewhere. Objects wait in a
 * staging folder (`<staging>/objects/`, written by a `LocalMappedDestination`, so the same
 * write-then-rename/fsync rules apply) and each upload issues a download token
 * (`<staging>/tokens.json`, hashed). The HTTP side lives in `handler.ts`; after the first complete
 * download, or once the token has expired, the bytes are removed: staging is the only place the
 * server keeps backup bytes, and only until download or expiry.
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
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
import { StorageError } from "../../errors.ts";
import { validateKey } from "../../keys.ts";
import { LocalMappedDestination } from "../local-mapped/provider.ts";
import { type BrowserDownloadConfig, browserDownloadConfigSchema, browserDownloadDisplayName } from "./config.ts";
import { hashToken, newToken, type TokenEntry, TokenIndex } from "./token-index.ts";

/** Sub-folder of the staging folder that holds the staged objects. */
export const OBJECTS_FOLDER = "objects";
/** File in the staging folder that holds the token hashes. */
export const TOKEN_INDEX_FILE = "tokens.json";

export interface IssuedToken {
  /** The raw token: shown once, in `url`, never stored. */
  readonly token: string;
  /** `urlPrefix` + token. */
  readonly url: string;
  readonly expiresAt: Date;
}

export interface BrowserDownloadUploadResult extends UploadResult {
  readonly url: string;
  readonly expiresAt: Date;
}

/** What a token presented by a browser resolves to. */
export type TokenLookup =
  | { readonly status: "valid"; readonly key: string; readonly hash: string; readonly expiresAt: Date }
  | { readonly status: "expired"; readonly key: string }
  | { readonly status: "unknown" };

export interface CleanupReport {
  /** Tokens past their expiry that were removed. */
  readonly removedTokens: number;
  /** Staged objects removed: those of expired tokens, and leftovers with no token older than the TTL. */
  readonly removedKeys: string[];
}

export interface BrowserDownloadOptions {
  /** Clock in milliseconds since the epoch; tests move it forward to expire tokens. */
  readonly now?: () => number;
}

export class BrowserDownloadDestination implements StorageDestination {
  readonly type = "browser_download" as const;
  readonly capabilities: StorageCapabilities = {
    atomicReplace: true,
    unknownLengthUpload: true,
    reportsFreeSpace: true,
    hierarchical: true,
  };
  private config: BrowserDownloadConfig | undefined;
  private objects: LocalMappedDestination | undefined;
  private tokens: TokenIndex | undefined;
  private readonly now: () => number;

  constructor(config?: unknown, options: BrowserDownloadOptions = {}) {
    this.now = options.now ?? Date.now;
    if (config !== undefined) this.apply(parseProviderConfig(browserDownloadConfigSchema, config, "browser_download"));
  }

  get name(): string {
    return this.config ? browserDownloadDisplayName(this.config) : "browser_download (not configured)";
  }

  async configure(config: unknown): Promise<void> {
    this.apply(parseProviderConfig(browserDownloadConfigSchema, config, "browser_download"));
  }

  private apply(config: BrowserDownloadConfig): void {
    this.config = config;
    this.objects = new LocalMappedDestination({
      basePath: join(config.stagingPath, OBJECTS_FOLDER),
      ...(config.maxSize === undefined ? {} : { maxSize: config.maxSize }),
    });
    this.tokens = new TokenIndex(join(config.stagingPath, TOKEN_INDEX_FILE), this.name);
  }

  private get parts(): { config: BrowserDownloadConfig; objects: LocalMappedDestination; tokens: TokenIndex } {
    if (!this.config || !this.objects || !this.tokens) {
      throw new StorageError("INVALID_CONFIG", this.name, "not configured: call configure() first");
    }
    return { config: this.config, objects: this.objects, tokens: this.tokens };
  }

  /** Runs an operation of the inner local destination, re-labelling its errors with this destination's name. */
  private async inner<T>(operation: (objects: LocalMappedDestination) => Promise<T>): Promise<T> {
    const { objects } = this.parts;
    try {
      return await operation(objects);
    } catch (error) {
      if (!(error instanceof StorageError)) throw error;
      const prefix = `${error.destination}: `;
      const message = error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message;
      throw new StorageError(error.code, this.name, message, { cause: error });
    }
  }

  /** Creates `<staging>/objects` when the staging folder exists; a missing staging folder is NOT_FOUND. */
  private async ensureObjectsFolder(): Promise<void> {
    const { config } = this.parts;
    try {
      await mkdir(join(config.stagingPath, OBJECTS_FOLDER));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "EEXIST") return;
      if (code === "ENOENT") {
        throw new StorageError("NOT_FOUND", this.name, "the staging folder does not exist (create it, or mount the volume)", {
          cause: error,
        });
      }
      if (code === "EACCES" || code === "EPERM" || code === "EROFS") {
        throw new StorageError("AUTH", this.name, "the staging folder is not writable by this process", { cause: error });
      }
      throw new StorageError("UNKNOWN", this.name, `cannot prepare the staging folder: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  /**
   * Stages the object and issues its download token. Any earlier token for the same key is revoked:
   * a key has at most one live link, which always serves the bytes it was issued for.
   */
  async upload(source: UploadSource, key: string, options: UploadOptions = {}): Promise<BrowserDownloadUploadResult> {
    validateKey(key, this.name);
    await this.ensureObjectsFolder();
    const stored = await this.inner((objects) => objects.upload(source, key, options));
    let issued: IssuedToken;
    try {
      issued = await this.issue(key);
    } catch (error) {
      // Bytes without a link would only wait for the orphan sweep; remove them now.
      await this.inner((objects) => objects.delete(key)).catch(() => undefined);
      throw error;
    }
    return {
      storagePath: stored.storagePath,
      size: stored.size,
      sha256: stored.sha256,
      url: issued.url,
      expiresAt: issued.expiresAt,
    };
  }

  /** Issues a fresh token for an object already staged (revoking the previous one). */
  async issueToken(key: string, options: { ttlSeconds?: number } = {}): Promise<IssuedToken> {
    await this.stat(key);
    return this.issue(key, options.ttlSeconds);
  }

  private async issue(key: string, ttlSeconds?: number): Promise<IssuedToken> {
    const { config, tokens } = this.parts;
    const token = newToken();
    const createdAt = this.now();
    const entry: TokenEntry = {
      hash: hashToken(token),
      key,
      createdAt,
      expiresAt: createdAt + (ttlSeconds ?? config.ttlSeconds) * 1000,
    };
    await tokens.update((entries) => ({ entries: [...entries.filter((e) => e.key !== key), entry], result: undefined }));
    return { token, url: `${config.urlPrefix}${token}`, expiresAt: new Date(entry.expiresAt) };
  }

  /**
   * Resolves a token presented by a browser. An expired token is removed with its object on the spot.
   * Used by `createDownloadHandler`.
   */
  async resolveToken(token: string): Promise<TokenLookup> {
    const { tokens } = this.parts;
    const entry = await tokens.find(token);
    if (!entry) return { status: "unknown" };
    if (entry.expiresAt <= this.now()) {
      await this.removeToken(entry.hash, true);
      return { status: "expired", key: entry.key };
    }
    return { status: "valid", key: entry.key, hash: entry.hash, expiresAt: new Date(entry.expiresAt) };
  }

  /**
   * Called once every byte of a download has been handed to the HTTP layer: the link is used up and
   * the staged bytes go. Does nothing when the token was already revoked (a newer upload of the
   * same key, or a parallel download that finished first), so a newer object is never removed.
   */
  async completeDownload(hash: string): Promise<void> {
    await this.removeToken(hash, true);
  }

  /** Removes the token with this hash; with `removeObject`, its object too. */
  private async removeToken(hash: string, removeObject: boolean): Promise<void> {
    const { tokens } = this.parts;
    const removed = await tokens.update((entries) => {
      const match = entries.find((e) => e.hash === hash);
      return match ? { entries: entries.filter((e) => e !== match), result: match } : { entries, result: undefined };
    });
    if (removed && removeObject) await this.inner((objects) => objects.delete(removed.key));
  }

  /**
   * Removes expired tokens and their objects, and staged objects that have had no token for longer
   * than the TTL (left by a crash between staging and issuing, or a failed removal).
   */
  async cleanupExpired(now: Date | number = this.now()): Promise<CleanupReport> {
    const { config, tokens } = this.parts;
    const at = typeof now === "number" ? now : now.getTime();
    const { expired, live } = await tokens.update((entries) => {
      const expiredEntries = entries.filter((e) => e.expiresAt <= at);
      const liveEntries = entries.filter((e) => e.expiresAt > at);
      return {
        entries: expiredEntries.length > 0 ? liveEntries : entries,
        result: { expired: expiredEntries, live: liveEntries },
      };
    });
    const liveKeys = new Set(live.map((e) => e.key));
    const removedKeys = new Set<string>();
    for (const entry of expired) {
      if (liveKeys.has(entry.key)) continue;
      await this.inner((objects) => objects.delete(entry.key));
      removedKeys.add(entry.key);
    }
    const orphanBefore = at - config.ttlSeconds * 1000;
    for (const object of await this.list("")) {
      if (liveKeys.has(object.key) || removedKeys.has(object.key)) continue;
      if (object.modifiedAt.getTime() <= orphanBefore) {
        await this.inner((objects) => objects.delete(object.key));
        removedKeys.add(object.key);
      }
    }
    return { removedTokens: expired.length, removedKeys: [...removedKeys].sort() };
  }

  download(key: string, options: DownloadOptions = {}): Promise<Readable> {
    return this.inner((objects) => objects.download(key, options));
  }

  stat(key: string): Promise<StorageObjectInfo> {
    return this.inner((objects) => objects.stat(key));
  }

  /** Removes the object and revokes its link. */
  async delete(key: string): Promise<void> {
    validateKey(key, this.name);
    const { tokens } = this.parts;
    await this.ensureObjectsFolder();
    await tokens.update((entries) => {
      const kept = entries.filter((e) => e.key !== key);
      return { entries: kept.length === entries.length ? entries : kept, result: undefined };
    });
    await this.inner((objects) => objects.delete(key));
  }

  list(prefix = ""): Promise<StorageObjectInfo[]> {
    return this.inner((objects) => objects.list(prefix));
  }

  async validateConnection(): Promise<ConnectionCheck> {
    const started = performance.now();
    try {
      await this.ensureObjectsFolder();
    } catch (error) {
      return { ok: false, error: (error as Error).message, latencyMs: Math.round(performance.now() - started) };
    }
    const check = await this.parts.objects.validateConnection();
    if (check.ok) return { ok: true, latencyMs: Math.round(performance.now() - started) };
    const innerName = this.parts.objects.name;
    return { ok: false, error: check.error?.replace(innerName, this.name), latencyMs: Math.round(performance.now() - started) };
  }

  async getAvailableSpace(): Promise<number | null> {
    await this.ensureObjectsFolder();
    return this.inner((objects) => objects.getAvailableSpace());
  }

  async close(): Promise<void> {}
}

/**
 * @module providers/browser-download/provider
 * The result is handed to the user's browser instead of being sent somewhere. Objects wait in a
 * staging folder (`<staging>/objects/`, written by a `LocalMappedDestination`, so the same
 * write-then-rename/fsync rules apply) and each upload issues a download token
 * (`<staging>/tokens.json`, hashed). The HTTP side lives in `handler.ts`; after the first complete
 * download, or once the token has expired, the bytes are removed: staging is the only place the
 * server keeps backup bytes, and only until download or expiry. What it writes is private (files
 * 0600, folders 0700), and a link is claimed when its download starts: of two requests with one
 * token, only one gets the file.
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { parseProviderConfig } from "../../config.ts";
import type { StorageCapabilities, UploadOptions, UploadResult, UploadSource } from "../../contract.ts";
import { StorageError } from "../../errors.ts";
import { validateKey } from "../../keys.ts";
import { DelegatingDestination } from "../../layer/delegating-destination.ts";
import { FOLDER_MODE, LocalMappedDestination } from "../local-mapped/provider.ts";
import { type BrowserDownloadConfig, browserDownloadDisplayName } from "./config.ts";
import { browserDownloadDescription } from "./description.ts";
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
  /** Another request is downloading it right now. */
  | { readonly status: "claimed"; readonly key: string }
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

/** The local destination of the staged objects, before `configure()`: every call says "not configured". */
const unconfigured = () => new LocalMappedDestination();

export class BrowserDownloadDestination extends DelegatingDestination {
  private config: BrowserDownloadConfig | undefined;
  private tokens: TokenIndex | undefined;
  private readonly now: () => number;

  constructor(config?: unknown, options: BrowserDownloadOptions = {}) {
    super(unconfigured());
    this.now = options.now ?? Date.now;
    if (config !== undefined) this.apply(config);
  }

  override get type(): "browser_download" {
    return "browser_download";
  }

  override get name(): string {
    return this.config ? browserDownloadDisplayName(this.config) : "browser_download (not configured)";
  }

  override get capabilities(): StorageCapabilities {
    return browserDownloadDescription.capabilities(this.config);
  }

  override async configure(config: unknown): Promise<void> {
    this.apply(config);
  }

  private apply(raw: unknown): void {
    const config = parseProviderConfig(browserDownloadDescription.configSchema, raw, this.config ? this.name : this.type);
    this.config = config;
    this.inner = new LocalMappedDestination({
      basePath: join(config.stagingPath, OBJECTS_FOLDER),
      ...(config.maxSize === undefined ? {} : { maxSize: config.maxSize }),
    });
    this.tokens = new TokenIndex(join(config.stagingPath, TOKEN_INDEX_FILE), this.name);
  }

  private get parts(): { config: BrowserDownloadConfig; tokens: TokenIndex } {
    if (!this.config || !this.tokens) {
      throw new StorageError("INVALID_CONFIG", this.name, "not configured: call configure() first");
    }
    return { config: this.config, tokens: this.tokens };
  }

  /** Creates the staging folder and `<staging>/objects` (mode 0700) when missing: they hold whole databases. */
  private async ensureStaging(): Promise<void> {
    const objects = join(this.parts.config.stagingPath, OBJECTS_FOLDER);
    try {
      await mkdir(objects, { recursive: true, mode: FOLDER_MODE });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const [storageCode, why] =
        code === "EACCES" || code === "EPERM" || code === "EROFS"
          ? (["AUTH", "permission denied"] as const)
          : code === "ENOTDIR" || code === "EEXIST"
            ? (["NOT_FOUND", "a part of that path is a file, not a folder"] as const)
            : (["UNKNOWN", (error as Error).message] as const);
      throw new StorageError(storageCode, this.name, `cannot create the staging folder ${objects}: ${why}`, { cause: error });
    }
  }

  /**
   * Stages the object and issues its download token. Any earlier token for the same key is revoked:
   * a key has at most one live link, which always serves the bytes it was issued for.
   */
  override async upload(source: UploadSource, key: string, options: UploadOptions = {}): Promise<BrowserDownloadUploadResult> {
    validateKey(key, this.name);
    await this.ensureStaging();
    const stored = await this.delegate((objects) => objects.upload(source, key, options));
    let issued: IssuedToken;
    try {
      issued = await this.issue(key);
    } catch (error) {
      // Bytes without a link would only wait for the orphan sweep; remove them now.
      await this.delegate((objects) => objects.delete(key)).catch(() => undefined);
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
   * A token whose download is under way resolves as `claimed`. Used by `createDownloadHandler`.
   */
  async resolveToken(token: string): Promise<TokenLookup> {
    const { tokens } = this.parts;
    const entry = await tokens.find(token);
    if (!entry) return { status: "unknown" };
    if (entry.expiresAt <= this.now()) {
      await this.removeToken(entry.hash, true);
      return { status: "expired", key: entry.key };
    }
    if (entry.claimedAt !== undefined) return { status: "claimed", key: entry.key };
    return { status: "valid", key: entry.key, hash: entry.hash, expiresAt: new Date(entry.expiresAt) };
  }

  /**
   * Claims the link for one download, under the token index's lock: of several requests presenting the
   * same token at once, exactly one gets `true`. The claim ends with `completeDownload` (the link is
   * used up) or `releaseDownload` (the browser went away: the link works again until it expires).
   */
  async claimDownload(hash: string): Promise<boolean> {
    const { tokens } = this.parts;
    const at = this.now();
    return tokens.update((entries) => {
      const match = entries.find((e) => e.hash === hash);
      if (!match || match.claimedAt !== undefined || match.expiresAt <= at) return { entries, result: false };
      return { entries: entries.map((e) => (e === match ? { ...e, claimedAt: at } : e)), result: true };
    });
  }

  /** Ends a claim without using the link up (an interrupted download). */
  async releaseDownload(hash: string): Promise<void> {
    const { tokens } = this.parts;
    await tokens.update((entries) => {
      const match = entries.find((e) => e.hash === hash && e.claimedAt !== undefined);
      if (!match) return { entries, result: undefined };
      const { claimedAt: _released, ...rest } = match;
      return { entries: entries.map((e) => (e === match ? rest : e)), result: undefined };
    });
  }

  /**
   * Called once every byte of a download has been handed to the HTTP layer: the link is used up and
   * the staged bytes go. Does nothing when the token was already revoked (a newer upload of the
   * same key), so a newer object is never removed.
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
    if (removed && removeObject) await this.delegate((objects) => objects.delete(removed.key));
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
      await this.delegate((objects) => objects.delete(entry.key));
      removedKeys.add(entry.key);
    }
    const orphanBefore = at - config.ttlSeconds * 1000;
    for (const object of await this.list("")) {
      if (liveKeys.has(object.key) || removedKeys.has(object.key)) continue;
      if (object.modifiedAt.getTime() <= orphanBefore) {
        await this.delegate((objects) => objects.delete(object.key));
        removedKeys.add(object.key);
      }
    }
    return { removedTokens: expired.length, removedKeys: [...removedKeys].sort() };
  }

  /** Removes the object and revokes its link. */
  override async delete(key: string): Promise<void> {
    validateKey(key, this.name);
    const { tokens } = this.parts;
    await this.ensureStaging();
    await tokens.update((entries) => {
      const kept = entries.filter((e) => e.key !== key);
      return { entries: kept.length === entries.length ? entries : kept, result: undefined };
    });
    await this.delegate((objects) => objects.delete(key));
  }

  override async getAvailableSpace(): Promise<number | null> {
    await this.ensureStaging();
    return this.delegate((objects) => objects.getAvailableSpace());
  }
}

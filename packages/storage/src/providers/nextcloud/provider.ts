/**
 * @module providers/nextcloud/provider
 * Nextcloud, and any plain WebDAV server (`mode: "webdav"`), through the `webdav` client.
 *
 * Paths: the DAV root is `<serverUrl>/remote.php/dav/files/<username>` (nextcloud) or `serverUrl`
 * itself (webdav); objects live at `<DAV root>/<basePath>/<key>`.
 *
 * Uploads are atomic: the bytes go to a hidden `.stowage-partial-<random>` file in the target folder
 * (skipped by `list`), whose size is checked, then MOVEd onto the key; failures delete the temp file.
 * In nextcloud mode a stream larger than one chunk goes through chunked upload v2 instead, which the
 * server assembles and moves onto the key in one request. Bodies always carry a Content-Length except a
 * plain-WebDAV stream of unknown length, where chunked transfer encoding is the only option.
 */
import { randomBytes } from "node:crypto";
import { stat as fsStat } from "node:fs/promises";
import { addAbortSignal, type Readable, Transform, type TransformCallback } from "node:stream";
import { createClient, type FileStat, parseXML, type WebDAVClient } from "webdav";
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
import { joinPath, validateKey, validatePrefix } from "../../keys.ts";
import { type ByteMeter, meterSource, openSource } from "../../stream/meter.ts";
import { bodyOf, ChunkedUploadSession, chunksOf } from "./chunked-upload.ts";
import { type NextcloudConfig, nextcloudConfigSchema, nextcloudDisplayName } from "./config.ts";
import { type ErrorContext, httpStatus, mapDavError } from "./errors.ts";
import { type Agents, createAgents } from "./http-agent.ts";

/** Temp files carry this prefix; listings skip them. */
export const TEMP_PREFIX = ".stowage-partial-";

/** A connection that is not established by then fails as UNREACHABLE. */
const CONNECT_TIMEOUT_MS = 5_000;
/** Metadata requests (PROPFIND, MKCOL, DELETE, MOVE of a small file) that take longer fail as UNREACHABLE. */
const REQUEST_TIMEOUT_MS = 30_000;
/** Assembling a big chunked upload can take the server minutes. */
const ASSEMBLY_TIMEOUT_MS = 30 * 60_000;
/** Folders listed in parallel by `list`. */
const LIST_CONCURRENCY = 4;

const QUOTA_PROPFIND = `<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:"><d:prop><d:quota-available-bytes/><d:quota-used-bytes/><d:resourcetype/></d:prop></d:propfind>`;

interface Clients {
  readonly files: WebDAVClient;
  /** Nextcloud mode only: rooted at `/remote.php/dav/uploads/<user>`. */
  readonly uploads: WebDAVClient | undefined;
  /** Absolute URL of the DAV root, for Destination headers. */
  readonly filesRootUrl: string;
  readonly agents: Agents;
}

/** Fails the stream unless exactly `expected` bytes pass (a Content-Length we promised must hold). */
class ExactLength extends Transform {
  private seen = 0;
  constructor(private readonly expected: number) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.expected) cb(new Error(`the source has more than the announced ${this.expected} bytes`));
    else cb(null, chunk);
  }
  override _flush(cb: TransformCallback): void {
    cb(
      this.seen === this.expected
        ? null
        : new Error(`the source ended after ${this.seen} of the announced ${this.expected} bytes`),
    );
  }
}

function encodeSegments(path: string): string {
  return path
    .split("/")
    .map((s) => encodeURIComponent(s))
    .join("/");
}

export class NextcloudDestination implements StorageDestination {
  readonly type = "nextcloud" as const;
  private config: NextcloudConfig | undefined;
  private clients: Clients | undefined;
  /** Set once the base folder has been seen to exist. */
  private baseChecked: Promise<void> | undefined;
  /** Folders known to exist (MKCOL done or answered 405), shared by parallel uploads. */
  private readonly folders = new Map<string, Promise<void>>();

  constructor(config?: unknown) {
    if (config !== undefined) this.apply(config);
  }

  get name(): string {
    return this.config ? nextcloudDisplayName(this.config) : "nextcloud (not configured)";
  }

  get capabilities(): StorageCapabilities {
    return {
      // RFC 4918 §9.9.3: MOVE with Overwrite deletes the target first, so a replace is two steps
      // (readers may briefly see no object, never a partial one).
      atomicReplace: false,
      unknownLengthUpload: true,
      // Nextcloud always answers quota-available-bytes; a plain WebDAV server may not (rclone does not).
      reportsFreeSpace: this.config?.mode === "nextcloud",
      hierarchical: true,
    };
  }

  async configure(config: unknown): Promise<void> {
    this.apply(config);
  }

  private apply(raw: unknown): void {
    const config = parseProviderConfig(nextcloudConfigSchema, raw, "nextcloud");
    this.clients?.agents.destroy();
    this.config = config;
    this.clients = undefined;
    this.baseChecked = undefined;
    this.folders.clear();
  }

  private get cfg(): NextcloudConfig {
    if (!this.config) throw new StorageError("INVALID_CONFIG", this.name, "not configured: call configure() first");
    return this.config;
  }

  private get davClients(): Clients {
    if (this.clients) return this.clients;
    const cfg = this.cfg;
    const server = cfg.serverUrl.replace(/\/+$/, "");
    const user = encodeURIComponent(cfg.username);
    const filesRootUrl = cfg.mode === "nextcloud" ? `${server}/remote.php/dav/files/${user}` : server;
    const agents = createAgents(CONNECT_TIMEOUT_MS);
    const options = {
      ...(cfg.username || cfg.password ? { username: cfg.username, password: cfg.password } : {}),
      httpAgent: agents.httpAgent,
      httpsAgent: agents.httpsAgent,
    };
    this.clients = {
      files: createClient(filesRootUrl, options),
      uploads: cfg.mode === "nextcloud" ? createClient(`${server}/remote.php/dav/uploads/${user}`, options) : undefined,
      filesRootUrl,
      agents,
    };
    return this.clients;
  }

  /** Base folder relative to the DAV root, without edge slashes ("" for the root). */
  private get base(): string {
    return joinPath(this.cfg.basePath);
  }

  /** Path of a key (or folder key) relative to the DAV root, with a leading slash. */
  private davPath(key: string): string {
    return `/${joinPath(this.base, key)}`;
  }

  private ctx(extra: Partial<ErrorContext> = {}): ErrorContext {
    return { config: this.cfg, destination: this.name, ...extra };
  }

  private baseMissingMessage(): string {
    const which =
      this.cfg.mode === "nextcloud"
        ? "NEXTCLOUD_BASE_PATH / basePath (and check that serverUrl is the Nextcloud root, without /remote.php/…)"
        : "the URL path / basePath";
    return `the folder ${JSON.stringify(`/${this.base}`)} does not exist on the server; create it or fix ${which}`;
  }

  /** Runs a metadata request with a timeout, merged with the caller's signal. */
  private async timed<T>(
    what: string,
    run: (signal: AbortSignal) => Promise<T>,
    options: { signal?: AbortSignal | undefined; timeoutMs?: number; notFound?: string } = {},
  ): Promise<T> {
    const timeout = AbortSignal.timeout(options.timeoutMs ?? REQUEST_TIMEOUT_MS);
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    try {
      return await run(signal);
    } catch (error) {
      throw mapDavError(error, what, this.ctx({ signal: options.signal, timedOut: timeout.aborted }), options.notFound);
    }
  }

  /** PROPFIND Depth 0 of the base folder, once per configuration. */
  private ensureBase(signal?: AbortSignal): Promise<void> {
    if (!this.baseChecked) {
      const check = this.timed(
        "base folder",
        async (s) => {
          const info = (await this.davClients.files.stat(this.davPath(""), { signal: s })) as FileStat;
          if (info.type !== "directory")
            throw new StorageError("NOT_FOUND", this.name, `${JSON.stringify(`/${this.base}`)} is a file, not a folder`);
        },
        { signal, notFound: this.baseMissingMessage() },
      );
      this.baseChecked = check;
      check.catch(() => {
        if (this.baseChecked === check) this.baseChecked = undefined;
      });
    }
    return this.baseChecked;
  }

  /**
   * MKCOL each missing folder of `folderKey` below the base folder (never the base folder itself).
   * The MKCOLs are shared by parallel uploads, so they do not follow one caller's signal (only a timeout).
   */
  private async ensureFolders(folderKey: string, signal?: AbortSignal): Promise<void> {
    if (!folderKey) return;
    const segments = folderKey.split("/");
    for (let i = 1; i <= segments.length; i++) {
      const key = segments.slice(0, i).join("/");
      let pending = this.folders.get(key);
      if (!pending) {
        pending = this.timed(
          `creating folder ${key}`,
          async (s) => {
            try {
              await this.davClients.files.createDirectory(this.davPath(key), { signal: s });
            } catch (error) {
              if (httpStatus(error) === 405) return; // already exists
              throw error;
            }
          },
          { notFound: i === 1 ? this.baseMissingMessage() : `the parent folder of ${key} disappeared while creating it` },
        );
        this.folders.set(key, pending);
        const mine = pending;
        pending.catch(() => {
          if (this.folders.get(key) === mine) this.folders.delete(key);
        });
      }
      await pending;
      if (signal?.aborted) throw new StorageError("INTERRUPTED", this.name, `creating folder ${key}: aborted`);
    }
  }

  async upload(source: UploadSource, key: string, options: UploadOptions = {}): Promise<UploadResult> {
    validateKey(key, this.name);
    const { signal } = options;
    if (signal?.aborted) throw new StorageError("INTERRUPTED", this.name, `upload of ${key}: aborted before it started`);
    const input = openSource(source);
    let sourceError: unknown;
    input.once("error", (error) => {
      if (!signal?.aborted) sourceError ??= error;
    });
    const meter = meterSource(input, options.onProgress);
    // The request (or chunk reader) consuming the meter reports its errors; this listener only keeps an
    // abort or a source failure before consumption starts from becoming an unhandled 'error' event.
    meter.on("error", () => {});
    if (signal) addAbortSignal(signal, meter);
    const fail = (error: unknown, what = `upload of ${key}`) => {
      input.destroy();
      meter.destroy();
      return mapDavError(error, what, this.ctx({ signal, sourceError }));
    };
    const folderKey = key.includes("/") ? key.slice(0, key.lastIndexOf("/")) : "";
    try {
      await this.ensureBase(signal);
      await this.ensureFolders(folderKey, signal);
    } catch (error) {
      throw fail(error);
    }
    let size = options.size;
    try {
      if (size === undefined && !("pipe" in source)) size = (await fsStat(source.path)).size;
      if (this.cfg.mode === "nextcloud") return await this.uploadNextcloud(meter, key, folderKey, size, signal);
      const body = size === undefined ? meter : meter.pipe(new ExactLength(size));
      if (body !== meter) {
        body.on("error", () => {});
        meter.once("error", (e) => body.destroy(e));
      }
      return await this.putThenMove(body, meter, key, folderKey, size, signal);
    } catch (error) {
      throw fail(error);
    }
  }

  /** Nextcloud: a stream that fits one chunk goes as one PUT with Content-Length, a longer one as chunked upload v2. */
  private async uploadNextcloud(
    meter: ByteMeter,
    key: string,
    folderKey: string,
    size: number | undefined,
    signal: AbortSignal | undefined,
  ): Promise<UploadResult> {
    const chunks = chunksOf(meter, this.cfg.chunkSizeBytes);
    const first = await chunks.next();
    if (first.done) throw new Error("chunk reader ended without a chunk");
    if (first.value.final) {
      await chunks.return(undefined);
      return this.putThenMove(bodyOf(first.value), meter, key, folderKey, first.value.bytes, signal);
    }
    const { uploads, filesRootUrl } = this.davClients;
    if (!uploads) throw new Error("chunked upload needs nextcloud mode");
    const session = new ChunkedUploadSession({ uploads, destinationUrl: `${filesRootUrl}${encodeSegments(this.davPath(key))}` });
    try {
      await this.timed(`upload of ${key} (starting chunked upload)`, (s) => session.start(s), {
        signal,
        notFound:
          "the server has no chunked-upload endpoint (/remote.php/dav/uploads); use mode 'webdav' for servers other than Nextcloud",
      });
      await session.putChunk(first.value, size, signal);
      for await (const chunk of chunks) {
        if (chunk.bytes > 0) await session.putChunk(chunk, size, signal);
      }
      await this.timed(`upload of ${key} (assembling chunks)`, (s) => session.finish(meter.bytes, s), {
        signal,
        timeoutMs: ASSEMBLY_TIMEOUT_MS,
      });
    } catch (error) {
      await session.abort(REQUEST_TIMEOUT_MS);
      throw error;
    }
    return this.result(key, meter);
  }

  /** PUT to a hidden temp file in the target folder, check its size, MOVE it onto the key. */
  private async putThenMove(
    body: Readable,
    meter: ByteMeter,
    key: string,
    folderKey: string,
    size: number | undefined,
    signal: AbortSignal | undefined,
  ): Promise<UploadResult> {
    const { files } = this.davClients;
    const tempKey = joinPath(folderKey, `${TEMP_PREFIX}${randomBytes(8).toString("hex")}`);
    const temp = this.davPath(tempKey);
    try {
      await files.putFileContents(temp, body, {
        overwrite: true,
        headers: size === undefined ? {} : { "Content-Length": String(size) },
        ...(signal ? { signal } : {}),
      });
      // Some servers/proxies silently store 0 bytes for a streamed body: never MOVE a short file into place.
      const stored = await this.timed(
        `upload of ${key} (checking the stored size)`,
        async (s) => (await files.stat(temp, { signal: s })) as FileStat,
        {
          signal,
        },
      );
      // The PUT may return before the meter saw its input end: wait, so the byte count is final.
      const { bytes } = await meter.totals();
      if (stored.size !== bytes) {
        throw new StorageError(
          "UNKNOWN",
          this.name,
          `upload of ${key}: the server stored ${stored.size} of ${bytes} bytes (a proxy may drop bodies sent without Content-Length); nothing was kept`,
        );
      }
      await this.timed(
        `upload of ${key} (moving into place)`,
        (s) => files.moveFile(temp, this.davPath(key), { overwrite: true, signal: s }),
        {
          signal,
          notFound: `the folder of ${key} disappeared during the upload`,
        },
      );
    } catch (error) {
      await this.removeQuietly(temp);
      throw error;
    }
    return this.result(key, meter);
  }

  private async result(key: string, meter: ByteMeter): Promise<UploadResult> {
    const { bytes, sha256 } = await meter.totals();
    const path = this.davPath(key);
    const cfg = this.cfg;
    const server = cfg.serverUrl.replace(/\/+$/, "");
    const folder = path.slice(0, path.lastIndexOf("/")) || "/";
    const url =
      cfg.mode === "nextcloud"
        ? `${server}/apps/files/?dir=${encodeURIComponent(folder)}`
        : `${this.davClients.filesRootUrl}${encodeSegments(path)}`;
    return { storagePath: path, url, size: bytes, sha256 };
  }

  /**
   * Best-effort removal of a temp file that never throws (the server may be gone). After an aborted
   * PUT the server may still be closing the file it received: rclone answers 423 Locked meanwhile, or
   * the DELETE comes before the file appears. So retry, and check again shortly after.
   */
  private async removeQuietly(path: string): Promise<void> {
    const { files } = this.davClients;
    const pause = () => new Promise((resolve) => setTimeout(resolve, 150));
    for (let round = 0; round < 10; round++) {
      try {
        await files.deleteFile(path, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
      } catch (error) {
        const status = httpStatus(error);
        // Unreachable, or refused for good: leftover temp files stay hidden from list().
        if (status === undefined || status === 401 || status === 403) return;
        if (status !== 404) {
          await pause();
          continue;
        }
      }
      await pause();
      try {
        await files.stat(path, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
      } catch {
        return; // gone (404) or unreachable
      }
    }
  }

  async download(key: string, options: DownloadOptions = {}): Promise<Readable> {
    validateKey(key, this.name);
    const connect = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
    // The timeout only covers waiting for the response headers; the body may take as long as it needs.
    const controller = new AbortController();
    const onConnectTimeout = () => controller.abort();
    connect.addEventListener("abort", onConnectTimeout, { once: true });
    const signal = options.signal ? AbortSignal.any([options.signal, controller.signal]) : controller.signal;
    try {
      const res = await this.davClients.files.customRequest(this.davPath(key), { method: "GET", signal });
      return (res as unknown as { body: Readable }).body;
    } catch (error) {
      throw mapDavError(error, key, this.ctx({ signal: options.signal, timedOut: connect.aborted }), `${key}: no such object`);
    } finally {
      connect.removeEventListener("abort", onConnectTimeout);
    }
  }

  async stat(key: string): Promise<StorageObjectInfo> {
    validateKey(key, this.name);
    const info = await this.timed(
      key,
      async (s) => (await this.davClients.files.stat(this.davPath(key), { signal: s })) as FileStat,
      {
        notFound: `${key}: no such object`,
      },
    );
    if (info.type !== "file") throw new StorageError("NOT_FOUND", this.name, `${key}: no such object (it is a folder)`);
    return this.toInfo(key, info);
  }

  private toInfo(key: string, info: FileStat): StorageObjectInfo {
    const etag = info.etag ? info.etag.replace(/^(W\/)?"|"$/g, "") : undefined;
    return { key, size: info.size, modifiedAt: new Date(info.lastmod), ...(etag ? { etag } : {}) };
  }

  async delete(key: string): Promise<void> {
    validateKey(key, this.name);
    await this.timed(`delete of ${key}`, async (s) => {
      try {
        await this.davClients.files.deleteFile(this.davPath(key), { signal: s });
      } catch (error) {
        if (httpStatus(error) === 404) return;
        throw error;
      }
    });
  }

  async list(prefix = ""): Promise<StorageObjectInfo[]> {
    validatePrefix(prefix, this.name);
    const out: StorageObjectInfo[] = [];
    const basePrefix = this.base ? `/${this.base}/` : "/";
    // Walk only below the deepest folder the prefix names: nothing else can match.
    const startKey = prefix.includes("/") ? prefix.slice(0, prefix.lastIndexOf("/")) : "";
    const queue: string[] = [startKey];
    let active = 0;
    const listFolder = async (folderKey: string): Promise<void> => {
      let entries: FileStat[];
      try {
        entries = await this.timed(
          `list of ${prefix || "/"}`,
          async (s) => (await this.davClients.files.getDirectoryContents(this.davPath(folderKey), { signal: s })) as FileStat[],
        );
      } catch (error) {
        // A missing sub-folder just means no keys; a missing base folder is an error.
        if (StorageError.is(error, "NOT_FOUND") && folderKey !== "") return;
        if (StorageError.is(error, "NOT_FOUND"))
          throw new StorageError("NOT_FOUND", this.name, `list: ${this.baseMissingMessage()}`);
        throw error;
      }
      for (const entry of entries) {
        if (entry.basename.startsWith(TEMP_PREFIX)) continue;
        const filename = entry.filename.startsWith(basePrefix) ? entry.filename.slice(basePrefix.length) : undefined;
        if (!filename || filename === folderKey) continue;
        if (entry.type === "directory") {
          if (prefix.startsWith(`${filename}/`) || `${filename}/`.startsWith(prefix)) queue.push(filename);
        } else if (filename.startsWith(prefix)) {
          out.push(this.toInfo(filename, entry));
        }
      }
    };
    const workers = Array.from({ length: LIST_CONCURRENCY }, async () => {
      // Folders found by one worker are picked up by whichever worker is free.
      for (;;) {
        const next = queue.shift();
        if (next === undefined) {
          if (active === 0) return;
          await new Promise((r) => setTimeout(r, 5));
          continue;
        }
        active++;
        try {
          await listFolder(next);
        } finally {
          active--;
        }
      }
    });
    await Promise.all(workers);
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async validateConnection(): Promise<ConnectionCheck> {
    const started = performance.now();
    const latency = () => Math.round(performance.now() - started);
    try {
      this.baseChecked = undefined;
      await this.ensureBase();
      return { ok: true, latencyMs: latency() };
    } catch (error) {
      const message = StorageError.is(error) ? error.message : mapDavError(error, "connection check", this.ctx()).message;
      return { ok: false, error: message, latencyMs: latency() };
    }
  }

  async getAvailableSpace(): Promise<number | null> {
    const res = await this.timed(
      "free space",
      (s) =>
        this.davClients.files.customRequest(this.davPath(""), {
          method: "PROPFIND",
          headers: { Depth: "0", "Content-Type": "application/xml; charset=utf-8", Accept: "application/xml" },
          data: QUOTA_PROPFIND,
          signal: s,
        }),
      { notFound: this.baseMissingMessage() },
    );
    const xml = await res.text();
    const parsed = await parseXML(xml);
    for (const response of parsed.multistatus.response) {
      const propstats = Array.isArray(response.propstat) ? response.propstat : [response.propstat];
      for (const propstat of propstats) {
        if (!propstat || !/\s200\s/.test(` ${propstat.status} `)) continue;
        const raw = propstat.prop?.["quota-available-bytes"];
        if (raw === undefined || raw === "") continue;
        const value = Number(raw);
        // Nextcloud answers -1/-2/-3 for "not computed", "unknown" and "unlimited".
        return Number.isFinite(value) && value >= 0 ? value : null;
      }
    }
    return null;
  }

  async close(): Promise<void> {
    this.clients?.agents.destroy();
    this.clients = undefined;
    this.baseChecked = undefined;
    this.folders.clear();
  }
}

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
 *
 * User ID: Nextcloud's DAV paths name the user by their ID, which differs from the login name for
 * LDAP/SAML accounts and e-mail logins (`/remote.php/dav/files/<user-id>`; developer manual, "WebDAV
 * basics": "the user ID, not the login name"). So in nextcloud mode the ID is read once from OCS
 * (`GET /ocs/v1.php/cloud/user` with `OCS-APIRequest: true`, which answers for the authenticated user;
 * OCS API overview) before the first DAV request, and every path is built from it.
 *
 * Trash bin: a WebDAV DELETE moves the file to the user's trash bin (files_trashbin), so deleting frees
 * no space on the server until the trash is emptied or expires. With `purgeTrash` the deleted file is
 * also removed from the trash bin: PROPFIND `/remote.php/dav/trashbin/<user-id>/trash` and DELETE the
 * item whose `nc:trashbin-original-location` is the file's path (developer manual, WebDAV "Trashbin").
 */
import { stat as fsStat } from "node:fs/promises";
import { addAbortSignal, type Readable, Transform, type TransformCallback } from "node:stream";
import { createClient, type FileStat, parseXML, type WebDAVClient } from "webdav";
import { z } from "zod";
import type { DownloadOptions, StorageObjectInfo, UploadOptions, UploadResult, UploadSource } from "../../contract.ts";
import { StorageError } from "../../errors.ts";
import { joinPath } from "../../keys.ts";
import { DestinationLayer } from "../../layer/destination-layer.ts";
import { createLimit } from "../../layer/limit.ts";
import type { DriverContext, StorageDriver } from "../../layer/provider.ts";
import { backoffDelay, retry, sleep } from "../../layer/retry.ts";
import { tempName } from "../../layer/temp-name.ts";
import { type ByteMeter, meterSource, openSource } from "../../stream/meter.ts";
import { bodyOf, type Chunk, ChunkedUploadSession, chunksOf } from "./chunked-upload.ts";
import type { NextcloudConfig } from "./config.ts";
import { nextcloudDescription } from "./description.ts";
import { type ErrorContext, httpStatus, isTransientDavError, mapDavError } from "./errors.ts";
import { type Agents, createAgents } from "./http-agent.ts";

/** A connection that is not established by then fails as UNREACHABLE. */
const CONNECT_TIMEOUT_MS = 5_000;
/** Metadata requests (PROPFIND, MKCOL, DELETE, MOVE of a small file) that take longer fail as UNREACHABLE. */
const REQUEST_TIMEOUT_MS = 30_000;
/** Assembling a big chunked upload can take the server minutes. */
const ASSEMBLY_TIMEOUT_MS = 30 * 60_000;
/** Folders listed in parallel by `list`. */
const LIST_CONCURRENCY = 4;

const TRASH_PROPFIND = `<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:" xmlns:nc="http://nextcloud.org/ns"><d:prop><nc:trashbin-filename/><nc:trashbin-original-location/><nc:trashbin-deletion-time/><d:resourcetype/></d:prop></d:propfind>`;

/** OCS v1 answer of `/cloud/user` in JSON (`Accept: application/json`): only what is used. */
const ocsUserSchema = z.object({
  ocs: z.object({
    meta: z.object({ statuscode: z.number(), message: z.string().nullish() }),
    data: z.object({ id: z.string().min(1) }).or(z.array(z.unknown())),
  }),
});

const QUOTA_PROPFIND = `<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:"><d:prop><d:quota-available-bytes/><d:quota-used-bytes/><d:resourcetype/></d:prop></d:propfind>`;

interface Clients {
  readonly files: WebDAVClient;
  /**
   * Rooted at the server's origin, for creating the folders of the DAV root path itself (webdav mode:
   * `webdav+http://host/backups/mydb` where `/backups` does not exist yet); in nextcloud mode the
   * files client (nothing above `/remote.php/dav/files/<user>` is ours to create).
   */
  readonly root: WebDAVClient;
  /** The DAV root's path as seen by `root`: "" in nextcloud mode, the server URL's path in webdav mode. */
  readonly rootPrefix: string;
  /** Nextcloud mode only: rooted at `/remote.php/dav/uploads/<user-id>`. */
  readonly uploads: WebDAVClient | undefined;
  /** Nextcloud mode only: rooted at `/remote.php/dav/trashbin/<user-id>`. */
  readonly trash: WebDAVClient | undefined;
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

/** One upload in progress, as its steps see it. */
interface PendingUpload {
  readonly meter: ByteMeter;
  readonly key: string;
  /** The key's folder ("" at the base). */
  readonly folderKey: string;
  readonly signal: AbortSignal | undefined;
}

export class NextcloudDriver implements StorageDriver {
  private clients: Clients | undefined;
  private agentsInstance: Agents | undefined;
  /** Nextcloud mode: the user ID the DAV paths use (from OCS), once known. */
  private userId: string | undefined;
  private userIdLookup: Promise<void> | undefined;
  /** Set once the base folder has been seen to exist (or created). */
  private baseChecked: Promise<void> | undefined;
  /** Folders known to exist (MKCOL done or answered 405), shared by parallel uploads. */
  private readonly folders = new Map<string, Promise<void>>();

  constructor(
    private readonly cfg: NextcloudConfig,
    private readonly context: DriverContext,
  ) {}

  private get name(): string {
    return this.context.name;
  }

  private get agents(): Agents {
    this.agentsInstance ??= createAgents(CONNECT_TIMEOUT_MS);
    return this.agentsInstance;
  }

  private get clientOptions() {
    const cfg = this.cfg;
    return {
      ...(cfg.username || cfg.password ? { username: cfg.username, password: cfg.password } : {}),
      httpAgent: this.agents.httpAgent,
      httpsAgent: this.agents.httpsAgent,
    };
  }

  /**
   * Nextcloud mode: reads the user ID from OCS once (see the module comment); every driver method
   * awaits this before its first DAV request. A server without OCS (404) keeps the login name.
   */
  private ready(signal?: AbortSignal): Promise<void> {
    if (this.cfg.mode !== "nextcloud" || this.userId !== undefined) return Promise.resolve();
    if (!this.userIdLookup) {
      const lookup = this.lookUpUserId();
      this.userIdLookup = lookup;
      lookup.catch(() => {
        if (this.userIdLookup === lookup) this.userIdLookup = undefined;
      });
    }
    const pending = this.userIdLookup;
    if (!signal) return pending;
    return Promise.race([
      pending,
      new Promise<void>((_, reject) => {
        if (signal.aborted) reject(new StorageError("INTERRUPTED", this.name, "aborted while reading the user ID"));
        signal.addEventListener(
          "abort",
          () => reject(new StorageError("INTERRUPTED", this.name, "aborted while reading the user ID")),
          { once: true },
        );
      }),
    ]);
  }

  private async lookUpUserId(): Promise<void> {
    const server = this.cfg.serverUrl.replace(/\/+$/, "");
    const ocs = createClient(server, this.clientOptions);
    const what = "reading the user ID (/ocs/v1.php/cloud/user)";
    const answer = await this.timed(
      what,
      async (s) => {
        try {
          const res = await ocs.customRequest("/ocs/v1.php/cloud/user", {
            method: "GET",
            headers: { "OCS-APIRequest": "true", Accept: "application/json" },
            signal: s,
          });
          return await res.text();
        } catch (error) {
          if (httpStatus(error) === 404) return undefined;
          throw error;
        }
      },
      { notFound: `no Nextcloud answers at ${server}; check the server URL (the Nextcloud root, without /remote.php/…)` },
    );
    if (answer === undefined) {
      // Not a Nextcloud with the provisioning API (an old or trimmed server): the login name is all there is.
      this.userId = this.cfg.username;
      return;
    }
    let parsed: z.infer<typeof ocsUserSchema>;
    try {
      parsed = ocsUserSchema.parse(JSON.parse(answer));
    } catch {
      throw new StorageError(
        "UNKNOWN",
        this.name,
        `${what}: the server's answer is not an OCS user (is serverUrl the Nextcloud root?)`,
      );
    }
    const { meta, data } = parsed.ocs;
    // OCS v1 may answer HTTP 200 with its own status code: 100 is success, 997 "not authorized".
    if (meta.statuscode === 997) throw mapDavError(Object.assign(new Error("OCS 997"), { status: 401 }), what, this.ctx());
    if (meta.statuscode !== 100 || Array.isArray(data)) {
      throw new StorageError("UNKNOWN", this.name, `${what}: OCS status ${meta.statuscode} ${meta.message ?? ""}`.trim());
    }
    this.userId = data.id;
  }

  private get davClients(): Clients {
    if (this.clients) return this.clients;
    const cfg = this.cfg;
    if (cfg.mode === "nextcloud" && this.userId === undefined) throw new Error("internal: the user ID is not known yet");
    const server = cfg.serverUrl.replace(/\/+$/, "");
    const user = encodeURIComponent(this.userId ?? cfg.username);
    const filesRootUrl = cfg.mode === "nextcloud" ? `${server}/remote.php/dav/files/${user}` : server;
    const agents = this.agents;
    const options = this.clientOptions;
    const files = createClient(filesRootUrl, options);
    const url = new URL(server);
    this.clients = {
      files,
      root: cfg.mode === "nextcloud" ? files : createClient(url.origin, options),
      // The client encodes paths itself: hand it decoded segments (a user "a@b" appears as a%40b in the URL).
      rootPrefix: cfg.mode === "nextcloud" ? "" : decodeURIComponent(url.pathname).replace(/\/+$/, ""),
      uploads: cfg.mode === "nextcloud" ? createClient(`${server}/remote.php/dav/uploads/${user}`, options) : undefined,
      trash: cfg.mode === "nextcloud" ? createClient(`${server}/remote.php/dav/trashbin/${user}`, options) : undefined,
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

  /** The base folder as the server names it: the full URL path in webdav mode, the user's path in nextcloud mode. */
  private basePathOnServer(): string {
    return `${this.davClients.rootPrefix}/${this.base}`.replace(/\/+$/, "") || "/";
  }

  private baseMissingMessage(): string {
    const which =
      this.cfg.mode === "nextcloud"
        ? "NEXTCLOUD_BASE_PATH / basePath (and check that serverUrl is the Nextcloud root, without /remote.php/…)"
        : "the URL path / basePath";
    const why = this.cfg.mustExist ? "must_exist is set, so it is not created: create it or fix" : "fix";
    return `the folder ${JSON.stringify(this.basePathOnServer())} does not exist on the server; ${why} ${which}`;
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

  /** The base folder exists (created level by level when missing, unless `mustExist`), once per configuration. */
  private async ensureBase(signal?: AbortSignal): Promise<void> {
    if (!this.baseChecked) {
      const check = this.createBase();
      this.baseChecked = check;
      check.catch(() => {
        if (this.baseChecked === check) this.baseChecked = undefined;
      });
    }
    await this.baseChecked;
    if (signal?.aborted) throw new StorageError("INTERRUPTED", this.name, "aborted while checking the base folder");
  }

  /**
   * The base path's folders as the root client names them, and how many of them exist (PROPFIND
   * upwards from the base until one answers).
   */
  private async findBase(): Promise<{ segments: string[]; existing: number }> {
    const { root, rootPrefix } = this.davClients;
    const segments = `${rootPrefix}/${this.base}`.split("/").filter(Boolean);
    const pathOf = (n: number) => `/${segments.slice(0, n).join("/")}`;
    let existing = segments.length;
    for (; existing > 0; existing--) {
      const path = pathOf(existing);
      const info = await this.timed(
        `checking folder ${path}`,
        async (s) => {
          try {
            return (await root.stat(path, { signal: s })) as FileStat;
          } catch (error) {
            if (httpStatus(error) === 404 || httpStatus(error) === 409) return undefined;
            throw error;
          }
        },
        { notFound: this.baseMissingMessage() },
      );
      if (!info) continue;
      if (info.type !== "directory")
        throw new StorageError("NOT_FOUND", this.name, `${JSON.stringify(path)} is a file, not a folder`);
      break;
    }
    return { segments, existing };
  }

  /** Creates the missing levels of the base path (MKCOL, top down); every error names the exact folder. */
  private async createBase(): Promise<void> {
    const { root } = this.davClients;
    const { segments, existing } = await this.findBase();
    const pathOf = (n: number) => `/${segments.slice(0, n).join("/")}`;
    if (existing === segments.length) return;
    if (this.cfg.mustExist) throw new StorageError("NOT_FOUND", this.name, this.baseMissingMessage());
    for (let level = existing + 1; level <= segments.length; level++) {
      const path = pathOf(level);
      await this.timed(
        `creating folder ${path}`,
        async (s) => {
          try {
            await root.createDirectory(path, { signal: s });
          } catch (error) {
            if (httpStatus(error) === 405) return; // created meanwhile by someone else
            throw error;
          }
        },
        { notFound: `cannot create the folder ${JSON.stringify(path)}: its parent does not exist on the server` },
      );
    }
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

  async upload(source: UploadSource, key: string, options: UploadOptions): Promise<UploadResult> {
    const { signal } = options;
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
      await this.ready(signal);
      await this.ensureBase(signal);
      await this.ensureFolders(folderKey, signal);
    } catch (error) {
      throw fail(error);
    }
    let size = options.size;
    try {
      if (size === undefined && !("pipe" in source)) size = (await fsStat(source.path)).size;
      const upload: PendingUpload = { meter, key, folderKey, signal };
      if (this.cfg.mode === "nextcloud") return await this.uploadNextcloud(upload, size);
      const body = size === undefined ? meter : meter.pipe(new ExactLength(size));
      if (body !== meter) {
        body.on("error", () => {});
        meter.once("error", (e) => body.destroy(e));
      }
      return await this.putThenMove(upload, body, size);
    } catch (error) {
      throw fail(error);
    }
  }

  /** Nextcloud: a stream that fits one chunk goes as one PUT with Content-Length, a longer one as chunked upload v2. */
  private async uploadNextcloud(upload: PendingUpload, size: number | undefined): Promise<UploadResult> {
    const { meter, key, signal } = upload;
    const chunks = chunksOf(meter, this.cfg.chunkSizeBytes);
    const first = await chunks.next();
    if (first.done) throw new Error("chunk reader ended without a chunk");
    if (first.value.final) {
      await chunks.return(undefined);
      return this.putThenMove(upload, bodyOf(first.value), first.value.bytes);
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
      await this.putChunk(session, first.value, size, signal);
      for await (const chunk of chunks) {
        if (chunk.bytes > 0) await this.putChunk(session, chunk, size, signal);
      }
      await this.assemble(session, key, meter.bytes, signal);
    } catch (error) {
      await session.abort(REQUEST_TIMEOUT_MS);
      throw error;
    }
    return this.result(key, meter);
  }

  /** One chunk, retried with the shared policy on 423/425/429/5xx and dropped connections (the body is replayable). */
  private async putChunk(session: ChunkedUploadSession, chunk: Chunk, size: number | undefined, signal?: AbortSignal) {
    const number = session.nextChunkNumber(chunk.bytes);
    await retry(() => session.putChunk(chunk, number, size, signal), {
      policy: this.context.policy,
      isTransient: isTransientDavError,
      signal,
    });
  }

  /**
   * The final MOVE, which makes the server assemble the chunks. It can run for minutes: a reverse proxy
   * in front answers 504 meanwhile (nginx after 60 s, Cloudflare after 100 s) while Nextcloud goes on,
   * and later requests get 423 Locked until the file lands (nextcloud/server#17992; rclone likewise
   * waits and accepts the file when it appears). So on a 504, 423 or a timeout, wait for the upload
   * folder to disappear (polling with backoff, bounded by ASSEMBLY_TIMEOUT_MS), then check the stored
   * size, as the small-file path does, before calling it done.
   */
  private async assemble(session: ChunkedUploadSession, key: string, bytes: number, signal?: AbortSignal): Promise<void> {
    const what = `upload of ${key} (assembling chunks)`;
    try {
      await this.timed(what, (s) => session.finish(bytes, s), { signal, timeoutMs: ASSEMBLY_TIMEOUT_MS });
    } catch (error) {
      const status = httpStatus((error as StorageError).cause);
      const stillAssembling =
        status === 504 || status === 502 || status === 423 || (StorageError.is(error, "UNREACHABLE") && !signal?.aborted);
      if (!stillAssembling) throw error;
      await this.awaitAssembly(session, what, signal);
    }
    const stored = await this.timed(
      `${what}: checking the stored size`,
      async (s) => (await this.davClients.files.stat(this.davPath(key), { signal: s })) as FileStat,
      { signal },
    );
    if (stored.size !== bytes) {
      throw new StorageError("UNKNOWN", this.name, `${what}: the server stored ${stored.size} of ${bytes} bytes; upload again`);
    }
  }

  /** Polls until the server has moved the assembled file out of the upload folder. */
  private async awaitAssembly(session: ChunkedUploadSession, what: string, signal?: AbortSignal): Promise<void> {
    const deadline = Date.now() + ASSEMBLY_TIMEOUT_MS;
    for (let attempt = 0; ; attempt++) {
      const pending = await this.timed(`${what}: waiting for the server`, (s) => session.pending(s), { signal }).catch(
        (error: unknown) => {
          // 423 while the server holds the upload: still assembling.
          if (httpStatus((error as StorageError).cause) === 423) return true;
          throw error;
        },
      );
      if (!pending) return;
      if (Date.now() > deadline) {
        throw new StorageError(
          "UNREACHABLE",
          this.name,
          `${what}: the server was still assembling the file after ${ASSEMBLY_TIMEOUT_MS / 60_000} minutes`,
        );
      }
      await sleep(backoffDelay(attempt, { ...this.context.policy, maxDelayMs: 10_000 }), signal);
    }
  }

  /** PUT to a hidden temp file in the target folder, check its size, MOVE it onto the key. */
  private async putThenMove(upload: PendingUpload, body: Readable, size: number | undefined): Promise<UploadResult> {
    const { meter, key, folderKey, signal } = upload;
    const { files } = this.davClients;
    const tempKey = joinPath(folderKey, tempName());
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
    const stillThere = Object.assign(new Error("the temp file is still there"), { status: 423 });
    await retry(
      async () => {
        try {
          await files.deleteFile(path, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
        } catch (error) {
          if (httpStatus(error) !== 404) throw error;
        }
        await sleep(150);
        const exists = await files.stat(path, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) }).then(
          () => true,
          () => false, // gone (404) or unreachable
        );
        if (exists) throw stillThere;
      },
      {
        // Quick rounds: the server settles within a second or two, and an upload is waiting for this.
        policy: { maxRetries: 9, baseDelayMs: 150, maxDelayMs: 600 },
        // Unreachable, or refused for good: leftover temp files stay hidden from list().
        isTransient: (error) => {
          const status = httpStatus(error);
          return status !== undefined && status !== 401 && status !== 403;
        },
      },
    ).catch(() => undefined);
  }

  async download(key: string, options: DownloadOptions): Promise<Readable> {
    const connect = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
    // The timeout only covers waiting for the response headers; the body may take as long as it needs.
    const controller = new AbortController();
    const onConnectTimeout = () => controller.abort();
    connect.addEventListener("abort", onConnectTimeout, { once: true });
    const signal = options.signal ? AbortSignal.any([options.signal, controller.signal]) : controller.signal;
    try {
      await this.ready(signal);
      const res = await this.davClients.files.customRequest(this.davPath(key), { method: "GET", signal });
      return (res as unknown as { body: Readable }).body;
    } catch (error) {
      throw mapDavError(error, key, this.ctx({ signal: options.signal, timedOut: connect.aborted }), `${key}: no such object`);
    } finally {
      connect.removeEventListener("abort", onConnectTimeout);
    }
  }

  async stat(key: string): Promise<StorageObjectInfo> {
    await this.ready();
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
    await this.ready();
    const deleted = await this.timed(`delete of ${key}`, async (s) => {
      try {
        await this.davClients.files.deleteFile(this.davPath(key), { signal: s });
        return true;
      } catch (error) {
        if (httpStatus(error) === 404) return false;
        throw error;
      }
    });
    if (deleted && this.cfg.purgeTrash && this.cfg.mode === "nextcloud") await this.purgeFromTrash(key);
  }

  /**
   * Removes the item the DELETE of `key` just put in the trash bin: the newest one whose original
   * location is the key's path (an older deletion of the same path, if any, is left alone).
   */
  private async purgeFromTrash(key: string): Promise<void> {
    const trash = this.davClients.trash;
    if (!trash) return;
    const what = `delete of ${key} (removing it from the trash bin)`;
    const original = this.davPath(key).replace(/^\/+/, "");
    const xml = await this.timed(
      what,
      async (s) => {
        const res = await trash.customRequest("/trash", {
          method: "PROPFIND",
          headers: { Depth: "1", "Content-Type": "application/xml; charset=utf-8", Accept: "application/xml" },
          data: TRASH_PROPFIND,
          signal: s,
        });
        return res.text();
      },
      { notFound: "the server has no trash bin endpoint (/remote.php/dav/trashbin): turn purgeTrash off" },
    );
    const parsed = await parseXML(xml);
    let newest: { href: string; time: number } | undefined;
    for (const response of parsed.multistatus.response) {
      const propstats = Array.isArray(response.propstat) ? response.propstat : [response.propstat];
      const props = propstats.find((p) => p && /\s200\s/.test(` ${p.status} `))?.prop as Record<string, unknown> | undefined;
      // ownCloud/Nextcloud versions differ on a leading slash in the original location (owncloud/core#39337).
      const location = String(props?.["trashbin-original-location"] ?? "").replace(/^\/+/, "");
      if (location !== original) continue;
      const time = Number(props?.["trashbin-deletion-time"] ?? 0);
      if (!newest || time >= newest.time) newest = { href: String(response.href), time };
    }
    if (!newest) return; // the server keeps no trash (files_trashbin disabled): nothing to remove
    const item = decodeURIComponent(newest.href.replace(/\/+$/, "").split("/").pop() ?? "");
    await this.timed(what, async (s) => {
      try {
        await trash.deleteFile(`/trash/${item}`, { signal: s });
      } catch (error) {
        if (httpStatus(error) !== 404) throw error;
      }
    });
  }

  /** Every file below the deepest folder the prefix names (nothing else can match), folders listed in parallel. */
  async list(prefix: string): Promise<StorageObjectInfo[]> {
    await this.ready();
    const out: StorageObjectInfo[] = [];
    const basePrefix = this.base ? `/${this.base}/` : "/";
    const limit = createLimit(LIST_CONCURRENCY);
    const walk = async (folderKey: string): Promise<void> => {
      let entries: FileStat[];
      try {
        entries = await limit(() =>
          this.timed(
            `list of ${prefix || "/"}`,
            async (s) => (await this.davClients.files.getDirectoryContents(this.davPath(folderKey), { signal: s })) as FileStat[],
          ),
        );
      } catch (error) {
        // A missing folder holds no keys; a missing base folder is an error only when it must exist.
        if (!StorageError.is(error, "NOT_FOUND")) throw error;
        if (folderKey === "" && this.cfg.mustExist)
          throw new StorageError("NOT_FOUND", this.name, `list: ${this.baseMissingMessage()}`);
        return;
      }
      const folders: string[] = [];
      for (const entry of entries) {
        const filename = entry.filename.startsWith(basePrefix) ? entry.filename.slice(basePrefix.length) : undefined;
        if (!filename || filename === folderKey) continue;
        if (entry.type === "directory") {
          if (prefix.startsWith(`${filename}/`) || `${filename}/`.startsWith(prefix)) folders.push(filename);
        } else if (filename.startsWith(prefix)) {
          out.push(this.toInfo(filename, entry));
        }
      }
      await Promise.all(folders.map(walk));
    };
    await walk(prefix.includes("/") ? prefix.slice(0, prefix.lastIndexOf("/")) : "");
    return out;
  }

  /**
   * The server answers with these credentials and the base folder exists, or can be created: its
   * deepest existing parent is a folder (nothing is created by a check).
   */
  async checkConnection(): Promise<void> {
    this.baseChecked = undefined;
    await this.ready();
    const { segments, existing } = await this.findBase();
    if (existing < segments.length && this.cfg.mustExist)
      throw new StorageError("NOT_FOUND", this.name, this.baseMissingMessage());
    if (existing === 0 && segments.length > 0) {
      // Nothing of the path exists: check the credentials and the DAV root itself.
      await this.timed("connection check", (s) => this.davClients.root.stat("/", { signal: s }), {
        notFound: `no WebDAV folder answers at ${this.davClients.filesRootUrl}; check the server URL`,
      });
    }
  }

  async getAvailableSpace(): Promise<number | null> {
    await this.ready();
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
    this.agentsInstance?.destroy();
    this.agentsInstance = undefined;
    this.clients = undefined;
    this.baseChecked = undefined;
    this.folders.clear();
  }
}

/** Nextcloud, or any WebDAV server, behind the destination layer. */
export class NextcloudDestination extends DestinationLayer<NextcloudConfig, NextcloudDriver> {
  declare readonly type: "nextcloud";

  constructor(config?: unknown) {
    super(nextcloudDescription, (c, ctx) => new NextcloudDriver(c, ctx), config);
  }
}

/**
 * @module test/servers/nextcloud-fake
 * A small WebDAV server over a folder that follows Nextcloud's documented protocol, for the tests:
 * `/remote.php/dav/files/<user>/…` (PROPFIND Depth 0/1, GET, PUT, MKCOL, DELETE, MOVE) and chunked
 * upload v2 at `/remote.php/dav/uploads/<user>/<transfer-id>` (MKCOL, numbered chunk PUTs, MOVE `.file`,
 * DELETE), with basic auth, per-user quota (507, `quota-available-bytes`) and one deliberate strictness:
 * every PUT without a Content-Length is refused with 411, because real Nextcloud behind some proxies
 * turns such bodies into 0-byte files.
 * Users log in with their login name but DAV paths name their user ID, which may differ (LDAP, e-mail
 * logins), as on Nextcloud; `GET /ocs/v1.php/cloud/user` (OCS, needs `OCS-APIRequest: true`) tells the
 * ID. A DELETE moves a file to the user's trash bin (files_trashbin), listed and purged through
 * `/remote.php/dav/trashbin/<user-id>/trash` (PROPFIND with nc:trashbin-filename,
 * nc:trashbin-original-location, nc:trashbin-deletion-time; DELETE of an item or of the whole trash),
 * as the developer manual's WebDAV "Trashbin" page documents. Run as its own process (so a test can SIGKILL it):
 *   FAKE_NC_ROOT=/tmp/x FAKE_NC_PORT=0 FAKE_NC_USERS='[{"name":"alice","password":"…","quotaBytes":null}]'
 *   [FAKE_NC_LOG=/tmp/requests.jsonl] tsx nextcloud-fake.ts      → prints "LISTENING <port>"
 */
import { randomBytes } from "node:crypto";
import { appendFileSync, createReadStream, createWriteStream } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, stat, statfs, writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { dirname, join } from "node:path";
import { pipeline } from "node:stream/promises";

interface User {
  /** The login name (basic auth). */
  name: string;
  /** The user ID in DAV paths; the login name when absent. */
  id?: string;
  password: string;
  /** null: unlimited (free disk space is reported). */
  quotaBytes: number | null;
}

const MIN_CHUNK = 5 * 1024 * 1024;
const MAX_CHUNK = 5 * 1024 * 1024 * 1024;
const MAX_CHUNK_NUMBER = 10_000;
/** Behind-a-proxy mode: the final MOVE answers 504 at once and the assembly lands this much later. */
const assemblyDelayMs = Number(process.env.FAKE_NC_ASSEMBLY_DELAY_MS ?? 0);
/** The chunk (e.g. `00002`) whose first PUT of each upload fails with 503. */
const failChunkOnce = process.env.FAKE_NC_FAIL_CHUNK_ONCE;
/** Upload folders being assembled in the background (PROPFIND answers 423 meanwhile). */
const assembling = new Set<string>();
/** Upload folders whose `failChunkOnce` chunk has failed once already. */
const failedChunks = new Set<string>();

const root = requiredEnv("FAKE_NC_ROOT");
const users: User[] = JSON.parse(requiredEnv("FAKE_NC_USERS"));
const logFile: string | undefined = process.env.FAKE_NC_LOG;

function requiredEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`nextcloud-fake: set ${name}`);
  return value;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly exception = "Sabre\\DAV\\Exception",
  ) {
    super(message);
  }
}

const idOf = (u: User) => u.id ?? u.name;
const userDir = (u: User) => join(root, encodeURIComponent(u.name));
const trashDir = (u: User) => join(userDir(u), "trash");
const trashIndexFile = (u: User) => join(userDir(u), "trash-index.json");
const filesDir = (u: User) => join(userDir(u), "files");
const uploadsDir = (u: User) => join(userDir(u), "uploads");
const partDir = (u: User) => join(userDir(u), "parts");

async function exists(path: string) {
  return stat(path).then(
    (s) => s,
    () => undefined,
  );
}

/** Splits the decoded path after the user segment into safe segments. */
function segmentsOf(rest: string): string[] {
  const segments = rest
    .split("/")
    .filter((s) => s.length > 0)
    .map((s) => decodeURIComponent(s));
  for (const s of segments) if (s === "." || s === ".." || s.includes("\0")) throw new HttpError(400, "invalid path");
  return segments;
}

async function usedBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const p = join(dir, entry.name);
    total += entry.isDirectory() ? await usedBytes(p) : (await stat(p)).size;
  }
  return total;
}

async function availableBytes(u: User, ignoring = 0): Promise<number> {
  if (u.quotaBytes === null) {
    const fs = await statfs(root);
    return Number(fs.bavail) * Number(fs.bsize);
  }
  return Math.max(0, u.quotaBytes - (await usedBytes(filesDir(u))) + ignoring);
}

function authenticate(req: IncomingMessage): User | undefined {
  const header = req.headers.authorization ?? "";
  const match = /^Basic\s+(.+)$/i.exec(header);
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  const name = decoded.slice(0, colon);
  const password = decoded.slice(colon + 1);
  return users.find((u) => u.name === name && u.password === password);
}

function xmlEscape(s: string) {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function sendError(res: ServerResponse, error: HttpError) {
  if (res.headersSent) return res.destroy();
  const body = `<?xml version="1.0" encoding="utf-8"?>
<d:error xmlns:d="DAV:" xmlns:s="http://sabredav.org/ns"><s:exception>${xmlEscape(error.exception)}</s:exception><s:message>${xmlEscape(error.message)}</s:message></d:error>`;
  const headers: Record<string, string> = {
    "Content-Type": "application/xml; charset=utf-8",
  };
  if (error.status === 401) headers["WWW-Authenticate"] = 'Basic realm="Nextcloud", charset="UTF-8"';
  res.writeHead(error.status, headers).end(body);
}

/** Reads and discards the request body (a real server behind a proxy has read it), then resolves. */
function drain(req: IncomingMessage): Promise<void> {
  return new Promise((resolve) => {
    if (req.readableEnded) return resolve();
    req.on("end", resolve);
    req.on("error", () => resolve());
    req.on("close", () => resolve());
    req.resume();
  });
}

/** Streams the body into a part file; returns its path. Deletes it when the body is cut short. */
async function receiveBody(req: IncomingMessage, u: User, expected: number): Promise<string> {
  await mkdir(partDir(u), { recursive: true });
  const part = join(partDir(u), `part-${randomBytes(8).toString("hex")}`);
  try {
    await pipeline(req, createWriteStream(part));
    const size = (await stat(part)).size;
    if (size !== expected)
      throw new HttpError(400, `expected ${expected} bytes, got ${size}`, "Sabre\\DAV\\Exception\\BadRequest");
    return part;
  } catch (error) {
    await rm(part, { force: true });
    throw error;
  }
}

function contentLength(req: IncomingMessage): number {
  const header = req.headers["content-length"];
  if (header === undefined || !/^\d+$/.test(header)) {
    throw new HttpError(
      411,
      "a Content-Length is required (bodies with chunked transfer encoding are refused)",
      "Sabre\\DAV\\Exception\\LengthRequired",
    );
  }
  return Number(header);
}

function etagOf(s: { mtimeMs: number; size: number }) {
  return `"${Math.floor(s.mtimeMs).toString(16)}-${s.size.toString(16)}"`;
}

/** Parses a Destination header (absolute URL or path) into the target user's file segments. */
function destinationSegments(req: IncomingMessage, u: User, kind: "files"): string[] {
  const header = req.headers.destination;
  if (typeof header !== "string" || header === "")
    throw new HttpError(400, "the Destination header is missing", "Sabre\\DAV\\Exception\\BadRequest");
  const pathname = new URL(header, "http://placeholder").pathname;
  const prefix = `/remote.php/dav/${kind}/${encodeURIComponent(idOf(u))}`;
  const raw = pathname.startsWith(prefix) ? pathname : undefined;
  const alt = `/remote.php/dav/${kind}/${idOf(u)}`;
  const rest = raw ? raw.slice(prefix.length) : pathname.startsWith(alt) ? pathname.slice(alt.length) : undefined;
  if (rest === undefined)
    throw new HttpError(502, "the Destination is not in this user's files", "Sabre\\DAV\\Exception\\BadGateway");
  return segmentsOf(rest);
}

async function propfind(req: IncomingMessage, res: ServerResponse, u: User, segments: string[]) {
  await drain(req);
  const depth = req.headers.depth ?? "infinity";
  if (depth !== "0" && depth !== "1")
    throw new HttpError(403, "PROPFIND with Depth infinity is not allowed", "Sabre\\DAV\\Exception\\Forbidden");
  const path = join(filesDir(u), ...segments);
  const info = await exists(path);
  if (!info) throw new HttpError(404, "File not found", "Sabre\\DAV\\Exception\\NotFound");
  const hrefBase = `/remote.php/dav/files/${encodeURIComponent(idOf(u))}`;
  const entries: Array<{ segments: string[]; info: NonNullable<typeof info> }> = [{ segments, info }];
  if (depth === "1" && info.isDirectory()) {
    for (const name of (await readdir(path)).sort()) {
      const child = await exists(join(path, name));
      if (child) entries.push({ segments: [...segments, name], info: child });
    }
  }
  const available = await availableBytes(u);
  const used = u.quotaBytes === null ? 0 : await usedBytes(filesDir(u));
  const responses = entries.map(({ segments: segs, info: s }) => {
    const dir = s.isDirectory();
    const href = `${hrefBase}/${segs.map(encodeURIComponent).join("/")}${dir && segs.length ? "/" : ""}`;
    const props = [
      `<d:getlastmodified>${s.mtime.toUTCString()}</d:getlastmodified>`,
      `<d:getetag>${etagOf(s)}</d:getetag>`,
      dir ? "<d:resourcetype><d:collection/></d:resourcetype>" : "<d:resourcetype/>",
      dir
        ? `<d:quota-used-bytes>${used}</d:quota-used-bytes><d:quota-available-bytes>${available}</d:quota-available-bytes>`
        : "",
      dir
        ? ""
        : `<d:getcontentlength>${s.size}</d:getcontentlength><d:getcontenttype>application/octet-stream</d:getcontenttype>`,
    ].join("");
    return `<d:response><d:href>${xmlEscape(href)}</d:href><d:propstat><d:prop>${props}</d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>`;
  });
  res
    .writeHead(207, { "Content-Type": "application/xml; charset=utf-8" })
    .end(
      `<?xml version="1.0"?>\n<d:multistatus xmlns:d="DAV:" xmlns:s="http://sabredav.org/ns" xmlns:oc="http://owncloud.org/ns">${responses.join("")}</d:multistatus>`,
    );
}

async function filesRequest(req: IncomingMessage, res: ServerResponse, u: User, segments: string[]) {
  const path = join(filesDir(u), ...segments);
  switch (req.method) {
    case "OPTIONS":
      await drain(req);
      res
        .writeHead(200, {
          DAV: "1, 3",
          Allow: "OPTIONS, GET, PUT, DELETE, PROPFIND, MKCOL, MOVE",
        })
        .end();
      return;
    case "PROPFIND":
      return propfind(req, res, u, segments);
    case "GET": {
      await drain(req);
      const info = await exists(path);
      if (!info) throw new HttpError(404, "File not found", "Sabre\\DAV\\Exception\\NotFound");
      if (info.isDirectory())
        throw new HttpError(405, "GET of a folder is not supported", "Sabre\\DAV\\Exception\\MethodNotAllowed");
      res.writeHead(200, {
        "Content-Type": "application/octet-stream",
        "Content-Length": String(info.size),
        ETag: etagOf(info),
      });
      await pipeline(createReadStream(path), res);
      return;
    }
    case "PUT": {
      const length = contentLength(req);
      const parent = await exists(dirname(path));
      if (!parent?.isDirectory()) {
        await drain(req);
        throw new HttpError(409, "the parent folder does not exist", "Sabre\\DAV\\Exception\\Conflict");
      }
      const existing = await exists(path);
      if (existing?.isDirectory()) throw new HttpError(409, "a folder exists at this path", "Sabre\\DAV\\Exception\\Conflict");
      if (length > (await availableBytes(u, existing?.size ?? 0))) {
        await drain(req);
        throw new HttpError(507, "Insufficient space", "Sabre\\DAV\\Exception\\InsufficientStorage");
      }
      const part = await receiveBody(req, u, length);
      await rename(part, path);
      const info = await stat(path);
      res
        .writeHead(existing ? 204 : 201, {
          ETag: etagOf(info),
          "OC-ETag": etagOf(info),
        })
        .end();
      return;
    }
    case "MKCOL": {
      await drain(req);
      if (await exists(path))
        throw new HttpError(405, "The resource you tried to create already exists", "Sabre\\DAV\\Exception\\MethodNotAllowed");
      if (!(await exists(dirname(path)))?.isDirectory())
        throw new HttpError(409, "Parent node does not exist", "Sabre\\DAV\\Exception\\Conflict");
      await mkdir(path);
      res.writeHead(201).end();
      return;
    }
    case "DELETE": {
      await drain(req);
      if (segments.length === 0) throw new HttpError(403, "the root cannot be deleted", "Sabre\\DAV\\Exception\\Forbidden");
      if (!(await exists(path))) throw new HttpError(404, "File not found", "Sabre\\DAV\\Exception\\NotFound");
      // files_trashbin: the item moves to the trash bin; its bytes stay on the server.
      await moveToTrash(u, segments, path);
      res.writeHead(204).end();
      return;
    }
    case "MOVE": {
      await drain(req);
      const target = join(filesDir(u), ...destinationSegments(req, u, "files"));
      if (!(await exists(path))) throw new HttpError(404, "File not found", "Sabre\\DAV\\Exception\\NotFound");
      const overwrite = String(req.headers.overwrite ?? "T").toUpperCase() !== "F";
      const existed = await exists(target);
      if (existed && !overwrite)
        throw new HttpError(412, "the destination exists and Overwrite is F", "Sabre\\DAV\\Exception\\PreconditionFailed");
      if (!(await exists(dirname(target)))?.isDirectory())
        throw new HttpError(409, "the destination folder does not exist", "Sabre\\DAV\\Exception\\Conflict");
      // As Sabre does (RFC 4918 §9.9.3): delete the destination, then move.
      if (existed) await rm(target, { recursive: true, force: true });
      await rename(path, target);
      res.writeHead(existed ? 204 : 201).end();
      return;
    }
    default:
      await drain(req);
      throw new HttpError(501, `${req.method} is not implemented`, "Sabre\\DAV\\Exception\\NotImplemented");
  }
}

interface TrashEntry {
  filename: string;
  /** Relative to the user's files, without a leading slash, as Nextcloud reports it. */
  originalLocation: string;
  /** Unix seconds. */
  deletionTime: number;
}

/** Trash changes are read-modify-write of one index file: one at a time. */
let trashQueue: Promise<unknown> = Promise.resolve();
function serialized<T>(task: () => Promise<T>): Promise<T> {
  const run = trashQueue.then(task, task);
  trashQueue = run.catch(() => undefined);
  return run;
}

async function trashIndex(u: User): Promise<Record<string, TrashEntry>> {
  return JSON.parse(await readFile(trashIndexFile(u), "utf8").catch(() => "{}")) as Record<string, TrashEntry>;
}

/** Nextcloud names a trash item `<name>.d<deletion time>`. */
function moveToTrash(u: User, segments: string[], path: string): Promise<void> {
  return serialized(() => moveToTrashNow(u, segments, path));
}

async function moveToTrashNow(u: User, segments: string[], path: string): Promise<void> {
  await mkdir(trashDir(u), { recursive: true });
  const index = await trashIndex(u);
  const filename = segments[segments.length - 1] as string;
  let time = Math.floor(Date.now() / 1000);
  while (index[`${filename}.d${time}`]) time++;
  const item = `${filename}.d${time}`;
  await rename(path, join(trashDir(u), item));
  index[item] = { filename, originalLocation: segments.join("/"), deletionTime: time };
  await writeFile(trashIndexFile(u), JSON.stringify(index));
}

/** `/remote.php/dav/trashbin/<user-id>/trash[/<item>]`: PROPFIND (Depth 0/1) and DELETE. */
async function trashRequest(req: IncomingMessage, res: ServerResponse, u: User, segments: string[]) {
  await drain(req);
  await serialized(() => trashRequestNow(req, res, u, segments));
}

async function trashRequestNow(req: IncomingMessage, res: ServerResponse, u: User, segments: string[]) {
  const [collection, item, ...extra] = segments;
  if (collection !== "trash" || extra.length > 0)
    throw new HttpError(404, "not found in the trash bin", "Sabre\\DAV\\Exception\\NotFound");
  const index = await trashIndex(u);
  if (req.method === "DELETE") {
    const items = item === undefined ? Object.keys(index) : [item];
    if (item !== undefined && !index[item]) throw new HttpError(404, "not in the trash bin", "Sabre\\DAV\\Exception\\NotFound");
    for (const name of items) {
      await rm(join(trashDir(u), name), { recursive: true, force: true });
      delete index[name];
    }
    await writeFile(trashIndexFile(u), JSON.stringify(index));
    res.writeHead(204).end();
    return;
  }
  if (req.method !== "PROPFIND")
    throw new HttpError(405, `${req.method} is not allowed here`, "Sabre\\DAV\\Exception\\MethodNotAllowed");
  if (item !== undefined && !index[item]) throw new HttpError(404, "not in the trash bin", "Sabre\\DAV\\Exception\\NotFound");
  const base = `/remote.php/dav/trashbin/${encodeURIComponent(idOf(u))}/trash/`;
  const shown = item !== undefined ? [item] : req.headers.depth === "0" ? [] : Object.keys(index).sort();
  const responses = [
    ...(item === undefined
      ? [
          `<d:response><d:href>${base}</d:href><d:propstat><d:prop><d:resourcetype><d:collection/></d:resourcetype></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>`,
        ]
      : []),
    ...shown.map((name) => {
      const entry = index[name] as TrashEntry;
      return `<d:response><d:href>${xmlEscape(base + encodeURIComponent(name))}</d:href><d:propstat><d:prop><nc:trashbin-filename>${xmlEscape(entry.filename)}</nc:trashbin-filename><nc:trashbin-original-location>${xmlEscape(entry.originalLocation)}</nc:trashbin-original-location><nc:trashbin-deletion-time>${entry.deletionTime}</nc:trashbin-deletion-time><d:resourcetype/></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>`;
    }),
  ];
  res
    .writeHead(207, { "Content-Type": "application/xml; charset=utf-8" })
    .end(
      `<?xml version="1.0"?>\n<d:multistatus xmlns:d="DAV:" xmlns:nc="http://nextcloud.org/ns">${responses.join("")}</d:multistatus>`,
    );
}

/**
 * OCS `GET /ocs/v1.php/cloud/user`: the authenticated user's ID. Without `OCS-APIRequest: true` Nextcloud
 * treats the call as a browser request without a CSRF token: 401, OCS status 997. JSON when asked for
 * (`Accept: application/json` or `?format=json`), XML otherwise.
 */
async function ocsCurrentUser(req: IncomingMessage, res: ServerResponse, url: URL) {
  await drain(req);
  const user = authenticate(req);
  const json = /application\/json/.test(String(req.headers.accept ?? "")) || url.searchParams.get("format") === "json";
  const ok = !!user && String(req.headers["ocs-apirequest"] ?? "").toLowerCase() === "true";
  const meta = ok
    ? { status: "ok", statuscode: 100, message: "OK", totalitems: "", itemsperpage: "" }
    : { status: "failure", statuscode: 997, message: "Current user is not logged in", totalitems: "", itemsperpage: "" };
  const data = ok && user ? { id: idOf(user), "display-name": user.name, email: user.name.includes("@") ? user.name : null } : [];
  const status = ok ? 200 : 401;
  if (json) {
    res.writeHead(status, { "Content-Type": "application/json; charset=utf-8" }).end(JSON.stringify({ ocs: { meta, data } }));
    return;
  }
  const fields = Array.isArray(data)
    ? ""
    : `<id>${xmlEscape(data.id)}</id><display-name>${xmlEscape(data["display-name"])}</display-name>`;
  res
    .writeHead(status, { "Content-Type": "text/xml; charset=UTF-8" })
    .end(
      `<?xml version="1.0"?>\n<ocs><meta><status>${meta.status}</status><statuscode>${meta.statuscode}</statuscode><message>${meta.message}</message></meta><data>${fields}</data></ocs>`,
    );
}

/** Chunked upload v2: `/remote.php/dav/uploads/<user>/<transfer-id>[/<chunk>|/.file]`. */
async function uploadsRequest(req: IncomingMessage, res: ServerResponse, u: User, segments: string[]) {
  const [transferId, item, ...extra] = segments;
  if (!transferId || extra.length > 0) {
    await drain(req);
    throw new HttpError(404, "no such upload", "Sabre\\DAV\\Exception\\NotFound");
  }
  const folder = join(uploadsDir(u), transferId);
  const metaFile = join(folder, ".destination");
  const requireDestination = async (): Promise<string[]> => {
    const header = req.headers.destination;
    const stored = await readFile(metaFile, "utf8").catch(() => undefined);
    if (stored === undefined) throw new HttpError(404, "no such upload", "Sabre\\DAV\\Exception\\NotFound");
    if (header !== stored)
      throw new HttpError(
        400,
        "the Destination header must be sent on every request and match the one given at MKCOL",
        "Sabre\\DAV\\Exception\\BadRequest",
      );
    return destinationSegments(req, u, "files");
  };

  if (req.method === "MKCOL" && item === undefined) {
    await drain(req);
    const destination = req.headers.destination;
    if (typeof destination !== "string")
      throw new HttpError(400, "chunked upload v2 needs a Destination header", "Sabre\\DAV\\Exception\\BadRequest");
    destinationSegments(req, u, "files");
    if (await exists(folder))
      throw new HttpError(405, "The resource you tried to create already exists", "Sabre\\DAV\\Exception\\MethodNotAllowed");
    await mkdir(folder, { recursive: true });
    await writeFile(metaFile, destination);
    res.writeHead(201).end();
    return;
  }
  if (req.method === "DELETE" && item === undefined) {
    await drain(req);
    if (!(await exists(folder))) throw new HttpError(404, "no such upload", "Sabre\\DAV\\Exception\\NotFound");
    await rm(folder, { recursive: true, force: true });
    res.writeHead(204).end();
    return;
  }
  if (req.method === "PUT" && failChunkOnce !== undefined && item === failChunkOnce && !failedChunks.has(folder)) {
    // One transient failure of this chunk per upload, as a proxy or a busy server gives.
    failedChunks.add(folder);
    await drain(req);
    throw new HttpError(503, "Service Unavailable", "Sabre\\DAV\\Exception\\ServiceUnavailable");
  }
  if (req.method === "PUT" && item !== undefined && item !== ".file") {
    const length = contentLength(req);
    try {
      await requireDestination();
      if (!/^\d+$/.test(item) || Number(item) < 1 || Number(item) > MAX_CHUNK_NUMBER) {
        throw new HttpError(400, "chunks must be named with a number from 1 to 10000", "Sabre\\DAV\\Exception\\BadRequest");
      }
      if (length > MAX_CHUNK) throw new HttpError(400, "a chunk may not exceed 5 GB", "Sabre\\DAV\\Exception\\BadRequest");
      const total = req.headers["oc-total-length"];
      if (total !== undefined && Number(total) > (await availableBytes(u)))
        throw new HttpError(507, "Insufficient space", "Sabre\\DAV\\Exception\\InsufficientStorage");
    } catch (error) {
      await drain(req);
      throw error;
    }
    const part = await receiveBody(req, u, length);
    await rename(part, join(folder, String(Number(item))));
    res.writeHead(201).end();
    return;
  }
  if (req.method === "PROPFIND" && item === undefined && assembling.has(folder)) {
    // Nextcloud holds a lock on the upload while it assembles it (nextcloud/server#17992).
    await drain(req);
    throw new HttpError(423, "the upload is being assembled", "OCA\\DAV\\Connector\\Sabre\\Exception\\FileLocked");
  }
  if (req.method === "PROPFIND" && item === undefined) {
    await drain(req);
    if (!(await exists(folder))) throw new HttpError(404, "no such upload", "Sabre\\DAV\\Exception\\NotFound");
    const href = `/remote.php/dav/uploads/${encodeURIComponent(idOf(u))}/${encodeURIComponent(transferId)}/`;
    res
      .writeHead(207, { "Content-Type": "application/xml; charset=utf-8" })
      .end(
        `<?xml version="1.0"?><d:multistatus xmlns:d="DAV:"><d:response><d:href>${xmlEscape(href)}</d:href><d:propstat><d:prop><d:resourcetype><d:collection/></d:resourcetype></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response></d:multistatus>`,
      );
    return;
  }
  if (req.method === "MOVE" && item === ".file" && assemblyDelayMs > 0 && !assembling.has(folder)) {
    // Behind a reverse proxy: the proxy gives up with 504 while Nextcloud goes on assembling.
    assembling.add(folder);
    const headers = { ...req.headers };
    setTimeout(() => {
      assemble(headers)
        .catch(() => undefined)
        .finally(() => assembling.delete(folder));
    }, assemblyDelayMs);
    await drain(req);
    throw new HttpError(504, "Gateway Timeout", "Proxy");
  }
  if (req.method === "MOVE" && item === ".file") {
    await drain(req);
    const info = await stat(await assemble(req.headers));
    res.writeHead(201, { ETag: etagOf(info), "OC-ETag": etagOf(info) }).end();
    return;
  }
  await drain(req);
  throw new HttpError(405, `${req.method} is not allowed here`, "Sabre\\DAV\\Exception\\MethodNotAllowed");

  /** Concatenates the chunks onto the destination and removes the upload folder. */
  async function assemble(headers: IncomingMessage["headers"]): Promise<string> {
    const targetSegments = await requireDestination();
    const target = join(filesDir(u), ...targetSegments);
    const chunks = (await readdir(folder))
      .filter((n) => /^\d+$/.test(n))
      .map(Number)
      .sort((a, b) => a - b);
    if (chunks.length === 0) throw new HttpError(400, "no chunks were uploaded", "Sabre\\DAV\\Exception\\BadRequest");
    const sizes = await Promise.all(chunks.map(async (n) => (await stat(join(folder, String(n)))).size));
    sizes.forEach((size, i) => {
      if (i < sizes.length - 1 && size < MIN_CHUNK)
        throw new HttpError(400, `chunk ${chunks[i]} is smaller than 5 MB and not the last`, "Sabre\\DAV\\Exception\\BadRequest");
    });
    const total = sizes.reduce((a, b) => a + b, 0);
    const announced = headers["oc-total-length"];
    if (announced !== undefined && Number(announced) !== total) {
      throw new HttpError(
        400,
        `OC-Total-Length ${announced} does not match the ${total} bytes uploaded`,
        "Sabre\\DAV\\Exception\\BadRequest",
      );
    }
    const existing = await exists(target);
    if (total > (await availableBytes(u, existing?.isFile() ? existing.size : 0)))
      throw new HttpError(507, "Insufficient space", "Sabre\\DAV\\Exception\\InsufficientStorage");
    if (!(await exists(dirname(target)))?.isDirectory())
      throw new HttpError(409, "the destination folder does not exist", "Sabre\\DAV\\Exception\\Conflict");
    await mkdir(partDir(u), { recursive: true });
    const part = join(partDir(u), `assembly-${randomBytes(8).toString("hex")}`);
    const out = createWriteStream(part);
    try {
      for (const n of chunks)
        await pipeline(createReadStream(join(folder, String(n))), out, {
          end: false,
        });
      await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
      await rename(part, target);
    } catch (error) {
      out.destroy();
      await rm(part, { force: true });
      throw error;
    }
    await rm(folder, { recursive: true, force: true });
    return target;
  }
}

const server = createServer(async (req, res) => {
  const started = Date.now();
  // The line is appended synchronously as the response ends, before its last bytes go out: a client that has
  // its answer must find the request in the log. (A 'finish' listener with a write stream ran after the client
  // had read a 204 under load, and the storage suite failed 1 run in 10.)
  const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
  let logged = false;
  res.end = ((...args: unknown[]) => {
    if (!logged && logFile) {
      logged = true;
      appendFileSync(
        logFile,
        `${JSON.stringify({
          method: req.method,
          path: req.url,
          contentLength: req.headers["content-length"] ?? null,
          transferEncoding: req.headers["transfer-encoding"] ?? null,
          destination: req.headers.destination ?? null,
          totalLength: req.headers["oc-total-length"] ?? null,
          status: res.statusCode,
          ms: Date.now() - started,
        })}\n`,
      );
    }
    return end(...args);
  }) as typeof res.end;
  try {
    const url = new URL(req.url ?? "/", "http://placeholder");
    if (url.pathname === "/ocs/v1.php/cloud/user" && req.method === "GET") return await ocsCurrentUser(req, res, url);
    const match = /^\/remote\.php\/dav\/(files|uploads|trashbin)\/([^/]+)(\/.*)?$/.exec(url.pathname);
    if (!match) {
      await drain(req);
      throw new HttpError(404, "not a DAV path", "Sabre\\DAV\\Exception\\NotFound");
    }
    const user = authenticate(req);
    if (!user) {
      await drain(req);
      throw new HttpError(
        401,
        "No public access to this resource., Username or password was incorrect",
        "Sabre\\DAV\\Exception\\NotAuthenticated",
      );
    }
    const pathUser = decodeURIComponent(match[2] ?? "");
    if (pathUser !== idOf(user)) {
      await drain(req);
      // Paths name user IDs: a login name that is not also an ID names no principal.
      if (!users.some((other) => idOf(other) === pathUser))
        throw new HttpError(404, `Principal with name ${pathUser} not found`, "Sabre\\DAV\\Exception\\NotFound");
      throw new HttpError(403, "this is another user's space", "Sabre\\DAV\\Exception\\Forbidden");
    }
    const segments = segmentsOf(match[3] ?? "");
    await mkdir(filesDir(user), { recursive: true });
    if (match[1] === "files") await filesRequest(req, res, user, segments);
    else if (match[1] === "trashbin") await trashRequest(req, res, user, segments);
    else await uploadsRequest(req, res, user, segments);
  } catch (error) {
    if (error instanceof HttpError) sendError(res, error);
    else {
      console.error(error);
      sendError(res, new HttpError(500, error instanceof Error ? error.message : String(error)));
    }
  }
});

server.listen(Number(process.env.FAKE_NC_PORT ?? 0), "127.0.0.1", () => {
  const address = server.address();
  process.stdout.write(`LISTENING ${typeof address === "object" && address ? address.port : 0}\n`);
});

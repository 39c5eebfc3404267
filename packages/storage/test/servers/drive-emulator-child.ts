/**
 * @module test/servers/drive-emulator-child
 * A small Google Drive v3 emulator, faithful to the JSON shapes of the real API for the endpoints
 * Stowage uses. Run as its own process so a test can SIGKILL it mid-upload:
 *   DRIVE_EMULATOR_DIR=/tmp/x DRIVE_EMULATOR_PORT=0 tsx drive-emulator-child.ts   → prints "READY <port>"
 *
 * Endpoints:
 *   POST /token                          OAuth token endpoint: JWT-bearer grant (RS256 assertion checked against
 *                                        the registered service account's public key) and refresh_token grant
 *   GET  /drive/v3/about                 storageQuota (limit only when the identity has a quota; "0" for a
 *                                        service account), user
 *   GET  /drive/v3/drives[/:id]          shared drives the identity is a member of (drives.list, drives.get)
 *   GET  /drive/v3/files                 q subset: name = / != / contains, mimeType = / !=, 'id' in parents,
 *                                        trashed = true/false, joined by `and`; pageSize (≤ 1000), pageToken, fields
 *   POST /drive/v3/files                 metadata-only create (folders)
 *   GET  /drive/v3/files/:id             metadata, or the bytes with alt=media
 *   PATCH /drive/v3/files/:id            rename, trash, move (addParents/removeParents)
 *   DELETE /drive/v3/files/:id           (folders with their contents)
 *   POST /upload/drive/v3/files          uploadType=multipart, uploadType=resumable (session URI in Location)
 *   PUT  <session URI>                   chunks with Content-Range; 308 + Range to continue, 200 when complete;
 *                                        non-final chunks keep only whole 256 KiB units, as Drive does
 *   DELETE <session URI>                 cancels the session (499)
 * Test controls (no auth): POST /__emulator/identities, POST /__emulator/drives, POST /__emulator/folders,
 *   POST /__emulator/faults, GET /__emulator/stats.
 *
 * Shared drives and service accounts, as Google documents them:
 * - Service accounts have no storage quota: creating a file outside a shared drive answers 403
 *   storageQuotaExceeded "Service Accounts do not have storage quota. Leverage shared drives
 *   (https://developers.google.com/workspace/drive/api/guides/about-shareddrives), or use OAuth delegation
 *   (http://support.google.com/a/answer/7281227) instead." (Google's answer since 2025; the folder being
 *   shared with the account as an Editor does not help). Files in a shared drive belong to the drive.
 * - Items in a shared drive are visible only to its members, and only to requests with
 *   `supportsAllDrives=true` (404 otherwise). Roles (drives "Manage members"): reader/commenter read,
 *   writer (Contributor) adds and edits, fileOrganizer (Content manager) also moves and trashes,
 *   organizer (Manager) also deletes for good: files.delete "If the file belongs to a shared drive, the
 *   user must be an organizer on the parent folder" (files.delete reference), else 403
 *   insufficientFilePermissions. `capabilities` report the same per file.
 * - files.list corpora: `user` never returns shared-drive items; `drive` needs `driveId` and
 *   `includeItemsFromAllDrives=true` and returns only that drive's items.
 * - Domain-wide delegation: a JWT with `sub` gets a token for that Workspace user when the service account
 *   is allowed to delegate, else 401 unauthorized_client, as Google's token endpoint answers.
 * State is an append-only journal plus blob files in DRIVE_EMULATOR_DIR, so a restarted emulator keeps
 * files, folders, identities, tokens and unfinished upload sessions.
 */
import { createHash, randomBytes, verify } from "node:crypto";
import { appendFileSync, createReadStream, createWriteStream, existsSync, mkdirSync, readFileSync } from "node:fs";
import { rename, rm, stat, truncate, writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";

const FOLDER_MIME = "application/vnd.google-apps.folder";
const GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token";
const UPLOAD_UNIT = 256 * 1024;

// ---- state ---------------------------------------------------------------------------------------

interface Identity {
  id: string;
  kind: "service_account" | "user";
  email: string;
  publicKeyPem?: string;
  clientId?: string;
  clientSecret?: string;
  refreshToken?: string;
  /** null: unlimited (about.get omits `limit`). Always 0 for service accounts. */
  quotaBytes: number | null;
  /** Service accounts only: domain-wide delegation is configured (may impersonate users of the domain). */
  domainWideDelegation?: boolean;
}

type Role = "reader" | "commenter" | "writer" | "fileOrganizer" | "organizer";
const ROLE_RANK: Record<Role, number> = { reader: 0, commenter: 1, writer: 2, fileOrganizer: 3, organizer: 4 };

interface SharedDrive {
  id: string;
  name: string;
  /** Member e-mail → role. */
  members: Record<string, Role>;
  createdTime: string;
}

interface DriveFile {
  id: string;
  name: string;
  mimeType: string;
  parents: string[];
  size?: number;
  md5Checksum?: string;
  createdTime: string;
  modifiedTime: string;
  trashed: boolean;
  owner: string;
  appProperties?: Record<string, string>;
  /** The shared drive that holds the item (for its root folder too: the root's id is the drive id). */
  driveId?: string;
}

interface Session {
  id: string;
  owner: string;
  metadata: { name: string; mimeType: string; parents: string[]; appProperties?: Record<string, string> };
  fields?: string;
  /** The shared drive the file will land in. */
  driveId?: string;
}

interface Fault {
  method?: string;
  path: string;
  query?: string;
  status: number;
  reason?: string;
  count: number;
  skip: number;
  retryAfter?: number;
}

type JournalEntry =
  | { op: "identity"; value: Identity }
  | { op: "drive"; value: SharedDrive }
  | { op: "token"; token: string; identity: string; expires: number }
  | { op: "file"; value: DriveFile }
  | { op: "delete"; id: string }
  | { op: "session"; value: Session }
  | { op: "sessionEnd"; id: string };

const dir = requiredEnv("DRIVE_EMULATOR_DIR");
const blobDir = join(dir, "blobs");
const sessionDir = join(dir, "sessions");
const journalPath = join(dir, "journal.jsonl");
mkdirSync(blobDir, { recursive: true });
mkdirSync(sessionDir, { recursive: true });

const identities = new Map<string, Identity>();
const drives = new Map<string, SharedDrive>();
const tokens = new Map<string, { identity: string; expires: number }>();
const files = new Map<string, DriveFile>();
const childrenOf = new Map<string, Set<string>>();
const sessions = new Map<string, Session>();
const faults: Fault[] = [];
const stats = new Map<string, number>();

function requiredEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`drive-emulator: set ${name}`);
  return value;
}

function applyEntry(entry: JournalEntry): void {
  switch (entry.op) {
    case "identity":
      identities.set(entry.value.id, entry.value);
      break;
    case "drive":
      drives.set(entry.value.id, entry.value);
      break;
    case "token":
      tokens.set(entry.token, { identity: entry.identity, expires: entry.expires });
      break;
    case "file": {
      const previous = files.get(entry.value.id);
      for (const p of previous?.parents ?? []) childrenOf.get(p)?.delete(entry.value.id);
      files.set(entry.value.id, entry.value);
      for (const p of entry.value.parents) {
        if (!childrenOf.has(p)) childrenOf.set(p, new Set());
        childrenOf.get(p)?.add(entry.value.id);
      }
      break;
    }
    case "delete": {
      const file = files.get(entry.id);
      for (const p of file?.parents ?? []) childrenOf.get(p)?.delete(entry.id);
      files.delete(entry.id);
      break;
    }
    case "session":
      sessions.set(entry.value.id, entry.value);
      break;
    case "sessionEnd":
      sessions.delete(entry.id);
      break;
  }
}

/** Applies and persists one change. appendFileSync: a SIGKILL after it returns cannot lose the line. */
function record(entry: JournalEntry): void {
  applyEntry(entry);
  appendFileSync(journalPath, `${JSON.stringify(entry)}\n`);
}

if (existsSync(journalPath)) {
  for (const line of readFileSync(journalPath, "utf8").split("\n")) {
    if (!line) continue;
    try {
      applyEntry(JSON.parse(line) as JournalEntry);
    } catch {
      // A line cut short by a kill: everything before it is intact.
    }
  }
}

const newId = (bytes = 24) => randomBytes(bytes).toString("base64url");

/** Bytes the identity owns outside shared drives (shared-drive files belong to the drive). */
function usageOf(owner: string): number {
  let total = 0;
  for (const f of files.values()) if (f.owner === owner && !f.trashed && !f.driveId) total += f.size ?? 0;
  return total;
}

/** The identity's role in the item's shared drive; undefined outside shared drives or for non-members. */
function roleIn(identity: Identity, file: DriveFile): Role | undefined {
  return file.driveId ? drives.get(file.driveId)?.members[identity.email] : undefined;
}

const atLeast = (role: Role | undefined, wanted: Role) => role !== undefined && ROLE_RANK[role] >= ROLE_RANK[wanted];

/** Whether the request may see the item: shared-drive items need membership and supportsAllDrives=true. */
function canSee(identity: Identity, file: DriveFile, url: URL): boolean {
  if (!file.driveId) return true;
  return url.searchParams.get("supportsAllDrives") === "true" && roleIn(identity, file) !== undefined;
}

const insufficient = (id: string) =>
  new ApiError(403, "insufficientFilePermissions", `The user does not have sufficient permissions for file ${id}.`);

/** What the identity may do with the item, as Drive's `capabilities` field reports it. */
function capabilitiesOf(identity: Identity, f: DriveFile): Record<string, boolean> {
  const folder = f.mimeType === FOLDER_MIME;
  if (!f.driveId) {
    const own = f.owner === identity.id;
    return { canAddChildren: folder, canEdit: true, canRename: true, canTrash: own, canDelete: own };
  }
  const role = roleIn(identity, f);
  return {
    canAddChildren: folder && atLeast(role, "writer"),
    canEdit: atLeast(role, "writer"),
    canRename: atLeast(role, "writer"),
    canTrash: atLeast(role, "fileOrganizer"),
    canDelete: atLeast(role, "organizer"),
    ...(folder ? { canTrashChildren: atLeast(role, "fileOrganizer"), canDeleteChildren: atLeast(role, "organizer") } : {}),
  };
}

// ---- HTTP helpers --------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
    readonly domain = "global",
    readonly extra: Record<string, string> = {},
  ) {
    super(message);
  }
}

const notFound = (id: string) =>
  new ApiError(404, "notFound", `File not found: ${id}.`, "global", { locationType: "parameter", location: "fileId" });

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body, null, 1);
  res.writeHead(status, {
    "Content-Type": "application/json; charset=UTF-8",
    "Content-Length": Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

function sendApiError(res: ServerResponse, error: ApiError, headers: Record<string, string> = {}): void {
  sendJson(
    res,
    error.status,
    {
      error: {
        code: error.status,
        message: error.message,
        errors: [{ message: error.message, domain: error.domain, reason: error.reason, ...error.extra }],
      },
    },
    headers,
  );
}

async function readBody(req: IncomingMessage, limit = 64 * 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new ApiError(413, "uploadTooLarge", "Request too large for this emulator endpoint.");
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const body = await readBody(req);
  if (body.length === 0) return {};
  try {
    return JSON.parse(body.toString("utf8")) as Record<string, unknown>;
  } catch {
    throw new ApiError(400, "parseError", "Parse Error");
  }
}

/** Partial responses (`fields=nextPageToken,files(id,name)`): a tree of wanted fields; null = everything. */
type FieldTree = Map<string, FieldTree | null>;

function parseFields(spec: string | null): FieldTree | null {
  if (!spec || spec.trim() === "*") return null;
  let i = 0;
  const parseList = (): FieldTree => {
    const tree: FieldTree = new Map();
    while (i < spec.length) {
      let name = "";
      while (i < spec.length && !",()".includes(spec.charAt(i))) name += spec.charAt(i++);
      name = name.trim();
      let sub: FieldTree | null = null;
      if (spec.charAt(i) === "(") {
        i++;
        sub = parseList();
        i++; // ')'
      }
      if (name) {
        // `files/id` is the same as `files(id)`
        const [head, ...rest] = name.split("/");
        tree.set(head as string, rest.length ? new Map([[rest.join("/"), null]]) : sub);
      }
      if (spec.charAt(i) === ",") i++;
      else if (spec.charAt(i) === ")" || i >= spec.length) break;
    }
    return tree;
  };
  return parseList();
}

function pick(value: unknown, tree: FieldTree | null): unknown {
  if (tree === null || value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((v) => pick(v, tree));
  const out: Record<string, unknown> = {};
  for (const [key, sub] of tree) {
    if (key === "*") return value;
    const v = (value as Record<string, unknown>)[key];
    if (v !== undefined) out[key] = pick(v, sub);
  }
  return out;
}

function fileResource(f: DriveFile, identity?: Identity): Record<string, unknown> {
  return {
    ...(f.driveId ? { driveId: f.driveId } : {}),
    ...(identity ? { capabilities: capabilitiesOf(identity, f) } : {}),
    kind: "drive#file",
    id: f.id,
    name: f.name,
    mimeType: f.mimeType,
    parents: f.parents,
    ...(f.mimeType === FOLDER_MIME ? {} : { size: String(f.size ?? 0), md5Checksum: f.md5Checksum }),
    createdTime: f.createdTime,
    modifiedTime: f.modifiedTime,
    trashed: f.trashed,
    ...(f.appProperties ? { appProperties: f.appProperties } : {}),
  };
}

const DEFAULT_FILE_FIELDS = parseFields("kind,id,name,mimeType");

function renderFile(f: DriveFile, fields: string | null | undefined, identity?: Identity): unknown {
  return pick(fileResource(f, identity), fields ? parseFields(fields) : DEFAULT_FILE_FIELDS);
}

// ---- auth ----------------------------------------------------------------------------------------

function authenticate(req: IncomingMessage): Identity {
  const header = req.headers.authorization ?? "";
  const token = /^Bearer (.+)$/.exec(header)?.[1];
  const entry = token ? tokens.get(token) : undefined;
  const identity = entry && entry.expires > Date.now() ? identities.get(entry.identity) : undefined;
  if (!identity) {
    throw new ApiError(
      401,
      "authError",
      "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.",
      "global",
      { location: "Authorization", locationType: "header" },
    );
  }
  return identity;
}

function issueToken(res: ServerResponse, identity: Identity, scope?: string): void {
  const token = `ya29.emu-${newId()}`;
  record({ op: "token", token, identity: identity.id, expires: Date.now() + 3600_000 });
  sendJson(res, 200, { access_token: token, expires_in: 3599, token_type: "Bearer", ...(scope ? { scope } : {}) });
}

function tokenError(res: ServerResponse, status: number, error: string, description: string): void {
  sendJson(res, status, { error, error_description: description });
}

async function handleToken(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const form = new URLSearchParams((await readBody(req)).toString("utf8"));
  const grant = form.get("grant_type");
  if (grant === "urn:ietf:params:oauth:grant-type:jwt-bearer") {
    const parts = (form.get("assertion") ?? "").split(".");
    if (parts.length !== 3)
      return tokenError(
        res,
        400,
        "invalid_grant",
        "Invalid JWT: Token must be a short-lived token and in a reasonable timeframe.",
      );
    const [h, p, s] = parts as [string, string, string];
    let header: { alg?: string };
    let claims: { iss?: string; aud?: string; exp?: number; iat?: number; scope?: string; sub?: string };
    try {
      header = JSON.parse(Buffer.from(h, "base64url").toString("utf8"));
      claims = JSON.parse(Buffer.from(p, "base64url").toString("utf8"));
    } catch {
      return tokenError(res, 400, "invalid_grant", "Invalid JWT: malformed.");
    }
    const identity = [...identities.values()].find((i) => i.kind === "service_account" && i.email === claims.iss);
    const signatureOk =
      header.alg === "RS256" &&
      !!identity?.publicKeyPem &&
      verify("RSA-SHA256", Buffer.from(`${h}.${p}`), identity.publicKeyPem, Buffer.from(s, "base64url"));
    if (!identity || !signatureOk) return tokenError(res, 400, "invalid_grant", "Invalid JWT Signature.");
    const ownUrl = `http://${req.headers.host}/token`;
    if (claims.aud !== GOOGLE_TOKEN_URL && claims.aud !== ownUrl) {
      return tokenError(res, 400, "invalid_grant", "Invalid JWT: Failed audience check.");
    }
    const now = Date.now() / 1000;
    if (!claims.exp || claims.exp < now || (claims.iat ?? 0) > now + 300) {
      return tokenError(
        res,
        400,
        "invalid_grant",
        "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.",
      );
    }
    if (!claims.scope?.split(" ").includes("https://www.googleapis.com/auth/drive")) {
      return tokenError(res, 400, "invalid_scope", "Invalid OAuth scope or ID token audience provided.");
    }
    if (claims.sub && claims.sub !== identity.email) {
      // Domain-wide delegation: only when the admin allowed this client, and only for a user of the domain.
      const user = [...identities.values()].find((i) => i.kind === "user" && i.email === claims.sub);
      if (!identity.domainWideDelegation || !user) {
        return tokenError(
          res,
          401,
          "unauthorized_client",
          "Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.",
        );
      }
      return issueToken(res, user, claims.scope);
    }
    return issueToken(res, identity, claims.scope);
  }
  if (grant === "refresh_token") {
    const client = [...identities.values()].find((i) => i.kind === "user" && i.clientId === form.get("client_id"));
    if (!client || client.clientSecret !== form.get("client_secret")) {
      return tokenError(res, 401, "invalid_client", "Unauthorized");
    }
    if (client.refreshToken !== form.get("refresh_token")) return tokenError(res, 400, "invalid_grant", "Bad Request");
    return issueToken(res, client, "https://www.googleapis.com/auth/drive");
  }
  return tokenError(res, 400, "unsupported_grant_type", `Invalid grant_type: ${grant ?? ""}`);
}

// ---- files.list query ----------------------------------------------------------------------------

type Predicate = (f: DriveFile) => boolean;

/** Parses the subset of Drive's query language Stowage uses; anything else is "Invalid Value", as Drive says. */
function parseQuery(q: string | null): Predicate {
  if (!q) return () => true;
  const invalid = () => new ApiError(400, "invalid", "Invalid Value", "global", { locationType: "parameter", location: "q" });
  const tokens: Array<{ kind: "str" | "op" | "word"; text: string }> = [];
  const re = /\s*(?:'((?:\\.|[^'\\])*)'|(!=|=)|([A-Za-z_]+))/y;
  let pos = 0;
  while (pos < q.length) {
    if (/^\s*$/.test(q.slice(pos))) break;
    re.lastIndex = pos;
    const m = re.exec(q);
    if (!m) throw invalid();
    pos = re.lastIndex;
    if (m[1] !== undefined) tokens.push({ kind: "str", text: m[1].replace(/\\(.)/g, "$1") });
    else if (m[2] !== undefined) tokens.push({ kind: "op", text: m[2] });
    else tokens.push({ kind: "word", text: m[3] as string });
  }
  const predicates: Predicate[] = [];
  let i = 0;
  while (i < tokens.length) {
    const [a, b, c] = [tokens[i], tokens[i + 1], tokens[i + 2]];
    if (!a || !b || !c) throw invalid();
    if (a.kind === "str" && b.kind === "word" && b.text === "in" && c.kind === "word" && c.text === "parents") {
      const parent = a.text;
      predicates.push((f) => f.parents.includes(parent));
    } else if (a.kind === "word" && (a.text === "name" || a.text === "mimeType") && c.kind === "str") {
      const field = a.text;
      const value = c.text;
      if (b.text === "=") predicates.push((f) => f[field] === value);
      else if (b.text === "!=") predicates.push((f) => f[field] !== value);
      else if (b.text === "contains" && field === "name") predicates.push((f) => f.name.includes(value));
      else throw invalid();
    } else if (
      a.kind === "word" &&
      a.text === "trashed" &&
      b.text === "=" &&
      c.kind === "word" &&
      /^(true|false)$/.test(c.text)
    ) {
      const value = c.text === "true";
      predicates.push((f) => f.trashed === value);
    } else {
      throw invalid();
    }
    i += 3;
    if (i < tokens.length) {
      if (tokens[i]?.kind !== "word" || tokens[i]?.text !== "and") throw invalid();
      i++;
    }
  }
  return (f) => predicates.every((p) => p(f));
}

function candidatesFor(q: string | null): Iterable<DriveFile> {
  // Fast path for the common `'<id>' in parents` queries: only that folder's children.
  const parent = q ? /'((?:\\.|[^'\\])*)' in parents/.exec(q)?.[1] : undefined;
  if (parent === undefined) return files.values();
  const ids = childrenOf.get(parent.replace(/\\(.)/g, "$1")) ?? new Set<string>();
  return [...ids].map((id) => files.get(id)).filter((f): f is DriveFile => !!f);
}

// ---- handlers ------------------------------------------------------------------------------------

/**
 * files.list honours `corpora` as Drive documents it: `user` (the default), `drive` (needs `driveId`),
 * `allDrives` ("results may be incomplete": the emulator always shows that worst case, leaving a file
 * out and saying `incompleteSearch: true`, as Drive does when it could not search every drive in time).
 * `incomplete` (a test fault with status 200) makes any answer incomplete that way.
 */
function listFiles(url: URL, res: ServerResponse, identity: Identity, incomplete = false): void {
  const corpora = url.searchParams.get("corpora") ?? "user";
  if (!["user", "drive", "domain", "allDrives"].includes(corpora))
    throw new ApiError(400, "invalid", `Invalid Value`, "global", { location: "corpora" });
  const driveId = url.searchParams.get("driveId");
  if ((corpora === "drive") !== !!driveId)
    throw new ApiError(400, "invalid", "The driveId parameter must be specified if and only if corpora is set to drive.");
  const allDrivesItems = url.searchParams.get("includeItemsFromAllDrives") === "true";
  if (driveId && !allDrivesItems)
    throw new ApiError(
      403,
      "teamDriveIncludeItemsRequired",
      "The includeItemsFromAllDrives parameter must be set to true when driveId is specified.",
    );
  if (driveId && !drives.get(driveId)?.members[identity.email])
    throw new ApiError(404, "notFound", `Shared drive not found: ${driveId}`, "global", {
      locationType: "parameter",
      location: "driveId",
    });
  // `user`: My Drive and what is shared with the identity, never shared-drive items; `drive`: that drive only.
  const inCorpus = (f: DriveFile) =>
    corpora === "drive" ? f.driveId === driveId : corpora === "user" ? !f.driveId : !f.driveId || allDrivesItems;
  const partial = incomplete || corpora === "allDrives";
  const q = url.searchParams.get("q");
  const query = parseQuery(q);
  const predicate = (f: DriveFile) => inCorpus(f) && canSee(identity, f, url) && query(f);
  const pageSize = Math.min(1000, Math.max(1, Number(url.searchParams.get("pageSize") ?? 100) || 100));
  const offset = url.searchParams.get("pageToken")
    ? Number(Buffer.from(url.searchParams.get("pageToken") ?? "", "base64url").toString())
    : 0;
  if (!Number.isInteger(offset) || offset < 0)
    throw new ApiError(400, "invalid", "Invalid Value", "global", { location: "pageToken" });
  const all = [...candidatesFor(q)]
    .filter(predicate)
    .sort((a, b) => a.createdTime.localeCompare(b.createdTime) || a.id.localeCompare(b.id));
  const matches = partial ? all.slice(0, -1) : all;
  const page = matches.slice(offset, offset + pageSize);
  const next = offset + pageSize < matches.length ? Buffer.from(String(offset + pageSize)).toString("base64url") : undefined;
  const body = {
    ...(next ? { nextPageToken: next } : {}),
    kind: "drive#fileList",
    incompleteSearch: partial,
    files: page.map((f) => fileResource(f, identity)),
  };
  const fields = url.searchParams.get("fields");
  sendJson(
    res,
    200,
    pick(body, fields ? parseFields(fields) : parseFields("nextPageToken,kind,incompleteSearch,files(kind,id,name,mimeType)")),
  );
}

/** The parents exist, are visible and accept new children from this identity; returns them and their shared drive. */
function checkParents(parents: unknown, identity: Identity, url: URL): { parents: string[]; driveId?: string } {
  const list = Array.isArray(parents) ? parents.map(String) : [];
  let driveId: string | undefined;
  for (const p of list) {
    const parent = files.get(p);
    if (!parent || parent.mimeType !== FOLDER_MIME || !canSee(identity, parent, url)) throw notFound(p);
    if (parent.driveId && !atLeast(roleIn(identity, parent), "writer")) throw insufficient(p);
    driveId ??= parent.driveId;
  }
  return { parents: list, ...(driveId ? { driveId } : {}) };
}

/** A file created by `identity` under these parents: service accounts only inside shared drives. */
function checkStorage(identity: Identity, driveId: string | undefined, bytes: number): void {
  if (driveId) return; // shared-drive files use the organisation's storage, not the member's
  if (identity.kind === "service_account") throw serviceAccountQuotaError();
  if (!fitsQuota(identity, bytes)) throw quotaError();
}

function newFile(
  owner: Identity,
  meta: Record<string, unknown>,
  parents: string[],
  blob?: { size: number; md5: string },
  driveId?: string,
): DriveFile {
  const now = new Date().toISOString();
  return {
    id: newId(),
    name: typeof meta.name === "string" ? meta.name : "Untitled",
    mimeType: typeof meta.mimeType === "string" ? meta.mimeType : "application/octet-stream",
    parents,
    ...(blob ? { size: blob.size, md5Checksum: blob.md5 } : {}),
    createdTime: now,
    modifiedTime: now,
    trashed: false,
    owner: owner.id,
    ...(driveId ? { driveId } : {}),
    ...(meta.appProperties && typeof meta.appProperties === "object"
      ? { appProperties: meta.appProperties as Record<string, string> }
      : {}),
  };
}

function quotaError(): ApiError {
  return new ApiError(403, "storageQuotaExceeded", "The user's Drive storage quota has been exceeded.", "usageLimits");
}

/** Google's answer to a service account creating a file outside a shared drive (see the module comment). */
function serviceAccountQuotaError(): ApiError {
  return new ApiError(
    403,
    "storageQuotaExceeded",
    "Service Accounts do not have storage quota. Leverage shared drives (https://developers.google.com/workspace/drive/api/guides/about-shareddrives), or use OAuth delegation (http://support.google.com/a/answer/7281227) instead.",
    "usageLimits",
  );
}

function fitsQuota(identity: Identity, extra: number): boolean {
  return identity.quotaBytes === null || usageOf(identity.id) + extra <= identity.quotaBytes;
}

async function md5Of(path: string): Promise<string> {
  const hash = createHash("md5");
  await pipeline(createReadStream(path), hash);
  return hash.digest("hex");
}

async function multipartUpload(req: IncomingMessage, res: ServerResponse, url: URL, identity: Identity): Promise<void> {
  const boundary = /boundary="?([^";]+)"?/i.exec(req.headers["content-type"] ?? "")?.[1];
  if (!boundary) throw new ApiError(400, "badContent", "Missing multipart boundary.");
  const body = await readBody(req);
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: Buffer[] = [];
  let at = body.indexOf(delimiter);
  while (at >= 0) {
    const next = body.indexOf(delimiter, at + delimiter.length);
    if (next < 0) break;
    parts.push(body.subarray(at + delimiter.length, next));
    at = next;
  }
  const content = parts.map((part) => {
    const split = part.indexOf("\r\n\r\n");
    const data = part.subarray(split + 4);
    return data.subarray(0, data.length - (data.subarray(-2).toString() === "\r\n" ? 2 : 0));
  });
  if (content.length !== 2) throw new ApiError(400, "badContent", "Multipart body must have a metadata part and a media part.");
  const meta = JSON.parse((content[0] as Buffer).toString("utf8") || "{}") as Record<string, unknown>;
  const media = content[1] as Buffer;
  const { parents, driveId } = checkParents(meta.parents, identity, url);
  checkStorage(identity, driveId, media.length);
  const file = newFile(
    identity,
    meta,
    parents,
    { size: media.length, md5: createHash("md5").update(media).digest("hex") },
    driveId,
  );
  await writeFile(join(blobDir, file.id), media);
  record({ op: "file", value: file });
  sendJson(res, 200, renderFile(file, url.searchParams.get("fields")));
}

async function startSession(req: IncomingMessage, res: ServerResponse, url: URL, identity: Identity): Promise<void> {
  const meta = await readJson(req);
  const { parents, driveId } = checkParents(meta.parents, identity, url);
  // A service account outside a shared drive is refused when the session starts (it has no quota at all).
  checkStorage(identity, driveId, 0);
  const id = newId(18);
  const fields = url.searchParams.get("fields") ?? undefined;
  record({
    op: "session",
    value: {
      id,
      owner: identity.id,
      metadata: {
        name: typeof meta.name === "string" ? meta.name : "Untitled",
        mimeType:
          typeof meta.mimeType === "string"
            ? meta.mimeType
            : (req.headers["x-upload-content-type"] as string) || "application/octet-stream",
        parents,
        ...(meta.appProperties ? { appProperties: meta.appProperties as Record<string, string> } : {}),
      },
      ...(fields ? { fields } : {}),
      ...(driveId ? { driveId } : {}),
    },
  });
  await writeFile(join(sessionDir, id), "");
  const location = `http://${req.headers.host}/upload/drive/v3/files?uploadType=resumable&upload_id=${id}`;
  res.writeHead(200, { Location: location, "X-GUploader-UploadID": id, "Content-Length": "0" });
  res.end();
}

async function sessionSize(id: string): Promise<number> {
  return (await stat(join(sessionDir, id))).size;
}

function incomplete(res: ServerResponse, committed: number): void {
  res.writeHead(308, { "Content-Length": "0", ...(committed > 0 ? { Range: `bytes=0-${committed - 1}` } : {}) });
  res.end();
}

async function finishSession(session: Session, res: ServerResponse): Promise<void> {
  const owner = identities.get(session.owner) as Identity;
  const path = join(sessionDir, session.id);
  const size = await sessionSize(session.id);
  const file = newFile(owner, session.metadata, session.metadata.parents, { size, md5: await md5Of(path) }, session.driveId);
  await rename(path, join(blobDir, file.id));
  record({ op: "file", value: file });
  record({ op: "sessionEnd", id: session.id });
  sendJson(res, 200, renderFile(file, session.fields));
}

async function putChunk(req: IncomingMessage, res: ServerResponse, session: Session): Promise<void> {
  const range = /^bytes (?:(\d+)-(\d+)|\*)\/(\d+|\*)$/.exec(String(req.headers["content-range"] ?? "bytes */*"));
  if (!range) throw new ApiError(400, "badRequest", "Failed to parse Content-Range header.");
  const total = range[3] === "*" ? undefined : Number(range[3]);
  const received = await sessionSize(session.id);
  if (range[1] === undefined) {
    // Status query (or the empty last chunk of a stream that ended on a chunk boundary).
    await readBody(req);
    if (total !== undefined && total === received) return finishSession(session, res);
    if (total !== undefined && total < received)
      throw new ApiError(400, "badRequest", "Invalid request: total size smaller than the bytes received.");
    return incomplete(res, received);
  }
  const first = Number(range[1]);
  const last = Number(range[2]);
  const length = last - first + 1;
  if (first > received || length <= 0 || (total !== undefined && last >= total)) {
    req.resume();
    throw new ApiError(
      400,
      "badRequest",
      `Invalid request: Content-Range ${first}-${last} does not follow the ${received} bytes received.`,
    );
  }
  const owner = identities.get(session.owner) as Identity;
  if (!session.driveId && !fitsQuota(owner, last + 1)) {
    req.resume();
    await rm(join(sessionDir, session.id), { force: true });
    record({ op: "sessionEnd", id: session.id });
    throw quotaError();
  }
  // Bytes already held are skipped, the rest appended.
  let skip = received - first;
  let got = 0;
  const out = createWriteStream(join(sessionDir, session.id), { flags: "a" });
  try {
    await pipeline(
      req,
      async function* (source: AsyncIterable<Buffer>) {
        for await (const chunk of source) {
          got += chunk.length;
          if (skip >= chunk.length) {
            skip -= chunk.length;
            continue;
          }
          yield chunk.subarray(skip);
          skip = 0;
        }
      },
      out,
    );
  } catch (error) {
    await truncate(join(sessionDir, session.id), received).catch(() => undefined);
    throw error;
  }
  if (got !== length) {
    await truncate(join(sessionDir, session.id), received);
    throw new ApiError(400, "badRequest", `Invalid request: Content-Range says ${length} bytes, the body had ${got}.`);
  }
  const now = await sessionSize(session.id);
  if (total !== undefined && now === total) return finishSession(session, res);
  if (total === undefined) {
    // Drive keeps whole 256 KiB units of a non-final chunk; the client resends the rest.
    const kept = Math.floor(now / UPLOAD_UNIT) * UPLOAD_UNIT;
    if (kept < now) await truncate(join(sessionDir, session.id), kept);
    return incomplete(res, kept);
  }
  return incomplete(res, now);
}

async function handleSession(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const session = sessions.get(url.searchParams.get("upload_id") ?? "");
  if (!session) {
    req.resume();
    throw new ApiError(404, "notFound", "The upload session does not exist or has expired.");
  }
  if (req.method === "DELETE") {
    req.resume();
    await rm(join(sessionDir, session.id), { force: true });
    record({ op: "sessionEnd", id: session.id });
    res.writeHead(499, { "Content-Length": "0" });
    res.end();
    return;
  }
  return putChunk(req, res, session);
}

function deleteTree(id: string): void {
  for (const child of [...(childrenOf.get(id) ?? [])]) deleteTree(child);
  record({ op: "delete", id });
  void rm(join(blobDir, id), { force: true });
}

async function handleFile(req: IncomingMessage, res: ServerResponse, url: URL, id: string, identity: Identity): Promise<void> {
  const file = files.get(id);
  if (!file || !canSee(identity, file, url)) {
    req.resume();
    throw notFound(id);
  }
  const fields = url.searchParams.get("fields");
  const role = roleIn(identity, file);
  if (req.method === "GET") {
    if (url.searchParams.get("alt") !== "media") return sendJson(res, 200, renderFile(file, fields, identity));
    if (file.mimeType === FOLDER_MIME) {
      throw new ApiError(
        403,
        "fileNotDownloadable",
        "Only files with binary content can be downloaded. Use Export with Docs Editors files.",
      );
    }
    res.writeHead(200, { "Content-Type": file.mimeType, "Content-Length": String(file.size ?? 0) });
    await pipeline(createReadStream(join(blobDir, id)), res);
    return;
  }
  if (req.method === "PATCH") {
    const body = await readJson(req);
    const add = url.searchParams.get("addParents")?.split(",").filter(Boolean) ?? [];
    const remove = url.searchParams.get("removeParents")?.split(",").filter(Boolean) ?? [];
    // Shared drives: Contributors (writer) edit and rename; trashing and moving need Content manager.
    if (file.driveId) {
      const trashing = typeof body.trashed === "boolean" || add.length > 0 || remove.length > 0;
      if (!atLeast(role, trashing ? "fileOrganizer" : "writer")) throw insufficient(id);
    }
    checkParents(add, identity, url);
    const updated: DriveFile = {
      ...file,
      ...(typeof body.name === "string" ? { name: body.name } : {}),
      ...(typeof body.trashed === "boolean" ? { trashed: body.trashed } : {}),
      parents: [...file.parents.filter((p) => !remove.includes(p)), ...add],
      modifiedTime: new Date().toISOString(),
    };
    record({ op: "file", value: updated });
    return sendJson(res, 200, renderFile(updated, fields, identity));
  }
  if (req.method === "DELETE") {
    req.resume();
    // "If the file belongs to a shared drive, the user must be an organizer on the parent folder."
    if (file.driveId && !atLeast(role, "organizer")) throw insufficient(id);
    if (file.driveId && file.id === file.driveId) throw insufficient(id); // a drive's root is not a file
    deleteTree(id);
    res.writeHead(204);
    res.end();
    return;
  }
  throw new ApiError(405, "methodNotAllowed", "Method not allowed.");
}

async function createMetadataOnly(req: IncomingMessage, res: ServerResponse, url: URL, identity: Identity): Promise<void> {
  const meta = await readJson(req);
  const { parents, driveId } = checkParents(meta.parents, identity, url);
  const isFolder = meta.mimeType === FOLDER_MIME;
  // Folders hold no bytes: a service account may create them anywhere it may write.
  if (!isFolder) checkStorage(identity, driveId, 0);
  const file = newFile(
    identity,
    meta,
    parents,
    isFolder ? undefined : { size: 0, md5: createHash("md5").digest("hex") },
    driveId,
  );
  if (!isFolder) await writeFile(join(blobDir, file.id), "");
  record({ op: "file", value: file });
  sendJson(res, 200, renderFile(file, url.searchParams.get("fields"), identity));
}

function about(url: URL, res: ServerResponse, identity: Identity): void {
  const fields = url.searchParams.get("fields");
  if (!fields) {
    throw new ApiError(400, "required", "The 'fields' parameter is required for this method.", "global", {
      locationType: "parameter",
      location: "fields",
    });
  }
  const usage = String(usageOf(identity.id));
  // Service accounts have no storage of their own (see the module comment).
  const limit = identity.kind === "service_account" ? 0 : identity.quotaBytes;
  sendJson(
    res,
    200,
    pick(
      {
        kind: "drive#about",
        user: { kind: "drive#user", displayName: identity.email, emailAddress: identity.email, me: true },
        storageQuota: {
          ...(limit === null ? {} : { limit: String(limit) }),
          usage,
          usageInDrive: usage,
          usageInDriveTrash: "0",
        },
      },
      parseFields(fields),
    ),
  );
}

/** drives.list and drives.get: only drives the identity is a member of; others are "not found". */
function handleDrives(url: URL, res: ServerResponse, identity: Identity, driveId: string | undefined): void {
  const render = (d: SharedDrive) => {
    const role = d.members[identity.email];
    return {
      kind: "drive#drive",
      id: d.id,
      name: d.name,
      createdTime: d.createdTime,
      capabilities: {
        canAddChildren: atLeast(role, "writer"),
        canTrashChildren: atLeast(role, "fileOrganizer"),
        canDeleteChildren: atLeast(role, "organizer"),
        canManageMembers: atLeast(role, "organizer"),
      },
    };
  };
  const fields = url.searchParams.get("fields");
  if (driveId !== undefined) {
    const drive = drives.get(driveId);
    if (!drive?.members[identity.email]) {
      throw new ApiError(404, "notFound", `Shared drive not found: ${driveId}`, "global", {
        locationType: "parameter",
        location: "driveId",
      });
    }
    sendJson(res, 200, pick(render(drive), fields ? parseFields(fields) : parseFields("kind,id,name")));
    return;
  }
  const mine = [...drives.values()].filter((d) => d.members[identity.email]).map(render);
  const body = { kind: "drive#driveList", drives: mine };
  sendJson(res, 200, pick(body, fields ? parseFields(fields) : parseFields("kind,nextPageToken,drives(kind,id,name)")));
}

// ---- test controls -------------------------------------------------------------------------------

async function control(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
  if (path === "/__emulator/stats" && req.method === "GET") return sendJson(res, 200, Object.fromEntries(stats));
  if (path === "/__emulator/raw-write") {
    // Benchmark baseline: the emulator's own disk write rate for one request body, no Drive protocol.
    const target = join(dir, `raw-write-${process.pid}`);
    await pipeline(req, createWriteStream(target));
    await rm(target, { force: true });
    return sendJson(res, 200, {});
  }
  const body = await readJson(req);
  if (path === "/__emulator/identities") {
    const identity: Identity = {
      id: newId(9),
      kind: body.kind === "user" ? "user" : "service_account",
      email: String(body.email),
      ...(typeof body.publicKeyPem === "string" ? { publicKeyPem: body.publicKeyPem } : {}),
      ...(typeof body.clientId === "string" ? { clientId: body.clientId } : {}),
      ...(typeof body.clientSecret === "string" ? { clientSecret: body.clientSecret } : {}),
      ...(typeof body.refreshToken === "string" ? { refreshToken: body.refreshToken } : {}),
      quotaBytes: body.kind === "user" ? (typeof body.quotaBytes === "number" ? body.quotaBytes : null) : 0,
      ...(body.domainWideDelegation === true ? { domainWideDelegation: true } : {}),
    };
    record({ op: "identity", value: identity });
    return sendJson(res, 200, { id: identity.id });
  }
  if (path === "/__emulator/drives") {
    const now = new Date().toISOString();
    const members: Record<string, Role> = {};
    for (const m of Array.isArray(body.members) ? (body.members as Array<{ email: string; role: Role }>) : []) {
      members[m.email] = m.role;
    }
    const drive: SharedDrive = { id: `0A${newId(12)}`, name: String(body.name ?? "Shared drive"), members, createdTime: now };
    record({ op: "drive", value: drive });
    // The drive's root folder has the drive's id (Drive: "the ID of the shared drive's top-level folder").
    record({
      op: "file",
      value: {
        id: drive.id,
        name: drive.name,
        mimeType: FOLDER_MIME,
        parents: [],
        createdTime: now,
        modifiedTime: now,
        trashed: false,
        owner: "shared-drive",
        driveId: drive.id,
      },
    });
    return sendJson(res, 200, { id: drive.id });
  }
  if (path === "/__emulator/folders") {
    const owner = [...identities.values()][0]?.id ?? "nobody";
    const now = new Date().toISOString();
    const parent = typeof body.parent === "string" ? files.get(body.parent) : undefined;
    const folder: DriveFile = {
      id: newId(),
      name: String(body.name ?? "Folder"),
      mimeType: FOLDER_MIME,
      parents: parent ? [parent.id] : [],
      createdTime: now,
      modifiedTime: now,
      trashed: false,
      owner,
      ...(parent?.driveId ? { driveId: parent.driveId } : {}),
    };
    record({ op: "file", value: folder });
    return sendJson(res, 200, { id: folder.id });
  }
  if (path === "/__emulator/faults") {
    faults.push({
      method: typeof body.method === "string" ? body.method : undefined,
      path: String(body.path ?? "/"),
      query: typeof body.query === "string" ? body.query : undefined,
      status: Number(body.status ?? 503),
      reason: typeof body.reason === "string" ? body.reason : undefined,
      count: Number(body.count ?? 1),
      skip: Number(body.skip ?? 0),
      retryAfter: typeof body.retryAfter === "number" ? body.retryAfter : undefined,
    });
    return sendJson(res, 200, { pending: faults.length });
  }
  sendJson(res, 404, { error: "unknown control endpoint" });
}

/** Consumes a matching injected fault, if any. */
function takeFault(method: string, url: URL): Fault | undefined {
  const index = faults.findIndex(
    (f) => (!f.method || f.method === method) && url.pathname.startsWith(f.path) && (!f.query || url.search.includes(f.query)),
  );
  const fault = faults[index];
  if (!fault) return undefined;
  if (fault.skip > 0) {
    fault.skip--;
    return undefined;
  }
  fault.count--;
  if (fault.count <= 0) faults.splice(index, 1);
  return fault;
}

function faultError(fault: Fault): ApiError {
  if (fault.status === 429) return new ApiError(429, fault.reason ?? "rateLimitExceeded", "Rate Limit Exceeded", "usageLimits");
  if (fault.status === 403)
    return new ApiError(403, fault.reason ?? "userRateLimitExceeded", "User Rate Limit Exceeded", "usageLimits");
  return new ApiError(fault.status, fault.reason ?? "backendError", "Backend Error");
}

// ---- routing -------------------------------------------------------------------------------------

function routeName(method: string, url: URL): string {
  const p = url.pathname;
  if (p === "/token") return "token";
  if (p === "/drive/v3/about") return "about.get";
  if (p === "/drive/v3/drives") return "drives.list";
  if (p.startsWith("/drive/v3/drives/")) return "drives.get";
  if (p === "/drive/v3/files") return method === "GET" ? "files.list" : "files.create";
  if (p.startsWith("/drive/v3/files/")) {
    if (method === "GET") return url.searchParams.get("alt") === "media" ? "files.media" : "files.get";
    return method === "PATCH" ? "files.update" : method === "DELETE" ? "files.delete" : "files.other";
  }
  if (p === "/upload/drive/v3/files") {
    if (url.searchParams.has("upload_id")) return method === "DELETE" ? "upload.cancel" : "upload.chunk";
    return `upload.${url.searchParams.get("uploadType") ?? "media"}`;
  }
  return "other";
}

async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? "/", `http://${req.headers.host}`);
  const method = req.method ?? "GET";
  const path = url.pathname;
  if (path.startsWith("/__emulator/")) return control(req, res, path);
  const name = routeName(method, url);
  res.on("finish", () => {
    const key = `${name} ${res.statusCode}`;
    stats.set(key, (stats.get(key) ?? 0) + 1);
  });
  const fault = takeFault(method, url);
  // A fault with status 200 on files.list: a normal answer, but an incomplete one.
  if (fault?.status === 200 && name === "files.list") {
    return listFiles(url, res, authenticate(req), true);
  }
  if (fault) {
    req.resume();
    return sendApiError(
      res,
      faultError(fault),
      fault.retryAfter !== undefined ? { "Retry-After": String(fault.retryAfter) } : {},
    );
  }
  if (path === "/token" && method === "POST") return handleToken(req, res);
  // A session URI is its own credential, as on Google.
  if (path === "/upload/drive/v3/files" && url.searchParams.has("upload_id")) return handleSession(req, res, url);
  const identity = authenticate(req);
  if (path === "/drive/v3/about" && method === "GET") return about(url, res, identity);
  if (path === "/drive/v3/files" && method === "GET") return listFiles(url, res, identity);
  if (path === "/drive/v3/drives" && method === "GET") return handleDrives(url, res, identity, undefined);
  const driveMatch = /^\/drive\/v3\/drives\/([^/]+)$/.exec(path);
  if (driveMatch && method === "GET") return handleDrives(url, res, identity, decodeURIComponent(driveMatch[1] as string));
  if (path === "/drive/v3/files" && method === "POST") return createMetadataOnly(req, res, url, identity);
  const fileMatch = /^\/drive\/v3\/files\/([^/]+)$/.exec(path);
  if (fileMatch) return handleFile(req, res, url, decodeURIComponent(fileMatch[1] as string), identity);
  if (path === "/upload/drive/v3/files" && method === "POST") {
    const type = url.searchParams.get("uploadType");
    if (type === "resumable") return startSession(req, res, url, identity);
    if (type === "multipart") return multipartUpload(req, res, url, identity);
    throw new ApiError(400, "invalid", `Invalid Value`, "global", { locationType: "parameter", location: "uploadType" });
  }
  throw new ApiError(404, "notFound", `Not Found: ${method} ${path}`);
}

const server = createServer((req, res) => {
  route(req, res).catch((error: unknown) => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (error instanceof ApiError) {
      req.resume();
      sendApiError(res, error);
      return;
    }
    process.stderr.write(`drive-emulator: ${(error as Error)?.stack ?? String(error)}\n`);
    sendApiError(res, new ApiError(500, "backendError", "Backend Error"));
  });
});

server.listen(Number(process.env.DRIVE_EMULATOR_PORT ?? 0), "127.0.0.1", () => {
  const address = server.address();
  process.stdout.write(`READY ${typeof address === "object" && address ? address.port : 0}\n`);
});
// Parent gone (vitest worker ended): stop too rather than linger.
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();

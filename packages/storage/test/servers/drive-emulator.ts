/**
 * @module test/servers/drive-emulator
 * Starts the Google Drive v3 emulator (`drive-emulator-child.ts`) in a child process on a free port
 * with a temp state folder, drives its test controls (identities, shared drives and their members,
 * folders, injected faults, request counts), and can SIGKILL and restart it on the same port and folder.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const CHILD_SCRIPT = fileURLToPath(new URL("./drive-emulator-child.ts", import.meta.url));
// Generous: on a shared CI machine under load a cold start of the server process takes tens of seconds.
const START_TIMEOUT_MS = 90_000;

/** A service account key JSON as Google issues it (minus the fields Stowage does not read). */
export interface ServiceAccountKey {
  type: "service_account";
  client_email: string;
  private_key: string;
  private_key_id: string;
  token_uri: string;
}

export interface InjectedFault {
  /** HTTP method to match; any when absent. */
  method?: string;
  /** Path prefix to match: `/token`, `/drive/v3/files`, `/upload/drive/v3/files`. */
  path: string;
  /** Substring of the query string to match, e.g. `upload_id=` for resumable chunks only. */
  query?: string;
  status: number;
  reason?: string;
  /** How many matching requests fail (default 1). */
  count?: number;
  /** How many matching requests pass first (default 0). */
  skip?: number;
  retryAfter?: number;
}

/** Shared drive member roles, as the Drive API names them (UI: Viewer, Commenter, Contributor, Content manager, Manager). */
export type DriveRole = "reader" | "commenter" | "writer" | "fileOrganizer" | "organizer";

export interface DriveEmulator {
  /** `http://127.0.0.1:<port>/`: the `rootUrl` to configure. */
  readonly rootUrl: string;
  /** `http://127.0.0.1:<port>/token`: the `tokenUrl` to configure. */
  readonly tokenUrl: string;
  readonly port: number;
  readonly directory: string;
  /**
   * Registers a new service account (with a fresh RSA key pair) and returns its key JSON. It has no storage
   * quota (uploads only work in shared drives); `domainWideDelegation` lets it impersonate workspace users.
   */
  serviceAccount(options?: { email?: string; domainWideDelegation?: boolean }): Promise<ServiceAccountKey>;
  /** Registers a Google Workspace user (no credentials of its own: reached through domain-wide delegation). */
  workspaceUser(options: { email: string; quotaBytes?: number | null }): Promise<void>;
  /** Creates a shared drive with these members; returns its id (also the id of its top-level folder). */
  sharedDrive(name: string, members: Array<{ email: string; role: DriveRole }>): Promise<string>;
  /** Registers an OAuth client + refresh token for a user. */
  oauthUser(options?: { quotaBytes?: number | null }): Promise<{ clientId: string; clientSecret: string; refreshToken: string }>;
  /** Creates a folder (top-level in My Drive, or in `parent`, e.g. a shared drive's id) and returns its id. */
  folder(name: string, parent?: string): Promise<string>;
  fault(fault: InjectedFault): Promise<void>;
  /** Requests served so far, by `"<route> <status>"` (e.g. `"upload.chunk 308"`). */
  stats(): Promise<Record<string, number>>;
  kill(): Promise<void>;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** A key pair the emulator never heard of, for the wrong-credentials tests. */
export function unknownServiceAccountKey(tokenUrl: string): ServiceAccountKey {
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  return {
    type: "service_account",
    client_email: "stranger@unknown-project.iam.gserviceaccount.com",
    private_key: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    private_key_id: "wrong-secret-value",
    token_uri: tokenUrl,
  };
}

function spawnChild(env: Record<string, string>): Promise<{ child: ChildProcess; port: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", CHILD_SCRIPT], {
      env: { ...process.env, ...env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`the Drive emulator did not start within ${START_TIMEOUT_MS} ms; stderr: ${stderr}`));
    }, START_TIMEOUT_MS);
    child.stdout?.on("data", (data: Buffer) => {
      stdout += data.toString();
      const match = /READY (\d+)/.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolve({ child, port: Number(match[1]) });
      }
    });
    child.stderr?.on("data", (data: Buffer) => {
      stderr += data.toString();
      // Surface the emulator's own crashes in the test output.
      if (/drive-emulator:/.test(data.toString())) process.stderr.write(data);
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the Drive emulator exited before it was ready (code ${code}, signal ${signal}); stderr: ${stderr}`));
    });
  });
}

function waitForExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

export async function startDriveEmulator(): Promise<DriveEmulator> {
  const directory = await mkdtemp(join(tmpdir(), "stowage-drive-emu-"));
  let { child, port } = await spawnChild({ DRIVE_EMULATOR_DIR: directory, DRIVE_EMULATOR_PORT: "0" });
  const base = `http://127.0.0.1:${port}`;
  const control = async (path: string, body?: unknown): Promise<Record<string, unknown>> => {
    const send = () =>
      fetch(`${base}/__emulator/${path}`, {
        method: body === undefined ? "GET" : "POST",
        headers: { "Content-Type": "application/json" },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    // A kept-alive socket the emulator closed just as this request went out ("other side closed",
    // seen at load 40): the request never reached it, so sending it again is safe.
    const response = await send().catch((error: unknown) => {
      if ((error as { cause?: { code?: string } }).cause?.code !== "UND_ERR_SOCKET") throw error;
      return send();
    });
    if (!response.ok) throw new Error(`Drive emulator control ${path}: HTTP ${response.status} ${await response.text()}`);
    return (await response.json()) as Record<string, unknown>;
  };
  let accounts = 0;
  return {
    rootUrl: `${base}/`,
    tokenUrl: `${base}/token`,
    port,
    directory,
    async serviceAccount(options = {}) {
      const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
      const email = options.email ?? `stowage-test-${++accounts}@emulated-project.iam.gserviceaccount.com`;
      await control("identities", {
        kind: "service_account",
        email,
        publicKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString(),
        domainWideDelegation: options.domainWideDelegation ?? false,
      });
      return {
        type: "service_account",
        client_email: email,
        private_key: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
        private_key_id: randomBytes(20).toString("hex"),
        token_uri: `${base}/token`,
      };
    },
    async oauthUser(options = {}) {
      const user = {
        clientId: `${randomBytes(6).toString("hex")}.apps.googleusercontent.com`,
        clientSecret: `GOCSPX-${randomBytes(12).toString("base64url")}`,
        refreshToken: `1//${randomBytes(24).toString("base64url")}`,
      };
      await control("identities", {
        kind: "user",
        email: `user-${user.clientId}@example.com`,
        ...user,
        quotaBytes: options.quotaBytes ?? null,
      });
      return user;
    },
    async workspaceUser(options) {
      await control("identities", { kind: "user", email: options.email, quotaBytes: options.quotaBytes ?? null });
    },
    async sharedDrive(name, members) {
      return String((await control("drives", { name, members })).id);
    },
    async folder(name, parent) {
      return String((await control("folders", { name, ...(parent ? { parent } : {}) })).id);
    },
    async fault(fault) {
      await control("faults", fault);
    },
    async stats() {
      return (await control("stats")) as Record<string, number>;
    },
    async kill() {
      child.kill("SIGKILL");
      await waitForExit(child);
    },
    async restart() {
      ({ child } = await spawnChild({ DRIVE_EMULATOR_DIR: directory, DRIVE_EMULATOR_PORT: String(port) }));
    },
    async stop() {
      child.kill("SIGTERM");
      await waitForExit(child);
      await rm(directory, { recursive: true, force: true });
    },
  };
}

/**
 * @module test/server/harness
 * A real `stowage serve` for tests: in-process (`startTestServer`) or as a child process of the bin
 * (`startChildServer`, for crash and start-up tests), on a free port with a temp data folder, the
 * first admin set up, and an `ApiClient` that keeps the session cookie and sends the CSRF header.
 * Log lines are collected (`logs()`) so tests can check that no secret was ever logged.
 *
 *   const t = await startTestServer();
 *   const res = await t.admin.post("/api/projects", { name: "shop", databaseUrl });
 *   await t.close();
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { type RunningServer, type StartOptions, startServer } from "../../src/server/server.ts";

export const ADMIN_EMAIL = "admin@example.com";
export const ADMIN_PASSWORD = "correct horse battery staple";
const BIN = fileURLToPath(new URL("../../bin/stowage.js", import.meta.url));

// biome-ignore lint/suspicious/noExplicitAny: tests read JSON answers loosely
export type Json = any;

export interface ApiResponse<T = Json> {
  status: number;
  body: T;
  headers: Headers;
  text: string;
}

/** A fetch wrapper with a cookie jar, the CSRF header for cookie sessions, or a bearer token. */
export class ApiClient {
  readonly cookies = new Map<string, string>();
  csrfToken: string | undefined;

  constructor(
    readonly baseUrl: string,
    readonly token?: string,
  ) {}

  withToken(token: string): ApiClient {
    return new ApiClient(this.baseUrl, token);
  }

  /** A client with no credentials at all. */
  anonymous(): ApiClient {
    return new ApiClient(this.baseUrl);
  }

  cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  }

  async raw(
    method: string,
    path: string,
    init: { body?: string | Uint8Array | FormData | Blob; headers?: Record<string, string>; csrf?: boolean } = {},
  ): Promise<Response> {
    const headers: Record<string, string> = { ...init.headers };
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    if (this.cookies.size > 0) headers.Cookie = this.cookieHeader();
    if (init.csrf !== false && this.csrfToken && !["GET", "HEAD"].includes(method)) headers["X-CSRF-Token"] = this.csrfToken;
    const res = await fetch(`${this.baseUrl}${path}`, { method, headers, body: init.body, redirect: "manual" });
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(";");
      const eq = pair!.indexOf("=");
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      if (!value || attrs.some((a) => /max-age=0\b/i.test(a.trim()))) this.cookies.delete(name);
      else this.cookies.set(name, value);
      if (name === "stowage_csrf" && value) this.csrfToken = value;
    }
    return res;
  }

  async request<T = Json>(
    method: string,
    path: string,
    body?: unknown,
    options: { csrf?: boolean; headers?: Record<string, string> } = {},
  ): Promise<ApiResponse<T>> {
    const res = await this.raw(method, path, {
      ...(body === undefined
        ? {}
        : { body: JSON.stringify(body), headers: { "Content-Type": "application/json", ...options.headers } }),
      ...(body === undefined && options.headers ? { headers: options.headers } : {}),
      ...(options.csrf === undefined ? {} : { csrf: options.csrf }),
    });
    const text = await res.text();
    let parsed: unknown = text;
    if (res.headers.get("content-type")?.includes("json") && text) parsed = JSON.parse(text);
    return { status: res.status, body: parsed as T, headers: res.headers, text };
  }

  get<T = Json>(path: string) {
    return this.request<T>("GET", path);
  }
  post<T = Json>(path: string, body: unknown = {}, options?: { csrf?: boolean }) {
    return this.request<T>("POST", path, body, options);
  }
  patch<T = Json>(path: string, body: unknown) {
    return this.request<T>("PATCH", path, body);
  }
  delete<T = Json>(path: string) {
    return this.request<T>("DELETE", path);
  }

  /** Signs in (keeps the cookies and CSRF token). */
  async login(email: string, password: string): Promise<ApiResponse> {
    const res = await this.post("/api/auth/login", { email, password });
    if (res.status === 200) this.csrfToken = res.body.csrfToken;
    return res;
  }

  /** Reads a Server-Sent Events stream to its end (or `until` returns true); returns the events. */
  async events(
    path: string,
    until?: (event: { event: string; data: Json }) => boolean,
    timeoutMs = 280_000,
  ): Promise<Array<{ event: string; data: Json }>> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    const headers: Record<string, string> = { Accept: "text/event-stream" };
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    if (this.cookies.size > 0) headers.Cookie = this.cookieHeader();
    const events: Array<{ event: string; data: Json }> = [];
    try {
      const res = await fetch(`${this.baseUrl}${path}`, { headers, signal: controller.signal });
      if (res.status !== 200) throw new Error(`events: ${res.status} ${await res.text()}`);
      const decoder = new TextDecoder();
      let buffer = "";
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        for (let at = buffer.indexOf("\n\n"); at >= 0; at = buffer.indexOf("\n\n")) {
          const block = buffer.slice(0, at);
          buffer = buffer.slice(at + 2);
          let event = "message";
          const data: string[] = [];
          for (const line of block.split("\n")) {
            if (line.startsWith("event:")) event = line.slice(6).trim();
            else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
          }
          if (data.length === 0) continue;
          const e = { event, data: JSON.parse(data.join("\n")) };
          events.push(e);
          if (until?.(e)) {
            controller.abort();
            return events;
          }
        }
      }
      return events;
    } catch (error) {
      if (controller.signal.aborted && events.length > 0) return events;
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Collects log lines in memory. */
export class LogCollector extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.lines.push(...chunk.toString("utf8").split("\n").filter(Boolean));
    cb();
  }
}

export interface TestServer {
  readonly url: string;
  readonly dataDir: string;
  /** Where the default local destination writes (LOCAL_STORAGE_PATH). */
  readonly localStoragePath: string;
  readonly server: RunningServer;
  /** Signed in as the first admin (cookie session + CSRF). */
  readonly admin: ApiClient;
  readonly logs: LogCollector;
  close(options?: { keepData?: boolean }): Promise<void>;
}

export interface TestServerOptions {
  /** Reuse a data folder (a restart); default a fresh temp folder. */
  readonly dataDir?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Create the first admin and sign in (default true). */
  readonly setup?: boolean;
  readonly start?: Omit<StartOptions, "env" | "logStream">;
}

/** Env for a test server: everything from the data folder, free port, loopback. */
export function testEnv(dataDir: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env))
    if (
      /^(S3_|NEXTCLOUD_|GOOGLE_DRIVE_|DEFAULT_STORAGE_TYPE|LOCAL_STORAGE_PATH|DATABASE_URL|STOWAGE_SECRET_KEY|PORT|HOST)/.test(k)
    )
      delete env[k];
  return {
    ...env,
    PORT: "0",
    HOST: "127.0.0.1",
    STOWAGE_DATA_DIR: dataDir,
    LOCAL_STORAGE_PATH: join(dataDir, "backups"),
    LOG_LEVEL: "info",
    ...extra,
  };
}

export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), "stowage-serve-")));
  const logs = new LogCollector();
  const env = testEnv(dataDir, options.env);
  const server = await startServer({ ...options.start, env, logStream: logs });
  const admin = new ApiClient(server.url);
  if (options.setup !== false) {
    const setup = await admin.post("/api/setup", { email: ADMIN_EMAIL, password: ADMIN_PASSWORD });
    if (setup.status === 409) {
      const login = await admin.login(ADMIN_EMAIL, ADMIN_PASSWORD);
      if (login.status !== 200) throw new Error(`harness: sign-in failed: ${login.text}`);
    } else if (setup.status !== 201) {
      throw new Error(`harness: setup failed: ${setup.status} ${setup.text}`);
    } else {
      admin.csrfToken = setup.body.csrfToken;
    }
  }
  return {
    url: server.url,
    dataDir,
    localStoragePath: env.LOCAL_STORAGE_PATH!,
    server,
    admin,
    logs,
    async close(closeOptions = {}) {
      await server.close();
      if (!closeOptions.keepData && !options.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export interface ChildServer {
  readonly url: string;
  readonly process: ChildProcess;
  readonly stdout: () => string;
  readonly stderr: () => string;
  /** SIGKILL: no clean shutdown, like a crash or a pulled plug. */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Runs `stowage serve` as its own process (the bin, as users run it). Resolves once it prints its
 * URL; rejects with its stderr when it exits first (start-up errors).
 */
export function startChildServer(dataDir: string, extraEnv: NodeJS.ProcessEnv = {}, timeoutMs = 180_000): Promise<ChildServer> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, "serve"], {
      env: testEnv(dataDir, { LOG_LEVEL: "warn", ...extraEnv }),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    const exited = new Promise<void>((r) => child.once("exit", () => r()));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`stowage serve did not start within ${timeoutMs} ms; stderr: ${err}`));
    }, timeoutMs);
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const match = /running at (http:\/\/\S+)/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve({
          url: match[1]!,
          process: child,
          stdout: () => out,
          stderr: () => err,
          async kill() {
            child.kill("SIGKILL");
            await exited;
          },
          async stop() {
            child.kill("SIGTERM");
            await exited;
          },
        });
      }
    });
    child.stderr!.on("data", (d: Buffer) => {
      err += d.toString();
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      const error = new Error(`stowage serve exited with code ${code} before it was ready; stderr: ${err}`) as Error & {
        code: number | null;
        stderr: string;
      };
      error.code = code;
      error.stderr = err;
      reject(error);
    });
  });
}

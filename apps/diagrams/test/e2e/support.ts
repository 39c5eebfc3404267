/**
 * @module test/e2e/support
 * What the diagram web app's browser tests share: the app built (web/dist), a real `stowage-diagrams`
 * (the bin, as users run it) on a free port with a fresh PostgreSQL database on STOWAGE_TEST_PG_URL and
 * its own data folder, sign-up through the UI, calls to the API beside the browser, the page errors
 * collected, and axe scans and screenshots of every screen at desktop, 360 px and dark (`capture`, from
 * test-support/e2e.ts, which the backup UI's browser tests use too).
 *
 * Screenshots go to test/e2e/artifacts/ (gitignored).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { ensureWebBuilt as buildWeb, DESKTOP, freePort, launchChromium, screenCapture } from "../../../../test-support/e2e.ts";
import { createTestPgDatabase, type TestPgDatabase } from "../db/helpers.ts";

// Chromium with the flags that work in containers, axe's serious/critical findings, expect.poll for a busy machine:
// shared with the backup UI's browser tests.
export { type AxeFinding, DESKTOP, launchChromium, PHONE, poll } from "../../../../test-support/e2e.ts";

export const APP_DIR = fileURLToPath(new URL("../..", import.meta.url));
export const WEB_DIR = join(APP_DIR, "web");
export const BIN = join(APP_DIR, "bin", "stowage-diagrams.js");
export const ARTIFACTS = fileURLToPath(new URL("./artifacts", import.meta.url));
export const FIXTURES = fileURLToPath(new URL("../fixtures", import.meta.url));

/**
 * Builds apps/diagrams/web/dist unless it is newer than every source file (the test command builds it
 * first). The shared UI primitives of the backup UI count as sources too.
 */
export const ensureWebBuilt = (): Promise<void> =>
  buildWeb(WEB_DIR, [join(APP_DIR, "..", "backup", "web", "src", "components", "ui")]);

export interface DiagramServer {
  readonly url: string;
  readonly database: TestPgDatabase;
  output(): string;
  stop(): Promise<void>;
}

/**
 * `stowage-diagrams` through its bin on a fresh database; resolves once /openapi.json answers. The
 * auth rate limits are raised (a test signs up several users from one address); everything else is
 * the default configuration, local sign-up on with the generated secret.
 */
export async function startDiagramServer(env: NodeJS.ProcessEnv = {}): Promise<DiagramServer> {
  await ensureWebBuilt();
  const database = await createTestPgDatabase("stowage_e2e");
  const dataDir = await mkdtemp(join(tmpdir(), "stowage-diagrams-e2e-"));
  const port = await freePort();
  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: String(port),
    HOST: "127.0.0.1",
    DATABASE_URL: database.url,
    DIAGRAMS_DATA_DIR: dataDir,
    LOG_LEVEL: "warn",
    AUTH_RATE_LIMIT_PER_IP: "1000",
    AUTH_RATE_LIMIT_PER_EMAIL: "1000",
    ANON_RATE_LIMIT: "10000",
  };
  // The test's own configuration only: none of the caller's environment's auth or cache settings.
  for (const name of ["JWT_SECRET", "JWKS_URL", "LOCAL_SIGNUP", "REDIS_URL"]) delete childEnv[name];
  Object.assign(childEnv, env);
  const child: ChildProcess = spawn(process.execPath, [BIN], { env: childEnv, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout?.on("data", (d) => (out += d));
  child.stderr?.on("data", (d) => (out += d));
  const exited = new Promise<never>((_, reject) =>
    child.once("exit", (code) => reject(new Error(`stowage-diagrams exited (${code}) before it was ready:\n${out}`))),
  );
  const url = `http://127.0.0.1:${port}`;
  const ready = (async () => {
    // Migrations on a fresh database and the worker pool: seconds when quiet, much longer at load 40.
    const deadline = Date.now() + 180_000;
    while (Date.now() < deadline) {
      try {
        if ((await fetch(`${url}/openapi.json`)).ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`stowage-diagrams did not answer /openapi.json within 180 s:\n${out}`);
  })();
  const cleanup = async () => {
    await database.drop().catch(() => undefined);
    await rm(dataDir, { recursive: true, force: true });
  };
  try {
    await Promise.race([ready, exited]);
  } catch (error) {
    child.kill("SIGKILL");
    await cleanup();
    throw error;
  }
  exited.catch(() => {});
  return {
    url,
    database,
    output: () => out,
    stop: async () => {
      if (child.exitCode === null) {
        const gone = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
        await gone;
        clearTimeout(timer);
      }
      await cleanup();
    },
  };
}

/** A browser context (own storage, so own session) with generous waits for a loaded machine. */
export async function newContext(browser: Browser, baseURL: string): Promise<BrowserContext> {
  const context = await browser.newContext({
    baseURL,
    viewport: DESKTOP,
    colorScheme: "light",
    reducedMotion: "reduce",
    acceptDownloads: true,
  });
  context.setDefaultTimeout(60_000);
  context.setDefaultNavigationTimeout(90_000);
  return context;
}

/** What both browser test files run against: the service, Chromium, and two people's pages, each in a context (a session) of its own. */
export interface TwoSessions {
  server: DiagramServer;
  browser: Browser;
  aliceContext: BrowserContext;
  alice: Page;
  bob: Page;
  /** Closes the contexts and the browser, then stops the service. */
  close(): Promise<void>;
}

/** Starts the service and Chromium and opens Alice's and Bob's pages; `onPage` sees each page first (to `watch` it). */
export async function startTwoSessions(onPage: (page: Page, who: "alice" | "bob") => void): Promise<TwoSessions> {
  const server = await startDiagramServer();
  let browser: Browser | undefined;
  const contexts: BrowserContext[] = [];
  const close = async () => {
    for (const context of contexts) await context.close().catch(() => {});
    await browser?.close().catch(() => {});
    await server.stop();
  };
  try {
    browser = await launchChromium();
    const aliceContext = await newContext(browser, server.url);
    contexts.push(aliceContext);
    const bobContext = await newContext(browser, server.url);
    contexts.push(bobContext);
    const alice = await aliceContext.newPage();
    const bob = await bobContext.newPage();
    onPage(alice, "alice");
    onPage(bob, "bob");
    return { server, browser, aliceContext, alice, bob, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** Signs up through the UI's sign-up page and waits for Home. */
export async function signUp(page: Page, email: string, password: string): Promise<void> {
  await page.goto("/signup");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Create account" }).click();
  await page.getByRole("heading", { level: 1, name: "Home" }).waitFor();
}

/** Signs in through the UI's sign-in page and waits for Home. */
export async function signIn(page: Page, email: string, password: string): Promise<void> {
  await page.goto("/signin");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await page.getByRole("heading", { level: 1, name: "Home" }).waitFor();
}

/** The signed-in user's access token, for API calls the test makes beside the browser. */
export async function tokenOf(page: Page): Promise<string> {
  const raw = await page.evaluate<string | null>("localStorage.getItem('stowage-diagrams.session')");
  if (!raw) throw new Error("not signed in");
  return (JSON.parse(raw) as { accessToken: string }).accessToken;
}

/** The service's answer to a call a test makes beside the browser: the status and the parsed JSON body, if any. */
export interface ApiAnswer<T> {
  status: number;
  body: T;
}

async function send(server: DiagramServer, page: Page, method: string, path: string, body: unknown) {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${await tokenOf(page)}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, ok: res.ok, text: await res.text() };
}

/** Calls the API as the page's signed-in user, whatever it answers (for checking refusals). */
export async function callApi<T>(
  server: DiagramServer,
  page: Page,
  method: string,
  path: string,
  body?: unknown,
): Promise<ApiAnswer<T>> {
  const { status, text } = await send(server, page, method, path, body);
  return { status, body: (text ? JSON.parse(text) : undefined) as T };
}

/** Calls the API as the page's signed-in user and returns the body; throws with the status and the answer unless 2xx. */
export async function api<T>(server: DiagramServer, page: Page, method: string, path: string, body?: unknown): Promise<T> {
  const { status, ok, text } = await send(server, page, method, path, body);
  if (!ok) throw new Error(`${method} ${path}: ${status} ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

/**
 * Collects the page's uncaught errors into `errors` as `who: message`, and with `consoleErrors` its
 * console errors too, except the line the browser logs for every non-2xx fetch (the API's own errors
 * are asserted where they are expected).
 */
export function watch(page: Page, who: string, errors: string[], { consoleErrors = false } = {}): void {
  if (consoleErrors) {
    page.on("console", (m) => {
      if (m.type() === "error" && !/Failed to load resource/.test(m.text())) errors.push(`${who}: ${m.text()}`);
    });
  }
  page.on("pageerror", (e) => errors.push(`${who}: ${e.message}`));
}

/**
 * Screenshots of a screen at desktop, 360 px and dark with its axe findings (`scan: false` skips axe,
 * e.g. for the modeler canvas), once nothing is loading any more (no skeletons, no spinning buttons).
 */
export const { capture } = screenCapture({
  artifacts: ARTIFACTS,
  busy: ".animate-pulse, .animate-spin, [aria-busy=true]",
  settleTimeout: 60_000,
});

/**
 * @module test/e2e/support
 * What the diagram web app's browser tests share: the app built (web/dist), a real `stowage-diagrams`
 * (the bin, as users run it) on a free port with a fresh PostgreSQL database on STOWAGE_TEST_PG_URL and
 * its own data folder, Debian's Chromium, sign-up through the UI, axe scans and screenshots of every
 * screen at desktop, 360 px and dark (`capture`).
 *
 * Screenshots go to test/e2e/artifacts/ (gitignored).
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { createTestPgDatabase, type TestPgDatabase } from "../db/helpers.ts";

// Chromium with the flags that work in containers, a free port and axe's serious/critical findings: the backup UI's.
export { type AxeFinding, axeFindings, freePort, launchChromium } from "../../../backup/test/e2e/support.ts";

import { type AxeFinding, axeFindings, freePort } from "../../../backup/test/e2e/support.ts";

const run = promisify(execFile);

export const APP_DIR = fileURLToPath(new URL("../..", import.meta.url));
export const WEB_DIR = join(APP_DIR, "web");
export const BIN = join(APP_DIR, "bin", "stowage-diagrams.js");
export const ARTIFACTS = fileURLToPath(new URL("./artifacts", import.meta.url));
export const FIXTURES = fileURLToPath(new URL("../fixtures", import.meta.url));

async function newestMtime(dir: string): Promise<number> {
  let newest = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    newest = Math.max(newest, (await stat(join(entry.parentPath, entry.name))).mtimeMs);
  }
  return newest;
}

/**
 * Builds apps/diagrams/web/dist unless it is newer than every source file (the test command builds it
 * first). The shared UI primitives of the backup UI count as sources too.
 */
export async function ensureWebBuilt(): Promise<void> {
  const index = join(WEB_DIR, "dist", "index.html");
  const sources = Math.max(
    await newestMtime(join(WEB_DIR, "src")),
    await newestMtime(join(APP_DIR, "..", "backup", "web", "src", "components", "ui")),
    statSync(join(WEB_DIR, "index.html")).mtimeMs,
  );
  if (existsSync(index) && statSync(index).mtimeMs >= sources) return;
  await run(
    process.execPath,
    [join(APP_DIR, "..", "..", "node_modules", "vite", "bin", "vite.js"), "build", "--logLevel", "warn"],
    // NODE_ENV=production: under vitest it is "test", and React's development build would be bundled.
    { cwd: WEB_DIR, env: { ...process.env, NODE_ENV: "production" } },
  );
}

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

export const DESKTOP = { width: 1280, height: 860 };
export const PHONE = { width: 360, height: 780 };

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

export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true, animations: "disabled" });
  return path;
}

/** Nothing is loading any more (no skeletons, no spinning buttons) and fonts are ready. */
export async function settle(page: Page): Promise<void> {
  // Strings, not functions: they run in the page, and tests are typechecked without the DOM library.
  await page.waitForFunction(
    "document.querySelectorAll('.animate-pulse, .animate-spin, [aria-busy=true]').length === 0",
    undefined,
    { timeout: 60_000 },
  );
  await page.evaluate("document.fonts.ready.then(() => true)");
}

/**
 * Photographs the page as it is at desktop (light), 360 px (light) and desktop dark, as
 * `<name>-desktop.png`, `<name>-360.png`, `<name>-dark.png`; and scans it: every rule at desktop,
 * colour contrast in dark (the only rule the theme changes), sideways overflow at 360 px (`scan:
 * false` skips axe, e.g. for the modeler canvas). Findings are returned for the test to collect and
 * assert at the end, so one run lists every screen's problems.
 */
export async function capture(page: Page, name: string, { scan = true }: { scan?: boolean } = {}): Promise<AxeFinding[]> {
  const findings: AxeFinding[] = [];
  await settle(page);
  if (scan) findings.push(...(await axeFindings(page, `${name} (desktop)`)));
  await screenshot(page, `${name}-desktop`);
  await page.setViewportSize(PHONE);
  await settle(page);
  const overflow = await page.evaluate<number>("document.documentElement.scrollWidth - document.documentElement.clientWidth");
  if (overflow > 0) {
    findings.push({
      page: `${name} (360 px)`,
      id: "horizontal-overflow",
      impact: "serious",
      help: `${overflow}px wider than the screen`,
      nodes: [],
    });
  }
  await screenshot(page, `${name}-360`);
  await page.setViewportSize(DESKTOP);
  await page.emulateMedia({ colorScheme: "dark" });
  await settle(page);
  if (scan) findings.push(...(await axeFindings(page, `${name} (dark)`, ["color-contrast"])));
  await screenshot(page, `${name}-dark`);
  await page.emulateMedia({ colorScheme: "light" });
  return findings;
}

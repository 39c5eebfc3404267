/**
 * @module test/e2e/support
 * What the browser tests need around the page: the web UI built, a real `stowage serve` (the bin, as
 * users run it) on a free port with its own data dir, Debian's Chromium, axe and screenshots.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { mkdir, readdir, stat } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import AxeBuilder from "@axe-core/playwright";
import { type Browser, chromium, type Page } from "playwright-core";

const run = promisify(execFile);

export const APP_DIR = fileURLToPath(new URL("../..", import.meta.url));
export const WEB_DIR = join(APP_DIR, "web");
export const BIN = join(APP_DIR, "bin", "stowage.js");
export const ARTIFACTS = fileURLToPath(new URL("./artifacts", import.meta.url));

async function newestMtime(dir: string): Promise<number> {
  let newest = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    newest = Math.max(newest, (await stat(join(entry.parentPath, entry.name))).mtimeMs);
  }
  return newest;
}

/** Builds apps/backup/web/dist unless it is newer than every source file (the test command builds it first). */
export async function ensureWebBuilt(): Promise<void> {
  const index = join(WEB_DIR, "dist", "index.html");
  const sources = Math.max(await newestMtime(join(WEB_DIR, "src")), statSync(join(WEB_DIR, "index.html")).mtimeMs);
  if (existsSync(index) && statSync(index).mtimeMs >= sources) return;
  await run(
    process.execPath,
    [join(APP_DIR, "..", "..", "node_modules", "vite", "bin", "vite.js"), "build", "--logLevel", "warn"],
    {
      cwd: WEB_DIR,
    },
  );
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

/**
 * `stowage serve` through the bin, as users start it. STOWAGE_E2E_SERVE=tsx runs the server module
 * directly instead (only for working on the UI before the bin had the command).
 */
const SERVE_ARGS =
  process.env.STOWAGE_E2E_SERVE === "tsx"
    ? [
        join(APP_DIR, "..", "..", "node_modules", "tsx", "dist", "cli.mjs"),
        "-e",
        `import(${JSON.stringify(join(APP_DIR, "src", "server", "run.ts"))}).then((m) => m.runServe({}))`,
      ]
    : [BIN, "serve"];

export interface Server {
  url: string;
  output: () => string;
  stop: () => Promise<void>;
}

/** `stowage serve` as a child process; resolves once /api/health answers, rejects with its output if it exits first. */
export async function startServer(dataDir: string, env: NodeJS.ProcessEnv = {}): Promise<Server> {
  await mkdir(dataDir, { recursive: true });
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, SERVE_ARGS, {
    env: { ...process.env, PORT: String(port), HOST: "127.0.0.1", STOWAGE_DATA_DIR: dataDir, LOG_LEVEL: "warn", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout?.on("data", (d) => (out += d));
  child.stderr?.on("data", (d) => (out += d));
  const exited = new Promise<never>((_, reject) =>
    child.once("exit", (code) => reject(new Error(`stowage serve exited (${code}) before it was ready:\n${out}`))),
  );
  const url = `http://127.0.0.1:${port}`;
  const ready = (async () => {
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      try {
        const res = await fetch(`${url}/api/health`);
        if (res.ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 150));
    }
    throw new Error(`stowage serve did not answer /api/health within 60 s:\n${out}`);
  })();
  try {
    await Promise.race([ready, exited]);
  } catch (error) {
    child.kill("SIGKILL");
    throw error;
  }
  exited.catch(() => {});
  return {
    url,
    output: () => out,
    stop: async () => {
      if (child.exitCode !== null) return;
      const gone = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await gone;
      clearTimeout(timer);
    },
  };
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--no-first-run",
    ],
  });
}

export interface AxeFinding {
  page: string;
  id: string;
  impact: string;
  help: string;
  nodes: string[];
}

/** Serious and critical axe violations on the page as it is now (every WCAG A/AA rule and best practice, or only `rules`). */
export async function axeFindings(page: Page, name: string, rules?: string[]): Promise<AxeFinding[]> {
  const builder = new AxeBuilder({ page });
  if (rules) builder.withRules(rules);
  else builder.withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]);
  const result = await builder.analyze();
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => ({
      page: name,
      id: v.id,
      impact: v.impact ?? "",
      help: v.help,
      nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ")),
    }));
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true, animations: "disabled" });
}

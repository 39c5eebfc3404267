/**
 * @module test/e2e/support
 * What the browser tests need around the page: the web UI built, a real `stowage serve` (the bin, as
 * users run it) on a free port with its own data dir; Chromium, axe and the screenshot loop come from
 * test-support/e2e.ts, shared with the diagram web app's browser tests.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ensureWebBuilt as buildWeb, freePort, screenCapture } from "../../../../test-support/e2e.ts";

// Chromium with the flags that work in containers, axe's serious/critical findings, expect.poll for a busy machine.
export { type AxeFinding, DESKTOP, launchChromium, poll } from "../../../../test-support/e2e.ts";

export const APP_DIR = fileURLToPath(new URL("../..", import.meta.url));
export const WEB_DIR = join(APP_DIR, "web");
export const BIN = join(APP_DIR, "bin", "stowage.js");
export const ARTIFACTS = fileURLToPath(new URL("./artifacts", import.meta.url));

/** Builds apps/backup/web/dist unless it is newer than every source file (the test command builds it first). */
export const ensureWebBuilt = (): Promise<void> => buildWeb(WEB_DIR);

/** Screenshots of a screen at desktop, 360 px and dark with its axe findings, once no skeleton is left. */
export const { capture } = screenCapture({ artifacts: ARTIFACTS, busy: ".animate-pulse", settleTimeout: 15_000 });

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

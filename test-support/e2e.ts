/**
 * @module test-support/e2e
 * What the browser tests of both web apps (apps/backup/test/e2e, apps/diagrams/test/e2e) share, so the
 * two suites drive Chromium, scan and photograph screens the same way: the app's Vite build kept fresh,
 * a free port for the server under test, Debian's Chromium with the flags that work in containers,
 * axe's serious and critical findings, and the loop that photographs and scans a screen at desktop,
 * 360 px and dark (`screenCapture`).
 */
import { execFile } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { mkdir, readdir, stat } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import AxeBuilder from "@axe-core/playwright";
import { type Browser, chromium, type Page } from "playwright-core";
import { expect } from "vitest";
import { CHROMIUM_ARGS } from "../apps/diagrams/src/exports/renderer.ts";

const run = promisify(execFile);
const VITE = fileURLToPath(new URL("../node_modules/vite/bin/vite.js", import.meta.url));

export const DESKTOP = { width: 1280, height: 860 };
export const PHONE = { width: 360, height: 780 };

/** expect.poll with room for a busy machine (vitest's default gives up after 1 s). */
export const poll = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 60_000, interval: 250 });

async function newestMtime(dir: string): Promise<number> {
  let newest = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    newest = Math.max(newest, (await stat(join(entry.parentPath, entry.name))).mtimeMs);
  }
  return newest;
}

/**
 * Builds `<webDir>/dist` unless it is newer than every file of `<webDir>/src`, of `extraSources` (folders
 * the app's sources import from elsewhere) and `<webDir>/index.html` (the test command builds it first).
 */
export async function ensureWebBuilt(webDir: string, extraSources: readonly string[] = []): Promise<void> {
  const index = join(webDir, "dist", "index.html");
  let sources = statSync(join(webDir, "index.html")).mtimeMs;
  for (const dir of [join(webDir, "src"), ...extraSources]) sources = Math.max(sources, await newestMtime(dir));
  if (existsSync(index) && statSync(index).mtimeMs >= sources) return;
  // NODE_ENV=production, as `npm run build:web`: under vitest it is "test", and React's development build would be bundled.
  await run(process.execPath, [VITE, "build", "--logLevel", "warn"], {
    cwd: webDir,
    env: { ...process.env, NODE_ENV: "production" },
  });
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

/** Debian's Chromium with the flags the diagram service's export renderer starts it with (they work in containers). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: "/usr/bin/chromium", args: CHROMIUM_ARGS });
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

/** The little of the DOM that `settle` reads in the page (tests are typechecked without the DOM library). */
interface PageDocument {
  querySelectorAll(selector: string): { length: number };
  /** CSS transitions have `transitionProperty`; CSS animations and others do not. */
  getAnimations(): { playState: string }[];
}

export interface ScreenCaptureOptions {
  /** The folder the screenshots go to (each app's test/e2e/artifacts/, gitignored). */
  artifacts: string;
  /** CSS selector of what is still loading (skeletons, spinners): a screen is photographed once none is left. */
  busy: string;
  /** How long to wait for `busy` to clear, in ms. */
  settleTimeout: number;
}

export interface ScreenCapture {
  /** Nothing `busy` is left on the page, no CSS transition is running and fonts are ready. */
  settle(page: Page): Promise<void>;
  /** A full-page screenshot as `<artifacts>/<name>.png`; returns its path. */
  screenshot(page: Page, name: string): Promise<string>;
  /**
   * Photographs the page as it is at desktop (light), 360 px (light) and desktop dark, as
   * `<name>-desktop.png`, `<name>-360.png`, `<name>-dark.png`; and scans it: every rule at desktop,
   * colour contrast in dark (the only rule the theme changes), sideways overflow at 360 px (`scan:
   * false` skips axe, e.g. for a canvas or an open dropdown). Findings are returned for the test to
   * collect and assert at the end, so one run lists every screen's problems.
   */
  capture(page: Page, name: string, options?: { scan?: boolean }): Promise<AxeFinding[]>;
}

export function screenCapture({ artifacts, busy, settleTimeout }: ScreenCaptureOptions): ScreenCapture {
  const settle = async (page: Page): Promise<void> => {
    // A function, not a string: Playwright evaluates a string predicate again on every poll, which the
    // diagram app's CSP (no 'unsafe-eval') refuses after the first. Colour transitions (buttons, inputs,
    // table rows: `transition-colors`) still running after the switch to dark were scanned half-way: axe
    // saw light text on a not yet dark row (backup UI, users page, 2 runs in 4).
    await page.waitForFunction(
      (selector) => {
        const { document } = globalThis as unknown as { document: PageDocument };
        return (
          document.querySelectorAll(selector).length === 0 &&
          document.getAnimations().every((a) => !("transitionProperty" in a) || a.playState !== "running")
        );
      },
      busy,
      { timeout: settleTimeout },
    );
    await page.evaluate("document.fonts.ready.then(() => true)");
  };
  const screenshot = async (page: Page, name: string): Promise<string> => {
    await mkdir(artifacts, { recursive: true });
    const path = join(artifacts, `${name}.png`);
    await page.screenshot({ path, fullPage: true, animations: "disabled" });
    return path;
  };
  const capture = async (page: Page, name: string, { scan = true }: { scan?: boolean } = {}): Promise<AxeFinding[]> => {
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
  };
  return { settle, screenshot, capture };
}

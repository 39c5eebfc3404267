/**
 * @module exports/renderer
 * Renders BPMN documents with bpmn-js (the viewer) in ONE warm headless Chromium driven by
 * playwright-core: a pool of `concurrency` tabs, each with the viewer already loaded, so a render is
 * an import plus a screenshot or a print, not a browser start. Every render has a timeout; a tab
 * that times out is closed and replaced; a browser that crashes is started again on the next render.
 * Without a Chromium binary the service still runs: renders fail with EXPORT_UNAVAILABLE naming
 * what to install.
 */
import { access, constants } from "node:fs/promises";
import type { Browser, Page } from "playwright-core";
import { ObjectError } from "../objects/errors.ts";
import { renderPage } from "./page.ts";

export type RenderFormat = "svg" | "png" | "pdf";

export interface RenderOptions {
  /** Fit the diagram into exactly this box (thumbnails). Default: the diagram's own size. */
  readonly fit?: { width: number; height: number };
  /** This render's timeout; the renderer's default when unset. */
  readonly timeoutMs?: number;
}

export interface Rendered {
  readonly bytes: Buffer;
  readonly contentType: string;
  readonly width: number;
  readonly height: number;
}

export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--no-first-run",
];

/** Largest side of a PNG/PDF export; bigger diagrams are scaled down to it. */
const MAX_SIDE = 8000;
const PADDING = 20;
/** Renders that may wait per tab; past that an export answers 503 instead of queueing without bound. */
const MAX_WAITING_PER_TAB = 16;

export interface RendererOptions {
  readonly executablePath: string;
  readonly concurrency: number;
  readonly timeoutMs: number;
}

export class DiagramRenderer {
  private browser: Promise<Browser> | undefined;
  private readonly idle: Page[] = [];
  private readonly waiting: Array<(page: Page) => void> = [];
  private open = 0;
  private closed = false;
  renders = 0;

  constructor(private readonly options: RendererOptions) {}

  /** Whether Chromium can be started here (the binary exists and is executable). */
  async available(): Promise<boolean> {
    try {
      await access(this.options.executablePath, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  }

  private unavailable(): ObjectError {
    return new ObjectError(
      "EXPORT_UNAVAILABLE",
      `exports need Chromium, which is not installed at ${this.options.executablePath}: install it (Debian: apt-get install chromium) or set CHROMIUM_PATH`,
    );
  }

  private async launch(): Promise<Browser> {
    if (!(await this.available())) throw this.unavailable();
    const { chromium } = await import("playwright-core");
    const browser = await chromium.launch({ executablePath: this.options.executablePath, args: CHROMIUM_ARGS });
    browser.on("disconnected", () => {
      // A crashed browser takes its tabs with it: forget them and start afresh on the next render.
      this.browser = undefined;
      this.idle.length = 0;
      this.open = 0;
    });
    return browser;
  }

  private getBrowser(): Promise<Browser> {
    if (this.closed) return Promise.reject(new ObjectError("EXPORT_UNAVAILABLE", "the renderer is shut down"));
    if (!this.browser) {
      this.browser = this.launch();
      this.browser.catch(() => {
        this.browser = undefined;
      });
    }
    return this.browser;
  }

  private async newPage(): Promise<Page> {
    const browser = await this.getBrowser();
    const page = await browser.newPage({ viewport: { width: 1600, height: 1200 } });
    // No network from the page: the viewer is inlined, and a document must not make the browser fetch anything.
    await page.route("**/*", (route) => route.abort());
    const { html, script } = renderPage();
    await page.setContent(html);
    await page.addScriptTag({ content: script });
    return page;
  }

  private async acquire(): Promise<Page> {
    const page = this.idle.pop();
    if (page && !page.isClosed()) return page;
    if (this.open < this.options.concurrency) {
      this.open++;
      try {
        return await this.newPage();
      } catch (error) {
        this.open--;
        throw error;
      }
    }
    if (this.waiting.length >= this.options.concurrency * MAX_WAITING_PER_TAB) {
      throw new ObjectError("EXPORT_UNAVAILABLE", "the export queue is full; try again in a few seconds", {
        retry_after_seconds: 5,
      });
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(page: Page): void {
    const next = this.waiting.shift();
    if (next) next(page);
    else this.idle.push(page);
  }

  /** A failed tab is closed; a waiter gets a fresh one. */
  private discard(page: Page): void {
    this.open--;
    page.close().catch(() => undefined);
    const next = this.waiting.shift();
    if (next) {
      this.open++;
      this.newPage().then(next, () => {
        this.open--;
        // The browser itself is gone: the waiter retries through acquire().
        this.acquire().then(next, () => undefined);
      });
    }
  }

  async render(xml: string, format: RenderFormat, options: RenderOptions = {}): Promise<Rendered> {
    const page = await this.acquire();
    let timer: NodeJS.Timeout | undefined;
    const timeoutMs = options.timeoutMs ?? this.options.timeoutMs;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new ObjectError("EXPORT_TIMEOUT", `rendering took longer than ${timeoutMs} ms (EXPORT_TIMEOUT_MS)`)),
        timeoutMs,
      );
    });
    try {
      const result = await Promise.race([this.renderOn(page, xml, format, options), timeout]);
      this.renders++;
      this.release(page);
      return result;
    } catch (error) {
      this.discard(page);
      if (error instanceof ObjectError) throw error;
      throw new ObjectError(
        "EXPORT_FAILED",
        `the diagram could not be rendered: ${(error as Error).message.split("\n")[0]}`,
        {},
        {
          cause: error,
        },
      );
    } finally {
      clearTimeout(timer);
    }
  }

  private async renderOn(page: Page, xml: string, format: RenderFormat, options: RenderOptions): Promise<Rendered> {
    const drawn = await page.evaluate(
      (doc) =>
        (
          globalThis as unknown as { stowageRender(x: string): Promise<{ svg: string; width: number; height: number }> }
        ).stowageRender(doc),
      xml,
    );
    if (format === "svg") {
      return { bytes: Buffer.from(drawn.svg, "utf8"), contentType: "image/svg+xml", width: drawn.width, height: drawn.height };
    }
    let width: number;
    let height: number;
    if (options.fit) {
      ({ width, height } = options.fit);
    } else {
      const scale = Math.min(1, MAX_SIDE / Math.max(drawn.width + PADDING * 2, drawn.height + PADDING * 2, 1));
      width = Math.max(1, Math.round((drawn.width + PADDING * 2) * scale));
      height = Math.max(1, Math.round((drawn.height + PADDING * 2) * scale));
    }
    await page.setViewportSize({ width, height });
    await page.evaluate(
      ([svg, w, h]) => (globalThis as unknown as { stowageShow(s: string, w: number, h: number): void }).stowageShow(svg, w, h),
      [drawn.svg, width, height] as const,
    );
    if (format === "png") {
      const bytes = await page.screenshot({ type: "png", clip: { x: 0, y: 0, width, height } });
      return { bytes, contentType: "image/png", width, height };
    }
    const bytes = await page.pdf({ width: `${width}px`, height: `${height}px`, printBackground: true, pageRanges: "1" });
    return { bytes, contentType: "application/pdf", width, height };
  }

  /** Resident memory of the browser's processes in bytes (Linux), for /metrics and the benchmark. */
  async memoryBytes(): Promise<number | null> {
    if (!this.browser) return 0;
    const { descendantsRss } = await import("./process-memory.ts");
    return descendantsRss(process.pid, /^chrom/i);
  }

  async close(): Promise<void> {
    this.closed = true;
    const browser = this.browser;
    this.browser = undefined;
    if (browser) await (await browser.catch(() => undefined))?.close().catch(() => undefined);
  }
}

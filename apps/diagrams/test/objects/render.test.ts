/**
 * Every fixture of ../shared/fixtures/bpmn rendered to SVG, PNG and PDF by the real renderer (one
 * warm Chromium for the file): PNG dimensions and non-blank pixels, SVG that parses, a PDF that
 * poppler's pdftoppm opens and rasterises to a non-blank page. Plus the 400×300 thumbnail, the
 * per-render timeout and a tab pool that survives a failed render.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { PNG } from "pngjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DiagramRenderer } from "../../src/exports/renderer.ts";
import { FIXTURES } from "./harness.ts";

const run = promisify(execFile);
let renderer: DiagramRenderer;
let tmp: string;
const fixtures = (await readdir(FIXTURES)).filter((f) => f.endsWith(".bpmn")).sort();

/** Share of pixels that are not (near) white. */
function inkRatio(png: PNG): number {
  let ink = 0;
  for (let i = 0; i < png.data.length; i += 4) {
    if (png.data[i]! < 200 || png.data[i + 1]! < 200 || png.data[i + 2]! < 200) ink++;
  }
  return ink / (png.width * png.height);
}

beforeAll(async () => {
  renderer = new DiagramRenderer({ executablePath: "/usr/bin/chromium", concurrency: 2, timeoutMs: 60_000 });
  tmp = await mkdtemp(path.join(tmpdir(), "stowage-render-"));
  await renderer.render(await readFile(path.join(FIXTURES, "A.1.0.bpmn"), "utf8"), "svg"); // warm: the browser starts in the hook
});
afterAll(async () => {
  await renderer?.close();
  await rm(tmp, { recursive: true, force: true });
});

describe("every fixture", () => {
  it("has fixtures to render", () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(20);
  });

  it.each(fixtures)("%s renders to SVG, PNG and PDF", async (name) => {
    const xml = await readFile(path.join(FIXTURES, name), "utf8");
    const [svg, png, pdf] = await Promise.all([
      renderer.render(xml, "svg"),
      renderer.render(xml, "png"),
      renderer.render(xml, "pdf"),
    ]);
    const text = svg.bytes.toString("utf8");
    expect(text).toMatch(/^<\?xml[^>]*>\s*<!--[^>]*-->\s*<svg|^<svg|<svg /);
    expect(text).toContain("djs-group");
    expect(svg.width).toBeGreaterThan(50);

    const image = PNG.sync.read(png.bytes);
    expect(image.width).toBe(png.width);
    expect(image.height).toBe(png.height);
    expect(image.width).toBeGreaterThan(svg.width); // the diagram plus a margin
    expect(inkRatio(image)).toBeGreaterThan(0.002);

    expect(pdf.bytes.subarray(0, 5).toString("latin1")).toBe("%PDF-");
    const file = path.join(tmp, `${name}.pdf`);
    await writeFile(file, pdf.bytes);
    const { stdout } = await run("pdfinfo", [file]);
    expect(stdout).toMatch(/Pages:\s+1\b/);
    await run("pdftoppm", ["-png", "-r", "20", "-singlefile", file, path.join(tmp, name)]);
    const page = PNG.sync.read(await readFile(path.join(tmp, `${name}.png`)));
    expect(page.width).toBeGreaterThan(10);
    expect(inkRatio(page)).toBeGreaterThan(0.002);
  });
});

describe("renderer", () => {
  it("fits a thumbnail into exactly 400×300", async () => {
    const xml = await readFile(path.join(FIXTURES, "C.8.0.bpmn"), "utf8");
    const out = await renderer.render(xml, "png", { fit: { width: 400, height: 300 } });
    const image = PNG.sync.read(out.bytes);
    expect([image.width, image.height]).toEqual([400, 300]);
    expect(inkRatio(image)).toBeGreaterThan(0.01);
  });

  it("answers EXPORT_FAILED for a document bpmn-js cannot import, and keeps rendering after it", async () => {
    await expect(renderer.render("<not-bpmn/>", "png")).rejects.toMatchObject({ code: "EXPORT_FAILED" });
    const xml = await readFile(path.join(FIXTURES, "A.1.0.bpmn"), "utf8");
    const results = await Promise.all([1, 2, 3].map(() => renderer.render(xml, "svg")));
    expect(results.every((r) => r.bytes.length > 1000)).toBe(true);
  });

  it("stops a render at its timeout and serves the next one", async () => {
    {
      // 2,000 tasks take far longer than 150 ms to lay out and draw.
      const tasks = Array.from({ length: 2000 }, (_, i) => `<bpmn:task id="T${i}"/>`).join("");
      const shapes = Array.from(
        { length: 2000 },
        (_, i) =>
          `<bpmndi:BPMNShape id="S${i}" bpmnElement="T${i}"><dc:Bounds x="${(i % 50) * 120}" y="${Math.floor(i / 50) * 100}" width="100" height="80"/></bpmndi:BPMNShape>`,
      ).join("");
      const big = `<?xml version="1.0"?><bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" id="D" targetNamespace="x"><bpmn:process id="P">${tasks}</bpmn:process><bpmndi:BPMNDiagram id="G"><bpmndi:BPMNPlane id="L" bpmnElement="P">${shapes}</bpmndi:BPMNPlane></bpmndi:BPMNDiagram></bpmn:definitions>`;
      await expect(renderer.render(big, "png", { timeoutMs: 150 })).rejects.toMatchObject({ code: "EXPORT_TIMEOUT" });
    }
    const xml = await readFile(path.join(FIXTURES, "A.2.0.bpmn"), "utf8");
    expect((await renderer.render(xml, "png")).bytes.length).toBeGreaterThan(1000);
  });

  it("reports the browser pool's resident memory", async () => {
    const bytes = await renderer.memoryBytes();
    expect(bytes).toBeGreaterThan(20 * 1024 * 1024);
  });
});

describe("without Chromium", () => {
  it("says what to install", async () => {
    const missing = new DiagramRenderer({ executablePath: "/nonexistent/chromium", concurrency: 1, timeoutMs: 1000 });
    expect(await missing.available()).toBe(false);
    await expect(missing.render("<x/>", "png")).rejects.toMatchObject({
      code: "EXPORT_UNAVAILABLE",
      message: expect.stringMatching(/apt-get install chromium.*CHROMIUM_PATH/),
    });
  });
});

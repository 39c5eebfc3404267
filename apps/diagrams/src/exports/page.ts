/**
 * @module exports/page
 * The HTML page each pooled browser tab keeps loaded: bpmn-js's viewer bundle and styles, inlined
 * (no network: the browser runs with background networking off and the page has no origin to load
 * from). `window.stowageRender` imports a document and hands back its SVG; `window.stowageShow`
 * puts an SVG on screen at a given size for a screenshot or a print.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(import.meta.url);

let cached: { html: string; script: string } | undefined;

export function renderPage(): { html: string; script: string } {
  if (cached) return cached;
  const dist = path.join(path.dirname(require.resolve("bpmn-js/package.json")), "dist");
  const css = ["diagram-js.css", "bpmn-js.css"].map((f) => readFileSync(path.join(dist, "assets", f), "utf8")).join("\n");
  const viewer = readFileSync(path.join(dist, "bpmn-viewer.production.min.js"), "utf8");
  const html = `<!doctype html><html><head><meta charset="utf-8"><style>${css}
html, body { margin: 0; padding: 0; background: #fff; overflow: hidden; }
#canvas { position: absolute; left: 0; top: 0; width: 1600px; height: 1200px; visibility: hidden; }
#out { position: absolute; left: 0; top: 0; background: #fff; }
#out svg { display: block; }
@page { margin: 0; }
</style></head><body><div id="canvas"></div><div id="out"></div></body></html>`;
  const script = `${viewer}
window.stowageViewer = new BpmnJS({ container: '#canvas' });
window.stowageRender = async function (xml) {
  const result = await window.stowageViewer.importXML(xml);
  const { svg } = await window.stowageViewer.saveSVG();
  const doc = new DOMParser().parseFromString(svg, 'image/svg+xml');
  const root = doc.documentElement;
  const width = Math.ceil(parseFloat(root.getAttribute('width')) || 0);
  const height = Math.ceil(parseFloat(root.getAttribute('height')) || 0);
  return { svg, width, height, warnings: result.warnings.length };
};
window.stowageShow = function (svg, width, height) {
  const out = document.getElementById('out');
  out.innerHTML = svg;
  const root = out.querySelector('svg');
  root.setAttribute('width', String(width));
  root.setAttribute('height', String(height));
  root.setAttribute('preserveAspectRatio', 'xMidYMid meet');
  out.style.width = width + 'px';
  out.style.height = height + 'px';
};`;
  cached = { html, script };
  return cached;
}

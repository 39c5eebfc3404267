import { readFileSync, writeFileSync } from "node:fs";
import { DiagramRenderer } from "../../src/exports/renderer.ts";

const r = new DiagramRenderer({ executablePath: "/usr/bin/chromium", concurrency: 2, timeoutMs: 20000 });
const xml = readFileSync("/work/shared/fixtures/bpmn/C.8.0.bpmn", "utf8");
for (const f of ["svg", "png", "pdf"] as const) {
  const t = performance.now();
  const out = await r.render(xml, f);
  console.log(f, out.bytes.length, out.width, out.height, Math.round(performance.now() - t));
  writeFileSync(`/tmp/h7/out.${f}`, out.bytes);
}
const th = await r.render(xml, "png", { fit: { width: 400, height: 300 } });
writeFileSync("/tmp/h7/thumb.png", th.bytes);
console.log("mem", await r.memoryBytes());
const t = performance.now();
await Promise.all([1, 2, 3, 4].map(() => r.render(xml, "png")));
console.log("4 png", Math.round(performance.now() - t));
await r.close();

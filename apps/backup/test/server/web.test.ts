/**
 * The web UI folder served at `/`: files as they are, the page for the SPA's own routes, never the
 * page for `/api` paths or missing assets, and nothing outside the folder.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startTestServer, type TestServer } from "./harness.ts";

// Real backups, child processes and CLI runs: minutes, not seconds, when every core is busy (load 40 seen).
vi.setConfig({ testTimeout: 300_000, hookTimeout: 300_000 });
let t: TestServer;
let web: string;

beforeAll(async () => {
  web = await mkdtemp(join(tmpdir(), "stowage-web-"));
  await mkdir(join(web, "assets"));
  await writeFile(join(web, "index.html"), "<!doctype html><title>Stowage UI</title>");
  await writeFile(join(web, "assets", "app-1234.js"), "console.log('app')");
  await writeFile(join(tmpdir(), "stowage-web-outside.txt"), "outside");
  t = await startTestServer({ env: { STOWAGE_WEB_DIR: web } });
});

afterAll(async () => {
  await t?.close();
  await rm(web, { recursive: true, force: true });
  await rm(join(tmpdir(), "stowage-web-outside.txt"), { force: true });
});

describe("web UI", () => {
  it("serves index.html at / and for the SPA's routes, assets with their type, and keeps /api to the API", async () => {
    const root = await fetch(`${t.url}/`);
    expect(root.status).toBe(200);
    expect(root.headers.get("content-type")).toMatch(/text\/html/);
    expect(await root.text()).toContain("Stowage UI");
    const route = await fetch(`${t.url}/backups/123`);
    expect(await route.text()).toContain("Stowage UI");
    const asset = await fetch(`${t.url}/assets/app-1234.js`);
    expect(asset.headers.get("content-type")).toMatch(/javascript/);
    expect(asset.headers.get("cache-control")).toContain("immutable");
    expect(await asset.text()).toContain("console.log");
    expect((await fetch(`${t.url}/assets/missing.js`)).status).toBe(404);
    const api = await fetch(`${t.url}/api/no-such-route`);
    expect(api.headers.get("content-type")).toMatch(/json/);
    expect((await fetch(`${t.url}/..%2fstowage-web-outside.txt`)).status).not.toBe(500);
    const outside = await (await fetch(`${t.url}/..%2fstowage-web-outside.txt`)).text();
    expect(outside).not.toContain("outside");
  });
});

/**
 * The diagram web app's modeler, history, export and import screens (issue 16) in Debian's Chromium
 * against a real `stowage-diagrams` (the bin) on a fresh PostgreSQL database: a task added by clicking
 * the palette, two saves with messages, the two versions compared (coloured markers), v1 restored as a
 * new version, a PNG export downloaded (PNG signature checked), a viewer who cannot save, a conflicting
 * save from another tab resolved without losing either side, a crashed tab's draft offered back, and a
 * drag-and-drop import with per-file results; axe on every screen and screenshots in test/e2e/artifacts/.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import pg from "pg";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type AxeFinding,
  callApi,
  capture,
  type DiagramServer,
  FIXTURES,
  poll,
  signUp,
  startTwoSessions,
  watch,
} from "./support.ts";

const PASSWORD = "correct horse battery staple";
const ALICE = "alice.modeler@example.test";
const BOB = "bob.viewer@example.test";
const TASKS = '.djs-element.djs-shape[data-element-id^="Activity_"]';

let server: DiagramServer;
let aliceContext: BrowserContext;
let alice: Page;
let bob: Page;
let close: () => Promise<void>;
let diagramId: string;
const findings: AxeFinding[] = [];
const pageErrors: string[] = [];

async function diagramVersion(): Promise<{ version: number; bpmn_xml: string }> {
  const { body } = await callApi<{ diagram: { version: number; bpmn_xml: string } }>(
    server,
    alice,
    "GET",
    `/diagrams/${diagramId}`,
  );
  return body.diagram;
}

/** Opens the modeler and waits until the document is on the canvas. */
async function openModeler(page: Page): Promise<void> {
  await page.goto(`/d/${diagramId}`);
  await page.locator('.djs-element[data-element-id="StartEvent_1"]').waitFor();
}

/** Adds a task the way a user does: the palette's task entry, then a click on an empty spot. */
async function addTask(page: Page, at: { x: number; y: number }): Promise<void> {
  const before = await page.locator(TASKS).count();
  const box = await page.locator(".djs-container").boundingBox();
  if (!box) throw new Error("no canvas");
  await page.locator('.djs-palette .entry[data-action="create.task"]').click();
  const x = box.x + box.width * at.x;
  const y = box.y + box.height * at.y;
  await page.mouse.move(x - 10, y - 10);
  await page.mouse.move(x, y, { steps: 5 });
  await page.mouse.click(x, y);
  await poll(() => page.locator(TASKS).count()).toBe(before + 1);
  // Leave the task's label editor, as a user clicking elsewhere would.
  await page.keyboard.press("Escape");
}

async function save(page: Page, message: string): Promise<void> {
  await page.getByLabel("Version message").fill(message);
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await poll(() => page.getByRole("status").filter({ hasText: "All changes saved" }).count()).toBe(1);
}

beforeAll(async () => {
  ({ server, aliceContext, alice, bob, close } = await startTwoSessions((page, who) => watch(page, who, pageErrors)));
  await signUp(alice, ALICE, PASSWORD);
  await signUp(bob, BOB, PASSWORD);
  // PNG, SVG and PDF exports are a paid plan's (FREE exports XML only).
  const client = new pg.Client({ connectionString: server.database.url });
  await client.connect();
  try {
    await client.query("update public.profiles set plan = 'PRO' where email = $1", [ALICE]);
  } finally {
    await client.end();
  }
  const project = await callApi<{ project: { id: string } }>(server, alice, "POST", "/projects", { name: "Claims" });
  expect(project.status).toBe(201);
  const created = await callApi<{ diagram: { id: string } }>(server, alice, "POST", "/diagrams", {
    title: "Claim intake",
    project_id: project.body.project.id,
  });
  expect(created.status).toBe(201);
  diagramId = created.body.diagram.id;
  const invited = await callApi(server, alice, "POST", `/projects/${project.body.project.id}/collaborators`, {
    email: BOB,
    role: "viewer",
  });
  expect(invited.status).toBe(201);
  const received = await callApi<{ items: { id: string }[] }>(server, bob, "GET", "/invitations");
  const accepted = await callApi(server, bob, "POST", `/invitations/${received.body.items[0]!.id}/accept`);
  expect(accepted.status).toBeLessThan(300);
}, 300_000);

afterAll(() => close?.());

describe("diagram web app: modeler, history, export, import", { timeout: 300_000 }, () => {
  it("models a diagram: a task from the palette, saved twice with messages", async () => {
    await openModeler(alice);
    await addTask(alice, { x: 0.55, y: 0.35 });
    await save(alice, "Add the intake task");
    await alice.getByText("v2", { exact: true }).waitFor();
    await addTask(alice, { x: 0.75, y: 0.7 });
    await save(alice, "Add the review task");
    await alice.getByText("v3", { exact: true }).waitFor();
    const stored = await diagramVersion();
    expect(stored.version).toBe(3);
    expect(stored.bpmn_xml.match(/<bpmn:task /g)?.length).toBe(2);
    findings.push(...(await capture(alice, "modeler")));
  });

  it("shows the history and compares the two saves with the changes coloured", async () => {
    await alice.getByRole("link", { name: "History" }).click();
    await alice.getByRole("heading", { level: 1, name: "History of Claim intake" }).waitFor();
    const versions = alice.getByRole("list", { name: "Versions" });
    await poll(() => versions.getByRole("listitem").count()).toBe(3);
    await versions.getByText("Add the review task").waitFor();
    await versions.getByText("Add the intake task").waitFor();
    findings.push(...(await capture(alice, "history")));
    await alice.getByLabel("Older version").selectOption("2");
    await alice.getByLabel("Newer version").selectOption("3");
    await alice.getByRole("button", { name: "Compare" }).click();
    await poll(() => alice.locator(".djs-element.diff-added").count()).toBeGreaterThan(0);
    const changes = alice.getByRole("list", { name: "Changes" });
    await poll(() => changes.locator('[data-change="added"]').count()).toBeGreaterThan(0);
    findings.push(...(await capture(alice, "history-compare")));
  });

  it("restores v1 as a new version", async () => {
    const v1 = await callApi<{ version: { bpmn_xml: string } }>(server, alice, "GET", `/diagrams/${diagramId}/versions/1`);
    await alice.getByRole("button", { name: "Restore version 1" }).click();
    await alice.getByRole("button", { name: "Restore as new version" }).click();
    await alice.waitForURL(new RegExp(`/d/${diagramId}$`));
    await poll(async () => (await diagramVersion()).version).toBe(4);
    expect((await diagramVersion()).bpmn_xml).toBe(v1.body.version.bpmn_xml);
    await alice.locator('.djs-element[data-element-id="StartEvent_1"]').waitFor();
    await poll(() => alice.locator(TASKS).count()).toBe(0);
  });

  it("exports a PNG that downloads as a PNG file", async () => {
    const downloaded = alice.waitForEvent("download", { timeout: 180_000 });
    await alice.getByRole("button", { name: "Export PNG" }).click();
    const download = await downloaded;
    expect(download.suggestedFilename()).toBe("Claim intake.png");
    const path = await download.path();
    const bytes = await readFile(path);
    expect(bytes.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  });

  it("lets a viewer look but not save", async () => {
    await openModeler(bob);
    await bob.getByText(/you are a viewer of this project/).waitFor();
    await expect(bob.getByRole("button", { name: "Save", exact: true }).count()).resolves.toBe(0);
    await expect(bob.locator(".djs-palette").count()).resolves.toBe(0);
    // The service refuses too, whatever the screen shows.
    const attempt = await callApi(server, bob, "PUT", `/diagrams/${diagramId}/content`, {
      bpmn_xml: (await diagramVersion()).bpmn_xml,
      base_version: 4,
    });
    expect(attempt.status).toBeGreaterThanOrEqual(400);
    expect((await diagramVersion()).version).toBe(4);
    findings.push(...(await capture(bob, "modeler-viewer")));
  });

  it("resolves a conflicting save from another tab without losing either side", async () => {
    const other = await aliceContext.newPage();
    watch(other, "alice (second tab)", pageErrors);
    try {
      await openModeler(alice);
      await openModeler(other);
      await addTask(other, { x: 0.5, y: 0.3 });
      await save(other, "Saved in the other tab");
      expect((await diagramVersion()).version).toBe(5);
      const theirs = (await diagramVersion()).bpmn_xml;
      await addTask(alice, { x: 0.7, y: 0.75 });
      await alice.getByLabel("Version message").fill("Mine, on top");
      await alice.getByRole("button", { name: "Save", exact: true }).click();
      const dialog = alice.getByRole("dialog", { name: "Someone else saved this diagram" });
      await dialog.waitFor();
      await dialog.getByRole("application", { name: "Their version, read only" }).waitFor();
      await poll(() => dialog.locator(TASKS).count()).toBe(1);
      findings.push(...(await capture(alice, "modeler-conflict", { scan: true })));
      await dialog.getByRole("button", { name: "Save mine as a new version" }).click();
      await poll(async () => (await diagramVersion()).version).toBe(6);
      // Theirs stays in history as v5; mine is v6 on top of it.
      const v5 = await callApi<{ version: { bpmn_xml: string } }>(server, alice, "GET", `/diagrams/${diagramId}/versions/5`);
      expect(v5.body.version.bpmn_xml).toBe(theirs);
      const v6 = await callApi<{ version: { message: string } }>(server, alice, "GET", `/diagrams/${diagramId}/versions/6`);
      expect(v6.body.version.message).toBe("Mine, on top");
    } finally {
      await other.close();
    }
  });

  it("offers a crashed tab's draft back", async () => {
    await openModeler(alice);
    const before = await alice.locator(TASKS).count();
    await addTask(alice, { x: 0.4, y: 0.8 });
    await poll(() => alice.getByRole("status").filter({ hasText: "draft kept" }).count()).toBe(1);
    // A crash: the page goes away without saving.
    await alice.reload();
    const banner = alice.getByRole("alert").filter({ hasText: "Unsaved changes from" });
    await banner.waitFor();
    await banner.getByRole("button", { name: "Restore unsaved draft" }).click();
    await poll(() => alice.locator(TASKS).count()).toBe(before + 1);
    await save(alice, "Recovered draft");
    expect((await diagramVersion()).version).toBe(7);
  });

  it("imports .bpmn files by drag and drop with a result per file", async () => {
    await alice.goto("/import");
    await alice.getByRole("heading", { level: 1, name: "Import diagrams" }).waitFor();
    findings.push(...(await capture(alice, "import")));
    const good = await readFile(join(FIXTURES, "A.1.0.bpmn"), "utf8");
    const dataTransfer = await alice.evaluateHandle(`(() => {
      const dt = new DataTransfer();
      dt.items.add(new File([${JSON.stringify(good)}], "A.1.0.bpmn", { type: "application/xml" }));
      dt.items.add(new File(["<not-bpmn/>"], "broken.bpmn", { type: "application/xml" }));
      return dt;
    })()`);
    await alice.getByTestId("drop-zone").dispatchEvent("drop", { dataTransfer });
    const results = alice.getByRole("list", { name: "Import results" });
    await poll(() => results.locator('[data-state="ok"]').count()).toBe(1);
    await poll(() => results.locator('[data-state="error"]').count()).toBe(1);
    await expect(results.locator('[data-state="ok"]').textContent()).resolves.toMatch(/A\.1\.0\.bpmn\s*imported as A\.1\.0/);
    await expect(results.locator('[data-state="error"]').textContent()).resolves.toMatch(/broken\.bpmn/);
    findings.push(...(await capture(alice, "import-results")));
  });

  it("has no serious or critical accessibility findings and no page errors", () => {
    expect(findings).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});

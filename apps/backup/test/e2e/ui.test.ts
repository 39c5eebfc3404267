/**
 * The backup web UI in Debian's Chromium against a real `stowage serve` (its own data dir, SQLite
 * metadata), real PostgreSQL and a local folder: issue 13's flow from first-run setup to delete, an
 * axe scan of every page (light and dark, desktop and 360 px: no serious or critical violation) and
 * screenshots of every page in test/e2e/artifacts/ (gitignored).
 */
import { execFile } from "node:child_process";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminQuery, createDatabase, dropDatabase, psql, uniqueName } from "../../../../packages/backup-core/test/helpers/pg.ts";
import {
  type AxeFinding,
  BIN,
  capture as captureScreen,
  DESKTOP,
  ensureWebBuilt,
  launchChromium,
  poll,
  type Server,
  startServer,
} from "./support.ts";

const run = promisify(execFile);

const EMAIL = "admin@example.com";
const PASSWORD = "correct horse battery staple";

let dir: string;
let server: Server;
let browser: Browser;
let context: BrowserContext;
let page: Page;
const databases: string[] = [];
let sourceUrl: string;
const findings: AxeFinding[] = [];
const consoleErrors: string[] = [];

/** Photographs and scans the page (desktop, 360 px, dark); findings are asserted at the end, so one run lists every page's problems. */
async function capture(name: string, options: { scan?: boolean } = {}): Promise<void> {
  findings.push(...(await captureScreen(page, name, options)));
}

async function nav(label: string): Promise<void> {
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: label, exact: true }).click();
}

async function choose(label: string, option: string, scope: Page | ReturnType<Page["getByRole"]> = page): Promise<void> {
  await scope.getByLabel(label, { exact: true }).click();
  await page.getByRole("option", { name: option, exact: true }).click();
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "stowage-e2e-"));
  const source = uniqueName("e2e_src");
  databases.push(source);
  sourceUrl = await createDatabase(source);
  await psql(sourceUrl, {
    sql: `CREATE TABLE public.customers (id int PRIMARY KEY, name text NOT NULL);
          INSERT INTO public.customers SELECT g, 'customer ' || g FROM generate_series(1, 500) g;
          CREATE TABLE public.orders (id int PRIMARY KEY, customer_id int REFERENCES public.customers(id), total numeric);
          INSERT INTO public.orders SELECT g, 1 + g % 500, g * 1.5 FROM generate_series(1, 2000) g;`,
  });
  await ensureWebBuilt();
  server = await startServer(join(dir, "data"));
  browser = await launchChromium();
  context = await browser.newContext({ viewport: DESKTOP, acceptDownloads: true, colorScheme: "light", reducedMotion: "reduce" });
  page = await context.newPage();
  page.setDefaultTimeout(30_000);
  page.on("console", (m) => {
    if (m.type() === "error") consoleErrors.push(m.text());
  });
}, 300_000);

afterAll(async () => {
  await context?.close().catch(() => {});
  await browser?.close().catch(() => {});
  await server?.stop();
  for (const name of databases) await dropDatabase(name).catch(() => {});
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("backup web UI", () => {
  it("first run: the setup form creates the admin and signs in", async () => {
    await page.goto(server.url);
    await page.waitForURL(/\/setup$/);
    await capture("setup");
    await page.getByLabel("Admin email").fill(EMAIL);
    await page.getByLabel("Password", { exact: true }).fill("short");
    await page.getByLabel("Confirm password").fill("short");
    await page.getByRole("button", { name: "Create administrator" }).click();
    // The API's message, next to the field it names.
    await poll(() => page.getByLabel("Password", { exact: true }).getAttribute("aria-invalid")).toBe("true");
    expect(await page.getByRole("alert").first().textContent()).toMatch(/^Must be at least 12 characters/);
    await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
    await page.getByLabel("Confirm password").fill(PASSWORD);
    await page.getByRole("button", { name: "Create administrator" }).click();
    await page.getByRole("heading", { name: "Dashboard" }).waitFor();
    await capture("dashboard-empty", { scan: false });
  }, 300_000);

  it("adds a project and tests its connection", async () => {
    await nav("Projects");
    await page.getByRole("button", { name: "Add project" }).click();
    const dialog = page.getByRole("dialog");
    await dialog.getByLabel("Name").fill("shop");
    await dialog.getByLabel("Database URL").fill(sourceUrl);
    await choose("Kind", "Plain PostgreSQL", dialog);
    await capture("project-dialog", { scan: false });
    await dialog.getByRole("button", { name: "Add project" }).click();
    await poll(() => dialog.getByRole("status").textContent()).toMatch(/Connected: PostgreSQL \d+.* plain PostgreSQL/);
    await dialog.getByRole("button", { name: "Done" }).click();
    await page.getByRole("heading", { name: "shop" }).waitFor();
    await page.getByRole("button", { name: "Test connection" }).click();
    await page.getByText("Connection works").first().waitFor();
    await capture("projects");
  }, 300_000);

  it("adds a local destination, and shows the error of one that cannot work", async () => {
    await nav("Storage destinations");
    await page.getByText("Add Storage Destination", { exact: true }).waitFor();
    await page.getByText("Configure where your backups will be stored").waitFor();
    await page.getByLabel("Storage Type").click();
    for (const label of ["S3 Compatible (AWS, R2, MinIO)", "Google Drive", "Nextcloud", "Local Mapped Storage"]) {
      await page.getByRole("option", { name: label, exact: true }).waitFor();
    }
    await page.getByRole("option", { name: "S3 Compatible (AWS, R2, MinIO)" }).click();
    await page.getByText(/Cloudflare R2 uses/).waitFor();
    await capture("destination-form-s3", { scan: false });

    // Keyboard only: focus the select, open it, type ahead, pick.
    await page.getByLabel("Storage Type").focus();
    await page.keyboard.press("Enter");
    await page.getByRole("listbox").waitFor();
    // The list takes the focus a moment after it shows; keys typed before that missed it (2 runs in 7 under load).
    await poll(() => page.evaluate("document.activeElement?.getAttribute('role')")).toBe("option");
    await page.keyboard.type("Next");
    await poll(() => page.getByRole("option", { name: "Nextcloud", exact: true }).getAttribute("data-highlighted")).toBe("");
    await page.keyboard.press("Enter");
    await page.getByLabel("App password").waitFor();

    await choose("Storage Type", "Local Mapped Storage");
    await page.getByLabel("Name").fill("Local disk");
    await page.getByLabel("Folder path").fill(join(dir, "backups"));
    await page.getByRole("button", { name: "Save Storage Destination" }).click();
    await page.getByRole("heading", { name: "Local disk" }).waitFor();
    await page.getByText("Storage destination created successfully").first().waitFor();

    // A "folder" that is a file: the server's connection check refuses it and the form says why.
    const notAFolder = join(dir, "not-a-folder");
    await writeFile(notAFolder, "x");
    await page.getByLabel("Name").fill("Broken disk");
    await page.getByLabel("Folder path").fill(notAFolder);
    await page.getByRole("button", { name: "Save Storage Destination" }).click();
    const alert = page.locator("form").getByRole("alert");
    await alert.waitFor();
    expect((await alert.textContent())?.length).toBeGreaterThan(10);
    await page.getByLabel("Folder path").fill("relative/path");
    await page.getByRole("button", { name: "Save Storage Destination" }).click();
    // A config error names its field: shown under that field.
    await poll(async () => page.getByLabel("Folder path").getAttribute("aria-invalid")).toBe("true");
    expect(await page.getByRole("heading", { name: "Broken disk" }).count()).toBe(0);
    await capture("destinations");
  }, 300_000);

  it("backs up to the local destination with live progress", async () => {
    await nav("Manual backup");
    await page.getByText("Create Manual Backup", { exact: true }).waitFor();
    await poll(() => page.getByLabel("Include migration history").getAttribute("data-state")).toBe("checked");
    await page.getByLabel("Backup Type").click();
    for (const label of ["Full Backup (Roles + Schema + Data)", "Schema Only", "Data Only"]) {
      await page.getByRole("option", { name: label, exact: true }).waitFor();
    }
    await page.keyboard.press("Escape");
    await page.getByLabel("Storage Destination").click();
    await page.getByRole("option", { name: "Local disk (local_mapped)" }).waitFor();
    const options = await page.getByRole("option").allTextContents();
    expect(options[0]).toBe("Direct Browser Download");
    expect(options).toContain("Local disk (local_mapped)");
    await page.getByRole("option", { name: "Local disk (local_mapped)" }).click();
    const events = page.waitForRequest((r) => /\/api\/backups\/[^/]+\/events$/.test(r.url()));
    await page.getByRole("button", { name: "Create Backup" }).click();
    await events;
    const progress = page.locator("[aria-live=polite]").filter({ hasText: "Dumped" });
    await progress.waitFor();
    await progress.getByText("completed").first().waitFor({ timeout: 60_000 });
    expect(await progress.textContent()).toMatch(/Local disk/);
    await capture("manual-backup");
    const folders = await readdir(join(dir, "backups"), { recursive: true });
    expect(folders.some((f) => f.endsWith("manifest.json"))).toBe(true);
  }, 300_000);

  it("backs up to a browser download that starts by itself and verifies with stowage verify", async () => {
    await page.reload();
    await page.getByText("Create Manual Backup", { exact: true }).waitFor();
    expect(await page.getByLabel("Storage Destination").textContent()).toContain("Direct Browser Download");
    const download = page.waitForEvent("download", { timeout: 90_000 });
    await page.getByRole("button", { name: "Create Backup" }).click();
    const file = await download;
    expect(file.suggestedFilename()).toMatch(/\.tar$/);
    const tar = join(dir, file.suggestedFilename());
    await file.saveAs(tar);
    const verify = await run(process.execPath, [BIN, "verify", tar]).then(
      (r) => ({ code: 0, out: r.stdout + r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }),
    );
    expect(verify, verify.out).toMatchObject({ code: 0 });
  }, 300_000);

  it("lists backups, verifies one, restores it into a new database and deletes it", async () => {
    await nav("Backups");
    const table = page.getByRole("region", { name: "Backups" });
    await poll(() => table.getByRole("row").count()).toBe(3);
    await capture("backups");
    await table.getByRole("row").filter({ hasText: "Local disk" }).getByRole("link").click();
    await page.getByRole("heading", { name: "Backup of shop" }).waitFor();
    await page.getByRole("region", { name: "Files of this backup" }).waitFor();
    expect(await page.getByRole("region", { name: "Row counts" }).textContent()).toContain("public.orders2,000");

    await page.getByRole("button", { name: "Verify" }).click();
    await page
      .getByText(/^Verified/)
      .first()
      .waitFor({ timeout: 60_000 });
    await page.getByText("verified", { exact: true }).first().waitFor();
    await capture("backup-detail");

    const target = uniqueName("e2e_restored");
    databases.push(target);
    const targetUrl = await createDatabase(target);
    await page.getByRole("button", { name: "Restore" }).click();
    const dialog = page.getByRole("dialog");
    await dialog.getByLabel("Target database URL").fill(targetUrl);
    await dialog.getByLabel("Clean first").click();
    await dialog.getByText(/Drops the objects/).waitFor();
    await dialog.getByLabel("Clean first").click();
    await capture("restore-dialog");
    await dialog.getByRole("button", { name: "Start restore" }).click();
    await dialog.getByText("completed").waitFor({ timeout: 90_000 });
    const rows = await adminQuery<{ customers: string; orders: string }>(
      "SELECT (SELECT count(*) FROM public.customers) AS customers, (SELECT count(*) FROM public.orders) AS orders",
      target,
    );
    expect(rows[0]).toEqual({ customers: "500", orders: "2000" });
    await dialog.getByRole("button", { name: "Close", exact: true }).first().click();

    await page.getByRole("button", { name: "Delete" }).click();
    await page.getByRole("alertdialog").getByRole("button", { name: "Delete backup" }).click();
    await page.waitForURL(/\/backups$/);
    await poll(() => page.getByRole("region", { name: "Backups" }).getByRole("row").count()).toBe(2);
    const left = await readdir(join(dir, "backups"), { recursive: true });
    expect(left.some((f) => f.endsWith("manifest.json"))).toBe(false);
  }, 300_000);

  it("tokens, users, and sign-in after sign-out", async () => {
    await nav("API tokens");
    await page.getByLabel("Token name").fill("monitor");
    await page.getByRole("button", { name: "Create token" }).click();
    const token = await page.getByRole("dialog").getByLabel("Token").inputValue();
    expect(token.length).toBeGreaterThan(20);
    const me = await fetch(`${server.url}/api/auth/me`, { headers: { Authorization: `Bearer ${token}` } });
    expect(me.status).toBe(200);
    await page.getByRole("dialog").getByRole("button", { name: "Done" }).click();
    await capture("tokens");

    await nav("Users");
    await page.getByLabel("Email").fill("viewer@example.com");
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Add user" }).click();
    await page.getByRole("cell", { name: "viewer@example.com", exact: true }).waitFor();
    await capture("users");

    await nav("Dashboard");
    await page.getByRole("heading", { name: "shop" }).waitFor();
    await capture("dashboard");

    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL(/\/login$/);
    await capture("login");
    await page.getByLabel("Email").fill(EMAIL);
    await page.getByLabel("Password").fill("wrong password!");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("alert").filter({ hasText: "wrong email or password" }).waitFor();
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Dashboard" }).waitFor();
  }, 300_000);

  it("schedules (cron read aloud, next runs, run now), alerts and notifications, when the server has them", async (ctx) => {
    const doc = (await (await fetch(`${server.url}/api/openapi.json`)).json()) as { paths: Record<string, unknown> };
    // The scheduler is issue 12's; until its routes are in this server the test says so by being skipped, not by passing.
    if (!doc.paths["/api/schedules"]) ctx.skip();
    await nav("Schedules");
    await page.getByRole("button", { name: "Add schedule" }).click();
    const dialog = page.getByRole("dialog");
    await dialog.getByLabel("Name").fill("Nightly");
    await dialog.getByLabel("Cron expression").fill("61 3 * * *");
    await dialog.getByRole("alert").first().waitFor();
    await dialog.getByLabel("Cron expression").fill("30 2 * * *");
    await dialog.getByText("At 02:30").waitFor();
    await dialog.getByLabel("Time zone").fill("Europe/Berlin");
    await dialog.getByLabel("Local disk (local_mapped)").click();
    await capture("schedule-dialog", { scan: false });
    await dialog.getByRole("button", { name: "Add schedule" }).click();
    const card = page.locator("section").filter({ hasText: "Nightly" });
    await card.getByText("At 02:30").waitFor();
    expect(await card.getByRole("listitem").count()).toBe(5);
    await card.getByRole("button", { name: "Run now" }).click();
    await card.getByText("completed").first().waitFor({ timeout: 90_000 });
    await capture("schedules");
    await nav("Alerts");
    await page.getByRole("heading", { name: "Alerts" }).waitFor();
    await capture("alerts");
    await nav("Notifications");
    await page.getByLabel("Name").fill("Ops webhook");
    await page.getByLabel("URL").fill("https://hooks.example.com/stowage");
    await page.getByRole("button", { name: "Add channel" }).click();
    const secret = await page.getByRole("dialog").getByLabel("Secret").inputValue();
    expect(secret.length).toBeGreaterThanOrEqual(16);
    await page.getByRole("dialog").getByRole("button", { name: "Done" }).click();
    await page.getByRole("heading", { name: /Ops webhook/ }).waitFor();
    await capture("notifications");
  }, 240_000);

  it("every page: no serious or critical accessibility violation, nothing wider than 360 px, no console error", () => {
    expect(findings, JSON.stringify(findings, null, 2)).toEqual([]);
    expect(consoleErrors.filter((e) => !/status of 4\d\d/.test(e))).toEqual([]);
  });
});

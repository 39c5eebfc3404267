/**
 * The diagram web app's shell screens (issue 16) in Debian's Chromium against a real
 * `stowage-diagrams` (the bin) on a fresh PostgreSQL database: sign up two users, create a project,
 * share it with the second as viewer (invitation accepted in the UI), attachments, a project backup
 * restored as a new project, trash and restore of a diagram, title search, the plan page, an API
 * error shown with its own message; an axe scan of every screen (no serious or critical violation)
 * and screenshots of every screen at desktop, 360 px and dark in test/e2e/artifacts/ (gitignored).
 * The modeler, history, export and import flows are in modeler.test.ts.
 */
import { SignJWT } from "jose";
import pg from "pg";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type AxeFinding,
  api,
  capture,
  type DiagramServer,
  newContext,
  poll,
  signIn,
  signUp,
  startDiagramServer,
  startTwoSessions,
  watch,
} from "./support.ts";

const PASSWORD = "correct horse battery staple";
const ALICE = "alice@example.test";
const BOB = "bob@example.test";

let server: DiagramServer;
let browser: Browser;
let alice: Page;
let bob: Page;
let close: () => Promise<void>;
let projectId: string;
const findings: AxeFinding[] = [];
const consoleErrors: string[] = [];

beforeAll(async () => {
  ({ server, browser, alice, bob, close } = await startTwoSessions((page, who) =>
    watch(page, who, consoleErrors, { consoleErrors: true }),
  ));
}, 300_000);

afterAll(() => close?.());

describe("diagram web app: shell screens", { timeout: 300_000 }, () => {
  it("sends a signed-out visitor to sign in, and shows the API's message for a wrong password", async () => {
    await alice.goto("/plan");
    await alice.waitForURL(/\/signin$/);
    await alice.getByRole("heading", { level: 1, name: "Sign in" }).waitFor();
    findings.push(...(await capture(alice, "signin")));
    await alice.getByLabel("Email").fill("nobody@example.test");
    await alice.getByLabel("Password").fill("not the password");
    await alice.getByRole("button", { name: "Sign in", exact: true }).click();
    await poll(() => alice.getByRole("alert").first().textContent()).toMatch(/^wrong email or password/);
    await alice.getByRole("link", { name: "Create one" }).click();
    await alice.getByRole("heading", { level: 1, name: "Create your account" }).waitFor();
    findings.push(...(await capture(alice, "signup")));
  });

  it("signs up two users", async () => {
    await signUp(alice, ALICE, PASSWORD);
    await signUp(bob, BOB, PASSWORD);
    // The account menu names who is signed in.
    await alice.getByRole("button", { name: `Account menu (${ALICE})` }).waitFor();
    // Signing up again with a taken email shows the API's own message.
    const other = await newContext(browser, server.url);
    try {
      const page = await other.newPage();
      await page.goto("/signup");
      await page.getByLabel("Email").fill(ALICE);
      await page.getByLabel("Password").fill(PASSWORD);
      await page.getByRole("button", { name: "Create account" }).click();
      await poll(() => page.getByRole("alert").first().textContent()).toMatch(/^an account with email alice@example.test exists/);
    } finally {
      await other.close();
    }
  });

  it("creates a project from Home and fills it", async () => {
    await alice.getByRole("button", { name: "New project" }).click();
    const dialog = alice.getByRole("dialog", { name: "New project" });
    await dialog.getByLabel("Project name").fill("Order handling");
    await dialog.getByLabel("Description").fill("Intake, checks and shipping of customer orders.");
    await dialog.getByRole("button", { name: "Create project" }).click();
    await alice.getByRole("heading", { level: 1, name: "Order handling" }).waitFor();
    projectId = /\/p\/([0-9a-f-]{36})$/.exec(alice.url())![1]!;
    for (const title of ["Order intake", "Credit check", "Shipping"]) {
      await api(server, alice, "POST", "/diagrams", { title, project_id: projectId });
    }
    await api(server, alice, "POST", "/diagrams", { title: "Quick sketch" });
    await api(server, alice, "POST", "/diagrams", { title: "Meeting notes flow" });
    await alice.reload();
    const list = alice.getByRole("list", { name: "diagrams" });
    await poll(() => list.getByRole("listitem").count()).toBe(3);
    await expect(list.getByRole("link", { name: "Credit check", exact: true }).getAttribute("href")).resolves.toMatch(
      /^\/d\/[0-9a-f-]{36}$/,
    );
    findings.push(...(await capture(alice, "project")));
  });

  it("shows Home with projects, the personal space and title search", async () => {
    await alice.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Home" }).click();
    await alice.getByRole("heading", { level: 1, name: "Home" }).waitFor();
    await alice.getByRole("list", { name: "projects" }).getByRole("link", { name: "Order handling", exact: true }).waitFor();
    const quick = alice.getByRole("list", { name: "quick diagrams" });
    await poll(() => quick.getByRole("listitem").count()).toBe(2);
    findings.push(...(await capture(alice, "home")));

    await alice.getByRole("searchbox", { name: "Search diagrams by title" }).fill("check");
    await alice.getByRole("heading", { name: "Diagrams matching “check”" }).waitFor();
    const results = alice.getByRole("list", { name: "search results" });
    await poll(() => results.getByRole("listitem").allTextContents()).toEqual([expect.stringContaining("Credit check")]);
    findings.push(...(await capture(alice, "home-search")));
    await alice.getByRole("button", { name: "Clear the search" }).click();
    await alice.getByRole("heading", { name: "Personal space" }).waitFor();
  });

  it("shares the project with the second user as viewer, who accepts the invitation", async () => {
    await alice.goto(`/p/${projectId}/settings`);
    await alice.getByRole("heading", { level: 1, name: "Project settings" }).waitFor();
    // Inviting oneself: the API's message is shown as it is.
    await alice.getByLabel("Invite by email").fill(ALICE);
    await alice.getByRole("button", { name: "Send invitation" }).click();
    await poll(() => alice.getByRole("alert").filter({ hasText: "invite" }).first().textContent()).toBe(
      "you cannot invite yourself",
    );
    await alice.getByLabel("Invite by email").fill(BOB);
    await alice.getByRole("button", { name: "Send invitation" }).click();
    const pending = alice.getByRole("list", { name: "Pending invitations" });
    await poll(() => pending.textContent()).toContain(BOB);
    await expect(pending.textContent()).resolves.toContain("viewer");

    await bob.goto("/");
    await bob.getByRole("heading", { name: "Invitations" }).waitFor();
    await bob.getByRole("button", { name: "Accept the invitation to Order handling" }).click();
    await bob.getByRole("list", { name: "shared projects" }).getByRole("link", { name: "Order handling", exact: true }).click();
    await bob.getByRole("heading", { level: 1, name: "Order handling" }).waitFor();
    await bob.getByText("You are a viewer").waitFor();
    await poll(() => bob.getByRole("list", { name: "diagrams" }).getByRole("listitem").count()).toBe(3);
    // A viewer gets no way to add or trash diagrams.
    expect(await bob.getByRole("button", { name: "New diagram" }).count()).toBe(0);
    expect(await bob.getByRole("button", { name: /to the trash$/ }).count()).toBe(0);

    await alice.reload();
    const people = alice.getByRole("list", { name: "Collaborators" });
    await poll(() => people.textContent()).toContain(BOB);
    await expect(people.getByRole("combobox", { name: `Role of ${BOB}` }).textContent()).resolves.toBe("Viewer");
    await poll(() => alice.getByText("No invitation is waiting for an answer.").count()).toBe(1);
  });

  it("uploads an attachment and turns the project public with its link", async () => {
    await alice.getByLabel("Add files").setInputFiles({
      name: "requirements.txt",
      mimeType: "text/plain",
      buffer: Buffer.from("Orders over 10 000 EUR need a credit check.\n"),
    });
    const files = alice.getByRole("list", { name: "Attachments" });
    await poll(() => files.textContent()).toContain("requirements.txt");
    await alice.getByRole("switch", { name: "Public project" }).click();
    const link = alice.getByRole("textbox", { name: "Link to share" });
    await poll(() => link.inputValue()).toBe(`${server.url}/p/${projectId}`);
    const project = await api<{ project: { is_public: boolean } }>(server, alice, "GET", `/projects/${projectId}`);
    expect(project.project.is_public).toBe(true);
  });

  it("backs the project up and restores the backup as a new project", async () => {
    await alice.getByRole("button", { name: "Back up now" }).click();
    const backups = alice.getByRole("list", { name: "Backups" });
    await poll(() => backups.getByRole("listitem").count()).toBe(1);
    await poll(() => backups.textContent()).toMatch(/3 diagrams · 3 versions/);
    findings.push(...(await capture(alice, "project-settings")));
    await backups.getByRole("button", { name: /^Restore the backup of .* as a new project$/ }).click();
    const confirm = alice.getByRole("alertdialog", { name: "Restore as a new project?" });
    await confirm.getByRole("button", { name: "Restore as new project" }).click();
    await alice.waitForURL((url) => /\/p\/[0-9a-f-]{36}$/.test(url.pathname) && !url.pathname.endsWith(projectId));
    await alice.getByRole("heading", { level: 1, name: "Order handling" }).waitFor();
    await poll(() => alice.getByRole("list", { name: "diagrams" }).getByRole("listitem").count()).toBe(3);
    const owned = await api<{ items: { name: string }[] }>(server, alice, "GET", "/projects");
    expect(owned.items.map((p) => p.name)).toEqual(["Order handling", "Order handling"]);
  });

  it("shows the plan limit's message when a third project is refused", async () => {
    await alice.goto("/");
    await alice.getByRole("button", { name: "New project" }).click();
    const dialog = alice.getByRole("dialog", { name: "New project" });
    await dialog.getByLabel("Project name").fill("One too many");
    await dialog.getByRole("button", { name: "Create project" }).click();
    await poll(() => dialog.getByRole("alert").textContent()).toBe(
      "FREE plan allows 2 projects; upgrade to PRO or delete a project",
    );
    await alice.keyboard.press("Escape");
  });

  it("moves a diagram to the trash and restores it", async () => {
    const quick = alice.getByRole("list", { name: "quick diagrams" });
    await quick.getByRole("button", { name: "Move Quick sketch to the trash" }).click();
    await poll(() => quick.getByRole("listitem").allTextContents()).toEqual([expect.stringContaining("Meeting notes flow")]);
    await alice.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Trash" }).click();
    await alice.getByRole("heading", { level: 1, name: "Trash" }).waitFor();
    const trashed = alice.getByRole("list", { name: "Diagrams in the trash" });
    await poll(() => trashed.textContent()).toContain("Quick sketch");
    findings.push(...(await capture(alice, "trash")));
    await trashed.getByRole("button", { name: "Restore Quick sketch" }).click();
    await alice.getByText("No diagrams in the trash").waitFor();
    await alice.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Home" }).click();
    await poll(() => alice.getByRole("list", { name: "quick diagrams" }).getByRole("listitem").count()).toBe(2);
  });

  it("shows the plan and storage use", async () => {
    await alice.getByRole("button", { name: `Account menu (${ALICE})` }).click();
    await alice.getByRole("menuitem", { name: "Plan and storage" }).click();
    await alice.getByRole("heading", { level: 1, name: "Plan and storage" }).waitFor();
    const projects = alice.getByRole("meter", { name: "Projects" });
    await poll(() => projects.getAttribute("aria-valuetext")).toBe("2 of 2");
    const storage = await alice.getByRole("meter", { name: "Storage used" }).getAttribute("aria-valuetext");
    expect(storage).toMatch(/^\d+(\.\d)? (KB|MB) of 100 MB$/);
    const usage = await api<{ used: { diagrams: number; versions: number } }>(server, alice, "GET", "/usage");
    expect(usage.used.diagrams).toBe(8);
    await poll(() => alice.getByRole("main").textContent()).toContain(`Versions kept${usage.used.versions}`);
    findings.push(...(await capture(alice, "plan")));
  });

  it("signs out and in again, and serves client routes on reload", async () => {
    await alice.goto(`/p/${projectId}/settings`);
    await alice.getByRole("heading", { level: 1, name: "Project settings" }).waitFor();
    await alice.getByRole("button", { name: `Account menu (${ALICE})` }).click();
    await alice.getByRole("menuitem", { name: "Sign out" }).click();
    await alice.getByRole("heading", { level: 1, name: "Sign in" }).waitFor();
    await signIn(alice, ALICE, PASSWORD);
    // An unknown client path is the app's not-found page, not the API's JSON.
    await alice.goto("/no/such/page");
    await alice.getByText("There is no page here").waitFor();
  });
});

describe("diagram web app: signing in with a Supabase token", { timeout: 300_000 }, () => {
  // The service as it runs against Supabase: Supabase's JWT secret, no local accounts.
  const SECRET = "supabase-jwt-secret-for-the-e2e-test-0123456789";
  let supabase: DiagramServer;
  let context: BrowserContext;

  beforeAll(async () => {
    supabase = await startDiagramServer({ JWT_SECRET: SECRET });
    context = await newContext(browser, supabase.url);
  }, 300_000);
  afterAll(async () => {
    await context?.close().catch(() => {});
    await supabase?.stop();
  });

  it("offers only the token form, refuses a bad token with the API's message, and signs in with a good one", async () => {
    // Supabase creates auth.users rows; the migration's trigger adds the profile.
    const client = new pg.Client(supabase.database.url);
    await client.connect();
    let userId: string;
    try {
      const { rows } = await client.query<{ id: string }>(
        "insert into auth.users (id, email) values (gen_random_uuid(), 'sam@example.test') returning id",
      );
      userId = rows[0]!.id;
    } finally {
      await client.end();
    }
    const token = await new SignJWT({ role: "authenticated", email: "sam@example.test" })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setSubject(userId)
      .setAudience("authenticated")
      .setIssuedAt()
      .setExpirationTime("1h")
      .sign(new TextEncoder().encode(SECRET));

    const page = await context.newPage();
    watch(page, "sam", consoleErrors, { consoleErrors: true });
    await page.goto("/");
    await page.getByRole("heading", { level: 1, name: "Sign in" }).waitFor();
    await page.getByText("This service signs people in with Supabase.").waitFor();
    expect(await page.getByLabel("Email").count()).toBe(0);
    findings.push(...(await capture(page, "signin-supabase")));
    const field = page.getByLabel("Supabase access token");
    await field.fill("not-a-token");
    await page.getByRole("button", { name: "Sign in with the token" }).click();
    await poll(() => page.getByRole("alert").first().textContent()).toMatch(/^the access token is invalid/);
    await field.fill(token);
    await page.getByRole("button", { name: "Sign in with the token" }).click();
    await page.getByRole("heading", { level: 1, name: "Home" }).waitFor();
    await page.getByRole("button", { name: "Account menu (sam@example.test)" }).waitFor();
  });
});

describe("diagram web app: quality", () => {
  it("has no serious or critical accessibility findings, no sideways overflow and no console errors", () => {
    expect(findings).toEqual([]);
    expect(consoleErrors).toEqual([]);
  });
});

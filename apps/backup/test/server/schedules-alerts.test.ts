/**
 * Alerts and notifications with real receivers: an HTTP webhook receiver that checks
 * X-Stowage-Signature, smtp-server for email, s3rver as a destination that goes down. Cases: the
 * notification API (secret answered once, test delivery signed, retried after 503s, email through
 * SMTP_URL); a destination down during a run (retries within the run, one failed backup row, alert,
 * failure notice; then a recovery notice and the alert resolved, listed until acknowledged); the
 * dead man's switch for a schedule whose runs never start; health checks of destinations and projects.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

// Each case makes real backups (pg_dump, 4-20 s each on a machine busy with other suites).
vi.setConfig({ testTimeout: 300_000, hookTimeout: 120_000 });

import { type S3TestServer, startS3Server } from "../../../../packages/storage/test/servers/s3-server.ts";
import { ManualClock } from "../../src/server/schedules/clock.ts";
import { type SmtpReceiver, signatureValid, startSmtpReceiver, startWebhookReceiver, type WebhookReceiver } from "./receivers.ts";
import {
  addProject,
  addSchedule,
  backupsOf,
  type ClockedServer,
  createSource,
  runsOf,
  startClockedServer,
} from "./schedules-helpers.ts";

let t: ClockedServer;
let s3: S3TestServer;
let hook: WebhookReceiver;
let smtp: SmtpReceiver;
let source: Awaited<ReturnType<typeof createSource>>;
let projectId: string;
let s3Id: string;
let secret: string;

beforeAll(async () => {
  [s3, hook, smtp, source] = await Promise.all([
    startS3Server({ buckets: ["alerts"] }),
    startWebhookReceiver(),
    startSmtpReceiver(),
    createSource("sch_alert"),
  ]);
  t = await startClockedServer(new ManualClock("2026-06-01T08:00:00Z"), {
    env: { SMTP_URL: smtp.url, SMTP_FROM: "Stowage <stowage@example.com>" },
  });
  projectId = await addProject(t, "delta", source.url);
  const dest = await t.admin.post("/api/destinations", {
    name: "s3rver",
    type: "s3",
    config: {
      endpoint: s3.endpoint,
      region: "us-east-1",
      bucket: "alerts",
      accessKeyId: s3.accessKeyId,
      secretAccessKey: s3.secretAccessKey,
      forcePathStyle: true,
    },
  });
  expect(dest.status, dest.text).toBe(201);
  s3Id = dest.body.id;
});

afterAll(async () => {
  await t?.close();
  await Promise.all([s3?.stop(), hook?.close(), smtp?.close(), source?.drop()]);
});

describe("notification channels", () => {
  it("creates a webhook, answers its secret once, and signs a test delivery", async () => {
    const res = await t.admin.post("/api/notifications", {
      type: "webhook",
      name: "ops hook",
      url: hook.url,
      events: ["failure", "recovery", "missed", "success", "warning"],
    });
    expect(res.status, res.text).toBe(201);
    expect(res.body.secretValue).toMatch(/^[A-Za-z0-9_-]{40,}$/);
    secret = res.body.secretValue;
    const list = await t.admin.get("/api/notifications");
    expect(list.body.items).toHaveLength(1);
    expect(list.body.items[0]).toMatchObject({ type: "webhook", target: hook.url, secret: { set: true } });
    expect(list.text).not.toContain(secret);
    // Two 503s first: the delivery is retried with backoff and still arrives once.
    hook.failNext(2);
    const test = await t.admin.post(`/api/notifications/${res.body.id}/test`);
    expect(test.body).toMatchObject({ ok: true, attempts: 3 });
    expect(hook.deliveries).toHaveLength(1);
    expect(hook.deliveries[0]!.json.event).toBe("test");
    expect(signatureValid(hook.deliveries[0]!, secret)).toBe(true);
    expect(signatureValid(hook.deliveries[0]!, "another secret")).toBe(false);
    hook.deliveries.length = 0;
  });

  it("sends email through SMTP_URL and refuses a bad channel with 422", async () => {
    const res = await t.admin.post("/api/notifications", { type: "email", name: "ops mail", to: ["ops@example.com"] });
    expect(res.status, res.text).toBe(201);
    const test = await t.admin.post(`/api/notifications/${res.body.id}/test`);
    expect(test.body, test.text).toMatchObject({ ok: true });
    expect(smtp.mails).toHaveLength(1);
    expect(smtp.mails[0]).toMatchObject({ from: "stowage@example.com", to: ["ops@example.com"] });
    expect(smtp.mails[0]!.raw).toMatch(/Subject: \[Stowage\] Stowage test notification/);
    smtp.mails.length = 0;
    const badUrl = await t.admin.post("/api/notifications", { type: "webhook", name: "x", url: "ftp://example.com/hook" });
    expect(badUrl.status).toBe(422);
    expect(badUrl.body.error.field).toBe("url");
    const badMail = await t.admin.post("/api/notifications", { type: "email", name: "x", to: ["not-an-address"] });
    expect(badMail.status).toBe(422);
    const gone = await t.admin.post("/api/notifications", { type: "webhook", name: "tmp", url: hook.url });
    expect((await t.admin.delete(`/api/notifications/${gone.body.id}`)).status).toBe(200);
    expect((await t.admin.get("/api/notifications")).body.items).toHaveLength(2);
  });
});

describe("a destination down during a run", () => {
  it("retries, fails with one backup row, alerts and notifies; then notifies the recovery", async () => {
    const s = await addSchedule(t, { projectId, cron: "0 4 * * *", destinationIds: [s3Id], name: "to s3" });
    await s3.kill();
    try {
      expect((await t.admin.post(`/api/schedules/${s.id}/run`)).status).toBe(202);
      await t.settle();
    } finally {
      await s3.restart();
    }
    const [run] = await runsOf(t, s.id);
    expect(run, run.error).toMatchObject({ status: "failed", attempts: 3 });
    const rows = (await backupsOf(t, projectId)).filter((b: { scheduleId: string }) => b.scheduleId === s.id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: "failed", trigger: "schedule" });
    const schedule = (await t.admin.get(`/api/schedules/${s.id}`)).body;
    expect(schedule).toMatchObject({ lastStatus: "failed", consecutiveFailures: 1 });
    const alerts = (await t.admin.get("/api/alerts")).body.items;
    const failed = alerts.find((a: { kind: string }) => a.kind === "backup_failed");
    expect(failed).toMatchObject({ severity: "critical", subjectType: "schedule", subjectId: s.id, resolvedAt: null });
    const failure = hook.deliveries.find((d) => d.json.event === "failure");
    expect(failure, JSON.stringify(hook.deliveries.map((d) => d.json))).toBeDefined();
    expect(signatureValid(failure!, secret)).toBe(true);
    expect(failure!.json).toMatchObject({ project: { id: projectId, name: "delta" }, schedule: { id: s.id } });
    expect(smtp.mails.some((m) => /Subject: \[Stowage\] Backup failed: delta/.test(m.raw))).toBe(true);

    hook.deliveries.length = 0;
    smtp.mails.length = 0;
    expect((await t.admin.post(`/api/schedules/${s.id}/run`)).status).toBe(202);
    await t.settle();
    expect((await runsOf(t, s.id))[0]).toMatchObject({ status: "completed", attempts: 1 });
    expect(hook.deliveries.map((d) => d.json.event).sort()).toEqual(["recovery", "success"]);
    expect(hook.deliveries.every((d) => signatureValid(d, secret))).toBe(true);
    expect(smtp.mails.some((m) => /Subject: \[Stowage\] Backups recovered: delta/.test(m.raw))).toBe(true);
    // Resolved, but listed until someone acknowledges it.
    const open = (await t.admin.get("/api/alerts")).body.items.find((a: { id: string }) => a.id === failed.id);
    expect(open.resolvedAt).not.toBeNull();
    const ack = await t.admin.post(`/api/alerts/${failed.id}/acknowledge`);
    expect(ack.status).toBe(200);
    expect((await t.admin.get("/api/alerts")).body.items.some((a: { id: string }) => a.id === failed.id)).toBe(false);
    expect((await t.admin.get("/api/alerts?all=true")).body.items.some((a: { id: string }) => a.id === failed.id)).toBe(true);
    await t.admin.delete(`/api/schedules/${s.id}`);
  });
});

describe("dead man's switch", () => {
  it("fires for a schedule whose runs never start, once, and names it", async () => {
    const clock = new ManualClock("2026-06-01T08:00:00Z");
    // The scheduler loop never starts here: no run of this schedule can start.
    const idle = await startClockedServer(clock, { scheduling: { autoStart: false } });
    try {
      const id = await addProject(idle, "epsilon", source.url);
      const s = await addSchedule(idle, { projectId: id, cron: "0 * * * *", name: "hourly" });
      const receiver = await idle.admin.post("/api/notifications", {
        type: "webhook",
        name: "dms",
        url: hook.url,
        events: ["missed"],
      });
      hook.deliveries.length = 0;
      const check = () => idle.server.scheduling.scheduler.checkMissed();
      clock.advance(90 * 60_000);
      await check();
      expect((await idle.admin.get("/api/alerts")).body.items).toHaveLength(0);
      clock.advance(31 * 60_000); // 2 h 1 min after the schedule was created, no backup
      await check();
      await idle.settle();
      const alerts = (await idle.admin.get("/api/alerts")).body.items;
      expect(alerts).toHaveLength(1);
      expect(alerts[0]).toMatchObject({ kind: "missed_backup", subjectId: s.id, severity: "critical" });
      expect(alerts[0].message).toMatch(/every 1 hour\(s\).*no run has started/);
      await check();
      await idle.settle();
      expect((await idle.admin.get("/api/alerts")).body.items[0].occurrences).toBe(2);
      const missed = hook.deliveries.filter((d) => d.json.event === "missed");
      expect(missed).toHaveLength(1);
      expect(signatureValid(missed[0]!, receiver.body.secretValue)).toBe(true);
    } finally {
      await idle.close();
    }
  });
});

describe("health checks", () => {
  it("records a destination that went down and a project that cannot be reached, and clears them", async () => {
    const broken = await addProject(t, "unreachable", "postgresql://postgres@127.0.0.1:9/none");
    hook.deliveries.length = 0;
    await s3.kill();
    try {
      await t.server.scheduling.health.checkAll();
    } finally {
      await s3.restart();
    }
    await t.settle();
    const alerts = (await t.admin.get("/api/alerts")).body.items;
    expect(alerts.find((a: { kind: string }) => a.kind === "destination_unhealthy")).toMatchObject({ subjectId: s3Id });
    expect(alerts.find((a: { kind: string }) => a.kind === "project_unreachable")).toMatchObject({ subjectId: broken });
    const dest = (await t.admin.get(`/api/destinations/${s3Id}`)).body;
    expect(dest.validationStatus).toBe("invalid");
    expect(dest.validationError).toBeTruthy();
    expect(hook.deliveries.filter((d) => d.json.event === "warning").length).toBeGreaterThanOrEqual(2);
    await t.admin.delete(`/api/projects/${broken}`);
    await t.server.scheduling.health.checkAll();
    const after = (await t.admin.get("/api/alerts")).body.items.find((a: { kind: string }) => a.kind === "destination_unhealthy");
    expect(after.resolvedAt).not.toBeNull();
    expect((await t.admin.get(`/api/destinations/${s3Id}`)).body.validationStatus).toBe("valid");
  });
});

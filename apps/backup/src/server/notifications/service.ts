/**
 * @module server/notifications/service
 * Notification channels and their delivery. A channel is a webhook (JSON body; header
 * `X-Stowage-Signature` = hex HMAC-SHA256 of the exact body bytes under the channel's secret;
 * retried with backoff on network errors, 429 and 5xx) or an email (nodemailer over `SMTP_URL`,
 * from `SMTP_FROM`). Each subscribes to events: `failure`, `recovery` (first success after
 * failures), `missed` (dead man's switch), `success` (every completed run, for healthchecks.io-style
 * monitors) and `warning` (health checks, failed drills and retention). Delivery never blocks a
 * backup: `dispatch` returns at once and `idle()` waits for deliveries in flight (tests, shutdown).
 */
import { createHmac, randomBytes, randomUUID } from "node:crypto";
import { retry } from "@stowage/storage";
import nodemailer, { type Transporter } from "nodemailer";
import type { Logger } from "pino";
import type { Actor, AuditLog } from "../audit.ts";
import type { SecretBox } from "../crypto/secret-box.ts";
import type { MetadataStore } from "../db/store.ts";
import { ApiError, notFound } from "../errors.ts";
import type { Clock } from "../schedules/clock.ts";
import type { NotificationChannelRecord } from "../schedules/repository.ts";

export const NOTIFICATION_EVENTS = ["failure", "recovery", "missed", "success", "warning"] as const;
export type NotificationEvent = (typeof NOTIFICATION_EVENTS)[number];
export const DEFAULT_EVENTS: NotificationEvent[] = ["failure", "recovery", "missed", "warning"];

/** What happened, as every channel receives it (the webhook body, the email's facts). */
export interface Notice {
  event: NotificationEvent | "test";
  title: string;
  message: string;
  schedule?: { id: string; name: string } | null;
  project?: { id: string; name: string } | null;
  backup?: { id: string; status: string; error: string | null; size: number; finishedAt: string | null } | null;
  alert?: { id: string; kind: string; severity: string } | null;
}

export interface NotificationSettings {
  /** `smtp://user:pass@host:587`, `smtps://…`; email channels need it. */
  readonly smtpUrl?: string | undefined;
  readonly smtpFrom?: string | undefined;
  /** Webhook retry policy (tests shorten it). */
  readonly retry?: { maxRetries: number; baseDelayMs: number; maxDelayMs: number };
  readonly webhookTimeoutMs?: number;
}

export type ChannelInput =
  | { name: string; type: "webhook"; url: string; secret?: string | undefined; events?: NotificationEvent[]; enabled?: boolean }
  | { name: string; type: "email"; to: string[]; events?: NotificationEvent[]; enabled?: boolean };

type ChannelConfig = { url: string; secret: string } | { to: string[] };

export interface ChannelView {
  id: string;
  name: string;
  type: "webhook" | "email";
  /** Webhook: the URL (admins) or its origin (viewers); email: the recipients. */
  target: string;
  secret?: { set: true };
  events: NotificationEvent[];
  enabled: boolean;
  lastDeliveryAt: string | null;
  lastDeliveryOk: boolean | null;
  lastDeliveryError: string | null;
  createdAt: string;
}

export interface DeliveryResult {
  ok: boolean;
  attempts: number;
  status?: number;
  error?: string;
}

const aad = (id: string) => `notification:${id}:config`;
const DEFAULT_RETRY = { maxRetries: 4, baseDelayMs: 1000, maxDelayMs: 30_000 };

class DeliveryError extends Error {
  constructor(
    message: string,
    readonly transient: boolean,
    readonly status?: number,
  ) {
    super(message);
  }
}

/** `https://hooks.example.com/…` from a URL whose path or query may be a credential (healthchecks.io ping ids). */
function originOf(url: string): string {
  try {
    const u = new URL(url);
    return u.pathname === "/" && !u.search ? u.origin : `${u.origin}/…`;
  } catch {
    return "(invalid URL)";
  }
}

export class NotificationService {
  private readonly inFlight = new Set<Promise<void>>();
  private transporter: Transporter | undefined;

  constructor(
    private readonly store: MetadataStore,
    private readonly box: SecretBox,
    private readonly audit: AuditLog,
    private readonly log: Logger,
    private readonly clock: Clock,
    private readonly settings: NotificationSettings,
  ) {}

  private config(record: NotificationChannelRecord): ChannelConfig {
    return this.box.decryptJson<ChannelConfig>(record.config, aad(record.id));
  }

  view(record: NotificationChannelRecord, admin: boolean): ChannelView {
    const config = this.config(record);
    return {
      id: record.id,
      name: record.name,
      type: record.type,
      target: "url" in config ? (admin ? config.url : originOf(config.url)) : config.to.join(", "),
      ...("url" in config ? { secret: { set: true as const } } : {}),
      events: JSON.parse(record.events) as NotificationEvent[],
      enabled: record.enabled,
      lastDeliveryAt: record.lastDeliveryAt?.toISOString() ?? null,
      lastDeliveryOk: record.lastDeliveryOk,
      lastDeliveryError: record.lastDeliveryError,
      createdAt: record.createdAt.toISOString(),
    };
  }

  async get(id: string): Promise<NotificationChannelRecord> {
    const record = await this.store.scheduler.notifications.byId(id);
    if (!record) throw notFound("notification channel");
    return record;
  }

  /** Saves a channel; a webhook's secret (given or generated) is answered this once. */
  async create(input: ChannelInput, actor: Actor): Promise<{ record: NotificationChannelRecord; secret?: string }> {
    const id = randomUUID();
    let config: ChannelConfig;
    let secret: string | undefined;
    if (input.type === "webhook") {
      let url: URL;
      try {
        url = new URL(input.url);
      } catch {
        throw new ApiError("INVALID_INPUT", "url: not a URL; use https://…", "url");
      }
      if (url.protocol !== "https:" && url.protocol !== "http:") {
        throw new ApiError("INVALID_INPUT", "url: only http:// and https:// webhooks are supported", "url");
      }
      secret = input.secret ?? randomBytes(32).toString("base64url");
      config = { url: url.toString(), secret };
    } else {
      if (!this.settings.smtpUrl) {
        throw new ApiError(
          "INVALID_INPUT",
          "type: email needs the server's SMTP_URL (e.g. smtp://user:password@mail.example.com:587) and SMTP_FROM; set them and restart",
          "type",
        );
      }
      config = { to: input.to };
    }
    const now = this.clock.now();
    const record: NotificationChannelRecord = {
      id,
      name: input.name,
      type: input.type,
      config: this.box.encryptJson(config, aad(id)),
      events: JSON.stringify([...new Set(input.events ?? DEFAULT_EVENTS)]),
      enabled: input.enabled ?? true,
      lastDeliveryAt: null,
      lastDeliveryOk: null,
      lastDeliveryError: null,
      createdAt: now,
      updatedAt: now,
    };
    await this.store.scheduler.notifications.create(record);
    await this.audit.record(actor, "notification_created", { type: "notification", id }, { name: input.name, kind: input.type });
    return { record, ...(secret ? { secret } : {}) };
  }

  async delete(id: string, actor: Actor): Promise<void> {
    const record = await this.get(id);
    await this.store.scheduler.notifications.delete(id);
    await this.audit.record(actor, "notification_deleted", { type: "notification", id }, { name: record.name });
  }

  /** Sends a test notice to one channel now and answers the outcome (after retries). */
  async test(id: string): Promise<DeliveryResult> {
    const record = await this.get(id);
    return this.deliver(record, {
      event: "test",
      title: "Stowage test notification",
      message: `This is a test of the notification channel "${record.name}". If you can read it, Stowage can reach you.`,
    });
  }

  /** Sends the notice to every enabled channel subscribed to its event, in the background. */
  dispatch(notice: Notice): void {
    const task = (async () => {
      const channels = (await this.store.scheduler.notifications.list()).filter(
        (c) => c.enabled && (JSON.parse(c.events) as string[]).includes(notice.event),
      );
      await Promise.all(channels.map((c) => this.deliver(c, notice)));
    })().catch((error) => this.log.error({ err: error }, "notification dispatch failed"));
    this.inFlight.add(task);
    void task.finally(() => this.inFlight.delete(task));
  }

  /** Resolves when no delivery is in flight. */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private async deliver(record: NotificationChannelRecord, notice: Notice): Promise<DeliveryResult> {
    const config = this.config(record);
    let result: DeliveryResult;
    if ("url" in config) result = await this.sendWebhook(config, notice);
    else result = await this.sendEmail(config, notice);
    await this.store.scheduler.notifications
      .update(record.id, {
        lastDeliveryAt: this.clock.now(),
        lastDeliveryOk: result.ok,
        lastDeliveryError: result.error ?? null,
      })
      .catch(() => {});
    if (!result.ok) this.log.warn({ channel: record.name, error: result.error }, "notification not delivered");
    return result;
  }

  /** The webhook body: stable field names, no secret. */
  static body(notice: Notice, deliveryId: string, at: Date): string {
    return JSON.stringify({
      id: deliveryId,
      event: notice.event,
      at: at.toISOString(),
      title: notice.title,
      message: notice.message,
      schedule: notice.schedule ?? null,
      project: notice.project ?? null,
      backup: notice.backup ?? null,
      alert: notice.alert ?? null,
    });
  }

  static sign(body: string, secret: string): string {
    return createHmac("sha256", secret).update(body, "utf8").digest("hex");
  }

  private async sendWebhook(config: { url: string; secret: string }, notice: Notice): Promise<DeliveryResult> {
    const deliveryId = randomUUID();
    const body = NotificationService.body(notice, deliveryId, this.clock.now());
    const signature = NotificationService.sign(body, config.secret);
    let attempts = 0;
    try {
      const status = await retry(
        async () => {
          attempts++;
          let res: Response;
          try {
            res = await fetch(config.url, {
              method: "POST",
              headers: {
                "Content-Type": "application/json",
                "User-Agent": "Stowage",
                "X-Stowage-Event": notice.event,
                "X-Stowage-Delivery": deliveryId,
                "X-Stowage-Signature": signature,
              },
              body,
              redirect: "manual",
              signal: AbortSignal.timeout(this.settings.webhookTimeoutMs ?? 10_000),
            });
          } catch (error) {
            const cause = (error as { cause?: { code?: string; message?: string } }).cause;
            throw new DeliveryError(
              `${originOf(config.url)}: ${cause?.code ?? cause?.message ?? (error as Error).message}`,
              true,
            );
          }
          await res.body?.cancel().catch(() => {});
          if (res.status >= 200 && res.status < 300) return res.status;
          const transient = res.status === 408 || res.status === 429 || res.status >= 500;
          throw new DeliveryError(`${originOf(config.url)} answered HTTP ${res.status}`, transient, res.status);
        },
        {
          policy: this.settings.retry ?? DEFAULT_RETRY,
          isTransient: (error) => error instanceof DeliveryError && error.transient,
        },
      );
      return { ok: true, attempts, status };
    } catch (error) {
      return {
        ok: false,
        attempts,
        error: (error as Error).message,
        ...(error instanceof DeliveryError && error.status ? { status: error.status } : {}),
      };
    }
  }

  private async sendEmail(config: { to: string[] }, notice: Notice): Promise<DeliveryResult> {
    if (!this.settings.smtpUrl) return { ok: false, attempts: 0, error: "SMTP_URL is not set" };
    this.transporter ??= nodemailer.createTransport(this.settings.smtpUrl);
    const lines = [
      notice.message,
      "",
      ...(notice.project ? [`Project: ${notice.project.name}`] : []),
      ...(notice.schedule ? [`Schedule: ${notice.schedule.name}`] : []),
      ...(notice.backup ? [`Backup: ${notice.backup.id} (${notice.backup.status})`] : []),
      ...(notice.backup?.error ? [`Error: ${notice.backup.error}`] : []),
      `Time: ${this.clock.now().toISOString()}`,
    ];
    let attempts = 0;
    try {
      await retry(
        async () => {
          attempts++;
          await this.transporter!.sendMail({
            from: this.settings.smtpFrom ?? "stowage@localhost",
            to: config.to,
            subject: `[Stowage] ${notice.title}`,
            text: lines.join("\n"),
          });
        },
        {
          policy: this.settings.retry ?? DEFAULT_RETRY,
          // 4xx SMTP replies and dropped connections are temporary; 5xx (bad recipient) are not.
          isTransient: (error) => {
            const e = error as { responseCode?: number; code?: string };
            return e.responseCode ? e.responseCode < 500 : ["ECONNECTION", "ETIMEDOUT", "ESOCKET"].includes(e.code ?? "");
          },
        },
      );
      return { ok: true, attempts };
    } catch (error) {
      // nodemailer messages may quote the SMTP URL's host but never its password; strip any URL anyway.
      return { ok: false, attempts, error: (error as Error).message.replace(/smtps?:\/\/\S+/g, "smtp://***") };
    }
  }

  close(): void {
    this.transporter?.close();
  }
}

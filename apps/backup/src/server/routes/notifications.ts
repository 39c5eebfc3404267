/** @module server/routes/notifications: notification channels (webhooks, email) (issue 12). */
import { type OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppEnv, Services } from "../context.ts";
import { NOTIFICATION_EVENTS, type NotificationService } from "../notifications/service.ts";
import { IdParam, jsonBody, jsonRoute, Ok } from "./common.ts";

const Events = z
  .array(z.enum(NOTIFICATION_EVENTS))
  .min(1)
  .openapi({ description: "Default: failure, recovery, missed, warning. Add success for dead-man services (healthchecks.io)." });

const Channel = z
  .object({
    id: z.string(),
    name: z.string(),
    type: z.enum(["webhook", "email"]),
    target: z.string().openapi({ description: "Webhook URL (admins; viewers see its origin) or the email recipients" }),
    secret: z.object({ set: z.literal(true) }).optional(),
    events: z.array(z.enum(NOTIFICATION_EVENTS)),
    enabled: z.boolean(),
    lastDeliveryAt: z.string().nullable(),
    lastDeliveryOk: z.boolean().nullable(),
    lastDeliveryError: z.string().nullable(),
    createdAt: z.string(),
  })
  .openapi("NotificationChannel");

const CreateBody = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("webhook"),
    name: z.string().trim().min(1).max(100),
    url: z.string().trim().min(1).max(2048),
    secret: z
      .string()
      .min(16)
      .max(256)
      .optional()
      .openapi({ description: "HMAC key for X-Stowage-Signature; generated (and answered once) when left out" }),
    events: Events.optional(),
    enabled: z.boolean().optional(),
  }),
  z.object({
    type: z.literal("email"),
    name: z.string().trim().min(1).max(100),
    to: z.array(z.email().max(254)).min(1).max(20),
    events: Events.optional(),
    enabled: z.boolean().optional(),
  }),
]);

export function notificationRoutes(app: OpenAPIHono<AppEnv>, _s: Services, notifications: NotificationService): void {
  const actor = (c: Context<AppEnv>) => ({ user: c.get("auth").user, ip: c.get("auth").ip });
  const isAdmin = (c: Context<AppEnv>) => c.get("auth").user.role === "admin";

  app.openapi(
    jsonRoute({
      method: "get",
      path: "/api/notifications",
      tags: ["notifications"],
      summary: "Notification channels",
      schema: z.object({ items: z.array(Channel) }),
    }),
    async (c) =>
      c.json({ items: (await _s.store.scheduler.notifications.list()).map((r) => notifications.view(r, isAdmin(c))) }, 200),
  );

  app.openapi(
    jsonRoute({
      method: "post",
      path: "/api/notifications",
      tags: ["notifications"],
      summary:
        "Add a webhook (JSON POST signed with X-Stowage-Signature: hex HMAC-SHA256 of the body) or an email channel (needs SMTP_URL)",
      request: jsonBody(CreateBody),
      status: 201,
      schema: Channel.extend({
        secretValue: z.string().optional().openapi({ description: "The webhook secret, shown this once" }),
      }),
    }),
    async (c) => {
      const { record, secret } = await notifications.create(c.req.valid("json"), actor(c));
      return c.json({ ...notifications.view(record, true), ...(secret ? { secretValue: secret } : {}) }, 201);
    },
  );

  app.openapi(
    jsonRoute({
      method: "delete",
      path: "/api/notifications/{id}",
      tags: ["notifications"],
      summary: "Remove a notification channel",
      request: { params: IdParam },
      schema: Ok,
    }),
    async (c) => {
      await notifications.delete(c.req.valid("param").id, actor(c));
      return c.json({ ok: true as const }, 200);
    },
  );

  app.openapi(
    jsonRoute({
      method: "post",
      path: "/api/notifications/{id}/test",
      tags: ["notifications"],
      summary: "Send a test notification now (with retries) and answer the outcome",
      request: { params: IdParam },
      schema: z.object({ ok: z.boolean(), attempts: z.number(), status: z.number().optional(), error: z.string().optional() }),
    }),
    async (c) => c.json(await notifications.test(c.req.valid("param").id), 200),
  );
}

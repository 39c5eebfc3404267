/**
 * @module test/server/receivers
 * Real receivers for the notification tests: an HTTP server that records webhook deliveries (and
 * can answer 503 for the first N of them, to exercise retries), and an SMTP server (`smtp-server`
 * from npm) that records the mails nodemailer sends. Both on free loopback ports.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";

export interface Delivery {
  headers: Record<string, string | string[] | undefined>;
  body: string;
  json: Record<string, unknown> & { event: string };
}

export interface WebhookReceiver {
  readonly url: string;
  readonly deliveries: Delivery[];
  /** Answer 503 to the next `n` requests. */
  failNext(n: number): void;
  /** Requests answered (including the failed ones). */
  hits(): number;
  close(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const deliveries: Delivery[] = [];
  let failures = 0;
  let hits = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      hits++;
      if (failures > 0) {
        failures--;
        res.writeHead(503).end();
        return;
      }
      const body = Buffer.concat(chunks).toString("utf8");
      deliveries.push({ headers: req.headers, body, json: JSON.parse(body) });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/stowage`,
    deliveries,
    failNext(n) {
      failures = n;
    },
    hits: () => hits,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** True when the delivery's X-Stowage-Signature is the hex HMAC-SHA256 of its body under `secret`. */
export function signatureValid(delivery: Delivery, secret: string): boolean {
  const header = delivery.headers["x-stowage-signature"];
  if (typeof header !== "string") return false;
  const expected = createHmac("sha256", secret).update(delivery.body, "utf8").digest("hex");
  return header.length === expected.length && timingSafeEqual(Buffer.from(header), Buffer.from(expected));
}

export interface Mail {
  from: string | undefined;
  to: string[];
  raw: string;
}

export interface SmtpReceiver {
  readonly url: string;
  readonly mails: Mail[];
  close(): Promise<void>;
}

export async function startSmtpReceiver(): Promise<SmtpReceiver> {
  const mails: Mail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS", "AUTH"],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : undefined,
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString("utf8"),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const { port } = server.server.address() as AddressInfo;
  return {
    url: `smtp://127.0.0.1:${port}`,
    mails,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

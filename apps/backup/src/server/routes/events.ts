/**
 * @module server/routes/events
 * Server-Sent Events for one job (backup or restore): `status` with the whole row first, then
 * `progress` (phase, bytes dumped/stored, bytes uploaded per destination, rate) and `status` events
 * as they happen, and `done` with the final row, after which the stream ends. A job that already
 * ended answers `status` + `done` at once. Rows of jobs run by another process are polled.
 */
import type { Context } from "hono";
import { streamSSE } from "hono/streaming";
import type { AppEnv } from "../context.ts";
import type { JobEvent, JobRunner } from "../jobs/runner.ts";

const FINAL = new Set(["completed", "failed", "cancelled"]);
const KEEPALIVE_MS = 15_000;

export function jobEvents(c: Context<AppEnv>, runner: JobRunner, id: string, load: () => Promise<{ status: string }>): Response {
  return streamSSE(c, async (stream) => {
    const queue: JobEvent[] = [];
    let wake: (() => void) | undefined;
    const sub = runner.subscribe(id, (event) => {
      queue.push(event);
      wake?.();
    });
    stream.onAbort(() => {
      sub?.unsubscribe();
      wake?.();
    });
    try {
      const first = await load();
      await stream.writeSSE({ event: "status", data: JSON.stringify(first) });
      if (FINAL.has(first.status)) {
        await stream.writeSSE({ event: "done", data: JSON.stringify(first) });
        return;
      }
      if (sub?.last) queue.unshift(sub.last);
      if (sub?.done) queue.push(sub.done);
      while (!stream.aborted) {
        if (queue.length === 0) {
          await new Promise<void>((resolve) => {
            wake = resolve;
            setTimeout(resolve, sub ? KEEPALIVE_MS : 1000).unref();
          });
          wake = undefined;
          if (stream.aborted) break;
          if (queue.length === 0) {
            if (!sub) {
              // Not ours (another server, or the channel is gone): poll the row.
              const row = await load();
              if (FINAL.has(row.status)) {
                await stream.writeSSE({ event: "done", data: JSON.stringify(row) });
                break;
              }
            }
            await stream.write(": keep-alive\n\n");
            continue;
          }
        }
        const event = queue.shift()!;
        if (event.type === "done") {
          await stream.writeSSE({ event: "done", data: JSON.stringify(await load()) });
          break;
        }
        await stream.writeSSE({ event: event.type, data: JSON.stringify(event.data) });
      }
    } finally {
      sub?.unsubscribe();
    }
  });
}

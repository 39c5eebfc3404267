/**
 * @module test/pitr/scratch
 * What the point-in-time tests share: databases with a random suffix on the logical server (the
 * server outlives a test run, so fixed names would collide on the next run) dropped with their
 * slots afterwards (an inactive slot keeps WAL forever and blocks DROP DATABASE); `runStream()` in
 * process with its events collected; waiting until an archive reaches a moment; the source's clock.
 */
import { randomBytes } from "node:crypto";
import type { StorageDestination } from "@stowage/storage";
import pg from "pg";
import { readArchive, windows } from "../../src/pitr/archive.ts";
import { isoToMicros } from "../../src/pitr/lsn.ts";
import { runStream, type StreamEvent, type StreamOptions } from "../../src/pitr/streamer.ts";
import { dbOn } from "./logical-server.ts";

export async function adminQuery<R extends pg.QueryResultRow>(url: string, sql: string, values: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(sql, values)).rows;
  } finally {
    await client.end();
  }
}

/** Databases named `<prefix>_<random>` on one server, and their removal (slots first). */
export class ScratchDatabases {
  readonly suffix = randomBytes(3).toString("hex");
  private readonly names: string[] = [];

  constructor(private readonly serverUrl: string) {}

  name(prefix: string): string {
    return `${prefix}_${this.suffix}`;
  }

  async create(prefix: string, owner?: string): Promise<string> {
    const name = this.name(prefix);
    await adminQuery(this.serverUrl, `create database "${name}"${owner ? ` owner "${owner}"` : ""}`);
    this.names.push(name);
    return dbOn(this.serverUrl, name);
  }

  async dropAll(): Promise<void> {
    const url = this.serverUrl;
    for (const name of this.names.reverse()) {
      // A streamer's walsender may take a moment to go after its process: end it, then drop.
      for (let attempt = 0; attempt < 40; attempt++) {
        const slotsOf = "from pg_replication_slots where database = $1";
        await adminQuery(url, `select pg_terminate_backend(active_pid) ${slotsOf} and active_pid is not null`, [name]);
        await adminQuery(url, `select pg_drop_replication_slot(slot_name) ${slotsOf} and not active`, [name]).catch(() => {});
        const [left] = await adminQuery<{ n: number }>(url, `select count(*)::int as n ${slotsOf}`, [name]);
        if (left!.n === 0) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      await adminQuery(url, `drop database if exists "${name}" with (force)`);
    }
  }
}

/** `runStream()` in this process, its events collected, stopped as Ctrl-C stops the CLI. */
export interface InProcessStream {
  readonly events: StreamEvent[];
  waitFor<T extends StreamEvent["type"]>(
    type: T,
    predicate?: (e: Extract<StreamEvent, { type: T }>) => boolean,
    timeoutMs?: number,
  ): Promise<Extract<StreamEvent, { type: T }>>;
  stop(): Promise<void>;
}

export function streamInProcess(options: Omit<StreamOptions, "signal" | "onEvent">): InProcessStream {
  const events: StreamEvent[] = [];
  const controller = new AbortController();
  let failure: unknown;
  const running = runStream({ ...options, signal: controller.signal, onEvent: (e) => events.push(e) });
  running.catch((error: unknown) => {
    failure = error;
  });
  return {
    events,
    async waitFor(type, predicate = () => true, timeoutMs = 120_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = events.find((e) => e.type === type && predicate(e as never));
        if (found) return found as never;
        if (failure) throw failure;
        if (Date.now() > deadline) throw new Error(`no ${type} event; events: ${JSON.stringify(events.map((e) => e.type))}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async stop() {
      controller.abort();
      await running;
    },
  };
}

/** The source's clock after everything before has committed, as an ISO time with microseconds: a moment to restore to. */
export async function sourceNow(client: pg.Client): Promise<string> {
  const { rows } = await client.query<{ t: string }>(
    `select to_char(clock_timestamp() at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as t`,
  );
  // Nothing may commit within the same microsecond as the moment.
  await new Promise((r) => setTimeout(r, 20));
  return rows[0]!.t;
}

/** Waits until the archive of `name` on `destination` reaches `time` (the idle heartbeat makes it do so). */
export async function archiveReaches(destination: StorageDestination, name: string, time: string, timeoutMs = 90_000) {
  const target = isoToMicros(time);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ws = windows(await readArchive(destination, name));
    if (ws.length && ws[ws.length - 1]!.to >= target) return;
    if (Date.now() > deadline) throw new Error(`the archive of ${name} did not reach ${time}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

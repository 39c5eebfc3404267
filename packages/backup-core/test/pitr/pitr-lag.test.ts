/**
 * `stowage stream --max-lag`, as the issue words it: "a warning is printed when lag exceeds
 * `--max-lag` (default 1 GiB)". The slot is left unread while the source writes a few MiB (nobody
 * archives: the situation the warning is for); `--status` shows the lag. A restart under the default
 * prints no warning (the check runs before "streaming"); one with `--max-lag 1MiB` prints it, on
 * stderr, at once, and again while it keeps running behind (the check repeats every 30 s).
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dropStream } from "../../src/pitr/control.ts";
import { type LogicalServer, logicalServer } from "./logical-server.ts";
import { adminQuery, ScratchDatabases } from "./scratch.ts";
import { BIN, type StreamerProcess, startStreamer } from "./streamer-process.ts";

const run = promisify(execFile);
const WARNING =
  /^warning: the archive is ([\d.]+) (KiB|MiB|GiB) behind the source \(more than --max-lag 1\.00 MiB\); the source keeps .+ of WAL for slot stowage_lag_\w+\. Check the destinations, or stop with --drop$/;
const UNIT = { KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 } as const;

let server: LogicalServer;
let scratch: ScratchDatabases;
let work: string;
let src: string;
let streamer: StreamerProcess | undefined;

beforeAll(async () => {
  server = await logicalServer();
  scratch = new ScratchDatabases(server.url);
  work = await mkdtemp(join(tmpdir(), "stowage-pitr-lag-"));
  src = await scratch.create("pitr_lag_src");
  await adminQuery(src, "create table filler (id int primary key, pad text)");
}, 120_000);

afterAll(async () => {
  streamer?.child.kill("SIGKILL");
  await streamer?.exited;
  if (src) await dropStream({ databaseUrl: src, name: "lag" }).catch(() => {});
  await scratch?.dropAll();
  await server?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

/** `stowage stream` as a user runs it (text output); segments of an hour, so nothing is confirmed meanwhile. */
async function stream(extra: string[] = []): Promise<StreamerProcess> {
  const args = ["--db", src, "--to", `file://${join(work, "archive")}`, "--name", "lag", "--segment-seconds", "3600", ...extra];
  streamer = startStreamer(args, { json: false });
  await streamer.waitForLine(/^streaming changes from slot/);
  return streamer;
}

async function stop(s: StreamerProcess): Promise<void> {
  s.child.kill("SIGTERM");
  expect(await s.exited).toBe(0);
}

const warnings = (s: StreamerProcess) => s.lines.filter((l) => l.text.includes("behind the source"));

describe("stowage stream --max-lag", () => {
  it("prints a warning on stderr when the slot's lag exceeds --max-lag, none under the default 1 GiB", async () => {
    await stop(await stream()); // first start: the base, the slot, then nobody reads it

    // About 6 MiB of WAL while the slot is not read.
    await adminQuery(src, "insert into filler select g, repeat(md5(g::text), 40) from generate_series(1, 4000) g");
    await adminQuery(src, "update filler set pad = upper(pad)");
    const status = await run(process.execPath, [BIN, "stream", "--status", "--db", src, "--name", "lag", "--json"]);
    const [slot] = (JSON.parse(status.stdout) as { slots: Array<{ lagBytes: number; active: boolean }> }).slots;
    expect(slot!.active).toBe(false);
    expect(slot!.lagBytes).toBeGreaterThan(2 * 1024 ** 2);

    // Default --max-lag (1 GiB): the lag was checked before "streaming", and it is far below.
    const quiet = await stream();
    expect(warnings(quiet)).toEqual([]);
    await stop(quiet);

    // A stop flushes and confirms what was read (failed in CI: the lag was gone): hold WAL back again.
    await adminQuery(src, "update filler set pad = lower(pad)");
    await adminQuery(src, "update filler set pad = upper(pad)");
    const again = await run(process.execPath, [BIN, "stream", "--status", "--db", src, "--name", "lag", "--json"]);
    const [held] = (JSON.parse(again.stdout) as { slots: Array<{ lagBytes: number }> }).slots;
    expect(held!.lagBytes).toBeGreaterThan(2 * 1024 ** 2);

    // --max-lag 1MiB: warned at once, on stderr, with the lag in bytes the slot holds back…
    const loud = await stream(["--max-lag", "1MiB"]);
    const [first] = warnings(loud);
    expect(first?.stream).toBe("stderr");
    const m = WARNING.exec(first!.text);
    expect(m, first!.text).not.toBeNull();
    expect(Number(m![1]) * UNIT[m![2] as keyof typeof UNIT]).toBeGreaterThan(2 * 1024 ** 2);
    // …printed before streaming began (the check a restart needs most)…
    const order = loud.lines.map((l) => l.text);
    expect(order.indexOf(first!.text)).toBeLessThan(order.findIndex((t) => t.startsWith("streaming changes from slot")));
    // …and again while it keeps running behind.
    await expect.poll(() => warnings(loud).length, { timeout: 120_000, interval: 500 }).toBeGreaterThanOrEqual(2);
    expect(warnings(loud).every((l) => l.stream === "stderr" && WARNING.test(l.text))).toBe(true);
    await stop(loud);
  }, 400_000);
});

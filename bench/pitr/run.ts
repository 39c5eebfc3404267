/**
 * Point-in-time archive benchmark (issue 19). On a throwaway wal_level=logical cluster (or
 * STOWAGE_TEST_PG_LOGICAL_URL), pgbench runs TPC-B-like transactions at increasing rates while
 * runStream() archives them to a local folder; then a restore replays everything.
 *
 *   flock /tmp/stowage-bench.lock npx tsx bench/pitr/run.ts
 *   BENCH_RATES=50,200,800 (TPS steps)  BENCH_SECONDS=30 (per step)  BENCH_SEGMENT_SECONDS=10  BENCH_SCALE=5
 *
 * Archive lag of a transaction = the moment its segment was on the destination minus its commit time
 * (what a crash at that moment would lose: the RPO). Per segment we know the first and last commit
 * and the count, and spread the transactions evenly between them. The baseline for the archive is
 * the source itself: archived changes per second against the changes pgbench made per second (a
 * ratio ≥ 1 means the archive keeps up). The replay baseline is the same: replayed changes per second
 * against the rate the source produced them.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { LocalMappedDestination } from "@stowage/storage";
import pg from "pg";
import { isoToMicros } from "../../packages/backup-core/src/pitr/lsn.ts";
import { restoreToTime } from "../../packages/backup-core/src/pitr/restore.ts";
import { runStream, type StreamEvent } from "../../packages/backup-core/src/pitr/streamer.ts";
import { dbOn, logicalServer } from "../../packages/backup-core/test/pitr/logical-server.ts";

const run = promisify(execFile);
const rates = (process.env.BENCH_RATES ?? "50,200,800").split(",").map(Number);
const seconds = Number(process.env.BENCH_SECONDS ?? 30);
const segmentSeconds = Number(process.env.BENCH_SEGMENT_SECONDS ?? 10);
const scale = Number(process.env.BENCH_SCALE ?? 5);

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;

async function main() {
  const server = await logicalServer();
  const work = await mkdtemp(join(tmpdir(), "stowage-bench-pitr-"));
  try {
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    await admin.query("create database bench_src");
    await admin.query("create database bench_dst");
    await admin.end();
    const src = dbOn(server.url, "bench_src");
    await run("pgbench", ["-i", "-q", "-s", String(scale), src]);
    // pgbench_history has no key: give it one so its rows can be published (stream refuses tables without).
    await run("psql", [src, "-qc", "alter table pgbench_history add column id bigint generated always as identity primary key"]);

    const destination = new LocalMappedDestination({ basePath: join(work, "archive") });
    const events: Array<StreamEvent & { at: number }> = [];
    const controller = new AbortController();
    const streaming = runStream({
      databaseUrl: src,
      destinations: [destination],
      name: "bench",
      segmentSeconds,
      signal: controller.signal,
      tempDir: work,
      onEvent: (e) => events.push({ ...e, at: Date.now() }),
    });
    while (!events.some((e) => e.type === "streaming")) await new Promise((r) => setTimeout(r, 100));

    const rows: string[] = [];
    const results: unknown[] = [];
    for (const rate of rates) {
      const load = loadavg()[0]!.toFixed(1);
      const started = Date.now();
      const { stdout } = await run("pgbench", ["-n", "-R", String(rate), "-T", String(seconds), "-c", "4", "-j", "2", src]);
      const ended = Date.now();
      const tps = Number(/tps = ([\d.]+)/.exec(stdout)?.[1] ?? Number.NaN);
      // Let the archive catch up with this step before measuring it.
      await new Promise((r) => setTimeout(r, (segmentSeconds + 5) * 1000));
      const lags: number[] = [];
      let changes = 0;
      for (const e of events) {
        if (e.type !== "segment") continue;
        const first = Number(isoToMicros(e.firstCommitTime) / 1000n);
        const last = Number(isoToMicros(e.lastCommitTime) / 1000n);
        if (last < started || first > ended) continue;
        changes += e.changes;
        for (let i = 0; i < e.transactions; i++) {
          const commit = e.transactions === 1 ? last : first + ((last - first) * i) / (e.transactions - 1);
          lags.push((e.at - commit) / 1000);
        }
      }
      lags.sort((a, b) => a - b);
      // TPC-B: 3 updates + 1 insert change rows per transaction.
      const sourceChanges = tps * 4;
      const archived = changes / seconds;
      const r = {
        rate,
        tps,
        load,
        transactions: lags.length,
        lagP50: percentile(lags, 50),
        lagP99: percentile(lags, 99),
        sourceChanges,
        archived,
      };
      results.push(r);
      rows.push(
        `| ${rate} | ${tps.toFixed(0)} | ${load} | ${r.lagP50.toFixed(1)} s | ${r.lagP99.toFixed(1)} s | ${sourceChanges.toFixed(0)}/s | ${archived.toFixed(0)}/s | ${(archived / sourceChanges).toFixed(2)} |`,
      );
      console.error(rows.at(-1));
    }
    controller.abort();
    await streaming;

    // Replay: base alone first, then everything; the difference is the replay.
    const baseOnly = await restoreToTime({
      destination,
      name: "bench",
      toTime: (events.find((e) => e.type === "base") as { time: string }).time,
      targetUrl: dbOn(server.url, "bench_dst"),
    });
    await run("psql", [server.url, "-qc", "drop database bench_dst", "-c", "create database bench_dst"]);
    const all = await restoreToTime({ destination, name: "bench", toTime: "latest", targetUrl: dbOn(server.url, "bench_dst") });
    const replayMs = Math.max(1, all.durationMs - baseOnly.durationMs);
    const replayRate = all.changes / (replayMs / 1000);
    const totalSeconds = rates.length * seconds;
    const sourceRate = all.changes / totalSeconds;
    const replay = {
      transactions: all.transactions,
      changes: all.changes,
      segments: all.segments,
      baseMs: baseOnly.durationMs,
      totalMs: all.durationMs,
      replayRate,
      sourceRate,
    };
    console.log(
      "| target TPS | pgbench TPS | load | lag p50 | lag p99 | source changes | archived changes | archived / source |",
    );
    console.log("|---|---|---|---|---|---|---|---|");
    for (const row of rows) console.log(row);
    console.log(
      `\nreplay: ${all.changes} changes in ${all.transactions} transactions (${all.segments} segments) in ${(replayMs / 1000).toFixed(1)} s ` +
        `(restore ${(all.durationMs / 1000).toFixed(1)} s − base alone ${(baseOnly.durationMs / 1000).toFixed(1)} s): ` +
        `${replayRate.toFixed(0)} changes/s, ${(replayRate / sourceRate).toFixed(1)}x the rate the source made them (${sourceRate.toFixed(0)}/s)`,
    );
    await writeFile(
      join(import.meta.dirname, "results.json"),
      `${JSON.stringify({ date: new Date().toISOString(), segmentSeconds, seconds, scale, steps: results, replay }, null, 2)}\n`,
    );
  } finally {
    await server.stop();
    await rm(work, { recursive: true, force: true });
  }
}

await main();

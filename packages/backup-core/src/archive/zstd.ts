/**
 * @module archive/zstd
 * The `zstd` program as a pipeline stage (Node 20 has no zstd): compression on the write side,
 * `-d` on the read side. The stage only ENDS once zstd exited with status 0; a failure throws what
 * the caller's `failed` makes of it, and a consumer that stops early does not leave zstd running.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import type { Stage } from "./compress.ts";

/** Bytes queued for zstd's stdin before the feeder waits: memory stays bounded by about this. */
const FEED_BYTES = 1024 * 1024;

export interface ZstdStageOptions {
  readonly args: readonly string[];
  readonly zstdPath?: string;
  /** The error for a non-zero exit, given zstd's stderr (last 4 KiB). */
  readonly failed: (code: number | null, stderr: string) => Error;
  /** The error when zstd cannot be started (ENOENT: not installed). */
  readonly notStarted: (error: NodeJS.ErrnoException) => Error;
}

export function zstdStage(options: ZstdStageOptions): Stage {
  return async function* (source) {
    const child = spawn(options.zstdPath ?? "zstd", [...options.args], { stdio: ["pipe", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (t: string) => {
      stderr = (stderr + t).slice(-4096);
    });
    let spawnError: NodeJS.ErrnoException | undefined;
    const exited = new Promise<number | null>((resolve) => {
      child.once("error", (error) => {
        spawnError = error;
        resolve(null);
      });
      child.once("close", resolve);
    });
    child.stdin.on("error", () => {}); // EPIPE when zstd stops early; its exit status tells why
    const feeding = (async () => {
      for await (const chunk of source) {
        // Wait for 'drain' only once FEED_BYTES are queued, not at stdin's 16 KiB mark: every chunk
        // would otherwise be one wait (a listener, a promise, an event-loop turn) per 128 KiB.
        if (!child.stdin.write(chunk) && child.stdin.writableLength >= FEED_BYTES) {
          await Promise.race([once(child.stdin, "drain"), exited]);
        }
        if (spawnError || child.exitCode !== null) break;
      }
      child.stdin.end();
    })();
    feeding.catch(() => child.kill("SIGTERM"));
    let ok = false;
    try {
      for await (const chunk of child.stdout) yield chunk as Buffer;
      const code = await exited;
      if (spawnError) throw options.notStarted(spawnError);
      await feeding;
      if (code !== 0) throw options.failed(code, stderr.trim());
      ok = true;
    } finally {
      if (!ok && child.exitCode === null) child.kill("SIGTERM");
    }
  };
}

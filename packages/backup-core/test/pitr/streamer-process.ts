/**
 * @module test/pitr/streamer-process
 * `stowage stream … --json` as a child process (the bin a user runs), with its JSON events collected
 * so a test can wait for "streaming" or for a stored segment, kill it, or stop it as Ctrl-C does.
 * With `{ json: false }` it runs as a user sees it, and a test waits for printed lines instead.
 */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { createInterface } from "node:readline";

export const BIN = new URL("../../../../apps/backup/bin/stowage.js", import.meta.url).pathname;

export interface StreamerProcess {
  readonly child: ChildProcessWithoutNullStreams;
  readonly events: Array<Record<string, unknown>>;
  /** Every line printed, in order, with the stream it went to. */
  readonly lines: Array<{ stream: "stdout" | "stderr"; text: string }>;
  stderr(): string;
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  waitFor(predicate: (event: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Resolves with the exit code (or the signal name). */
  readonly exited: Promise<number | string>;
}

export function startStreamer(args: string[], { json = true }: { json?: boolean } = {}): StreamerProcess {
  const child = spawn(process.execPath, [BIN, "stream", ...(json ? ["--json"] : []), ...args], {
    env: { ...process.env, STOWAGE_PASSPHRASE: "" },
    stdio: ["pipe", "pipe", "pipe"],
  });
  const events: Array<Record<string, unknown>> = [];
  const waiters: Array<{ predicate: (e: Record<string, unknown>) => boolean; resolve: (e: Record<string, unknown>) => void }> =
    [];
  const lines: StreamerProcess["lines"] = [];
  const lineWaiters: Array<{ pattern: RegExp; resolve: (line: string) => void }> = [];
  const onLine = (stream: "stdout" | "stderr", text: string) => {
    lines.push({ stream, text });
    for (const w of [...lineWaiters]) {
      if (w.pattern.test(text)) {
        lineWaiters.splice(lineWaiters.indexOf(w), 1);
        w.resolve(text);
      }
    }
  };
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (d: string) => {
    stderr = (stderr + d).slice(-20_000);
  });
  createInterface({ input: child.stderr }).on("line", (line) => onLine("stderr", line));
  createInterface({ input: child.stdout }).on("line", (line) => {
    onLine("stdout", line);
    let event: Record<string, unknown>;
    try {
      event = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    events.push(event);
    for (const w of [...waiters]) {
      if (w.predicate(event)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(event);
      }
    }
  });
  const exited = new Promise<number | string>((resolve) => child.on("close", (code, signal) => resolve(code ?? signal ?? -1)));
  return {
    child,
    events,
    lines,
    stderr: () => stderr,
    exited,
    waitForLine(pattern, timeoutMs = 120_000) {
      const seen = lines.find((l) => pattern.test(l.text));
      if (seen) return Promise.resolve(seen.text);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`streamer: no line ${pattern}; output: ${JSON.stringify(lines)}`)),
          timeoutMs,
        );
        exited.then((code) => {
          clearTimeout(timer);
          reject(new Error(`streamer exited (${code}) while a test waited for ${pattern}; output: ${JSON.stringify(lines)}`));
        });
        lineWaiters.push({
          pattern,
          resolve: (line) => {
            clearTimeout(timer);
            resolve(line);
          },
        });
      });
    },
    waitFor(predicate, timeoutMs = 45_000) {
      const seen = events.find(predicate);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`streamer: timed out waiting; stderr: ${stderr}`)), timeoutMs);
        exited.then((code) => {
          clearTimeout(timer);
          reject(new Error(`streamer exited (${code}) while a test waited for it; stderr: ${stderr}`));
        });
        waiters.push({
          predicate,
          resolve: (e) => {
            clearTimeout(timer);
            resolve(e);
          },
        });
      });
    },
  };
}

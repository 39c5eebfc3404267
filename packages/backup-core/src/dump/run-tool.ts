/**
 * @module dump/run-tool
 * Runs pg_dump/pg_dumpall as a child process (argument array, no shell) and exposes its stdout as
 * an async iterable that only ENDS after the process exited with status 0: a dump that dies half-way
 * throws instead of looking like a short, complete file. stderr is kept (last 16 KiB), redacted
 * and classified (wrong password, unreachable) for the error message.
 */
import { spawn } from "node:child_process";
import { basename } from "node:path";
import { BackupError } from "../errors.ts";

const STDERR_LIMIT = 16 * 1024;

export interface ToolRun {
  readonly command: string;
  readonly args: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  /** Secrets to scrub from stderr before it reaches an error message. */
  readonly secrets: readonly string[];
  readonly signal?: AbortSignal;
}

/** Maps a failed tool's stderr to the error code a user can act on. */
export function classifyToolFailure(
  tool: string,
  code: number | null,
  signalName: string | null,
  stderr: string,
  secrets: readonly string[],
): BackupError {
  const text = stderr.trim() || "(no output)";
  const status = signalName ? `was killed by ${signalName}` : `exited with status ${code}`;
  if (/password authentication failed|no password supplied|authentication failed/i.test(stderr)) {
    return new BackupError(
      "AUTH_FAILED",
      `${tool} could not log in: ${text}. Check the user and password in the URL (or PGPASSWORD).`,
      { secrets },
    );
  }
  if (/could not connect|Connection refused|could not translate host name|timeout expired|No route to host/i.test(stderr)) {
    return new BackupError("UNREACHABLE", `${tool} cannot reach the database server: ${text}`, { secrets });
  }
  if (/server version mismatch|aborting because of server version mismatch/i.test(stderr)) {
    return new BackupError("PG_VERSION_MISMATCH", `${tool} is older than the server: ${text}`, { secrets });
  }
  return new BackupError("DUMP_FAILED", `${tool} ${status}: ${text}`, { secrets });
}

/** Yields the tool's stdout; throws a classified BackupError when it fails or is aborted. */
export async function* runTool(run: ToolRun): AsyncGenerator<Buffer> {
  const tool = basename(run.command);
  if (run.signal?.aborted) throw new BackupError("ABORTED", `${tool}: aborted before it started`);
  const child = spawn(run.command, [...run.args], { env: run.env, stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (text: string) => {
    stderr = (stderr + text).slice(-STDERR_LIMIT);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((resolve) => {
    child.once("error", (error) => resolve({ code: null, signal: null, error }));
    child.once("close", (code, signal) => resolve({ code, signal }));
  });
  const onAbort = () => child.kill("SIGTERM");
  run.signal?.addEventListener("abort", onAbort, { once: true });
  let finished = false;
  try {
    for await (const chunk of child.stdout) yield chunk as Buffer;
    const result = await exited;
    if (run.signal?.aborted) throw new BackupError("ABORTED", `${tool}: aborted`);
    if (result.error) {
      throw new BackupError("PG_TOOLS_MISSING", `cannot start ${run.command}: ${result.error.message}`, {
        cause: result.error,
        secrets: [...run.secrets],
      });
    }
    if (result.code !== 0) throw classifyToolFailure(tool, result.code, result.signal, stderr, run.secrets);
    finished = true;
  } finally {
    run.signal?.removeEventListener("abort", onAbort);
    // The consumer stopped early (another stage failed): do not leave pg_dump running.
    if (!finished && child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
  }
}

/**
 * @module server/run
 * The `stowage serve` process: starts the server, prints the URL to open, and stops cleanly on
 * SIGINT/SIGTERM (running jobs are aborted; their rows are marked at the next start if the stop
 * was not clean). Start-up errors print one line naming what to fix and exit 1.
 */
import { ServerError } from "./errors.ts";
import { startServer } from "./server.ts";

export async function runServe(opts: { port?: string; host?: string }): Promise<void> {
  const env = { ...process.env, ...(opts.port ? { PORT: opts.port } : {}), ...(opts.host ? { HOST: opts.host } : {}) };
  let server: Awaited<ReturnType<typeof startServer>>;
  try {
    server = await startServer({ env });
  } catch (error) {
    if (error instanceof ServerError) {
      process.stderr.write(`stowage serve: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  process.stdout.write(`Stowage is running at ${server.url} (open it in a browser; Ctrl+C stops it)\n`);
  if ((await server.services.store.users.count()) === 0) {
    process.stdout.write("First run: open that address to create the admin account.\n");
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    server.services.log.info({ signal }, "stopping");
    const force = setTimeout(() => process.exit(1), 15_000);
    force.unref();
    void server.close().then(() => process.exit(0));
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
  // Keep the command's promise pending: the server runs until a signal.
  await new Promise(() => {});
}

/**
 * @module server/cli
 * `stowage serve`: registered on the CLI's commander program. The server's modules (Hono, SQLite)
 * load only when this command runs, so `stowage backup` stays as light as before.
 */
import type { Command } from "commander";

export function registerServe(program: Command): void {
  program
    .command("serve")
    .description(
      "Start the web server (API and web UI). Configuration from the environment: PORT (3000), HOST (127.0.0.1), STOWAGE_DATA_DIR (./data), DATABASE_URL (file:<data dir>/app.db), STOWAGE_SECRET_KEY, BACKUP_CONCURRENCY (2), DEFAULT_STORAGE_TYPE / LOCAL_STORAGE_PATH / S3_* for the default destination.",
    )
    .option("-p, --port <port>", "port to listen on (overrides PORT)")
    .option("--host <host>", "address to listen on (overrides HOST)")
    .action(async (opts: { port?: string; host?: string }) => {
      const { runServe } = await import("./run.ts");
      await runServe(opts);
    });
}

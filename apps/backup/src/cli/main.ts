/**
 * @module cli/main
 * The `stowage` command: parses arguments with commander, runs one command, and turns any error into
 * one clear line on stderr (no stack trace unless STOWAGE_DEBUG=1, never a secret) and an exit code.
 */
import { redact, secretValues } from "@stowage/storage";
import { Command, CommanderError } from "commander";
import { registerServe } from "../server/cli.ts";
import { registerBackup } from "./commands/backup.ts";
import { registerList } from "./commands/list.ts";
import { registerPrune } from "./commands/prune.ts";
import { registerRestore } from "./commands/restore.ts";
import { registerStream } from "./commands/stream.ts";
import { registerVerify } from "./commands/verify.ts";
import { EXIT_CODES_HELP, exitCodeOf } from "./exit-codes.ts";
import { TOOL_VERSION } from "./version.ts";

/**
 * Secrets that might be echoed in an error message, scrubbed before printing: the CLI's own, and
 * every storage provider's secret variables as their descriptions name them (S3_SESSION_TOKEN,
 * GOOGLE_DRIVE_REFRESH_TOKEN…), so a new provider's secrets are covered without a change here.
 */
function knownSecrets(): string[] {
  const env = process.env;
  return [env.PGPASSWORD, env.STOWAGE_PASSPHRASE, ...secretValues(env)].filter((s): s is string => !!s);
}

function buildProgram(): Command {
  const program = new Command("stowage")
    .description("Back up PostgreSQL and Supabase databases to the storage you choose; restore, verify and prune them.")
    .version(TOOL_VERSION)
    .showHelpAfterError("(run with --help for usage)")
    .addHelpText("after", EXIT_CODES_HELP)
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(text) });
  registerBackup(program);
  registerList(program);
  registerRestore(program);
  registerVerify(program);
  registerPrune(program);
  registerServe(program);
  registerStream(program);
  for (const command of program.commands) command.exitOverride().addHelpText("after", EXIT_CODES_HELP);
  return program;
}

async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return process.exitCode === undefined ? 0 : Number(process.exitCode);
  } catch (error) {
    // commander already printed its own usage message
    if (error instanceof CommanderError) return exitCodeOf(error);
    const message = redact(error instanceof Error ? error.message : String(error), knownSecrets());
    process.stderr.write(`stowage: ${message}\n`);
    if (process.env.STOWAGE_DEBUG === "1" && error instanceof Error && error.stack) {
      process.stderr.write(`${redact(error.stack, knownSecrets())}\n`);
    }
    return exitCodeOf(error);
  }
}

// `stowage list | head`: a closed pipe is the reader's choice, not an error worth a stack trace.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(process.exitCode ?? 0);
  throw error;
});

process.exitCode = await main(process.argv);

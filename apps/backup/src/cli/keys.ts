/**
 * @module cli/keys
 * Where passphrases and age identities come from: a file, the STOWAGE_PASSPHRASE variable, or a
 * prompt without echo when stdin is a terminal. Never from a command-line argument (visible in `ps`).
 */
import { readFile } from "node:fs/promises";
import { createInterface } from "node:readline";
import { Writable } from "node:stream";
import { UsageError } from "./exit-codes.ts";

async function readSecretFile(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    throw new UsageError(
      `cannot read the ${what} file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
}

/** A passphrase file holds the passphrase on its first line (a trailing newline is not part of it). */
export async function passphraseFromFile(path: string): Promise<string> {
  const first = (await readSecretFile(path, "passphrase")).split(/\r?\n/)[0] ?? "";
  if (!first) throw new UsageError(`the passphrase file ${path} is empty`);
  return first;
}

/** Age identities (`AGE-SECRET-KEY-1…`) from an identity file as age-keygen writes it (comments allowed). */
export async function identitiesFromFile(path: string): Promise<string[]> {
  const lines = (await readSecretFile(path, "identity"))
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"));
  const identities = lines.filter((l) => /^AGE-SECRET-KEY-/.test(l));
  if (identities.length === 0)
    throw new UsageError(`${path} holds no age identity (a line starting with AGE-SECRET-KEY-1); create one with age-keygen`);
  return identities;
}

/** Asks for a secret on the terminal without echoing it. */
export async function prompt(question: string): Promise<string> {
  const muted = new Writable({
    write(_chunk, _enc, cb) {
      cb();
    },
  });
  process.stderr.write(question);
  const rl = createInterface({ input: process.stdin, output: muted, terminal: true });
  try {
    return await new Promise<string>((resolve) => rl.question("", resolve));
  } finally {
    rl.close();
    process.stderr.write("\n");
  }
}

export const canPrompt = () => process.stdin.isTTY === true && process.stderr.isTTY === true;

/** The passphrase to encrypt with; asks twice on a terminal. */
export async function encryptionPassphrase(file: string | undefined): Promise<string> {
  if (file) return passphraseFromFile(file);
  if (process.env.STOWAGE_PASSPHRASE) return process.env.STOWAGE_PASSPHRASE;
  if (!canPrompt()) {
    throw new UsageError("--encrypt needs a passphrase: set STOWAGE_PASSPHRASE or give --encrypt-passphrase-file FILE");
  }
  const first = await prompt("Passphrase to encrypt the backup: ");
  if (!first) throw new UsageError("an empty passphrase cannot protect a backup");
  const again = await prompt("Again: ");
  if (first !== again) throw new UsageError("the two passphrases differ; run the command again");
  return first;
}

/**
 * The keys restore/verify use. Keys the user supplied (--identity, --decrypt-passphrase-file,
 * STOWAGE_PASSPHRASE) are passed on even when the manifest says the backup is not encrypted: the
 * engine then refuses it, since a plain backup where an encrypted one was expected is how an attacker
 * with write access to the bucket would get their own SQL restored (a downgrade). The prompt is only
 * used when the manifest asks for a passphrase.
 */
export async function decryptionKeys(
  encryption: { passphrase: boolean } | null,
  opts: { decryptPassphraseFile?: string; identity?: string },
): Promise<{ passphrase?: string; identities?: string[] }> {
  const keys: { passphrase?: string; identities?: string[] } = {};
  if (opts.identity) keys.identities = await identitiesFromFile(opts.identity);
  if (opts.decryptPassphraseFile) keys.passphrase = await passphraseFromFile(opts.decryptPassphraseFile);
  else if (process.env.STOWAGE_PASSPHRASE) keys.passphrase = process.env.STOWAGE_PASSPHRASE;
  else if (encryption?.passphrase && !keys.identities && canPrompt()) {
    keys.passphrase = (await prompt("Passphrase of the backup: ")) || undefined;
  }
  return keys;
}

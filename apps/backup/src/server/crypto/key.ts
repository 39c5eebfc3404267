/**
 * @module server/crypto/key
 * Where the secret key comes from: `STOWAGE_SECRET_KEY` (32 bytes, base64), else `<data dir>/secret.key`
 * (created 0600 on the very first start). The metadata database keeps a check value encrypted under
 * the key; a key that does not open it, or a missing key for a database that has one, stops the
 * server with a message naming the variable and the file. A new key file is only ever created for a
 * database that has never held a secret, so a lost key can never be silently replaced.
 */
import { randomBytes } from "node:crypto";
import { chmod, readFile, stat, writeFile } from "node:fs/promises";
import type { MetadataStore } from "../db/store.ts";
import { ServerError } from "../errors.ts";
import { KEY_BYTES, SecretBox } from "./secret-box.ts";

export const KEY_FILE_NAME = "secret.key";
const CHECK_SETTING = "secret_key_check";
const CHECK_PLAIN = "stowage secret key check v1";

function parseKey(text: string, source: string): Buffer {
  const key = Buffer.from(text.trim(), "base64");
  if (key.length !== KEY_BYTES || !/^[A-Za-z0-9+/=_-]+$/.test(text.trim())) {
    throw new ServerError(
      "SECRET_KEY",
      `${source} must be ${KEY_BYTES} random bytes in base64 (e.g. the output of \`openssl rand -base64 32\`); it decodes to ${key.length} bytes`,
    );
  }
  return key;
}

export interface LoadedKey {
  readonly box: SecretBox;
  /** Where the key came from, for the start-up log line (never the key). */
  readonly source: string;
  readonly created: boolean;
}

export async function loadSecretKey(options: {
  envKey: string | undefined;
  keyFile: string;
  store: MetadataStore;
}): Promise<LoadedKey> {
  const check = await options.store.settings.get(CHECK_SETTING);
  let key: Buffer;
  let source: string;
  let created = false;
  if (options.envKey) {
    key = parseKey(options.envKey, "STOWAGE_SECRET_KEY");
    source = "STOWAGE_SECRET_KEY";
  } else {
    let text: string | undefined;
    try {
      text = await readFile(options.keyFile, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") {
        throw new ServerError("SECRET_KEY", `cannot read the secret key file ${options.keyFile}: ${(error as Error).message}`);
      }
    }
    if (text === undefined) {
      if (check) {
        throw new ServerError(
          "SECRET_KEY",
          `the secret key is missing: the metadata database holds encrypted secrets, but STOWAGE_SECRET_KEY is not set and ${options.keyFile} does not exist; set STOWAGE_SECRET_KEY or restore the key file`,
        );
      }
      key = randomBytes(KEY_BYTES);
      await writeFile(options.keyFile, `${key.toString("base64")}\n`, { mode: 0o600, flag: "wx" });
      created = true;
    } else {
      key = parseKey(text, `the secret key file ${options.keyFile}`);
      const mode = (await stat(options.keyFile)).mode & 0o777;
      if (mode & 0o077) await chmod(options.keyFile, 0o600);
    }
    source = options.keyFile;
  }
  const box = new SecretBox(key);
  if (check) {
    try {
      if (box.decrypt(check, CHECK_SETTING) !== CHECK_PLAIN) throw new Error("mismatch");
    } catch {
      throw new ServerError(
        "SECRET_KEY",
        `the secret key does not match the metadata database: ${source === "STOWAGE_SECRET_KEY" ? "STOWAGE_SECRET_KEY" : `the key file ${source}`} is not the key this database was created with (set STOWAGE_SECRET_KEY or ${options.keyFile} to the original key)`,
      );
    }
  } else {
    await options.store.settings.set(CHECK_SETTING, box.encrypt(CHECK_PLAIN, CHECK_SETTING));
  }
  return { box, source, created };
}

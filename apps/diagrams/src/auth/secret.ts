/**
 * @module auth/secret
 * The HS256 signing secret of the standalone mode. When neither JWT_SECRET nor JWKS_URL is configured,
 * a random secret is generated once and kept in `<dataDir>/jwt-secret` (mode 0600) so tokens survive a
 * restart. Created with O_EXCL so two processes starting together agree on one secret.
 */
import { randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";

export const SECRET_FILE_NAME = "jwt-secret";

export async function loadOrCreateSecret(dataDir: string): Promise<{ secret: string; created: boolean; file: string }> {
  const file = path.join(dataDir, SECRET_FILE_NAME);
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  try {
    await writeFile(file, randomBytes(48).toString("base64url"), { flag: "wx", mode: 0o600 });
    return { secret: (await readFile(file, "utf8")).trim(), created: true, file };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
  const secret = (await readFile(file, "utf8")).trim();
  if (secret.length < 32) {
    throw new Error(`${file} holds a secret shorter than 32 characters; delete it to generate a new one`);
  }
  return { secret, created: false, file };
}

/**
 * @module objects/signing
 * Signed URLs of the private bucket: `?exp=<unix seconds>&sig=<hex HMAC-SHA256(key, path "\n" exp)>`.
 * The key is `OBJECT_SIGNING_KEY`, or one generated once into `<dataDir>/object-signing-key` (mode
 * 0600, created with O_EXCL so processes starting together agree). Checked in constant time.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";

export const SIGNING_KEY_FILE = "object-signing-key";

export async function loadOrCreateSigningKey(dataDir: string): Promise<string> {
  const file = path.join(dataDir, SIGNING_KEY_FILE);
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  try {
    await writeFile(file, randomBytes(32).toString("hex"), { flag: "wx", mode: 0o600 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
  const key = (await readFile(file, "utf8")).trim();
  if (key.length < 32) throw new Error(`${file} holds a key shorter than 32 characters; delete it to generate a new one`);
  return key;
}

export type SignatureCheck = "ok" | "expired" | "invalid";

export class UrlSigner {
  private readonly key: Buffer;

  constructor(
    key: string,
    readonly defaultTtlSeconds = 3600,
    private readonly now: () => number = Date.now,
  ) {
    this.key = Buffer.from(key, "utf8");
  }

  private mac(objectPath: string, exp: number): Buffer {
    return createHmac("sha256", this.key).update(`${objectPath}\n${exp}`).digest();
  }

  /** `{ exp, sig }` for `objectPath` (the key inside the private bucket), valid `ttlSeconds`. */
  sign(objectPath: string, ttlSeconds = this.defaultTtlSeconds): { exp: number; sig: string } {
    const exp = Math.floor(this.now() / 1000) + ttlSeconds;
    return { exp, sig: this.mac(objectPath, exp).toString("hex") };
  }

  verify(objectPath: string, exp: string | undefined, sig: string | undefined): SignatureCheck {
    if (!exp || !sig || !/^\d{1,12}$/.test(exp) || !/^[0-9a-f]{64}$/i.test(sig)) return "invalid";
    const expected = this.mac(objectPath, Number(exp));
    // Constant-time: compare the MACs whatever the expiry, then decide.
    const valid = timingSafeEqual(expected, Buffer.from(sig, "hex"));
    if (!valid) return "invalid";
    return Number(exp) * 1000 < this.now() ? "expired" : "ok";
  }
}

/**
 * @module server/crypto/secret-box
 * Secrets at rest: AES-256-GCM with a fresh random 96-bit nonce per encryption. An envelope is
 * `v1.<nonce b64url>.<ciphertext b64url>.<tag b64url>`; the 128-bit tag makes a wrong key or a
 * tampered value fail loudly instead of decrypting to garbage. `aad` binds a value to its place
 * (e.g. `destination:<id>:config`) so an envelope copied into another row does not decrypt.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";

const VERSION = "v1";
export const KEY_BYTES = 32;

export class SecretBox {
  readonly #key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== KEY_BYTES) throw new Error(`the secret key must be ${KEY_BYTES} bytes, got ${key.length}`);
    this.#key = Buffer.from(key);
  }

  encrypt(plain: string, aad = ""): string {
    const nonce = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.#key, nonce);
    cipher.setAAD(Buffer.from(aad, "utf8"));
    const body = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()]);
    return [VERSION, nonce.toString("base64url"), body.toString("base64url"), cipher.getAuthTag().toString("base64url")].join(
      ".",
    );
  }

  /** Throws when the key is wrong or the envelope was changed. */
  decrypt(envelope: string, aad = ""): string {
    const [version, nonce, body, tag] = envelope.split(".");
    if (version !== VERSION || !nonce || body === undefined || !tag) throw new Error("not a Stowage secret envelope");
    const decipher = createDecipheriv("aes-256-gcm", this.#key, Buffer.from(nonce, "base64url"));
    decipher.setAAD(Buffer.from(aad, "utf8"));
    decipher.setAuthTag(Buffer.from(tag, "base64url"));
    return Buffer.concat([decipher.update(Buffer.from(body, "base64url")), decipher.final()]).toString("utf8");
  }

  encryptJson(value: unknown, aad = ""): string {
    return this.encrypt(JSON.stringify(value), aad);
  }

  decryptJson<T>(envelope: string, aad = ""): T {
    return JSON.parse(this.decrypt(envelope, aad)) as T;
  }
}

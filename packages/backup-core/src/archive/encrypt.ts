/**
 * @module archive/encrypt
 * Encryption in the age format (age-encryption.org/v1) with the `age-encryption` package, so
 * `age -d` decrypts a backup without Stowage. The package encrypts a WHATWG ReadableStream chunk by
 * chunk (64 KiB STREAM chunks), so a file is never held whole: we bridge Node's async iterables to
 * it with `ReadableStream.from` (pull-driven, so backpressure holds) and iterate its output.
 * Keys come from the caller; only public recipients reach the manifest.
 */
import { Encrypter } from "age-encryption";
import { BackupError } from "../errors.ts";
import type { Stage } from "./compress.ts";

export type EncryptionOptions =
  | {
      /** Passphrase for age's scrypt recipient. */
      readonly passphrase: string;
      /** log2 of scrypt's work factor; age's default is 18. Lower only for tests. */
      readonly scryptWorkFactor?: number;
    }
  | {
      /** X25519 (`age1…`) or other age recipients. */
      readonly recipients: readonly string[];
    };

export interface ManifestEncryption {
  readonly algorithm: "age";
  readonly recipients: string[];
  readonly passphrase: boolean;
}

/** Validates the options and builds the encrypter once; throws ENCRYPTION_FAILED before any dump. */
export function createEncryption(options: EncryptionOptions): { stage: Stage; manifest: ManifestEncryption } {
  const encrypter = new Encrypter();
  try {
    if ("passphrase" in options) {
      if (!options.passphrase) throw new Error("the passphrase is empty");
      encrypter.setPassphrase(options.passphrase);
      if (options.scryptWorkFactor !== undefined) encrypter.setScryptWorkFactor(options.scryptWorkFactor);
    } else {
      if (options.recipients.length === 0) throw new Error("no recipient given");
      for (const r of options.recipients) encrypter.addRecipient(r.trim());
    }
  } catch (error) {
    const secrets = "passphrase" in options ? [options.passphrase] : [];
    throw new BackupError("ENCRYPTION_FAILED", `cannot set up age encryption: ${(error as Error).message}`, {
      cause: error,
      secrets,
    });
  }
  const stage: Stage = async function* (source) {
    const input = ReadableStream.from(source) as ReadableStream<Uint8Array>;
    const output = await encrypter.encrypt(input);
    for await (const chunk of output as unknown as AsyncIterable<Uint8Array>) {
      yield Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    }
  };
  return {
    stage,
    manifest: {
      algorithm: "age",
      recipients: "recipients" in options ? options.recipients.map((r) => r.trim()) : [],
      passphrase: "passphrase" in options,
    },
  };
}

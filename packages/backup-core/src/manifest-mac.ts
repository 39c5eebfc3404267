/**
 * @module manifest-mac
 * Authenticates the manifest of a passphrase-encrypted backup. age encrypts each part, but
 * manifest.json is plain JSON: whoever can write to the bucket could set `encryption: null` and have
 * their own plain SQL restored. So a passphrase backup carries a MAC over its manifest, under a key
 * derived from the passphrase with scrypt (as costly as age's own, so the MAC is no cheaper an
 * oracle for guessing the passphrase than the encrypted parts already are), and restore/verify
 * refuse a manifest whose MAC is missing or wrong, and an unencrypted backup when a key was given.
 *
 * X25519 recipients cannot have this: anyone holding the public key can encrypt, so encryption to
 * recipients gives confidentiality, not authenticity (docs/FORMAT.md says what to do about it).
 */
import { createHmac, randomBytes, scrypt as scryptCallback, timingSafeEqual } from "node:crypto";
import { promisify } from "node:util";
import { BackupError } from "./errors.ts";
import type { BackupManifest, ManifestMac } from "./manifest.ts";

const scrypt = promisify(scryptCallback) as (
  password: string,
  salt: Buffer,
  keylen: number,
  options: { N: number; r: number; p: number; maxmem: number },
) => Promise<Buffer>;

/** age's default scrypt work factor (log2 N). */
export const DEFAULT_MAC_LOG_N = 18;
/** Bounds on the work factor a manifest may ask for: a tampered manifest must not make us spin. */
const MIN_LOG_N = 10;
const MAX_LOG_N = 22;
const DOMAIN = "stowage manifest mac v1";

/** The raw JSON a manifest was parsed from, so unknown (newer) fields are covered by the MAC too. */
const rawJson = new WeakMap<object, unknown>();

/** Remembers the JSON value a parsed manifest came from (catalog.readManifest calls this). */
export function rememberRawManifest(manifest: BackupManifest, json: unknown): void {
  rawJson.set(manifest, json);
}

/** JSON with object keys sorted at every level: the same bytes whatever order the writer used. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
}

async function deriveKey(passphrase: string, salt: Buffer, logN: number): Promise<Buffer> {
  const N = 2 ** logN;
  return scrypt(passphrase, Buffer.concat([Buffer.from(DOMAIN), salt]), 32, {
    N,
    r: 8,
    p: 1,
    maxmem: 128 * 8 * N + 64 * 1024 * 1024,
  });
}

const hmac = (key: Buffer, text: string) => createHmac("sha256", key).update(text).digest("hex");
const PASSPHRASE_CHECK = "passphrase check";

function signedText(manifest: object): string {
  const { mac: _mac, ...rest } = (rawJson.get(manifest) ?? manifest) as Record<string, unknown>;
  return canonicalJson(rest);
}

/** Returns the manifest with its `mac` set, for a backup encrypted with `passphrase`. */
export async function sealManifest(
  manifest: BackupManifest,
  passphrase: string,
  logN = DEFAULT_MAC_LOG_N,
): Promise<BackupManifest> {
  const salt = randomBytes(16);
  const key = await deriveKey(passphrase, salt, logN);
  const { mac: _old, ...unsigned } = manifest;
  const mac: ManifestMac = {
    algorithm: "hmac-sha256",
    kdf: "scrypt",
    logN,
    salt: salt.toString("base64"),
    check: hmac(key, PASSPHRASE_CHECK),
    value: hmac(key, canonicalJson(unsigned)),
  };
  return { ...unsigned, mac };
}

function equalHex(a: string, b: string): boolean {
  const x = Buffer.from(a, "hex");
  const y = Buffer.from(b, "hex");
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}

export interface SuppliedKeys {
  readonly passphrase?: string;
  readonly identities?: readonly string[];
}

/**
 * Refuses a manifest that cannot be trusted with the keys the user gave: a passphrase backup whose
 * MAC is missing or wrong, or an unencrypted backup when a key was given (someone may have replaced
 * an encrypted backup with plain SQL of their own). Throws KEY_REQUIRED for a passphrase backup
 * opened without one, DECRYPTION_FAILED for a wrong passphrase.
 */
export async function checkManifestTrust(manifest: BackupManifest, keys: SuppliedKeys = {}): Promise<void> {
  const keyGiven = !!keys.passphrase || !!keys.identities?.length;
  if (!manifest.encryption) {
    if (keyGiven) {
      throw new BackupError(
        "MANIFEST_UNTRUSTED",
        "this backup is NOT encrypted, but a key was given: an encrypted backup may have been replaced by someone else's plain SQL; " +
          "refusing it. If you made this backup without encryption and trust it, run again without the key (no --decrypt-passphrase-file, --identity or STOWAGE_PASSPHRASE)",
        { file: "manifest.json" },
      );
    }
    return;
  }
  if (!manifest.encryption.passphrase) return; // recipients only: no MAC is possible (see module doc)
  if (!manifest.mac) {
    throw new BackupError(
      "MANIFEST_UNTRUSTED",
      "manifest.json of this passphrase-encrypted backup has no MAC: it was altered (or written by a Stowage without manifest MACs); refusing it",
      { file: "manifest.json" },
    );
  }
  if (!keys.passphrase) {
    throw new BackupError(
      "KEY_REQUIRED",
      "this backup is encrypted with a passphrase: give --decrypt-passphrase-file FILE or set STOWAGE_PASSPHRASE",
    );
  }
  const mac = manifest.mac;
  if (mac.logN < MIN_LOG_N || mac.logN > MAX_LOG_N) {
    throw new BackupError("MANIFEST_UNTRUSTED", `manifest.json asks for an scrypt work factor of ${mac.logN}: refusing it`, {
      file: "manifest.json",
    });
  }
  const key = await deriveKey(keys.passphrase, Buffer.from(mac.salt, "base64"), mac.logN);
  if (!equalHex(hmac(key, PASSPHRASE_CHECK), mac.check)) {
    throw new BackupError(
      "DECRYPTION_FAILED",
      "the passphrase does not decrypt this backup (its manifest MAC key differs); check it and try again",
      {
        file: "manifest.json",
      },
    );
  }
  if (!equalHex(hmac(key, signedText(manifest)), mac.value)) {
    throw new BackupError(
      "MANIFEST_UNTRUSTED",
      "manifest.json does not match its MAC: it was altered after the backup was made; refusing it (restore another copy of the backup)",
      { file: "manifest.json" },
    );
  }
}

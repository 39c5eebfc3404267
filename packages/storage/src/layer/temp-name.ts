/**
 * @module layer/temp-name
 * Uploads in progress live under a hidden temporary name beside their target (a local temp file, a
 * WebDAV PUT before its MOVE, a Drive file before its rename). Listings never show them: the
 * destination layer filters every key with a segment carrying this prefix.
 */
import { randomBytes } from "node:crypto";

export const TEMP_PREFIX = ".stowage-partial-";

/** A fresh temporary name: the prefix and 16 random hex characters. */
export function tempName(): string {
  return `${TEMP_PREFIX}${randomBytes(8).toString("hex")}`;
}

/** True when any segment of `key` is a temporary name. */
export function isTempKey(key: string): boolean {
  return key.split("/").some((segment) => segment.startsWith(TEMP_PREFIX));
}

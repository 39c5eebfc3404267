/**
 * @module keys
 * Object keys are relative, `/`-separated paths. Validation happens once, here, so that no
 * provider can be tricked into writing outside its base path or prefix.
 */
import { StorageError } from "./errors.ts";

const MAX_KEY_LENGTH = 1024;

/**
 * Returns the key unchanged when it is safe, throws `INVALID_KEY` otherwise.
 * Refused: empty keys, absolute paths, backslashes, `.`/`..` segments, empty segments, control characters.
 */
export function validateKey(key: string, destination: string): string {
  const fail = (why: string) => new StorageError("INVALID_KEY", destination, `invalid object key ${JSON.stringify(key)}: ${why}`);
  if (typeof key !== "string" || key.length === 0) throw fail("the key is empty");
  if (key.length > MAX_KEY_LENGTH) throw fail(`longer than ${MAX_KEY_LENGTH} characters`);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what we refuse
  if (/[\u0000-\u001f\u007f]/.test(key)) throw fail("it contains control characters");
  if (key.includes("\\")) throw fail("use '/' as the separator, not '\\'");
  if (key.startsWith("/") || /^[a-zA-Z]:/.test(key))
    throw fail("absolute paths are not allowed; use a path relative to the destination");
  const segments = key.split("/");
  for (const segment of segments) {
    if (segment === "..") throw fail("'..' segments are not allowed");
    if (segment === ".") throw fail("'.' segments are not allowed");
    if (segment === "") throw fail("empty path segments ('//' or a trailing '/') are not allowed");
  }
  return key;
}

/**
 * Validates a listing prefix: like a key, but it may be empty and may end with `/`.
 */
export function validatePrefix(prefix: string | undefined, destination: string): string {
  if (prefix === undefined || prefix === "") return "";
  const trimmed = prefix.endsWith("/") ? prefix.slice(0, -1) : prefix;
  validateKey(trimmed, destination);
  return prefix;
}

/** Joins path parts with single slashes, dropping empty parts and edge slashes. */
export function joinPath(...parts: string[]): string {
  return parts
    .map((p) => p.replace(/^\/+|\/+$/g, ""))
    .filter((p) => p.length > 0)
    .join("/");
}

/**
 * Boundaries of `keys.ts` that keys.test.ts left open (issue 20, mutation testing): the edges of the
 * control-character range, the drive-letter check anchored at the start, and a prefix whose only
 * problem is its last character.
 */
import { describe, expect, it } from "vitest";
import { StorageError } from "../src/errors.ts";
import { joinPath, validateKey, validatePrefix } from "../src/keys.ts";

const DEST = "local:/srv/backups";

function code(run: () => unknown): string | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    return error instanceof StorageError ? error.code : `not a StorageError: ${String(error)}`;
  }
}

describe("keys: boundaries", () => {
  it("the control range ends at U+001F and includes U+007F only", () => {
    expect(code(() => validateKey("a\u001fb", DEST))).toBe("INVALID_KEY");
    expect(code(() => validateKey("\u0000", DEST))).toBe("INVALID_KEY");
    for (const ok of ["a b", "a~b", "a\u0080b", "a!b"]) expect(validateKey(ok, DEST)).toBe(ok);
  });

  it("a colon is refused only as a drive letter at the start", () => {
    for (const ok of ["db:1/x", "a/c:/x", "1:/x", "ab:c"]) expect(validateKey(ok, DEST)).toBe(ok);
    for (const bad of ["Z:x", "z:/x"]) expect(code(() => validateKey(bad, DEST))).toBe("INVALID_KEY");
  });

  it("the message quotes the key and names the destination", () => {
    try {
      validateKey("a//b", DEST);
      expect.unreachable();
    } catch (error) {
      expect((error as Error).message).toBe(
        `${DEST}: invalid object key "a//b": empty path segments ('//' or a trailing '/') are not allowed`,
      );
    }
  });

  it("an empty key is named as such, not as an empty segment", () => {
    expect(() => validateKey("", DEST)).toThrow(`${DEST}: invalid object key "": the key is empty`);
  });

  it("a prefix is checked up to its last character", () => {
    expect(code(() => validatePrefix("db\u0000", DEST))).toBe("INVALID_KEY");
    expect(code(() => validatePrefix("db/..", DEST))).toBe("INVALID_KEY");
    expect(code(() => validatePrefix("db//", DEST))).toBe("INVALID_KEY");
    expect(validatePrefix("db/x", DEST)).toBe("db/x");
  });

  it("joinPath keeps inner slashes and strips every edge slash", () => {
    expect(joinPath("///a/b///")).toBe("a/b");
    expect(joinPath("a", "", "b")).toBe("a/b");
  });
});

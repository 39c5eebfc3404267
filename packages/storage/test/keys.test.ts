import { describe, expect, it } from "vitest";
import { StorageError } from "../src/errors.ts";
import { joinPath, validateKey, validatePrefix } from "../src/keys.ts";

const DEST = "s3://bucket/prefix";

function refusal(run: () => unknown): StorageError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(StorageError);
    expect((error as StorageError).code).toBe("INVALID_KEY");
    expect((error as StorageError).destination).toBe(DEST);
    return error as StorageError;
  }
  throw new Error("expected INVALID_KEY, got success");
}

describe("validateKey", () => {
  it("accepts relative keys, including dots inside names and unicode", () => {
    for (const key of ["a", "db/2024/05/backup.dump.gz", "..hidden", "a..b/c", ".env", "résumé/日本.bin", "x".repeat(1024)]) {
      expect(validateKey(key, DEST)).toBe(key);
    }
  });

  it.each([
    ["", "empty"],
    ["x".repeat(1025), "longer than 1024"],
    ["/etc/passwd", "absolute"],
    ["C:/Windows", "absolute"],
    ["c:evil", "absolute"],
    ["a\\b", "'/' as the separator"],
    ["..", "'..'"],
    ["../escape", "'..'"],
    ["a/../../escape", "'..'"],
    ["a/..", "'..'"],
    ["./a", "'.'"],
    ["a/./b", "'.'"],
    ["a//b", "empty path segments"],
    ["trailing/", "empty path segments"],
    ["nul\u0000byte", "control characters"],
    ["new\nline", "control characters"],
    ["del\u007f", "control characters"],
  ])("refuses %j (%s)", (key, why) => {
    const error = refusal(() => validateKey(key, DEST));
    expect(error.message).toContain(why);
    expect(error.message.startsWith(`${DEST}: invalid object key`)).toBe(true);
  });

  it("refuses non-strings at runtime (untyped callers)", () => {
    refusal(() => validateKey(undefined as unknown as string, DEST));
  });
});

describe("validatePrefix", () => {
  it("accepts empty, folder-style and partial-name prefixes unchanged", () => {
    expect(validatePrefix(undefined, DEST)).toBe("");
    expect(validatePrefix("", DEST)).toBe("");
    expect(validatePrefix("db/", DEST)).toBe("db/");
    expect(validatePrefix("db/2024/bac", DEST)).toBe("db/2024/bac");
  });

  it("refuses prefixes that would escape", () => {
    for (const prefix of ["../", "/abs/", "a//", "a/../b/", "/"]) refusal(() => validatePrefix(prefix, DEST));
  });
});

describe("joinPath", () => {
  it("joins with single slashes and drops empty parts and edge slashes", () => {
    expect(joinPath("prefix", "a/b.txt")).toBe("prefix/a/b.txt");
    expect(joinPath("/prefix/", "/a/", "b.txt")).toBe("prefix/a/b.txt");
    expect(joinPath("", "a")).toBe("a");
    expect(joinPath("//", "", "/")).toBe("");
    expect(joinPath("a//", "//b")).toBe("a/b");
  });
});

import { describe, expect, it } from "vitest";
import { isAbortError, isNetworkError, redact, STORAGE_ERROR_CODES, StorageError } from "../src/errors.ts";

describe("StorageError", () => {
  it("carries a code and the destination, and prefixes the message with it", () => {
    const cause = new Error("ECONNREFUSED");
    const error = new StorageError("UNREACHABLE", "s3://bucket", "cannot connect to http://127.0.0.1:1", { cause });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe("StorageError");
    expect(error.code).toBe("UNREACHABLE");
    expect(error.destination).toBe("s3://bucket");
    expect(error.message).toBe("s3://bucket: cannot connect to http://127.0.0.1:1");
    expect(error.cause).toBe(cause);
    expect(StorageError.is(error)).toBe(true);
    expect(StorageError.is(error, "UNREACHABLE")).toBe(true);
    expect(StorageError.is(error, "AUTH")).toBe(false);
    expect(StorageError.is(new Error("x"))).toBe(false);
  });

  it("has the codes the spec names", () => {
    for (const code of ["AUTH", "NOT_FOUND", "UNREACHABLE", "INVALID_CONFIG", "QUOTA_EXCEEDED", "CONFLICT", "INTERRUPTED"]) {
      expect(STORAGE_ERROR_CODES).toContain(code);
    }
  });
});

describe("redact", () => {
  it("replaces every occurrence of each secret", () => {
    expect(redact("key=s3cr3t&again=s3cr3t", ["s3cr3t"])).toBe("key=***&again=***");
    expect(redact("a=one b=two", ["one", "two"])).toBe("a=*** b=***");
  });

  it("ignores missing and too-short secrets (which would shred ordinary text)", () => {
    expect(redact("a b c", [undefined, null, "", "a", "ab"])).toBe("a b c");
    expect(redact("abc", ["abc"])).toBe("***");
  });

  it("treats secrets literally, not as patterns", () => {
    expect(redact("p.a+s$s and pXass", ["p.a+s$s"])).toBe("*** and pXass");
  });

  it("hides user:password@ in any URL even when the password is not known", () => {
    expect(redact("PUT https://bob:hunter2@dav.example.com/x failed", [])).toBe("PUT https://bob:***@dav.example.com/x failed");
    expect(redact("webdav+http://u:p%40ss@h:8080/ and postgresql://pg:pw@db/app", [])).toBe(
      "webdav+http://u:***@h:8080/ and postgresql://pg:***@db/app",
    );
    // A user without a password, and a port, are left alone.
    expect(redact("https://bob@host:8443/x", [])).toBe("https://bob@host:8443/x");
  });
});

describe("isNetworkError / isAbortError", () => {
  it("recognises network failures, also nested in causes", () => {
    expect(isNetworkError(Object.assign(new Error("x"), { code: "ECONNREFUSED" }))).toBe(true);
    expect(isNetworkError(new Error("fetch failed", { cause: Object.assign(new Error("y"), { code: "UND_ERR_SOCKET" }) }))).toBe(
      true,
    );
    expect(isNetworkError(Object.assign(new Error("t"), { name: "TimeoutError" }))).toBe(true);
    expect(isNetworkError(Object.assign(new Error("x"), { code: "EACCES" }))).toBe(false);
    expect(isNetworkError(undefined)).toBe(false);
  });

  it("recognises aborts", () => {
    const controller = new AbortController();
    controller.abort();
    expect(isAbortError(controller.signal.reason)).toBe(true);
    expect(isAbortError(Object.assign(new Error("x"), { code: "ABORT_ERR" }))).toBe(true);
    expect(isAbortError(new Error("other"))).toBe(false);
    expect(isAbortError(null)).toBe(false);
  });
});

/**
 * `layer/retry.ts` without a server (issue 20, mutation testing): a fake clock (Vitest's timers) and a
 * pinned `Math.random` fix every delay, so each test can say exactly when the next attempt starts.
 * layer.test.ts covers the policy from the destination layer's side; these pin the boundaries it
 * leaves open: the jitter arithmetic, the abort paths of `sleep`, Retry-After, attempt numbers, and
 * the network-error classifier the providers use (before only exercised against real servers).
 */
import { getEventListeners } from "node:events";
import { Readable } from "node:stream";
import { text } from "node:stream/consumers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { STORAGE_ERROR_CODES, StorageError } from "../src/errors.ts";
import {
  backoffDelay,
  DEFAULT_RETRY_POLICY,
  isTransientNetworkError,
  isTransientStatus,
  retry,
  sleep,
} from "../src/layer/retry.ts";

/** What the destination layer asks of an error before retrying it. */
const layerClassifier = (error: unknown) => error instanceof StorageError && error.transient;

/** Settles `promise` into a value the test can look at later without an unhandled rejection. */
function track<T>(promise: Promise<T>): {
  readonly state: () => "pending" | "resolved" | "rejected";
  readonly reason: () => unknown;
} {
  let state: "pending" | "resolved" | "rejected" = "pending";
  let reason: unknown;
  promise.then(
    () => {
      state = "resolved";
    },
    (error: unknown) => {
      state = "rejected";
      reason = error;
    },
  );
  return { state: () => state, reason: () => reason };
}

describe("backoffDelay: exact jitter", () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it("is half the ceiling when Math.random() is 0 and the whole ceiling as it nears 1", () => {
    const p = { maxRetries: 10, baseDelayMs: 100, maxDelayMs: 1000 };
    const random = vi.spyOn(Math, "random");
    random.mockReturnValue(0);
    expect([0, 1, 2, 3, 4].map((a) => backoffDelay(a, p))).toEqual([50, 100, 200, 400, 500]);
    random.mockReturnValue(0.999_999);
    expect([0, 1, 2, 3, 4].map((a) => backoffDelay(a, p))).toEqual([100, 200, 400, 800, 1000]);
    // In between: half the ceiling plus random × half, rounded (100 × 2 = 200 → 100 + 0.3 × 100).
    random.mockReturnValue(0.3);
    expect(backoffDelay(1, p)).toBe(130);
    expect(backoffDelay(0, { ...p, baseDelayMs: 7 })).toBe(5); // 3.5 + 1.05 = 4.55 → 5
  });

  it("uses a Retry-After of 0 as is, and ignores the jitter then", () => {
    vi.spyOn(Math, "random").mockReturnValue(0.5);
    const p = { maxRetries: 1, baseDelayMs: 100, maxDelayMs: 1000 };
    expect(backoffDelay(3, p, 0)).toBe(0);
    expect(backoffDelay(3, p, 1000)).toBe(1000);
    expect(backoffDelay(3, p, 1001)).toBe(1000);
  });

  it("defaults to 4 retries from a quarter second, never more than 16 s at a time", () => {
    expect(DEFAULT_RETRY_POLICY).toEqual({ maxRetries: 4, baseDelayMs: 250, maxDelayMs: 16_000 });
  });
});

describe("sleep", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("resolves after exactly `ms` without a signal", async () => {
    const slept = track(sleep(1000));
    await vi.advanceTimersByTimeAsync(999);
    expect(slept.state()).toBe("pending");
    await vi.advanceTimersByTimeAsync(1);
    expect(slept.state()).toBe("resolved");
  });

  it("rejects at once with the reason of a signal that fired before, and sets no timer", async () => {
    const reason = new Error("stopped before");
    const slept = track(sleep(10_000, AbortSignal.abort(reason)));
    await vi.advanceTimersByTimeAsync(0);
    expect(slept.state()).toBe("rejected");
    expect(slept.reason()).toBe(reason);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("rejects with the reason as soon as the signal fires, clears its timer and its listener", async () => {
    const controller = new AbortController();
    const slept = track(sleep(10_000, controller.signal));
    await vi.advanceTimersByTimeAsync(10);
    expect(getEventListeners(controller.signal, "abort")).toHaveLength(1);
    const reason = new Error("stopped during");
    controller.abort(reason);
    await vi.advanceTimersByTimeAsync(0);
    expect(slept.state()).toBe("rejected");
    expect(slept.reason()).toBe(reason);
    expect(vi.getTimerCount()).toBe(0);
    // The listener was added with { once: true }: nothing stays on a long-lived signal.
    expect(getEventListeners(controller.signal, "abort")).toHaveLength(0);
  });

  it("removes its abort listener when it resolves (a signal shared by many waits does not collect them)", async () => {
    const controller = new AbortController();
    const slept = track(sleep(5, controller.signal));
    await vi.advanceTimersByTimeAsync(5);
    expect(slept.state()).toBe("resolved");
    expect(getEventListeners(controller.signal, "abort")).toHaveLength(0);
  });
});

describe("retry with a fake clock", () => {
  const policy = { maxRetries: 3, baseDelayMs: 100, maxDelayMs: 250 };

  beforeEach(() => {
    vi.useFakeTimers();
    // Jitter pinned to its lower end: the delays are 50, 100, 125 ms (ceilings 100, 200, 250).
    vi.spyOn(Math, "random").mockReturnValue(0);
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  it("passes attempt numbers 0, 1, 2 … and waits the backoff delay before each retry", async () => {
    const seen: number[] = [];
    const run = track(
      retry(
        async (n) => {
          seen.push(n);
          if (n < 3) throw new StorageError("UNREACHABLE", "d", "HTTP 503", { transient: true });
          return "done";
        },
        { policy, isTransient: layerClassifier },
      ),
    );
    await vi.advanceTimersByTimeAsync(0);
    expect(seen).toEqual([0]);
    await vi.advanceTimersByTimeAsync(49);
    expect(seen).toEqual([0]);
    await vi.advanceTimersByTimeAsync(1);
    expect(seen).toEqual([0, 1]);
    await vi.advanceTimersByTimeAsync(99);
    expect(seen).toEqual([0, 1]);
    await vi.advanceTimersByTimeAsync(1);
    expect(seen).toEqual([0, 1, 2]);
    await vi.advanceTimersByTimeAsync(124);
    expect(seen).toEqual([0, 1, 2]);
    await vi.advanceTimersByTimeAsync(1);
    expect(seen).toEqual([0, 1, 2, 3]);
    expect(run.state()).toBe("resolved");
  });

  it("waits what the server asked (Retry-After) instead of the backoff, per error", async () => {
    const asked: unknown[] = [];
    const errors = [new Error("slow down 700"), new Error("slow down 0")];
    let calls = 0;
    const run = track(
      retry(
        async (n) => {
          calls++;
          if (n < 2) throw errors[n];
          return "ok";
        },
        {
          policy: { maxRetries: 5, baseDelayMs: 10, maxDelayMs: 1000 },
          isTransient: () => true,
          retryAfterMs: (error) => {
            asked.push(error);
            return error === errors[0] ? 700 : 0;
          },
        },
      ),
    );
    await vi.advanceTimersByTimeAsync(699);
    expect(calls).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toBe(2);
    // The second wait is 0 ms (a timer fires one tick later); the backoff would be 10 ms.
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toBe(3);
    expect(asked).toEqual(errors);
    expect(run.state()).toBe("resolved");
  });

  it("maxRetries 0 makes one attempt only", async () => {
    let calls = 0;
    const error = new StorageError("UNREACHABLE", "d", "HTTP 503", { transient: true });
    const run = retry(
      async () => {
        calls++;
        throw error;
      },
      { policy: { ...policy, maxRetries: 0 }, isTransient: layerClassifier },
    );
    await expect(run).rejects.toBe(error);
    expect(calls).toBe(1);
  });

  it("for every StorageError code: transient is tried 1 + maxRetries times, permanent once, and the last error is thrown", async () => {
    for (const code of STORAGE_ERROR_CODES) {
      for (const transient of [true, false]) {
        const thrown: StorageError[] = [];
        const run = track(
          retry(
            async (n) => {
              const error = new StorageError(code, "d", `attempt ${n}`, { transient });
              thrown.push(error);
              throw error;
            },
            { policy, isTransient: layerClassifier },
          ),
        );
        await vi.advanceTimersByTimeAsync(1000);
        expect(run.state(), `${code} transient=${transient}`).toBe("rejected");
        expect(thrown).toHaveLength(transient ? 4 : 1);
        expect(run.reason()).toBe(thrown.at(-1));
      }
    }
  });

  it("a plain Error the classifier does not know is permanent", async () => {
    let calls = 0;
    const run = retry(
      async () => {
        calls++;
        throw Object.assign(new Error("socket hang up"), { status: 503 });
      },
      { policy, isTransient: layerClassifier },
    );
    await expect(run).rejects.toThrow("socket hang up");
    expect(calls).toBe(1);
  });

  it("stops waiting when the signal fires during the backoff, with the attempt's error, not the abort reason", async () => {
    const controller = new AbortController();
    const error = new StorageError("UNREACHABLE", "d", "HTTP 503", { transient: true });
    let calls = 0;
    const run = track(
      retry(
        async () => {
          calls++;
          throw error;
        },
        { policy, isTransient: layerClassifier, signal: controller.signal },
      ),
    );
    await vi.advanceTimersByTimeAsync(20);
    expect(run.state()).toBe("pending");
    controller.abort(new Error("user cancelled"));
    await vi.advanceTimersByTimeAsync(0);
    expect(run.state()).toBe("rejected");
    expect(run.reason()).toBe(error);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(calls).toBe(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("after an abort, neither classifies the error nor asks for a Retry-After", async () => {
    const controller = new AbortController();
    const isTransient = vi.fn(() => true);
    const retryAfterMs = vi.fn(() => 5);
    const error = new Error("interrupted");
    const run = retry(
      async () => {
        controller.abort();
        throw error;
      },
      { policy, isTransient, retryAfterMs, signal: controller.signal },
    );
    await expect(run).rejects.toBe(error);
    expect(isTransient).not.toHaveBeenCalled();
    expect(retryAfterMs).not.toHaveBeenCalled();
  });

  it("rebuilds the body for every attempt: each one reads the whole payload from the start", async () => {
    const payload = "part 7 of a spooled upload";
    const received: string[] = [];
    const run = track(
      retry(
        async (n) => {
          // A fresh stream per attempt, as providers do from a spool file or a buffered chunk.
          const body = Readable.from([Buffer.from(payload)]);
          received.push(await text(body));
          if (n < 2) throw new StorageError("UNREACHABLE", "d", "connection reset", { transient: true });
          return received.length;
        },
        { policy, isTransient: layerClassifier },
      ),
    );
    await vi.advanceTimersByTimeAsync(1000);
    expect(run.state()).toBe("resolved");
    expect(received).toEqual([payload, payload, payload]);
  });
});

describe("isTransientStatus", () => {
  it("draws the 5xx range at exactly 500 and 599", () => {
    expect([407, 409, 424, 426, 428, 430, 499, 500, 599, 600].map(isTransientStatus)).toEqual([
      false,
      false,
      false,
      false,
      false,
      false,
      false,
      true,
      true,
      false,
    ]);
  });
});

describe("isTransientNetworkError", () => {
  const coded = (code: string, cause?: unknown) => Object.assign(new Error(`failed: ${code}`), { code, cause });

  it("calls a broken connection transient, a refused or unknown host permanent", () => {
    for (const code of ["ECONNRESET", "EPIPE", "ETIMEDOUT", "UND_ERR_SOCKET", "ECONNABORTED"]) {
      expect(isTransientNetworkError(coded(code)), code).toBe(true);
      expect(isTransientNetworkError({ errno: code }), `errno ${code}`).toBe(true);
    }
    for (const code of ["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EACCES", "econnreset", ""]) {
      expect(isTransientNetworkError(coded(code)), code).toBe(false);
      expect(isTransientNetworkError({ errno: code }), `errno ${code}`).toBe(false);
    }
  });

  it("recognises 'socket hang up' in any case, and only in a string message", () => {
    expect(isTransientNetworkError(new Error("socket hang up"))).toBe(true);
    expect(isTransientNetworkError(new Error("request failed: Socket Hang Up while sending"))).toBe(true);
    expect(isTransientNetworkError(new Error("socket closed"))).toBe(false);
    expect(isTransientNetworkError({ message: { toString: () => "socket hang up" } })).toBe(false);
  });

  it("follows the cause chain to the fifth error, not further", () => {
    let chain: unknown = coded("ECONNRESET");
    for (let i = 0; i < 4; i++) chain = new Error(`wrapper ${i}`, { cause: chain });
    expect(isTransientNetworkError(chain)).toBe(true); // depth 4
    expect(isTransientNetworkError(new Error("wrapper 5", { cause: chain }))).toBe(false); // depth 5
  });

  it("ends on errors without a cause, on nothing, and on a cause that points back to itself", () => {
    expect(isTransientNetworkError(new Error("plain"))).toBe(false);
    expect(isTransientNetworkError(undefined)).toBe(false);
    expect(isTransientNetworkError(null)).toBe(false);
    const cyclic = new Error("loop") as Error & { cause?: unknown };
    cyclic.cause = cyclic;
    expect(isTransientNetworkError(cyclic)).toBe(false);
  });
});

/**
 * The destination layer and its retry policy, with a scripted driver: what every provider gets from
 * the layer, independent of any server.
 */
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import type { StorageObjectInfo } from "../src/contract.ts";
import { StorageError } from "../src/errors.ts";
import { DelegatingDestination } from "../src/layer/delegating-destination.ts";
import { DestinationLayer } from "../src/layer/destination-layer.ts";
import type { StorageDriver } from "../src/layer/provider.ts";
import { backoffDelay, isTransientStatus, retry } from "../src/layer/retry.ts";
import { LocalMappedDestination } from "../src/providers/local-mapped/provider.ts";
import { s3Description } from "../src/providers/s3/description.ts";

const policy = { maxRetries: 3, baseDelayMs: 1, maxDelayMs: 4 };
const info = (key: string): StorageObjectInfo => ({ key, size: 1, modifiedAt: new Date(0) });

/** A driver whose calls follow a script; counts calls. */
function scriptedDriver(overrides: Partial<StorageDriver>): StorageDriver & { calls: string[] } {
  const calls: string[] = [];
  const fail = async () => {
    throw new Error("not scripted");
  };
  const driver = {
    calls,
    upload: fail,
    download: fail,
    stat: fail,
    delete: fail,
    list: fail,
    checkConnection: async () => {},
    getAvailableSpace: async () => null,
    close: async () => {},
    ...overrides,
  } as StorageDriver & { calls: string[] };
  return driver;
}

const config = { bucket: "bkt", accessKeyId: "AKIA", secretAccessKey: "very-secret-value", endpoint: "http://127.0.0.1:9" };

function layerOver(driver: StorageDriver) {
  const description = { ...s3Description, retryPolicy: () => policy };
  return new DestinationLayer(description, () => driver, config);
}

describe("retry policy", () => {
  it("retries transient errors up to maxRetries, never permanent ones", async () => {
    let attempts = 0;
    const transient = Object.assign(new Error("busy"), { status: 503 });
    await expect(
      retry(
        async () => {
          attempts++;
          throw transient;
        },
        { policy, isTransient: () => true },
      ),
    ).rejects.toBe(transient);
    expect(attempts).toBe(4);

    attempts = 0;
    await expect(
      retry(
        async () => {
          attempts++;
          throw new Error("denied");
        },
        { policy, isTransient: () => false },
      ),
    ).rejects.toThrow("denied");
    expect(attempts).toBe(1);

    attempts = 0;
    expect(
      await retry(
        async (n) => {
          attempts++;
          if (n < 2) throw transient;
          return `ok after ${n}`;
        },
        { policy, isTransient: () => true },
      ),
    ).toBe("ok after 2");
    expect(attempts).toBe(3);
  });

  it("stops at once when the signal fires, with the last error", async () => {
    const controller = new AbortController();
    let attempts = 0;
    const error = new Error("busy");
    const run = retry(
      async () => {
        attempts++;
        controller.abort();
        throw error;
      },
      { policy: { ...policy, baseDelayMs: 10_000, maxDelayMs: 10_000 }, isTransient: () => true, signal: controller.signal },
    );
    await expect(run).rejects.toBe(error);
    expect(attempts).toBe(1);
  });

  it("backs off exponentially with jitter between half and all of a capped ceiling, or Retry-After", () => {
    const p = { maxRetries: 10, baseDelayMs: 100, maxDelayMs: 1000 };
    for (let attempt = 0; attempt < 8; attempt++) {
      const ceiling = Math.min(1000, 100 * 2 ** attempt);
      for (let i = 0; i < 50; i++) {
        const delay = backoffDelay(attempt, p);
        expect(delay).toBeGreaterThanOrEqual(ceiling / 2);
        expect(delay).toBeLessThanOrEqual(ceiling);
      }
    }
    expect(backoffDelay(0, p, 300)).toBe(300);
    expect(backoffDelay(0, p, 60_000)).toBe(1000);
    expect(backoffDelay(0, p, -5)).toBe(0);
  });

  it("calls 408, 425, 429 and 5xx transient, nothing else", () => {
    for (const status of [408, 425, 429, 500, 502, 503, 504, 599]) expect(isTransientStatus(status), String(status)).toBe(true);
    for (const status of [undefined, 200, 301, 400, 401, 403, 404, 409, 423, 499, 600]) {
      expect(isTransientStatus(status), String(status)).toBe(false);
    }
  });
});

describe("destination layer", () => {
  it("validates keys before the driver sees them, and refuses to start after an abort", async () => {
    const driver = scriptedDriver({});
    const d = layerOver(driver);
    await expect(d.stat("../x")).rejects.toMatchObject({ code: "INVALID_KEY" });
    const controller = new AbortController();
    controller.abort();
    await expect(d.upload(Readable.from([]), "a.bin", { signal: controller.signal })).rejects.toMatchObject({
      code: "INTERRUPTED",
      message: expect.stringContaining("aborted before it started"),
    });
  });

  it("retries only errors marked transient, for idempotent operations", async () => {
    let statCalls = 0;
    let deleteCalls = 0;
    const d = layerOver(
      scriptedDriver({
        stat: async (key) => {
          statCalls++;
          if (statCalls < 3) throw new StorageError("UNREACHABLE", "inner", "HTTP 503", { transient: true });
          return info(key);
        },
        delete: async () => {
          deleteCalls++;
          throw new StorageError("AUTH", "inner", "HTTP 403");
        },
      }),
    );
    expect((await d.stat("a.bin")).key).toBe("a.bin");
    expect(statCalls).toBe(3);
    await expect(d.delete("a.bin")).rejects.toMatchObject({ code: "AUTH" });
    expect(deleteCalls).toBe(1);
  });

  it("never retries an upload whole (drivers retry its replayable pieces)", async () => {
    let uploads = 0;
    const d = layerOver(
      scriptedDriver({
        upload: async () => {
          uploads++;
          throw new StorageError("UNREACHABLE", "inner", "HTTP 503", { transient: true });
        },
      }),
    );
    await expect(d.upload(Readable.from([Buffer.from("x")]), "a.bin")).rejects.toMatchObject({ code: "UNREACHABLE" });
    expect(uploads).toBe(1);
  });

  it("sorts listings by key, keeps only the prefix, hides temporary names", async () => {
    const d = layerOver(
      scriptedDriver({
        list: async () => [
          info("db/b.bin"),
          info("db/.stowage-partial-0123456789abcdef"),
          info("db/a.bin"),
          info("other/c.bin"),
          info("db/.stowage-partial-x/nested.bin"),
        ],
      }),
    );
    expect((await d.list("db/")).map((o) => o.key)).toEqual(["db/a.bin", "db/b.bin"]);
  });

  it("relabels every failure with its own name, redacts the config's secrets, and times the connection check", async () => {
    const d = layerOver(
      scriptedDriver({
        stat: async () => {
          throw new Error("server said: key very-secret-value is wrong");
        },
        checkConnection: async () => {
          throw new StorageError("AUTH", "some-inner-name", "refused very-secret-value");
        },
      }),
    );
    const error = await d.stat("a.bin").then(
      () => {
        throw new Error("stat should have failed");
      },
      (e: unknown) => e as StorageError,
    );
    expect(error).toBeInstanceOf(StorageError);
    expect(error.code).toBe("UNKNOWN");
    expect(error.destination).toBe("s3://bkt");
    expect(error.message).toBe("s3://bkt: stat of a.bin: server said: key *** is wrong");
    const check = await d.validateConnection();
    expect(check).toMatchObject({ ok: false, error: "s3://bkt: refused ***" });
    expect(check.latencyMs).toBeGreaterThanOrEqual(0);
  });

  it("says 'not configured' before configure(), and keeps the old config when a new one is refused", async () => {
    const empty = new LocalMappedDestination();
    expect(empty.name).toBe("local_mapped (not configured)");
    await expect(empty.list("")).rejects.toMatchObject({
      code: "INVALID_CONFIG",
      message: expect.stringContaining("not configured"),
    });
    const d = new LocalMappedDestination({ basePath: "/tmp/stowage-layer-test" });
    await expect(d.configure({ basePath: "relative" })).rejects.toMatchObject({ code: "INVALID_CONFIG" });
    expect(d.name).toBe("file:///tmp/stowage-layer-test");
  });
});

describe("delegating destination", () => {
  it("forwards every call and relabels the inner destination's errors with its own name", async () => {
    class Renamed extends DelegatingDestination {
      override get name() {
        return "renamed://x";
      }
    }
    const inner = layerOver(
      scriptedDriver({
        stat: async () => {
          throw new StorageError("NOT_FOUND", "inner", "a.bin: no such object");
        },
        list: async () => [info("k")],
      }),
    );
    const d = new Renamed(inner);
    expect(d.type).toBe("s3");
    expect(d.capabilities).toEqual(inner.capabilities);
    expect((await d.list()).map((o) => o.key)).toEqual(["k"]);
    await expect(d.stat("a.bin")).rejects.toMatchObject({
      code: "NOT_FOUND",
      destination: "renamed://x",
      message: "renamed://x: a.bin: no such object",
    });
  });
});

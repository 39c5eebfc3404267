import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ByteMeter } from "../src/stream/meter.ts";

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

describe("ByteMeter", () => {
  it("totals() waits for the input to end even when a consumer already took every byte", async () => {
    // A PUT with Content-Length returns once it has read its bytes: the meter's input may not have
    // ended yet (the flaky "sha256 read before the stream ended").
    const meter = new ByteMeter();
    const data = Buffer.from("every byte, read before the end");
    const taken: Buffer[] = [];
    meter.on("data", (chunk: Buffer) => taken.push(chunk));
    meter.write(data);
    await new Promise((resolve) => setImmediate(resolve));
    expect(Buffer.concat(taken)).toEqual(data);
    expect(() => meter.sha256).toThrow(/before the stream ended/);
    let settled = false;
    const totals = meter.totals().then((t) => {
      settled = true;
      return t;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(settled).toBe(false);
    meter.end();
    expect(await totals).toEqual({ bytes: data.length, sha256: sha(data) });
    expect(meter.sha256).toBe(sha(data));
  });

  it("totals() resolves at once after the end, and rejects when the meter is destroyed first", async () => {
    const done = new ByteMeter();
    done.resume();
    done.end(Buffer.from("x"));
    await new Promise((resolve) => done.once("finish", resolve));
    expect(await done.totals()).toEqual({ bytes: 1, sha256: sha(Buffer.from("x")) });

    const broken = new ByteMeter();
    broken.on("error", () => {});
    const totals = broken.totals();
    broken.destroy(new Error("source failed"));
    await expect(totals).rejects.toThrow("source failed");
  });
});

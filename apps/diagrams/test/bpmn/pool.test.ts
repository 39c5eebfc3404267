/**
 * The BPMN worker pool gives exactly the in-thread verdicts: real diagrams pass, malformed XML,
 * non-BPMN documents and duplicate ids get the same 422 message, oversized documents 413 before any
 * parse.
 */
import { readFile } from "node:fs/promises";
import { afterAll, describe, expect, it } from "vitest";
import { defaultDiagramXml } from "../../src/bpmn/default-diagram.ts";
import { createBpmnPool, INLINE_VALIDATION_MAX_BYTES, inThreadBpmn } from "../../src/bpmn/pool.ts";
import { generateLargeBpmn } from "../db/large-bpmn.ts";

const fixture = (name: string) => readFile(new URL(`../fixtures/${name}`, import.meta.url), "utf8");

const verdict = (p: Promise<void>) =>
  p.then(
    () => "ok",
    (e: { status: number; code: string; message: string }) => `${e.status} ${e.code} ${e.message}`,
  );

const inThreadValidator = inThreadBpmn();

describe("BPMN pool: validation", () => {
  // Every document on the worker, small ones included (they are validated in the calling thread by default).
  const pooled = createBpmnPool({ threads: 1, inlineMaxBytes: 0 });
  afterAll(async () => {
    await pooled.close();
  });

  it("agrees with the in-thread validator on good and bad documents", async () => {
    const small = await fixture("A.1.0.bpmn");
    const large = await fixture("C.8.0.bpmn");
    const duplicateIds = defaultDiagramXml().replace(
      '<bpmn:startEvent id="StartEvent_1" />',
      '<bpmn:startEvent id="StartEvent_1" /><bpmn:task id="StartEvent_1" />',
    );
    const documents = [small, large, "<definitions", '<?xml version="1.0"?><note xmlns="urn:x"><to>x</to></note>', duplicateIds];
    const expected = await Promise.all(documents.map((d) => verdict(inThreadValidator.validate(d, 5_000_000))));
    expect(expected.slice(0, 2)).toEqual(["ok", "ok"]);
    expect(expected[2]).toMatch(/^422 INVALID_BPMN invalid BPMN XML/);
    expect(expected[3]).toMatch(/^422 INVALID_BPMN not a BPMN 2.0 document/);
    expect(expected[4]).toMatch(/^422 INVALID_BPMN .*duplicate ID <StartEvent_1>/);
    expect(await Promise.all(documents.map((d) => verdict(pooled.validate(d, 5_000_000))))).toEqual(expected);
  });

  it("validates small documents in the calling thread: 16 concurrent saves pass a queue of 1", async () => {
    const pool = createBpmnPool({ threads: 1, maxQueue: 1 });
    try {
      const small = await fixture("A.1.0.bpmn");
      expect(Buffer.byteLength(small)).toBeLessThanOrEqual(INLINE_VALIDATION_MAX_BYTES);
      const outcomes = await Promise.all(Array.from({ length: 16 }, () => verdict(pool.validate(small, 5_000_000))));
      expect(outcomes).toEqual(Array(16).fill("ok"));
      // Same verdicts as on the worker for a bad small document.
      expect(await verdict(pool.validate("<definitions", 5_000_000))).toMatch(/^422 INVALID_BPMN invalid BPMN XML/);
    } finally {
      await pool.close();
    }
  });

  it("refuses an oversized document with 413", async () => {
    const small = await fixture("A.1.0.bpmn");
    expect(await verdict(pooled.validate(small, 1000))).toMatch(/^413 PAYLOAD_TOO_LARGE/);
  });

  it("a full queue refuses at once with 503 SERVER_BUSY and Retry-After; the pool keeps working", async () => {
    const pool = createBpmnPool({ threads: 1, maxQueue: 1 });
    try {
      await pool.validate(defaultDiagramXml(), 5_000_000); // thread started
      const large = generateLargeBpmn(2 * 1024 * 1024);
      const outcomes = await Promise.all(
        Array.from({ length: 4 }, () =>
          pool.validate(large, 5_000_000).then(
            () => "ok",
            (e: { status: number; code: string; headers: Record<string, string> }) =>
              `${e.status} ${e.code} ${e.headers["Retry-After"]}`,
          ),
        ),
      );
      // One runs, one waits, two are refused.
      expect(outcomes).toEqual(["ok", "ok", "503 SERVER_BUSY 2", "503 SERVER_BUSY 2"]);
      await expect(pool.validate(large, 5_000_000)).resolves.toBeUndefined();
    } finally {
      await pool.close();
    }
  });
});

/**
 * @module bpmn/validator
 * Where BPMN validation runs. Parsing with bpmn-moddle is synchronous CPU work (≈0.4 ms for a 7 KB
 * diagram, hundreds of ms for a multi-MB one): in the request thread it blocks every other request
 * for that long, and in the save benchmark it was the largest share of the single event loop's CPU.
 * The worker validator sends documents of WORKER_MIN_BYTES and more to a small piscina thread
 * pool, so the event loop keeps serving other requests while they are parsed. Smaller documents
 * (the usual case) are parsed in the request thread: below ~2 ms of parsing, the two extra
 * thread hand-offs cost more than they save (measured in bench/diagrams on 2 cores: p99 of 7 KB
 * saves 37 ms in-thread vs 54 ms through the pool, same throughput).
 * The in-thread validator alone is the fallback (VALIDATION_THREADS=0, tests, PGlite smoke runs).
 */
import { availableParallelism } from "node:os";
import { Piscina } from "piscina";
import { assertDiagramSize, byteLength, findBpmnProblem, invalidBpmn } from "./validate.ts";

export interface DiagramValidator {
  /** Throws ApiError 413 when `xml` is over `maxBytes`, 422 when it is not an acceptable BPMN document. */
  validate(xml: string, maxBytes: number): Promise<void>;
  close(): Promise<void>;
}

/** Parses in the calling thread. */
export const inThreadValidator: DiagramValidator = {
  async validate(xml, maxBytes) {
    assertDiagramSize(byteLength(xml), maxBytes);
    const problem = await findBpmnProblem(xml);
    if (problem) throw invalidBpmn(problem);
  },
  async close() {},
};

/** Documents from this size on are parsed in a worker thread (≈2 ms of parsing and more). */
export const WORKER_MIN_BYTES = 32 * 1024;

/** Default pool size: every core but one (which the event loop and the database need), 1 to 4. */
export function defaultValidationThreads(): number {
  return Math.max(1, Math.min(4, availableParallelism() - 1));
}

/**
 * Parses documents of `minBytes` and more on `threads` worker threads (started now, kept until
 * `close`), smaller ones in the calling thread.
 */
export function createWorkerValidator(threads: number, minBytes = WORKER_MIN_BYTES): DiagramValidator {
  const pool = new Piscina<string, string | null>({
    filename: new URL("./validation-worker.mjs", import.meta.url).href,
    minThreads: threads,
    maxThreads: threads,
    // Threads stay up: starting one (tsx + bpmn-moddle's type registry) costs far more than a parse.
    idleTimeout: Number.POSITIVE_INFINITY,
  });
  return {
    async validate(xml, maxBytes) {
      // The size check first, here: an oversized document is never copied to a worker.
      const bytes = byteLength(xml);
      assertDiagramSize(bytes, maxBytes);
      const problem = bytes >= minBytes ? await pool.run(xml) : await findBpmnProblem(xml);
      if (problem) throw invalidBpmn(problem);
    },
    close: () => pool.destroy(),
  };
}

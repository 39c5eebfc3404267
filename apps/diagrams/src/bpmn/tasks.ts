/**
 * @module bpmn/tasks
 * The CPU-heavy work on untrusted BPMN documents, as plain data in and out so it can run on a worker
 * thread (bpmn-worker.mjs) or, without a pool, in the calling thread: admission of a document
 * (element cap, then bpmn-moddle's parse and warnings) and the semantic diff of two versions.
 * Failures come back as `{ ok: false, status, code, message }` (class instances do not survive the
 * thread boundary); pool.ts turns them back into ApiErrors.
 */
import type { ApiErrorCode } from "../errors.ts";
import { type DiagramDiff, diffParsed } from "./diff.ts";
import { countElements } from "./element-count.ts";
import { parseOutcome } from "./validate.ts";

export type BpmnTask =
  | { readonly op: "validate"; readonly xml: string; readonly maxElements: number }
  | { readonly op: "diff"; readonly oldXml: string; readonly newXml: string; readonly maxElements: number };

export type TaskFailure = { ok: false; status: number; code: ApiErrorCode; message: string; maxElements?: number };
export type TaskOutcome<T> = { ok: true; value: T } | TaskFailure;

const tooMany = (maxElements: number): TaskFailure => ({
  ok: false,
  status: 422,
  code: "TOO_MANY_ELEMENTS",
  message: "",
  maxElements,
});

async function admit(xml: string, maxElements: number, purpose: "model" | "admission") {
  if (countElements(xml, maxElements) > maxElements) return tooMany(maxElements);
  const outcome = await parseOutcome(xml, purpose);
  if (!outcome.ok) return { ok: false, status: 422, code: "INVALID_BPMN", message: outcome.message } as const;
  return outcome;
}

export async function runTask(task: BpmnTask): Promise<TaskOutcome<null | DiagramDiff>> {
  if (task.op === "validate") {
    const outcome = await admit(task.xml, task.maxElements, "admission");
    return outcome.ok ? { ok: true, value: null } : outcome;
  }
  const a = await admit(task.oldXml, task.maxElements, "model");
  if (!a.ok) return a;
  const b = await admit(task.newXml, task.maxElements, "model");
  if (!b.ok) return b;
  return { ok: true, value: diffParsed(a.root, b.root) };
}

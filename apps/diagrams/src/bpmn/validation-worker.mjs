/**
 * @module bpmn/validation-worker
 * Worker-thread entry of the BPMN validator pool (validator.ts): answers each task (the XML text)
 * with the 422 message, or null for an acceptable document. Plain JavaScript so Node can load it in
 * a fresh worker; it registers tsx (module hooks are per thread in Node 20) to import the TypeScript
 * validation code itself, so the rules live in one place.
 */
import { register } from "tsx/esm/api";

register();
const { findBpmnProblem } = await import("./validate.ts");

/** @param {string} xml */
export default function validate(xml) {
  return findBpmnProblem(xml);
}

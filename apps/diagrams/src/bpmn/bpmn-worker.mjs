/**
 * @module bpmn/bpmn-worker
 * Worker-thread entry of the BPMN pool (pool.ts): runs one task of tasks.ts (admission of a
 * document, or the diff of two) and answers its outcome as plain data. Plain JavaScript so Node can
 * load it in a fresh worker; it registers tsx (module hooks are per thread in Node 20) to import the
 * TypeScript code itself, so the rules live in one place.
 */
import { register } from "tsx/esm/api";

register();
const { runTask } = await import("./tasks.ts");

/** @param {import("./tasks.ts").BpmnTask} task */
export default function run(task) {
  return runTask(task);
}

/**
 * @module bpmn/validate
 * Decides whether a document may be stored as a diagram: its size (413 over the configured maximum),
 * then bpmn-moddle's parse (422 for malformed XML, a root that is not `bpmn:definitions`, and parser
 * warnings such as duplicate ids or unknown elements, with the parser's own message).
 *
 * Two warning kinds are tolerated because real-world files from other modelers carry them and
 * bpmn-js opens them: an encoding declaration other than UTF-8 (the text reaches us already decoded)
 * and a reference to an id that is not in the document (e.g. `outMessageRef` to an external item).
 * The stored text is always the caller's text, untouched: reads are byte-identical to what was saved.
 */
import { BpmnModdle, type ModdleElement } from "bpmn-moddle";
import { ApiError } from "../errors.ts";

/**
 * Shared instances: building the BPMN type registry costs more than parsing a typical diagram
 * (measured: 36 ms per parse with a new instance, 3 ms shared). `fromXML` keeps its state in a
 * per-call reader, so concurrent parses do not interfere. `moddle` builds the model the diff reads;
 * `checker` only decides admission (see `admissionModdle`).
 */
let moddle: BpmnModdle | undefined;
let checker: BpmnModdle | undefined;

/** The stock instance: its elements are what bpmn-js and the differ expect. */
function modelModdle(): BpmnModdle {
  moddle ??= new BpmnModdle();
  return moddle;
}

/**
 * The instance for admission (saves, creates, imports), whose elements are dropped after the parse.
 * moddle gives every new element its read-only `$type` and `$attrs` as a getter defined on the
 * element itself (for ES6 proxies in bpmn-js); here they are read-only data properties with the
 * same value and attributes. The parse, its warnings and errors are moddle's own, unchanged
 * (test/bpmn/validate.test.ts compares both instances), and a 7 KB diagram costs 0.48 instead of
 * 0.68 ms of CPU (issue 17: validation was the largest part of the service's CPU per save). Should moddle stop
 * exposing `properties.define`, the instance stays stock.
 */
export function admissionModdle(): BpmnModdle {
  if (!checker) {
    const instance = new BpmnModdle();
    const properties = instance.properties;
    if (typeof properties?.define === "function") {
      properties.define = (target, name, options) => {
        if (options.writable) Object.defineProperty(target, name, options);
        else {
          Object.defineProperty(target, name, {
            value: options.value,
            enumerable: options.enumerable === true,
            configurable: options.configurable === true,
          });
        }
      };
    }
    checker = instance;
  }
  return checker;
}

const TOLERATED_WARNINGS = [/^unsupported document encoding/, /^unresolved reference/];

export function byteLength(xml: string): number {
  return Buffer.byteLength(xml, "utf8");
}

/** Throws 413 when `bytes` is over `maxBytes`. */
export function assertDiagramSize(bytes: number, maxBytes: number): void {
  if (bytes > maxBytes) {
    throw new ApiError(
      413,
      "PAYLOAD_TOO_LARGE",
      `the diagram is ${bytes} bytes, over the maximum of ${maxBytes} bytes per diagram (MAX_DIAGRAM_BYTES)`,
      { max_bytes: maxBytes },
    );
  }
}

export type ParseOutcome = { ok: true; root: ModdleElement } | { ok: false; message: string; cause?: unknown };

/**
 * Parses `xml` with bpmn-moddle: the definitions element, or the 422 message. Never throws.
 * `purpose` "admission" parses with `admissionModdle()` (same verdict, cheaper elements; the root
 * is for the verdict only), "model" with the stock instance (the diff reads the model).
 */
export async function parseOutcome(xml: string, purpose: "model" | "admission" = "model"): Promise<ParseOutcome> {
  const instance = purpose === "admission" ? admissionModdle() : modelModdle();
  let result: Awaited<ReturnType<BpmnModdle["fromXML"]>>;
  try {
    result = await instance.fromXML(xml, "bpmn:Definitions");
  } catch (error) {
    return { ok: false, message: problemMessage(error instanceof Error ? error.message : String(error)), cause: error };
  }
  const problems = result.warnings.filter((w) => !TOLERATED_WARNINGS.some((re) => re.test(w.message)));
  if (problems.length > 0) {
    const shown = problems.slice(0, 5).map((w) => w.message.replace(/\s+/g, " ").trim());
    const more = problems.length > 5 ? ` (and ${problems.length - 5} more)` : "";
    return { ok: false, message: problemMessage(shown.join("; ") + more) };
  }
  return { ok: true, root: result.rootElement };
}

/** Parses `xml` as BPMN 2.0 and returns the definitions element; throws ApiError 422 with the parser's message. */
export async function parseBpmn(xml: string): Promise<ModdleElement> {
  const outcome = await parseOutcome(xml);
  if (!outcome.ok) throw invalidBpmn(outcome.message, outcome.cause);
  return outcome.root;
}

/**
 * The 422 message for `xml`, or null when it is an acceptable BPMN document. A plain string in and
 * out, so it can run in a worker thread (validator.ts).
 */
export async function findBpmnProblem(xml: string): Promise<string | null> {
  const outcome = await parseOutcome(xml, "admission");
  return outcome.ok ? null : outcome.message;
}

/** Size check then parse, in this thread: the whole admission test of a diagram document. */
export async function validateDiagramXml(xml: string, maxBytes: number): Promise<ModdleElement> {
  assertDiagramSize(byteLength(xml), maxBytes);
  return parseBpmn(xml);
}

function problemMessage(parserMessage: string): string {
  return /failed to parse document as <bpmn:Definitions>/.test(parserMessage)
    ? `not a BPMN 2.0 document: the root element must be <bpmn:definitions> in namespace http://www.omg.org/spec/BPMN/20100524/MODEL (parser: ${parserMessage.replace(/\s+/g, " ").trim()})`
    : `invalid BPMN XML: ${parserMessage.replace(/\s+/g, " ").trim()}`;
}

/** The API error for a document `findBpmnProblem` refused. */
export function invalidBpmn(message: string, cause?: unknown): ApiError {
  return new ApiError(422, "INVALID_BPMN", message, {}, { cause });
}

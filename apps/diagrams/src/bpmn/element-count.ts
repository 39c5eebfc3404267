/**
 * @module bpmn/element-count
 * The element-count cap of a BPMN document. Parsing cost grows with the number of XML elements, not
 * with bytes: a 4.8 MB document of 800,000 empty elements took 10 s of CPU and ~1 GB to parse, while
 * a realistic 4.8 MB diagram (tasks, flows and their shapes) has ~73,000 elements and parses in
 * ~1.2 s. The 21 real-world fixtures have 61 to 2,430. So documents with more than
 * MAX_DIAGRAM_ELEMENTS (default 100,000) elements are refused with 422 TOO_MANY_ELEMENTS before
 * bpmn-moddle sees them; the count is a linear scan with indexOf, a few ms for 5 MB.
 */
import { ApiError } from "../errors.ts";

export const DEFAULT_MAX_DIAGRAM_ELEMENTS = 100_000;

/**
 * Counts the start tags of `xml` (comments, CDATA sections, processing instructions and the DOCTYPE
 * are skipped; `<` cannot appear unescaped in attribute values or text). Stops counting once past
 * `stopAfter`.
 */
export function countElements(xml: string, stopAfter = Number.POSITIVE_INFINITY): number {
  let count = 0;
  let i = 0;
  for (;;) {
    i = xml.indexOf("<", i);
    if (i < 0) return count;
    const next = xml.charCodeAt(i + 1);
    if (next === 0x21 /* ! */) {
      const [open, close] = xml.startsWith("<!--", i)
        ? ["<!--", "-->"]
        : xml.startsWith("<![CDATA[", i)
          ? ["<![CDATA[", "]]>"]
          : ["<!", ">"];
      const end = xml.indexOf(close, i + open.length);
      if (end < 0) return count;
      i = end + close.length;
      continue;
    }
    if (next === 0x3f /* ? */) {
      const end = xml.indexOf("?>", i + 2);
      if (end < 0) return count;
      i = end + 2;
      continue;
    }
    if (next !== 0x2f /* / */ && ++count > stopAfter) return count;
    i++;
  }
}

export function tooManyElements(maxElements: number): ApiError {
  return new ApiError(
    422,
    "TOO_MANY_ELEMENTS",
    `the diagram has more than ${maxElements} XML elements, the maximum per diagram (MAX_DIAGRAM_ELEMENTS); split it into several diagrams`,
    { max_elements: maxElements },
  );
}

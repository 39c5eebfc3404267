/**
 * @module bpmn/diff
 * Semantic diff between two BPMN documents with bpmn-js-differ, reduced to what a client needs to
 * colour a diagram: the ids added, removed, changed (with the changed attributes' old and new values),
 * and moved/resized (layout only).
 */
import { diff } from "bpmn-js-differ";
import type { ModdleElement } from "bpmn-moddle";

export interface DiagramDiffEntry {
  readonly id: string;
  readonly type: string;
}

export interface DiagramDiff {
  readonly added: DiagramDiffEntry[];
  readonly removed: DiagramDiffEntry[];
  readonly changed: (DiagramDiffEntry & { attrs: Record<string, { old: unknown; new: unknown }> })[];
  readonly layout_changed: DiagramDiffEntry[];
}

const entry = (id: string, el: ModdleElement): DiagramDiffEntry => ({ id, type: el.$type });

/** Moddle values can be elements (circular); keep what JSON can carry: primitives, or a referenced element's id. */
function plain(value: unknown): unknown {
  if (value === null || ["string", "number", "boolean"].includes(typeof value)) return value ?? null;
  if (Array.isArray(value)) return value.map(plain);
  if (typeof value === "object" && value && "$type" in value) {
    const el = value as ModdleElement;
    return el.id ?? el.$type;
  }
  return value === undefined ? null : String(value);
}

/** Diff of two parsed documents (tasks.ts parses them on the worker pool, with the element cap). */
export function diffParsed(a: ModdleElement, b: ModdleElement): DiagramDiff {
  const changes = diff(a, b);
  const byId = <T>(rows: T[]) =>
    rows.sort((x, y) => String((x as DiagramDiffEntry).id).localeCompare((y as DiagramDiffEntry).id));
  return {
    added: byId(Object.entries(changes._added).map(([id, el]) => entry(id, el))),
    removed: byId(Object.entries(changes._removed).map(([id, el]) => entry(id, el))),
    changed: byId(
      Object.entries(changes._changed).map(([id, c]) => ({
        ...entry(id, c.model),
        attrs: Object.fromEntries(
          Object.entries(c.attrs).map(([name, v]) => [name, { old: plain(v.oldValue), new: plain(v.newValue) }]),
        ),
      })),
    ),
    layout_changed: byId(Object.entries(changes._layoutChanged).map(([id, el]) => entry(id, el))),
  };
}

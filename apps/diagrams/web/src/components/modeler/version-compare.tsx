/**
 * @module components/modeler/version-compare
 * Two versions side by side, coloured from the service's diff (GET /diagrams/:id/diff): removed
 * elements on the older one in red, added in green and changed in amber on the newer one, with a
 * legend and the list of changes (for those who cannot see the colours).
 */
import "./diff.css";
import { type DiagramDiff, useDiff, useVersion } from "../../lib/modeler-queries.ts";
import { ErrorState, Loading, Skeleton } from "../layout.tsx";
import { BpmnCanvas, type BpmnInstance, canvasOf } from "./bpmn-canvas.tsx";

function mark(instance: BpmnInstance, ids: string[], marker: string) {
  const registry = instance.get("elementRegistry") as { get(id: string): unknown };
  for (const id of ids) if (registry.get(id)) canvasOf(instance).addMarker(id, marker);
}

export function VersionCompare({ diagramId, from, to }: { diagramId: string; from: number; to: number }) {
  const older = useVersion(diagramId, from);
  const newer = useVersion(diagramId, to);
  const diff = useDiff(diagramId, from, to);
  const error = older.error ?? newer.error ?? diff.error;
  if (error)
    return <ErrorState error={error} onRetry={() => void Promise.all([older.refetch(), newer.refetch(), diff.refetch()])} />;
  if (!older.data || !newer.data || !diff.data) {
    return (
      <Loading label="Comparing versions" className="grid gap-3 md:grid-cols-2">
        <Skeleton className="h-80" />
        <Skeleton className="h-80" />
      </Loading>
    );
  }
  const changes = diff.data;
  return (
    <div className="grid gap-3">
      <Legend diff={changes} />
      <div className="grid gap-3 md:grid-cols-2">
        <figure className="grid gap-1">
          <figcaption className="text-sm font-medium">Version {from} (removed in red)</figcaption>
          <BpmnCanvas
            xml={older.data.bpmn_xml}
            mode="view"
            label={`Version ${from}, read only, removed elements marked`}
            className="h-80 rounded-md border"
            onImported={(i) =>
              mark(
                i,
                changes.removed.map((e) => e.id),
                "diff-removed",
              )
            }
          />
        </figure>
        <figure className="grid gap-1">
          <figcaption className="text-sm font-medium">Version {to} (added in green, changed in amber)</figcaption>
          <BpmnCanvas
            xml={newer.data.bpmn_xml}
            mode="view"
            label={`Version ${to}, read only, added and changed elements marked`}
            className="h-80 rounded-md border"
            onImported={(i) => {
              mark(
                i,
                changes.added.map((e) => e.id),
                "diff-added",
              );
              mark(
                i,
                changes.changed.map((e) => e.id),
                "diff-changed",
              );
            }}
          />
        </figure>
      </div>
      <ChangeList diff={changes} />
    </div>
  );
}

function Legend({ diff }: { diff: DiagramDiff }) {
  const items = [
    { label: "Added", count: diff.added.length, swatch: "bg-green-600" },
    { label: "Removed", count: diff.removed.length, swatch: "bg-red-700" },
    { label: "Changed", count: diff.changed.length, swatch: "bg-amber-600" },
    { label: "Moved or resized", count: diff.layout_changed.length, swatch: "bg-slate-400" },
  ];
  return (
    <ul aria-label="Legend" className="flex flex-wrap gap-4 text-sm">
      {items.map((i) => (
        <li key={i.label} className="inline-flex items-center gap-1.5">
          <span className={`inline-block size-3 rounded-sm ${i.swatch}`} aria-hidden />
          {i.label}: {i.count}
        </li>
      ))}
    </ul>
  );
}

function ChangeList({ diff }: { diff: DiagramDiff }) {
  const rows = [
    ...diff.added.map((e) => ({ ...e, kind: "added", detail: "" })),
    ...diff.removed.map((e) => ({ ...e, kind: "removed", detail: "" })),
    ...diff.changed.map((e) => ({
      ...e,
      kind: "changed",
      detail: Object.entries(e.attrs)
        .map(([name, v]) => `${name}: ${JSON.stringify(v.old)} → ${JSON.stringify(v.new)}`)
        .join("; "),
    })),
  ];
  if (rows.length === 0) {
    return (
      <p className="text-sm text-muted-foreground">
        No element was added, removed or changed{diff.layout_changed.length ? " (only the layout moved)" : ""}.
      </p>
    );
  }
  return (
    <ul aria-label="Changes" className="grid gap-1 text-sm">
      {rows.map((r) => (
        <li key={`${r.kind}-${r.id}`} data-change={r.kind}>
          <span className="font-medium capitalize">{r.kind}</span> {r.type.replace(/^bpmn:/, "")} <code>{r.id}</code>
          {r.detail ? <span className="text-muted-foreground"> — {r.detail}</span> : null}
        </li>
      ))}
    </ul>
  );
}

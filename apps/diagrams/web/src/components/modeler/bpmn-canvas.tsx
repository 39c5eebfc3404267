/**
 * @module components/modeler/bpmn-canvas
 * One bpmn-js instance in a React element: the Modeler to edit, the NavigatedViewer to look (versions,
 * a conflicting save, viewers' access). The instance is created once per mount; a new `xml` prop is
 * imported into it (the parent changes it only to load another document, never per edit), so undo
 * history and zoom survive re-renders.
 */
import "bpmn-js/dist/assets/diagram-js.css";
import "bpmn-js/dist/assets/bpmn-js.css";
import "bpmn-js/dist/assets/bpmn-font/css/bpmn-embedded.css";
import type BaseViewer from "bpmn-js/lib/BaseViewer";
import Modeler from "bpmn-js/lib/Modeler";
import NavigatedViewer from "bpmn-js/lib/NavigatedViewer";
import { useEffect, useRef, useState } from "react";
import { cn } from "../ui.ts";

export type BpmnInstance = BaseViewer;

interface Canvas {
  zoom(level: "fit-viewport" | number, center?: "auto"): number;
  addMarker(element: string, marker: string): void;
}

export function canvasOf(instance: BpmnInstance): Canvas {
  return instance.get("canvas") as Canvas;
}

interface Props {
  xml: string;
  mode: "edit" | "view";
  /** The accessible name of the drawing area. */
  label: string;
  className?: string;
  /** Called after every import with the live instance (e.g. to add diff markers or keep a ref). */
  onImported?: (instance: BpmnInstance) => void;
  /** Called on every change of the document by the user (the command stack moved). */
  onChange?: () => void;
}

export function BpmnCanvas({ xml, mode, label, className, onImported, onChange }: Props) {
  const container = useRef<HTMLDivElement>(null);
  const instance = useRef<BpmnInstance | null>(null);
  const callbacks = useRef({ onImported, onChange });
  callbacks.current = { onImported, onChange };
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    if (!container.current) return;
    const Kind = mode === "edit" ? Modeler : NavigatedViewer;
    const created = new Kind({ container: container.current });
    instance.current = created;
    // "clear" is the import resetting the undo stack, not a change by the user.
    created.on("commandStack.changed", (event: { trigger?: string }) => {
      if (event.trigger !== "clear") callbacks.current.onChange?.();
    });
    return () => {
      instance.current = null;
      created.destroy();
    };
  }, [mode]);

  useEffect(() => {
    const current = instance.current;
    if (!current) return;
    let cancelled = false;
    setError(null);
    current
      .importXML(xml)
      .then(() => {
        if (cancelled) return;
        canvasOf(current).zoom("fit-viewport", "auto");
        callbacks.current.onImported?.(current);
      })
      .catch((e: unknown) => {
        if (!cancelled) setError(e instanceof Error ? e.message : String(e));
      });
    return () => {
      cancelled = true;
    };
  }, [xml, mode]);

  return (
    <div className={cn("relative min-h-0 bg-white text-black", className)}>
      {/* role=application: the canvas takes its own keys (bpmn-js keyboard bindings) */}
      <div ref={container} role="application" aria-label={label} className="absolute inset-0" />
      {error ? (
        <p role="alert" className="absolute inset-x-4 top-4 rounded-md border border-red-300 bg-red-50 p-3 text-sm text-red-800">
          This diagram could not be displayed: {error}
        </p>
      ) : null}
    </div>
  );
}

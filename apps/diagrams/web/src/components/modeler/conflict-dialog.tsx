/**
 * @module components/modeler/conflict-dialog
 * Someone saved this diagram since it was opened here (409 STALE_VERSION). Nothing is lost: their
 * version is shown read-only beside the user's own (still in the modeler behind the dialog), and the
 * user either saves theirs on top as a new version, or reloads the other one (theirs stays in history
 * either way, and "Save mine" keeps the other as the version before it).
 */
import type { Diagram } from "../../lib/api.ts";
import { Button, Dialog, DialogContent, DialogDescription, DialogFooter, DialogHeader, DialogTitle } from "../ui.ts";
import { BpmnCanvas } from "./bpmn-canvas.tsx";

interface Props {
  theirs: Diagram | null;
  open: boolean;
  pending: "mine" | "theirs" | null;
  onSaveMine: () => void;
  onReloadTheirs: () => void;
  onClose: () => void;
}

export function ConflictDialog({ theirs, open, pending, onSaveMine, onReloadTheirs, onClose }: Props) {
  return (
    <Dialog open={open} onOpenChange={(o) => (o ? undefined : onClose())}>
      <DialogContent className="max-w-4xl">
        <DialogHeader>
          <DialogTitle>Someone else saved this diagram</DialogTitle>
          <DialogDescription>
            {theirs
              ? `Version ${theirs.version} was saved ${new Date(theirs.updated_at).toLocaleString()} while you were editing. Your changes are still in the editor.`
              : "A newer version was saved while you were editing. Your changes are still in the editor."}
          </DialogDescription>
        </DialogHeader>
        <section aria-label="Their version" className="grid gap-1">
          <h3 className="text-sm font-medium">Their version{theirs ? ` (v${theirs.version})` : ""}</h3>
          {theirs ? (
            <BpmnCanvas xml={theirs.bpmn_xml} mode="view" label="Their version, read only" className="h-72 rounded-md border" />
          ) : (
            <p className="text-sm text-muted-foreground">Loading their version…</p>
          )}
        </section>
        <DialogFooter className="gap-2">
          <Button
            variant="outline"
            onClick={onReloadTheirs}
            pending={pending === "theirs"}
            disabled={!theirs || pending !== null}
          >
            Reload theirs
          </Button>
          <Button onClick={onSaveMine} pending={pending === "mine"} disabled={!theirs || pending !== null}>
            Save mine as a new version
          </Button>
        </DialogFooter>
      </DialogContent>
    </Dialog>
  );
}

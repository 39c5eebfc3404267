/**
 * @module pages/modeler
 * The modeler (`/d/:diagramId`): bpmn-js on the diagram's XML. Saves go on top of the version that was
 * opened (optimistic concurrency); a conflict opens the conflict dialog, which loses neither side. Between
 * saves the document is kept as a draft on the service (debounced), and a draft left by a crashed tab is
 * offered back on the next open. Viewers and readers get the navigated viewer with the reason they
 * cannot save.
 */
import { useQueryClient } from "@tanstack/react-query";
import { ArrowLeft, History, Save } from "lucide-react";
import { useCallback, useEffect, useRef, useState } from "react";
import { Link, useParams } from "react-router-dom";
import { toast } from "sonner";
import { ErrorState, Loading, PageContainer, PageHeader, Skeleton } from "../components/layout.tsx";
import { BpmnCanvas, type BpmnInstance } from "../components/modeler/bpmn-canvas.tsx";
import { ConflictDialog } from "../components/modeler/conflict-dialog.tsx";
import { ExportButtons } from "../components/modeler/export-buttons.tsx";
import { Badge, Button, Input } from "../components/ui.ts";
import { ApiError, api, type Diagram, messageOf } from "../lib/api.ts";
import { useDiagramAccess } from "../lib/diagram-access.ts";
import { type Draft, deleteDraft, fetchDraft, putDraft, saveContent } from "../lib/modeler-queries.ts";
import { useDiagram } from "../lib/queries.ts";

const DRAFT_DEBOUNCE_MS = 1500;

interface Conflict {
  mine: string;
  message: string | null;
  theirs: Diagram | null;
}

export function ModelerPage() {
  const { diagramId = "" } = useParams();
  const diagram = useDiagram(diagramId);
  const access = useDiagramAccess(diagram.data);

  if (diagram.isPending || (diagram.data && !access)) {
    return (
      <PageContainer>
        <Loading label="Opening the diagram" className="grid gap-3">
          <Skeleton className="h-8 w-72" />
          <Skeleton className="h-[60vh] w-full" />
        </Loading>
      </PageContainer>
    );
  }
  if (diagram.error || !diagram.data || !access) {
    return (
      <PageContainer>
        <PageHeader title="Diagram" />
        <ErrorState error={diagram.error ?? new Error("diagram not found")} onRetry={() => diagram.refetch()} />
      </PageContainer>
    );
  }
  return <Editor key={diagram.data.id} diagram={diagram.data} canEdit={access.canEdit} role={access.role} />;
}

function Editor({ diagram, canEdit, role }: { diagram: Diagram; canEdit: boolean; role: string }) {
  const queryClient = useQueryClient();
  const instance = useRef<BpmnInstance | null>(null);
  const [doc, setDoc] = useState({ xml: diagram.bpmn_xml, revision: 0 });
  const [baseVersion, setBaseVersion] = useState(diagram.version);
  const [dirty, setDirty] = useState(false);
  const [message, setMessage] = useState("");
  const [saving, setSaving] = useState(false);
  const [draftSavedAt, setDraftSavedAt] = useState<string | null>(null);
  const [offeredDraft, setOfferedDraft] = useState<Draft | null>(null);
  const [conflict, setConflict] = useState<Conflict | null>(null);
  const [resolving, setResolving] = useState<"mine" | "theirs" | null>(null);
  const draftTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
  // While a crashed tab's draft is offered, autosave waits: it would overwrite the draft on offer.
  const autosavePaused = useRef(true);

  const load = useCallback((xml: string) => setDoc((d) => ({ xml, revision: d.revision + 1 })), []);

  // A draft left behind (crash, closed tab) is offered back when it differs from what was saved.
  useEffect(() => {
    if (!canEdit) return;
    let cancelled = false;
    fetchDraft(diagram.id)
      .then((draft) => {
        if (cancelled) return;
        if (draft && draft.bpmn_xml !== diagram.bpmn_xml) setOfferedDraft(draft);
        else autosavePaused.current = false;
      })
      .catch(() => {
        autosavePaused.current = false;
      });
    return () => {
      cancelled = true;
    };
  }, [canEdit, diagram.id, diagram.bpmn_xml]);

  const currentXml = useCallback(async () => {
    const live = instance.current;
    if (!live) throw new Error("the editor is not ready yet");
    const { xml } = await live.saveXML({ format: true });
    if (!xml) throw new Error("the editor returned an empty document");
    return xml;
  }, []);

  const onChange = useCallback(() => {
    setDirty(true);
    if (!canEdit || autosavePaused.current) return;
    if (draftTimer.current) clearTimeout(draftTimer.current);
    draftTimer.current = setTimeout(() => {
      draftTimer.current = null;
      void currentXml()
        .then((xml) => putDraft(diagram.id, { bpmn_xml: xml, base_version: baseVersion }))
        .then((saved) => setDraftSavedAt(saved.saved_at))
        .catch(() => setDraftSavedAt(null));
    }, DRAFT_DEBOUNCE_MS);
  }, [canEdit, currentXml, diagram.id, baseVersion]);

  useEffect(() => () => (draftTimer.current ? clearTimeout(draftTimer.current) : undefined), []);

  // Leaving with unsaved changes asks first (the draft is kept anyway).
  useEffect(() => {
    if (!dirty) return;
    const warn = (event: BeforeUnloadEvent) => event.preventDefault();
    window.addEventListener("beforeunload", warn);
    return () => window.removeEventListener("beforeunload", warn);
  }, [dirty]);

  const saved = useCallback(
    async (version: number) => {
      if (draftTimer.current) clearTimeout(draftTimer.current);
      draftTimer.current = null;
      setBaseVersion(version);
      setDirty(false);
      setMessage("");
      setDraftSavedAt(null);
      await deleteDraft(diagram.id).catch(() => undefined);
      void queryClient.invalidateQueries({ queryKey: ["diagrams"] });
      void queryClient.invalidateQueries({ queryKey: ["usage"] });
      toast.success(`Saved as version ${version}`);
    },
    [diagram.id, queryClient],
  );

  const save = useCallback(async () => {
    if (!canEdit || saving) return;
    setSaving(true);
    const versionMessage = message.trim() || null;
    let mine: string | null = null;
    try {
      mine = await currentXml();
      const result = await saveContent(diagram.id, { bpmn_xml: mine, base_version: baseVersion, message: versionMessage });
      await saved(result.version);
    } catch (error) {
      if (error instanceof ApiError && error.status === 409 && mine) {
        setConflict({ mine, message: versionMessage, theirs: null });
        api
          .get<{ diagram: Diagram }>(`/diagrams/${diagram.id}`)
          .then(({ diagram: theirs }) => setConflict((c) => (c ? { ...c, theirs } : c)))
          .catch((e: unknown) => toast.error(`Could not load the other version: ${messageOf(e)}`));
      } else {
        toast.error(`Not saved: ${messageOf(error)}`);
      }
    } finally {
      setSaving(false);
    }
  }, [canEdit, saving, message, currentXml, diagram.id, baseVersion, saved]);

  // Ctrl/Cmd+S saves, as in every editor.
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "s") {
        event.preventDefault();
        void save();
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [save]);

  async function saveMine() {
    if (!conflict?.theirs) return;
    setResolving("mine");
    try {
      const result = await saveContent(diagram.id, {
        bpmn_xml: conflict.mine,
        base_version: conflict.theirs.version,
        message: conflict.message,
      });
      setConflict(null);
      await saved(result.version);
    } catch (error) {
      toast.error(`Not saved: ${messageOf(error)}`);
    } finally {
      setResolving(null);
    }
  }

  async function reloadTheirs() {
    if (!conflict?.theirs) return;
    const theirs = conflict.theirs;
    setResolving("theirs");
    load(theirs.bpmn_xml);
    setBaseVersion(theirs.version);
    setDirty(false);
    setConflict(null);
    setResolving(null);
    await deleteDraft(diagram.id).catch(() => undefined);
    toast.info(`Showing version ${theirs.version}; your changes were not saved.`);
  }

  function restoreDraft() {
    if (!offeredDraft) return;
    load(offeredDraft.bpmn_xml);
    // A draft made on an older version saves on top of that version, so a save since then conflicts
    // (and the conflict dialog shows both) instead of being overwritten silently.
    setBaseVersion(offeredDraft.base_version ?? diagram.version);
    setDirty(true);
    setOfferedDraft(null);
    autosavePaused.current = false;
  }

  async function discardDraft() {
    setOfferedDraft(null);
    autosavePaused.current = false;
    await deleteDraft(diagram.id).catch(() => undefined);
  }

  const back = diagram.project_id ? `/p/${diagram.project_id}` : "/";
  const status = saving
    ? "Saving…"
    : dirty
      ? draftSavedAt
        ? "Unsaved changes (draft kept)"
        : "Unsaved changes"
      : "All changes saved";

  return (
    <div className="flex min-h-0 flex-1 flex-col">
      <div className="flex flex-wrap items-center gap-x-3 gap-y-2 border-b bg-background px-3 py-2">
        <Link to={back} className="inline-flex items-center gap-1 text-sm text-muted-foreground hover:text-foreground">
          <ArrowLeft className="size-4" aria-hidden /> Back
        </Link>
        <h1 className="min-w-0 truncate text-base font-semibold" title={diagram.title}>
          {diagram.title}
        </h1>
        <Badge>v{baseVersion}</Badge>
        {canEdit ? null : <Badge variant="info">Read only</Badge>}
        <span className="text-xs text-muted-foreground" role="status" aria-live="polite">
          {canEdit ? status : ""}
        </span>
        <div className="ms-auto flex flex-wrap items-center gap-2">
          <Button asChild size="sm" variant="ghost">
            <Link to={`/d/${diagram.id}/history`}>
              <History className="size-4" aria-hidden /> History
            </Link>
          </Button>
          <ExportButtons diagramId={diagram.id} title={diagram.title} unsaved={dirty} />
        </div>
      </div>
      {canEdit ? (
        <form
          className="flex flex-wrap items-center gap-2 border-b bg-background px-3 py-2"
          onSubmit={(event) => {
            event.preventDefault();
            void save();
          }}
        >
          <label htmlFor="version-message" className="text-sm font-medium">
            Version message
          </label>
          <Input
            id="version-message"
            className="h-8 max-w-md flex-1"
            placeholder="Optional: what changed"
            value={message}
            maxLength={2000}
            onChange={(e) => setMessage(e.target.value)}
          />
          <Button type="submit" size="sm" pending={saving}>
            <Save className="size-4" aria-hidden /> Save
          </Button>
        </form>
      ) : (
        <p className="border-b bg-muted px-3 py-2 text-sm text-muted-foreground">
          You can view this diagram but not save it: {readOnlyReason(role)}
        </p>
      )}
      {offeredDraft ? (
        <div
          role="alert"
          className="flex flex-wrap items-center gap-2 border-b border-amber-300 bg-amber-50 px-3 py-2 text-sm text-amber-950"
        >
          <span>
            Unsaved changes from {new Date(offeredDraft.saved_at).toLocaleString()}
            {offeredDraft.base_version ? ` (made on version ${offeredDraft.base_version})` : ""} were found.
          </span>
          <Button size="sm" onClick={restoreDraft}>
            Restore unsaved draft
          </Button>
          <Button size="sm" variant="outline" onClick={() => void discardDraft()}>
            Discard draft
          </Button>
        </div>
      ) : null}
      <BpmnCanvas
        key={doc.revision}
        xml={doc.xml}
        mode={canEdit ? "edit" : "view"}
        label={canEdit ? `Diagram editor: ${diagram.title}` : `Diagram (read only): ${diagram.title}`}
        className="min-h-[60vh] flex-1"
        onImported={(live) => {
          instance.current = live;
        }}
        onChange={onChange}
      />
      <ConflictDialog
        open={conflict !== null}
        theirs={conflict?.theirs ?? null}
        pending={resolving}
        onSaveMine={() => void saveMine()}
        onReloadTheirs={() => void reloadTheirs()}
        onClose={() => setConflict(null)}
      />
    </div>
  );
}

function readOnlyReason(role: string): string {
  if (role === "viewer") return "you are a viewer of this project; ask its owner to make you an editor.";
  return "it belongs to someone else and is shared with you read only.";
}

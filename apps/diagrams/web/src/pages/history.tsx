/**
 * @module pages/history
 * A diagram's versions (`/d/:diagramId/history`): author, message and time, newest first and cursor
 * paged; any version viewed read-only; two versions compared with the changes coloured on the diagram;
 * a version restored as a new one (those who may edit only; the service checks again).
 */
import { ArrowLeft, Eye, RotateCcw } from "lucide-react";
import { useState } from "react";
import { Link, useNavigate, useParams } from "react-router-dom";
import { toast } from "sonner";
import { ErrorState, Loading, PageContainer, PageHeader, Skeleton } from "../components/layout.tsx";
import { BpmnCanvas } from "../components/modeler/bpmn-canvas.tsx";
import { VersionCompare } from "../components/modeler/version-compare.tsx";
import { Badge, Button, Card, CardContent, CardHeader, CardTitle, ConfirmDialog, Label } from "../components/ui.ts";
import { useDiagramAccess } from "../lib/diagram-access.ts";
import { useRestoreVersion, useVersion, useVersions, type VersionMeta } from "../lib/modeler-queries.ts";
import { useDiagram, useMe } from "../lib/queries.ts";

export function HistoryPage() {
  const { diagramId = "" } = useParams();
  const navigate = useNavigate();
  const diagram = useDiagram(diagramId);
  const access = useDiagramAccess(diagram.data);
  const me = useMe().data;
  const versions = useVersions(diagramId);
  const restore = useRestoreVersion(diagramId);
  const [viewing, setViewing] = useState<number | undefined>();
  const [from, setFrom] = useState<number | undefined>();
  const [to, setTo] = useState<number | undefined>();
  const [comparing, setComparing] = useState<{ from: number; to: number } | null>(null);
  const viewed = useVersion(diagramId, viewing);

  const items: VersionMeta[] = versions.data?.pages.flatMap((p) => p.items) ?? [];
  const newest = items[0]?.version;
  const fromValue = from ?? items[1]?.version;
  const toValue = to ?? newest;

  if (diagram.error || versions.error) {
    return (
      <PageContainer>
        <PageHeader title="History" />
        <ErrorState error={diagram.error ?? versions.error} onRetry={() => void versions.refetch()} />
      </PageContainer>
    );
  }
  if (!diagram.data || versions.isPending) {
    return (
      <PageContainer>
        <Loading label="Loading the history" className="grid gap-3">
          <Skeleton className="h-8 w-64" />
          <Skeleton className="h-48 w-full" />
        </Loading>
      </PageContainer>
    );
  }
  const d = diagram.data;

  async function doRestore(version: number) {
    // A failure is shown in the dialog by ConfirmDialog (the API's own message).
    const saved = await restore.mutateAsync(version);
    toast.success(`Version ${version} restored as version ${saved.version}`);
    navigate(`/d/${d.id}`);
  }

  return (
    <PageContainer>
      <Link to={`/d/${d.id}`} className="mb-2 inline-flex items-center gap-1 text-sm text-muted-foreground hover:text-foreground">
        <ArrowLeft className="size-4" aria-hidden /> Back to the diagram
      </Link>
      <PageHeader
        title={`History of ${d.title}`}
        description={`Current version: ${d.version}. Older versions beyond your plan's history are pruned.`}
      />
      <div className="grid gap-4">
        <Card>
          <CardHeader>
            <CardTitle>Versions</CardTitle>
          </CardHeader>
          <CardContent>
            <ol className="divide-y" aria-label="Versions">
              {items.map((v) => (
                <li key={v.version} className="flex flex-wrap items-center gap-x-3 gap-y-1 py-2" data-version={v.version}>
                  <Badge>v{v.version}</Badge>
                  <span className="min-w-0 flex-1 truncate">
                    {v.message || <span className="text-muted-foreground">No message</span>}
                  </span>
                  <span className="text-xs text-muted-foreground">
                    {v.author_id && v.author_id === me?.id
                      ? "You"
                      : v.author_id
                        ? `User ${v.author_id.slice(0, 8)}`
                        : "Unknown author"}{" "}
                    · <time dateTime={v.created_at}>{new Date(v.created_at).toLocaleString()}</time>
                  </span>
                  <span className="flex gap-1">
                    <Button
                      size="sm"
                      variant="outline"
                      onClick={() => setViewing(v.version)}
                      aria-label={`View version ${v.version}`}
                    >
                      <Eye className="size-4" aria-hidden /> View
                    </Button>
                    {access?.canEdit && v.version !== d.version ? (
                      <ConfirmDialog
                        trigger={(open) => (
                          <Button size="sm" variant="outline" onClick={open} aria-label={`Restore version ${v.version}`}>
                            <RotateCcw className="size-4" aria-hidden /> Restore
                          </Button>
                        )}
                        title={`Restore version ${v.version}?`}
                        description="Its content is saved as a new version on top of the current one; nothing is deleted."
                        confirmLabel="Restore as new version"
                        onConfirm={() => doRestore(v.version)}
                      />
                    ) : null}
                  </span>
                </li>
              ))}
            </ol>
            {versions.hasNextPage ? (
              <Button
                variant="outline"
                className="mt-2"
                pending={versions.isFetchingNextPage}
                onClick={() => void versions.fetchNextPage()}
              >
                Load older versions
              </Button>
            ) : null}
          </CardContent>
        </Card>

        {viewing !== undefined ? (
          <Card>
            <CardHeader>
              <CardTitle>Version {viewing} (read only)</CardTitle>
            </CardHeader>
            <CardContent>
              {viewed.error ? (
                <ErrorState error={viewed.error} onRetry={() => void viewed.refetch()} />
              ) : viewed.data ? (
                <BpmnCanvas
                  xml={viewed.data.bpmn_xml}
                  mode="view"
                  label={`Version ${viewing}, read only`}
                  className="h-80 rounded-md border"
                />
              ) : (
                <Skeleton className="h-80" />
              )}
            </CardContent>
          </Card>
        ) : null}

        {items.length > 1 ? (
          <Card>
            <CardHeader>
              <CardTitle>Compare versions</CardTitle>
            </CardHeader>
            <CardContent className="grid gap-3">
              <form
                className="flex flex-wrap items-end gap-3"
                onSubmit={(e) => {
                  e.preventDefault();
                  if (fromValue !== undefined && toValue !== undefined) setComparing({ from: fromValue, to: toValue });
                }}
              >
                <VersionSelect id="compare-from" label="Older version" value={fromValue} items={items} onChange={setFrom} />
                <VersionSelect id="compare-to" label="Newer version" value={toValue} items={items} onChange={setTo} />
                <Button type="submit" disabled={fromValue === toValue}>
                  Compare
                </Button>
              </form>
              {comparing ? <VersionCompare diagramId={d.id} from={comparing.from} to={comparing.to} /> : null}
            </CardContent>
          </Card>
        ) : null}
      </div>
    </PageContainer>
  );
}

function VersionSelect(props: {
  id: string;
  label: string;
  value: number | undefined;
  items: VersionMeta[];
  onChange: (v: number) => void;
}) {
  return (
    <div className="grid gap-1">
      <Label htmlFor={props.id}>{props.label}</Label>
      <select
        id={props.id}
        className="h-9 rounded-md border bg-background px-2 text-sm"
        value={props.value ?? ""}
        onChange={(e) => props.onChange(Number(e.target.value))}
      >
        {props.items.map((v) => (
          <option key={v.version} value={v.version}>
            v{v.version}
            {v.message ? ` — ${v.message.slice(0, 40)}` : ""}
          </option>
        ))}
      </select>
    </div>
  );
}

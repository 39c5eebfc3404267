/**
 * @module pages/trash
 * The trash: diagrams and projects the user moved there, newest first (cursor-paged). Restore puts
 * one back where it was; "Delete forever" purges it after a confirmation.
 */
import { FileText, Folder, RotateCcw, Trash2 } from "lucide-react";
import { toast } from "sonner";
import { PagedList } from "../components/diagram-grid.tsx";
import { EmptyState, PageContainer, PageHeader, Skeleton } from "../components/layout.tsx";
import { Button, ConfirmDialog } from "../components/ui.ts";
import { messageOf } from "../lib/api.ts";
import { formatDateTime, timeAgo } from "../lib/format.ts";
import { useTrash, useTrashAction } from "../lib/queries.ts";

interface TrashItem {
  id: string;
  name: string;
  deleted_at: string | null;
}

function TrashRow({ kind, item }: { kind: "diagrams" | "projects"; item: TrashItem }) {
  const action = useTrashAction();
  const what = kind === "diagrams" ? "diagram" : "project";
  const Icon = kind === "diagrams" ? FileText : Folder;
  return (
    <li className="flex flex-wrap items-center gap-3 rounded-lg border bg-card px-3 py-2">
      <Icon className="size-4 shrink-0 text-muted-foreground" aria-hidden />
      <div className="min-w-0 flex-1">
        <p className="truncate font-medium">{item.name}</p>
        {item.deleted_at ? (
          <p className="text-xs text-muted-foreground">
            Deleted{" "}
            <time dateTime={item.deleted_at} title={formatDateTime(item.deleted_at)}>
              {timeAgo(item.deleted_at)}
            </time>
          </p>
        ) : null}
      </div>
      <div className="flex gap-2">
        <Button
          size="sm"
          variant="outline"
          aria-label={`Restore ${item.name}`}
          pending={action.isPending && action.variables?.action === "restore"}
          onClick={() =>
            action.mutate(
              { kind, id: item.id, action: "restore" },
              { onSuccess: () => toast.success(`“${item.name}” restored`), onError: (e) => toast.error(messageOf(e)) },
            )
          }
        >
          {action.isPending ? null : <RotateCcw aria-hidden />}
          Restore
        </Button>
        <ConfirmDialog
          title={`Delete “${item.name}” forever?`}
          description={
            kind === "projects"
              ? "The project, its diagrams, their versions and its files are deleted. This cannot be undone."
              : "The diagram and all its versions are deleted. This cannot be undone."
          }
          confirmLabel="Delete forever"
          onConfirm={() => action.mutateAsync({ kind, id: item.id, action: "purge" })}
          trigger={(open) => (
            <Button size="sm" variant="ghost" aria-label={`Delete ${item.name} forever`} onClick={open}>
              <Trash2 aria-hidden />
              <span className="hidden sm:inline">Delete forever</span>
            </Button>
          )}
        />
      </div>
      <span className="sr-only">{what}</span>
    </li>
  );
}

export function TrashPage() {
  const { diagrams, projects } = useTrash();
  const skeleton = (
    <div className="grid gap-2">
      <Skeleton className="h-14 w-full" />
      <Skeleton className="h-14 w-full" />
    </div>
  );
  return (
    <PageContainer>
      <PageHeader title="Trash" description="Restore what you moved here, or delete it for good." />
      <div className="grid gap-10">
        <section aria-labelledby="trash-diagrams-h">
          <h2 id="trash-diagrams-h" className="mb-3 text-lg font-semibold">
            Diagrams
          </h2>
          <PagedList
            query={diagrams}
            label="diagrams in the trash"
            skeleton={skeleton}
            empty={<EmptyState icon={Trash2} title="No diagrams in the trash" />}
            renderItems={(items) => (
              <ul aria-label="Diagrams in the trash" className="grid gap-2">
                {items.map((d) => (
                  <TrashRow key={d.id} kind="diagrams" item={{ id: d.id, name: d.title, deleted_at: d.deleted_at }} />
                ))}
              </ul>
            )}
          />
        </section>
        <section aria-labelledby="trash-projects-h">
          <h2 id="trash-projects-h" className="mb-3 text-lg font-semibold">
            Projects
          </h2>
          <PagedList
            query={projects}
            label="projects in the trash"
            skeleton={skeleton}
            empty={<EmptyState icon={Trash2} title="No projects in the trash" />}
            renderItems={(items) => (
              <ul aria-label="Projects in the trash" className="grid gap-2">
                {items.map((p) => (
                  <TrashRow key={p.id} kind="projects" item={{ id: p.id, name: p.name, deleted_at: p.deleted_at }} />
                ))}
              </ul>
            )}
          />
        </section>
      </div>
    </PageContainer>
  );
}

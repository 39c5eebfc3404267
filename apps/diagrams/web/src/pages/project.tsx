/**
 * @module pages/project
 * One project: its description, its diagrams (cursor-paged, with thumbnails), a title search within
 * it, and, for those who may write, "New diagram". Owners get the settings link.
 */
import { ArrowLeft, Globe, Settings } from "lucide-react";
import { useCallback, useState } from "react";
import { Link, useParams } from "react-router-dom";
import { DiagramGrid } from "../components/diagram-grid.tsx";
import { ErrorState, Loading, PageContainer, PageHeader, Skeleton } from "../components/layout.tsx";
import { NewDiagramButton } from "../components/new-diagram-button.tsx";
import { SearchBox } from "../components/search-box.tsx";
import { Badge, Button } from "../components/ui.ts";
import { useProjectRole } from "../lib/project-role.ts";
import { useDiagrams, useProject } from "../lib/queries.ts";

export function ProjectPage() {
  const { projectId = "" } = useParams();
  const project = useProject(projectId);
  const role = useProjectRole(project.data);
  const [q, setQ] = useState("");
  const onSearch = useCallback((v: string) => setQ(v), []);
  const diagrams = useDiagrams({ projectId, q }, project.isSuccess);

  if (project.isPending) {
    return (
      <PageContainer>
        <Loading label="Loading the project" className="grid gap-3">
          <Skeleton className="h-8 w-60" />
          <Skeleton className="h-40 w-full" />
        </Loading>
      </PageContainer>
    );
  }
  if (project.error) {
    return (
      <PageContainer>
        <PageHeader title="Project" />
        <ErrorState error={project.error} onRetry={() => project.refetch()} />
      </PageContainer>
    );
  }
  const p = project.data;
  const canWrite = role === "owner" || role === "editor";
  return (
    <PageContainer>
      <Link to="/" className="mb-2 inline-flex items-center gap-1 text-sm text-muted-foreground hover:text-foreground">
        <ArrowLeft className="size-4" aria-hidden /> Home
      </Link>
      <PageHeader
        title={p.name}
        description={
          <span className="flex flex-wrap items-center gap-2">
            {p.description ? <span>{p.description}</span> : null}
            {p.is_public ? (
              <Badge variant="info">
                <Globe className="size-3" aria-hidden /> Public
              </Badge>
            ) : null}
            {role && role !== "owner" ? <Badge>You are {role === "viewer" ? "a viewer" : "an editor"}</Badge> : null}
          </span>
        }
        actions={
          <>
            {canWrite ? <NewDiagramButton projectId={p.id} /> : null}
            {role === "owner" ? (
              <Button asChild variant="outline">
                <Link to={`/p/${p.id}/settings`}>
                  <Settings aria-hidden /> Settings
                </Link>
              </Button>
            ) : null}
          </>
        }
      />
      <div className="mb-5">
        <SearchBox label="Search this project's diagrams" onSearch={onSearch} />
      </div>
      <section aria-labelledby="diagrams-h">
        <h2 id="diagrams-h" className="mb-3 text-lg font-semibold">
          {q ? `Diagrams matching “${q}”` : "Diagrams"}
        </h2>
        <DiagramGrid
          query={diagrams}
          label="diagrams"
          canTrash={canWrite}
          emptyTitle={q ? `No diagram title contains “${q}”` : "No diagrams in this project yet"}
        />
      </section>
    </PageContainer>
  );
}

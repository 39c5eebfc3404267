/**
 * @module pages/home
 * Home, in the seed's hierarchy: invitations waiting for an answer, the user's projects (and those
 * shared with them), and the personal space's quick diagrams (no project). A title search replaces
 * the sections with matches from everywhere the user works. Every list is cursor-paged and metadata
 * only.
 */
import { Folder, FolderOpen, Import, Settings, Users } from "lucide-react";
import { useCallback, useState } from "react";
import { Link } from "react-router-dom";
import { toast } from "sonner";
import { DiagramGrid, PagedList } from "../components/diagram-grid.tsx";
import { EmptyState, PageContainer, PageHeader, Skeleton } from "../components/layout.tsx";
import { NewDiagramButton } from "../components/new-diagram-button.tsx";
import { NewProjectDialog } from "../components/project-dialog.tsx";
import { SearchBox } from "../components/search-box.tsx";
import { Badge, Button } from "../components/ui.ts";
import { messageOf, type Project } from "../lib/api.ts";
import { formatDateTime, timeAgo } from "../lib/format.ts";
import { useAnswerInvitation, useDiagrams, useMe, useProjects, useReceivedInvitations } from "../lib/queries.ts";

function Invitations() {
  const invitations = useReceivedInvitations();
  const answer = useAnswerInvitation();
  if (!invitations.data?.length) return null;
  return (
    <section aria-labelledby="invitations-h" className="mb-8 rounded-xl border border-primary/40 bg-primary/5 p-4">
      <h2 id="invitations-h" className="mb-3 flex items-center gap-2 font-semibold">
        <Users className="size-4" aria-hidden /> Invitations
      </h2>
      <ul className="grid gap-2">
        {invitations.data.map((inv) => (
          <li key={inv.id} className="flex flex-wrap items-center justify-between gap-2">
            <span className="min-w-0 text-sm">
              <strong className="font-medium">{inv.invited_by?.email ?? inv.invited_by?.display_name ?? "Someone"}</strong>{" "}
              invites you to <strong className="font-medium">{inv.project.name}</strong> as {inv.role}
            </span>
            <span className="flex gap-2">
              <Button
                size="sm"
                aria-label={`Accept the invitation to ${inv.project.name}`}
                pending={answer.isPending && answer.variables?.id === inv.id && answer.variables.accept}
                onClick={() =>
                  answer.mutate(
                    { id: inv.id, accept: true },
                    {
                      onSuccess: () => toast.success(`You joined “${inv.project.name}” as ${inv.role}`),
                      onError: (e) => toast.error(messageOf(e)),
                    },
                  )
                }
              >
                Accept
              </Button>
              <Button
                size="sm"
                variant="outline"
                aria-label={`Decline the invitation to ${inv.project.name}`}
                onClick={() => answer.mutate({ id: inv.id, accept: false }, { onError: (e) => toast.error(messageOf(e)) })}
              >
                Decline
              </Button>
            </span>
          </li>
        ))}
      </ul>
    </section>
  );
}

function ProjectCard({ project, owned }: { project: Project; owned: boolean }) {
  return (
    <li className="relative flex flex-col gap-2 rounded-xl border bg-card p-4 shadow-xs focus-within:ring-2 focus-within:ring-ring hover:shadow-md">
      <div className="flex items-start gap-3">
        <span className="flex size-9 shrink-0 items-center justify-center rounded-lg bg-primary/10 text-primary">
          <Folder className="size-5" aria-hidden />
        </span>
        <div className="min-w-0 flex-1">
          <h3 className="truncate font-medium" title={project.name}>
            <Link to={`/p/${project.id}`} className="outline-none after:absolute after:inset-0 after:rounded-xl">
              {project.name}
            </Link>
          </h3>
          <p className="text-xs text-muted-foreground">
            <time dateTime={project.updated_at} title={formatDateTime(project.updated_at)}>
              Updated {timeAgo(project.updated_at)}
            </time>
          </p>
        </div>
        {project.is_public ? <Badge variant="info">Public</Badge> : null}
      </div>
      {project.description ? <p className="line-clamp-2 text-sm text-muted-foreground">{project.description}</p> : null}
      {owned ? (
        <div className="relative z-10 flex justify-end">
          <Button asChild variant="ghost" size="sm" aria-label={`Settings of ${project.name}`}>
            <Link to={`/p/${project.id}/settings`}>
              <Settings aria-hidden /> Settings
            </Link>
          </Button>
        </div>
      ) : null}
    </li>
  );
}

function ProjectList({ scope }: { scope: "owned" | "shared" }) {
  const query = useProjects(scope);
  const label = scope === "owned" ? "projects" : "shared projects";
  return (
    <PagedList
      query={query}
      label={label}
      skeleton={
        <div className="grid gap-3 sm:grid-cols-2 lg:grid-cols-3">
          {[0, 1].map((i) => (
            <Skeleton key={i} className="h-24 w-full rounded-xl" />
          ))}
        </div>
      }
      empty={
        scope === "owned" ? (
          <EmptyState icon={FolderOpen} title="No projects yet">
            Projects group diagrams and files, and can be shared.
          </EmptyState>
        ) : (
          <p className="text-sm text-muted-foreground">No one has shared a project with you yet.</p>
        )
      }
      renderItems={(items) => (
        <ul aria-label={label} className="grid gap-3 sm:grid-cols-2 lg:grid-cols-3">
          {items.map((p) => (
            <ProjectCard key={p.id} project={p} owned={scope === "owned"} />
          ))}
        </ul>
      )}
    />
  );
}

function SearchResults({ q }: { q: string }) {
  const results = useDiagrams({ q });
  const me = useMe().data;
  return (
    <section aria-labelledby="results-h">
      <h2 id="results-h" className="mb-3 text-lg font-semibold">
        Diagrams matching “{q}”
      </h2>
      <DiagramGrid
        query={results}
        label="search results"
        canTrash={false}
        emptyTitle={`No diagram title contains “${q}”`}
        emptyHint={me ? "Search looks at titles in your personal space, your projects and projects shared with you." : null}
      />
    </section>
  );
}

export function HomePage() {
  const [q, setQ] = useState("");
  const onSearch = useCallback((v: string) => setQ(v), []);
  const personal = useDiagrams({}, q === "");
  return (
    <PageContainer>
      <PageHeader
        title="Home"
        description="Your projects and quick diagrams."
        actions={
          <>
            <NewDiagramButton />
            <NewProjectDialog />
            <Button asChild variant="outline">
              <Link to="/import">
                <Import aria-hidden /> Import
              </Link>
            </Button>
          </>
        }
      />
      <div className="mb-6">
        <SearchBox label="Search diagrams by title" onSearch={onSearch} />
      </div>
      <Invitations />
      {q ? (
        <SearchResults q={q} />
      ) : (
        <div className="grid gap-10">
          <section aria-labelledby="projects-h">
            <h2 id="projects-h" className="mb-3 text-lg font-semibold">
              Projects
            </h2>
            <ProjectList scope="owned" />
          </section>
          <section aria-labelledby="shared-h">
            <h2 id="shared-h" className="mb-3 text-lg font-semibold">
              Shared with me
            </h2>
            <ProjectList scope="shared" />
          </section>
          <section aria-labelledby="personal-h">
            <div className="mb-3">
              <h2 id="personal-h" className="text-lg font-semibold">
                Personal space
              </h2>
              <p className="text-sm text-muted-foreground">Quick diagrams that belong to no project.</p>
            </div>
            <DiagramGrid
              query={personal}
              label="quick diagrams"
              canTrash
              emptyTitle="No quick diagrams"
              emptyHint="Start one with “New diagram”, or import a .bpmn file."
            />
          </section>
        </div>
      )}
    </PageContainer>
  );
}

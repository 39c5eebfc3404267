import { useMutation, useQueries, useQuery, useQueryClient } from "@tanstack/react-query";
import { Archive, CalendarClock, Database, HardDrive, Play, Siren } from "lucide-react";
import { Link, useNavigate } from "react-router-dom";
import { toast } from "sonner";
import { EmptyState, ErrorState, PageHeader, Skeleton } from "../components/layout.tsx";
import { StatusBadge } from "../components/status.tsx";
import { Button } from "../components/ui/button.tsx";
import { Card, CardContent, CardHeader, CardTitle } from "../components/ui/card.tsx";
import { api, messageOf } from "../lib/api.ts";
import { useFeatures } from "../lib/features.ts";
import { DESTINATION_TYPE_LABELS, formatBytes, formatDateTime, formatRelative } from "../lib/format.ts";
import { itemsOf, useDestinations, useProjects } from "../lib/queries.ts";
import { useIsAdmin } from "../lib/session.ts";
import type { Backup, Destination, Project } from "../lib/types.ts";
import { backupSize } from "./backups.tsx";

interface Alert {
  id: string;
  kind?: string;
  type?: string;
  message?: string;
  severity?: string;
  createdAt?: string;
}

interface Schedule {
  id: string;
  projectId: string;
  enabled?: boolean;
  nextRunAt?: string | string[] | null;
  nextRuns?: string[];
}

/** The destination "Back up now" uses: the default one, else the only valid one. */
function quickDestination(destinations: Destination[]): Destination | undefined {
  const usable = destinations.filter((d) => d.enabled !== false);
  return usable.find((d) => d.isDefault) ?? (usable.length === 1 ? usable[0] : undefined);
}

function nextRunOf(schedules: Schedule[], projectId: string): string | null {
  const times = schedules
    .filter((s) => s.projectId === projectId && s.enabled !== false)
    .flatMap((s) => (Array.isArray(s.nextRunAt) ? s.nextRunAt : s.nextRunAt ? [s.nextRunAt] : (s.nextRuns ?? [])).slice(0, 1))
    .sort();
  return times[0] ?? null;
}

function ProjectRow({
  project,
  last,
  lastPending,
  nextRun,
  schedulesKnown,
  destination,
  admin,
}: {
  project: Project;
  last: Backup | undefined;
  lastPending: boolean;
  nextRun: string | null;
  schedulesKnown: boolean;
  destination: Destination | undefined;
  admin: boolean;
}) {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const backUp = useMutation({
    mutationFn: () =>
      api.post<{ backupId: string }>(`/api/projects/${project.id}/backups`, {
        backupType: "full",
        storageType: "destination",
        storageDestinationId: destination!.id,
        compressionType: "gzip",
        includeMigrationHistory: project.includeMigrationHistory ?? true,
      }),
    onSuccess: ({ backupId }) => {
      void queryClient.invalidateQueries({ queryKey: ["backups"] });
      toast.success(`Backup of ${project.name} started`, {
        action: { label: "Follow", onClick: () => navigate(`/backups/${backupId}`) },
      });
      void queryClient.invalidateQueries({ queryKey: ["last-backup", project.id] });
    },
    onError: (error) => toast.error(messageOf(error)),
  });
  return (
    <Card className="grid gap-3 p-4">
      <div className="flex items-start justify-between gap-3">
        <div className="min-w-0">
          <h3 className="truncate font-semibold">
            <Link to={`/backups?projectId=${project.id}`} className="hover:underline">
              {project.name}
            </Link>
          </h3>
          <p className="text-xs text-muted-foreground">
            {project.supabase ? "Supabase" : project.supabase === false ? "PostgreSQL" : "Database"}
            {project.sizeBytes != null ? ` · ${formatBytes(project.sizeBytes)}` : ""}
          </p>
        </div>
        {admin ? (
          destination ? (
            <Button size="sm" pending={backUp.isPending} onClick={() => backUp.mutate()} title={`To ${destination.name}`}>
              {backUp.isPending ? null : <Play aria-hidden />}
              Back up now
            </Button>
          ) : (
            <Button size="sm" asChild>
              <Link to={`/backups/new?projectId=${project.id}`}>
                <Play aria-hidden />
                Back up now
              </Link>
            </Button>
          )
        ) : null}
      </div>
      <dl className="grid grid-cols-2 gap-3 text-sm">
        <div className="min-w-0">
          <dt className="text-xs text-muted-foreground">Last backup</dt>
          <dd className="flex min-h-6 flex-wrap items-center gap-2">
            {lastPending ? (
              <Skeleton className="h-5 w-28" />
            ) : last ? (
              <>
                <StatusBadge status={last.status} />
                <Link
                  to={`/backups/${last.id}`}
                  className="text-xs hover:underline"
                  title={formatDateTime(last.startedAt ?? last.createdAt)}
                >
                  {formatRelative(last.startedAt ?? last.createdAt)} · {formatBytes(backupSize(last))}
                </Link>
              </>
            ) : (
              <span className="text-muted-foreground">none yet</span>
            )}
          </dd>
        </div>
        <div className="min-w-0">
          <dt className="text-xs text-muted-foreground">Next scheduled run</dt>
          <dd className="min-h-6">
            {nextRun ? (
              <span title={formatDateTime(nextRun)}>{formatRelative(nextRun)}</span>
            ) : (
              <span className="text-muted-foreground">{schedulesKnown ? "not scheduled" : "—"}</span>
            )}
          </dd>
        </div>
      </dl>
    </Card>
  );
}

export function DashboardPage() {
  const projects = useProjects();
  const destinations = useDestinations();
  const features = useFeatures();
  const admin = useIsAdmin();
  const lasts = useQueries({
    queries: (projects.data ?? []).map((p) => ({
      queryKey: ["last-backup", p.id],
      queryFn: async () =>
        itemsOf<Backup>(await api.get(`/api/backups?projectId=${encodeURIComponent(p.id)}&limit=1`))[0] ?? null,
      refetchInterval: 10_000,
    })),
  });
  const schedules = useQuery({
    queryKey: ["schedules"],
    queryFn: async () => itemsOf<Schedule>(await api.get("/api/schedules")),
    enabled: features.schedules,
  });
  const alerts = useQuery({
    queryKey: ["alerts"],
    queryFn: async () => itemsOf<Alert>(await api.get("/api/alerts")),
    enabled: features.alerts,
  });
  const quick = quickDestination(destinations.data ?? []);
  return (
    <>
      <PageHeader title="Dashboard" description="Your projects and where their backups stand." />
      <div className="grid gap-6">
        {features.alerts && alerts.data?.length ? (
          <section aria-labelledby="alerts-heading" className="rounded-xl border border-destructive/40 bg-destructive/5 p-4">
            <h2 id="alerts-heading" className="mb-2 flex items-center gap-2 font-semibold">
              <Siren className="size-4 text-destructive" aria-hidden />
              Open alerts ({alerts.data.length})
            </h2>
            <ul className="grid gap-1 text-sm">
              {alerts.data.slice(0, 5).map((a) => (
                <li key={a.id} className="break-words">
                  {a.message ?? a.kind ?? a.type}{" "}
                  <span className="text-xs text-muted-foreground">{formatRelative(a.createdAt)}</span>
                </li>
              ))}
            </ul>
            <Link to="/alerts" className="mt-2 inline-block text-sm underline underline-offset-2">
              All alerts
            </Link>
          </section>
        ) : null}

        <section aria-labelledby="projects-heading" className="grid gap-3">
          <h2 id="projects-heading" className="flex items-center gap-2 text-lg font-semibold">
            <Database className="size-4" aria-hidden />
            Projects
          </h2>
          {projects.isPending ? (
            <div className="grid gap-3 md:grid-cols-2">
              <Skeleton className="h-32" />
              <Skeleton className="h-32" />
            </div>
          ) : projects.isError ? (
            <ErrorState error={projects.error} onRetry={() => projects.refetch()} />
          ) : projects.data.length === 0 ? (
            <EmptyState icon={Archive} title="Nothing backed up yet">
              {admin ? (
                <>
                  Start by{" "}
                  <Link to="/projects" className="underline underline-offset-2">
                    adding a project
                  </Link>{" "}
                  and a{" "}
                  <Link to="/destinations" className="underline underline-offset-2">
                    storage destination
                  </Link>
                  .
                </>
              ) : (
                "An admin has not added any project yet."
              )}
            </EmptyState>
          ) : (
            <div className="grid gap-3 md:grid-cols-2">
              {projects.data.map((p, i) => (
                <ProjectRow
                  key={p.id}
                  project={p}
                  last={lasts[i]?.data ?? undefined}
                  lastPending={lasts[i]?.isPending ?? true}
                  nextRun={nextRunOf(schedules.data ?? [], p.id)}
                  schedulesKnown={features.schedules && !!schedules.data}
                  destination={quick}
                  admin={admin}
                />
              ))}
            </div>
          )}
        </section>

        <Card>
          <CardHeader>
            <CardTitle className="flex items-center gap-2">
              <HardDrive className="size-4" aria-hidden />
              Destinations' health
            </CardTitle>
          </CardHeader>
          <CardContent>
            {destinations.isPending ? (
              <Skeleton className="h-16" />
            ) : destinations.isError ? (
              <ErrorState error={destinations.error} />
            ) : destinations.data.length === 0 ? (
              <p className="text-sm text-muted-foreground">
                No destinations.{" "}
                <Link to="/destinations" className="underline underline-offset-2">
                  Add one
                </Link>
                .
              </p>
            ) : (
              <ul className="grid gap-2">
                {destinations.data.map((d) => (
                  <li key={d.id} className="flex flex-wrap items-center justify-between gap-2 text-sm">
                    <span className="min-w-0">
                      <span className="font-medium">{d.name}</span>{" "}
                      <span className="text-xs text-muted-foreground">{DESTINATION_TYPE_LABELS[d.type]}</span>
                    </span>
                    <span className="flex items-center gap-2 text-xs text-muted-foreground">
                      {d.lastValidated
                        ? `${formatBytes(d.availableSpace)} free · tested ${formatRelative(d.lastValidated)}`
                        : "not tested yet"}
                      <StatusBadge status={d.validationStatus ?? "pending"} />
                    </span>
                    {d.validationStatus === "invalid" && d.validationError ? (
                      <span className="w-full text-xs break-words text-destructive">{d.validationError}</span>
                    ) : null}
                  </li>
                ))}
              </ul>
            )}
          </CardContent>
        </Card>
        {features.schedules ? null : (
          <p className="flex items-center gap-2 text-xs text-muted-foreground">
            <CalendarClock className="size-3.5" aria-hidden />
            Scheduled backups are not available on this server yet.
          </p>
        )}
      </div>
    </>
  );
}

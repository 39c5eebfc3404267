import { useMutation, useQueryClient } from "@tanstack/react-query";
import { Cloud, Database, Download, Loader2 } from "lucide-react";
import { type FormEvent, useEffect, useId, useState } from "react";
import { Link, useSearchParams } from "react-router-dom";
import { toast } from "sonner";
import { BackupProgress } from "../components/backup-progress.tsx";
import { EmptyState, ErrorState, PageHeader, Skeleton } from "../components/layout.tsx";
import { Button } from "../components/ui/button.tsx";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "../components/ui/card.tsx";
import { Checkbox } from "../components/ui/checkbox.tsx";
import { FormError } from "../components/ui/field.tsx";
import { Label } from "../components/ui/label.tsx";
import { Select, SelectContent, SelectItem, SelectTrigger, SelectValue } from "../components/ui/select.tsx";
import { api, fieldError, formError } from "../lib/api.ts";
import { useDestinations, useProjects } from "../lib/queries.ts";
import type { Project } from "../lib/types.ts";

const BROWSER = "browser_download";

function ErrorLine({ id, error }: { id: string; error: string | undefined }) {
  if (!error) return null;
  return (
    <p id={id} role="alert" className="text-xs font-medium text-destructive">
      {error}
    </p>
  );
}

/** The seed's ManualBackupForm, with several destinations possible. */
function ManualBackupForm({
  project,
  projects,
  onProject,
}: {
  project: Project;
  projects: Project[];
  onProject: (id: string) => void;
}) {
  const id = useId();
  const queryClient = useQueryClient();
  const destinations = useDestinations();
  const [backupType, setBackupType] = useState<"full" | "schema" | "data">("full");
  const [storage, setStorage] = useState<string>(BROWSER);
  const [extra, setExtra] = useState<string[]>([]);
  const [compressionType, setCompression] = useState<"gzip" | "zstd" | "none">("gzip");
  const [includeMigrationHistory, setHistory] = useState(project.includeMigrationHistory ?? true);
  const [backupId, setBackupId] = useState<string | null>(null);
  const [downloadWanted, setDownloadWanted] = useState(false);

  useEffect(() => setHistory(project.includeMigrationHistory ?? true), [project.includeMigrationHistory]);

  const create = useMutation({
    mutationFn: () => {
      const browser = storage === BROWSER;
      const ids = browser ? [] : [storage, ...extra.filter((d) => d !== storage)];
      return api.post<{ backupId: string }>(`/api/projects/${project.id}/backups`, {
        backupType,
        storageType: browser ? "browser_download" : "destination",
        ...(browser ? {} : ids.length === 1 ? { storageDestinationId: ids[0] } : { storageDestinationIds: ids }),
        compressionType,
        includeMigrationHistory,
      });
    },
    onSuccess: ({ backupId }) => {
      setDownloadWanted(storage === BROWSER);
      setBackupId(backupId);
      void queryClient.invalidateQueries({ queryKey: ["backups"] });
      toast.success(storage === BROWSER ? "Backup started; the download starts when it is ready" : "Backup started");
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate();
  };
  const dests = (destinations.data ?? []).filter((d) => d.enabled !== false);
  const others = dests.filter((d) => d.id !== storage);
  const fields = [
    "backupType",
    "storageType",
    "storageDestinationId",
    "storageDestinationIds",
    "compressionType",
    "includeMigrationHistory",
  ];
  const storageError = fieldError(create.error, "storageType", "storageDestinationId", "storageDestinationIds");
  return (
    <div className="grid gap-4">
      <Card>
        <CardHeader>
          <CardTitle>Create Manual Backup</CardTitle>
          <CardDescription>Create a one-time backup of your Supabase project</CardDescription>
        </CardHeader>
        <CardContent>
          <form onSubmit={submit} className="grid gap-4" noValidate>
            <div className="grid gap-1.5">
              <Label htmlFor={`${id}-project`}>Project</Label>
              <Select value={project.id} onValueChange={onProject}>
                <SelectTrigger id={`${id}-project`}>
                  <SelectValue />
                </SelectTrigger>
                <SelectContent>
                  {projects.map((p) => (
                    <SelectItem key={p.id} value={p.id}>
                      {p.name}
                    </SelectItem>
                  ))}
                </SelectContent>
              </Select>
            </div>

            <div className="grid gap-1.5">
              <Label htmlFor={`${id}-type`}>Backup Type</Label>
              <Select value={backupType} onValueChange={(v) => setBackupType(v as typeof backupType)}>
                <SelectTrigger id={`${id}-type`}>
                  <SelectValue />
                </SelectTrigger>
                <SelectContent>
                  <SelectItem value="full">Full Backup (Roles + Schema + Data)</SelectItem>
                  <SelectItem value="schema">Schema Only</SelectItem>
                  <SelectItem value="data">Data Only</SelectItem>
                </SelectContent>
              </Select>
              <ErrorLine id={`${id}-type-error`} error={fieldError(create.error, "backupType")} />
            </div>

            <div className="grid gap-1.5">
              <Label htmlFor={`${id}-storage`}>Storage Destination</Label>
              <Select
                value={storage}
                onValueChange={(v) => {
                  setStorage(v);
                  setExtra((prev) => prev.filter((d) => d !== v));
                }}
              >
                <SelectTrigger
                  id={`${id}-storage`}
                  aria-invalid={storageError ? true : undefined}
                  aria-describedby={storageError ? `${id}-storage-error` : undefined}
                >
                  <SelectValue />
                </SelectTrigger>
                <SelectContent>
                  <SelectItem value={BROWSER}>
                    <span className="flex items-center gap-2">
                      <Download aria-hidden />
                      Direct Browser Download
                    </span>
                  </SelectItem>
                  {dests.map((d) => (
                    <SelectItem key={d.id} value={d.id}>
                      <span className="flex items-center gap-2">
                        <Cloud aria-hidden />
                        {d.name} ({d.type})
                      </span>
                    </SelectItem>
                  ))}
                </SelectContent>
              </Select>
              <ErrorLine id={`${id}-storage-error`} error={storageError} />
            </div>

            {storage !== BROWSER && others.length > 0 ? (
              <fieldset className="grid gap-2 rounded-md border p-3">
                <legend className="px-1 text-sm font-medium">Also store a copy in</legend>
                {others.map((d) => (
                  <div key={d.id} className="flex items-center gap-2">
                    <Checkbox
                      id={`${id}-extra-${d.id}`}
                      checked={extra.includes(d.id)}
                      onCheckedChange={(c) => setExtra((prev) => (c === true ? [...prev, d.id] : prev.filter((x) => x !== d.id)))}
                    />
                    <Label htmlFor={`${id}-extra-${d.id}`} className="font-normal">
                      {d.name} ({d.type})
                    </Label>
                  </div>
                ))}
              </fieldset>
            ) : null}

            <div className="grid gap-1.5">
              <Label htmlFor={`${id}-compression`}>Compression</Label>
              <Select value={compressionType} onValueChange={(v) => setCompression(v as typeof compressionType)}>
                <SelectTrigger id={`${id}-compression`} aria-describedby={`${id}-compression-help`}>
                  <SelectValue />
                </SelectTrigger>
                <SelectContent>
                  <SelectItem value="gzip">gzip</SelectItem>
                  <SelectItem value="zstd">zstd (smaller, faster)</SelectItem>
                  <SelectItem value="none">None</SelectItem>
                </SelectContent>
              </Select>
              <p id={`${id}-compression-help`} className="text-xs text-muted-foreground">
                gzip opens anywhere; zstd needs the zstd tool to open by hand.
              </p>
            </div>

            <div className="flex items-center gap-2">
              <Checkbox
                id="includeMigrationHistory"
                checked={includeMigrationHistory}
                onCheckedChange={(c) => setHistory(c === true)}
              />
              <Label htmlFor="includeMigrationHistory">Include migration history</Label>
            </div>

            <FormError error={formError(create.error, fields)} />
            <Button type="submit" disabled={create.isPending} className="sm:justify-self-start">
              {create.isPending ? <Loader2 className="animate-spin" aria-hidden /> : <Database aria-hidden />}
              Create Backup
            </Button>
          </form>
        </CardContent>
      </Card>
      {backupId ? <BackupProgress key={backupId} backupId={backupId} autoDownload={downloadWanted} /> : null}
    </div>
  );
}

export function ManualBackupPage() {
  const projects = useProjects();
  const [params, setParams] = useSearchParams();
  const projectId = params.get("projectId");
  const list = projects.data ?? [];
  const project = list.find((p) => p.id === projectId) ?? list[0];
  return (
    <>
      <PageHeader title="Manual backup" description="Back up a project now, to a destination or as a download." />
      <div className="max-w-2xl">
        {projects.isPending ? (
          <Skeleton className="h-[30rem]" />
        ) : projects.isError ? (
          <ErrorState error={projects.error} onRetry={() => projects.refetch()} />
        ) : !project ? (
          <EmptyState icon={Database} title="No project to back up">
            <Link to="/projects" className="underline underline-offset-2">
              Add a project
            </Link>{" "}
            first.
          </EmptyState>
        ) : (
          <ManualBackupForm
            key={project.id}
            project={project}
            projects={list}
            onProject={(id) => setParams({ projectId: id }, { replace: true })}
          />
        )}
      </div>
    </>
  );
}

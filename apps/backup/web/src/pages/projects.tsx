import { useMutation, useQueryClient } from "@tanstack/react-query";
import { Database, Pencil, PlugZap, Plus, Save } from "lucide-react";
import { type FormEvent, useState } from "react";
import { Link } from "react-router-dom";
import { toast } from "sonner";
import { DeleteButton } from "../components/delete-button.tsx";
import { EmptyState, ErrorState, PageHeader, Skeleton } from "../components/layout.tsx";
import { StatusBadge } from "../components/status.tsx";
import { Button } from "../components/ui/button.tsx";
import { Card } from "../components/ui/card.tsx";
import { Checkbox } from "../components/ui/checkbox.tsx";
import { Dialog, DialogContent, DialogDescription, DialogHeader, DialogTitle, DialogTrigger } from "../components/ui/dialog.tsx";
import { Field, FormError } from "../components/ui/field.tsx";
import { Input } from "../components/ui/input.tsx";
import { Label } from "../components/ui/label.tsx";
import { Select, SelectContent, SelectItem, SelectTrigger, SelectValue } from "../components/ui/select.tsx";
import { api, fieldError, formError, messageOf } from "../lib/api.ts";
import { formatBytes, formatRelative } from "../lib/format.ts";
import { useProjects } from "../lib/queries.ts";
import { useIsAdmin } from "../lib/session.ts";
import type { Project, ProjectKind, ProjectTest } from "../lib/types.ts";

const KIND_LABELS: Record<ProjectKind, string> = {
  auto: "Detect automatically",
  supabase: "Supabase",
  postgres: "Plain PostgreSQL",
};

function ConnectionResult({ result }: { result: ProjectTest }) {
  if (!result.ok) {
    return (
      <p
        role="status"
        className="rounded-md border border-destructive/40 bg-destructive/10 px-3 py-2 text-sm text-destructive break-words"
      >
        Connection failed: {result.error ?? "unknown error"}
      </p>
    );
  }
  return (
    <p role="status" className="rounded-md border border-success/40 bg-success/10 px-3 py-2 text-sm break-words">
      Connected: PostgreSQL {result.serverVersion ?? "?"} · {result.supabase ? "Supabase" : "plain PostgreSQL"} ·{" "}
      {formatBytes(result.sizeBytes)}
    </p>
  );
}

function useTestProject() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => api.post<ProjectTest>(`/api/projects/${id}/test`),
    onSuccess: (result) => {
      queryClient.invalidateQueries({ queryKey: ["projects"] });
      if (result.ok) toast.success("Connection works");
      else toast.error(`Connection failed: ${result.error ?? "unknown error"}`);
    },
    onError: (error) => toast.error(messageOf(error)),
  });
}

function ProjectForm({ project, onDone }: { project?: Project; onDone: () => void }) {
  const queryClient = useQueryClient();
  const [name, setName] = useState(project?.name ?? "");
  // An edit starts from the stored URL with its password shown as *** (sent back as is, the server keeps the password).
  const [databaseUrl, setDatabaseUrl] = useState(typeof project?.databaseUrl === "string" ? project.databaseUrl : "");
  const [kind, setKind] = useState<ProjectKind>(project?.kind ?? "auto");
  const [history, setHistory] = useState(project?.includeMigrationHistory ?? true);
  const [test, setTest] = useState<ProjectTest | null>(null);
  const [saved, setSaved] = useState<Project | undefined>(project);
  const testProject = useTestProject();

  const save = useMutation({
    mutationFn: async () => {
      const body: Record<string, unknown> = { name, kind, includeMigrationHistory: history };
      if (!saved || (databaseUrl.trim() && databaseUrl !== saved.databaseUrl)) body.databaseUrl = databaseUrl.trim();
      return saved ? api.patch<Project>(`/api/projects/${saved.id}`, body) : api.post<Project>("/api/projects", body);
    },
    onSuccess: async (result) => {
      await queryClient.invalidateQueries({ queryKey: ["projects"] });
      toast.success(saved ? "Project saved" : "Project added");
      setSaved(result);
      setDatabaseUrl(typeof result.databaseUrl === "string" ? result.databaseUrl : "");
      // Show right away whether Stowage can reach the database just saved.
      setTest(await testProject.mutateAsync(result.id).catch(() => null));
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    save.mutate();
  };
  const runTest = async () => {
    if (!saved) return;
    setTest(null);
    setTest(await testProject.mutateAsync(saved.id).catch(() => null));
  };
  const fields = ["name", "databaseUrl", "kind", "includeMigrationHistory"];
  return (
    <form onSubmit={submit} className="grid gap-4" noValidate>
      <Field label="Name" help="Also the folder name of its backups." error={fieldError(save.error, "name")}>
        {(p) => <Input {...p} required value={name} onChange={(e) => setName(e.target.value)} placeholder="production" />}
      </Field>
      <Field
        label="Database URL"
        help={
          saved
            ? "The password is stored encrypted and shown as ***; keep *** to keep it, or type the whole URL with a new one."
            : "postgresql://user:password@host:5432/dbname. For Supabase use the direct or session-pooler connection string. Stored encrypted."
        }
        error={fieldError(save.error, "databaseUrl")}
      >
        {(p) => (
          <Input
            {...p}
            type={saved ? "text" : "password"}
            autoComplete="off"
            spellCheck={false}
            required
            value={databaseUrl}
            onChange={(e) => setDatabaseUrl(e.target.value)}
            placeholder="postgresql://postgres:…@db.example.supabase.co:5432/postgres"
          />
        )}
      </Field>
      <Field label="Kind" error={fieldError(save.error, "kind")}>
        {(p) => (
          <Select value={kind} onValueChange={(v) => setKind(v as ProjectKind)}>
            <SelectTrigger {...p}>
              <SelectValue />
            </SelectTrigger>
            <SelectContent>
              {Object.entries(KIND_LABELS).map(([value, label]) => (
                <SelectItem key={value} value={value}>
                  {label}
                </SelectItem>
              ))}
            </SelectContent>
          </Select>
        )}
      </Field>
      <div className="flex items-center gap-2">
        <Checkbox id="project-history" checked={history} onCheckedChange={(c) => setHistory(c === true)} />
        <Label htmlFor="project-history">Include migration history by default</Label>
      </div>
      <FormError error={formError(save.error, fields)} />
      {test ? <ConnectionResult result={test} /> : null}
      <div className="flex flex-col-reverse gap-2 sm:flex-row sm:justify-end">
        {saved ? (
          <Button type="button" variant="outline" onClick={runTest} pending={testProject.isPending}>
            {testProject.isPending ? null : <PlugZap aria-hidden />}
            Test connection
          </Button>
        ) : null}
        {saved && !save.isPending && test ? (
          <Button type="button" variant="secondary" onClick={onDone}>
            Done
          </Button>
        ) : null}
        <Button type="submit" pending={save.isPending}>
          {save.isPending ? null : <Save aria-hidden />}
          {saved ? "Save project" : "Add project"}
        </Button>
      </div>
    </form>
  );
}

function ProjectDialog({ project, trigger }: { project?: Project; trigger: React.ReactNode }) {
  const [open, setOpen] = useState(false);
  return (
    <Dialog open={open} onOpenChange={setOpen}>
      <DialogTrigger asChild>{trigger}</DialogTrigger>
      <DialogContent>
        <DialogHeader>
          <DialogTitle>{project ? `Edit ${project.name}` : "Add project"}</DialogTitle>
          <DialogDescription>A PostgreSQL or Supabase database that Stowage backs up.</DialogDescription>
        </DialogHeader>
        {open ? <ProjectForm project={project} onDone={() => setOpen(false)} /> : null}
      </DialogContent>
    </Dialog>
  );
}

function ProjectCard({ project, admin }: { project: Project; admin: boolean }) {
  const testProject = useTestProject();
  const tested = project.lastTestedAt != null;
  return (
    <Card className="flex flex-col gap-3 p-4">
      <div className="flex items-start justify-between gap-3">
        <div className="min-w-0">
          <h2 className="truncate font-semibold">{project.name}</h2>
          <p className="text-xs text-muted-foreground">
            {project.supabase === true ? "Supabase" : project.supabase === false ? "PostgreSQL" : KIND_LABELS[project.kind]}
            {project.serverVersion ? ` ${project.serverVersion}` : ""}
            {project.sizeBytes != null ? ` · ${formatBytes(project.sizeBytes)}` : ""}
          </p>
        </div>
        <StatusBadge status={!tested ? "untested" : project.lastTestOk ? "ok" : "failed"} />
      </div>
      <p className="min-h-5 text-xs break-words text-muted-foreground">
        {tested ? `Tested ${formatRelative(project.lastTestedAt)}` : "Connection not tested yet"}
        {project.lastTestOk === false && project.lastTestError ? (
          <span className="block text-destructive">{project.lastTestError}</span>
        ) : null}
      </p>
      {admin ? (
        <div className="mt-auto flex flex-wrap gap-2">
          <Button size="sm" variant="outline" pending={testProject.isPending} onClick={() => testProject.mutate(project.id)}>
            {testProject.isPending ? null : <PlugZap aria-hidden />}
            Test connection
          </Button>
          <Button size="sm" variant="outline" asChild>
            <Link to={`/backups/new?projectId=${project.id}`}>
              <Database aria-hidden />
              Back up now
            </Link>
          </Button>
          <ProjectDialog
            project={project}
            trigger={
              <Button size="sm" variant="ghost" aria-label={`Edit ${project.name}`}>
                <Pencil aria-hidden />
                Edit
              </Button>
            }
          />
          <DeleteButton
            title={`Delete project ${project.name}?`}
            description={<p>Its backups stay on their destinations and in the backups list. Schedules of this project stop.</p>}
            confirmLabel="Delete project"
            path={`/api/projects/${project.id}`}
            invalidate={["projects"]}
            done={`Project ${project.name} deleted`}
            label="Delete"
            ariaLabel={`Delete ${project.name}`}
          />
        </div>
      ) : null}
    </Card>
  );
}

export function ProjectsPage() {
  const projects = useProjects();
  const admin = useIsAdmin();
  return (
    <>
      <PageHeader
        title="Projects"
        description="The databases Stowage backs up."
        actions={
          admin ? (
            <ProjectDialog
              trigger={
                <Button>
                  <Plus aria-hidden />
                  Add project
                </Button>
              }
            />
          ) : null
        }
      />
      {projects.isPending ? (
        <div className="grid gap-3 sm:grid-cols-2">
          <Skeleton className="h-36" />
          <Skeleton className="h-36" />
        </div>
      ) : projects.isError ? (
        <ErrorState error={projects.error} onRetry={() => projects.refetch()} />
      ) : projects.data.length === 0 ? (
        <EmptyState icon={Database} title="No projects yet">
          Add the database you want to back up.
        </EmptyState>
      ) : (
        <div className="grid gap-3 sm:grid-cols-2">
          {projects.data.map((p) => (
            <ProjectCard key={p.id} project={p} admin={admin} />
          ))}
        </div>
      )}
    </>
  );
}

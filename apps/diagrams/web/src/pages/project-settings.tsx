/**
 * @module pages/project-settings
 * A project's settings, for its owners: name and description, the public toggle (with the link to
 * share), collaborators and invitations (viewer or editor), attachments (upload, list, download,
 * delete) and project backups (back up now, list, download, restore as a new project). Every API
 * error is shown with its own message, next to the part it concerns.
 */
import { ArrowLeft, Copy, Download, FileUp, HardDriveDownload, Paperclip, RotateCcw, Trash2, UserPlus } from "lucide-react";
import { type FormEvent, useEffect, useId, useRef, useState } from "react";
import { Link, useNavigate, useParams } from "react-router-dom";
import { toast } from "sonner";
import { EmptyState, ErrorState, Loading, PageContainer, PageHeader, Skeleton } from "../components/layout.tsx";
import { ProjectFields } from "../components/project-fields.tsx";
import {
  Badge,
  Button,
  Card,
  CardContent,
  CardDescription,
  CardHeader,
  CardTitle,
  ConfirmDialog,
  Field,
  FormError,
  Input,
  Label,
  Select,
  SelectContent,
  SelectItem,
  SelectTrigger,
  SelectValue,
  Switch,
} from "../components/ui.ts";
import { messageOf, type Project, type Role } from "../lib/api.ts";
import { formatBytes, formatDateTime, timeAgo } from "../lib/format.ts";
import { useProjectRole } from "../lib/project-role.ts";
import {
  useAttachmentAction,
  useAttachments,
  useCollaborators,
  useCreateBackup,
  useInvite,
  useProject,
  useProjectBackups,
  useProjectInvitations,
  useProjectMemberAction,
  useRestoreBackup,
  useTrashProject,
  useUpdateProject,
  useUploadAttachments,
} from "../lib/queries.ts";

function GeneralCard({ project }: { project: Project }) {
  const update = useUpdateProject(project.id);
  const [fields, setFields] = useState({ name: project.name, description: project.description ?? "" });
  useEffect(() => {
    setFields({ name: project.name, description: project.description ?? "" });
  }, [project.name, project.description]);
  const dirty = fields.name !== project.name || fields.description !== (project.description ?? "");
  const submit = (e: FormEvent) => {
    e.preventDefault();
    update.mutate(
      { name: fields.name, description: fields.description.trim() ? fields.description : null },
      { onSuccess: () => toast.success("Project saved") },
    );
  };
  return (
    <Card>
      <CardHeader>
        <CardTitle>General</CardTitle>
      </CardHeader>
      <CardContent>
        <form className="grid gap-4" onSubmit={submit}>
          <ProjectFields value={fields} onChange={setFields} error={update.error} />
          <div>
            <Button type="submit" pending={update.isPending} disabled={!dirty || !fields.name.trim()}>
              Save changes
            </Button>
          </div>
        </form>
      </CardContent>
    </Card>
  );
}

function VisibilityCard({ project }: { project: Project }) {
  const update = useUpdateProject(project.id);
  const id = useId();
  const link = `${window.location.origin}/p/${project.id}`;
  return (
    <Card>
      <CardHeader>
        <CardTitle>Visibility</CardTitle>
        <CardDescription>
          A public project and its diagrams can be read by anyone with the link; only you and editors change them.
        </CardDescription>
      </CardHeader>
      <CardContent className="grid gap-4">
        <div className="flex items-center gap-3">
          <Switch
            id={id}
            checked={project.is_public}
            disabled={update.isPending}
            onCheckedChange={(checked) =>
              update.mutate(
                { is_public: checked },
                {
                  onSuccess: (p) => toast.success(p.is_public ? "The project is public" : "The project is private"),
                  onError: (e) => toast.error(messageOf(e)),
                },
              )
            }
          />
          <Label htmlFor={id}>Public project</Label>
        </div>
        {project.is_public ? (
          <div className="grid gap-1.5">
            <Label htmlFor={`${id}-link`}>Link to share</Label>
            <div className="flex gap-2">
              <Input
                id={`${id}-link`}
                readOnly
                value={link}
                onFocus={(e) => e.currentTarget.select()}
                className="font-mono text-xs"
              />
              <Button
                variant="outline"
                size="icon"
                aria-label="Copy the link"
                onClick={() =>
                  navigator.clipboard?.writeText(link).then(
                    () => toast.success("Link copied"),
                    () => toast.error("Copying is not allowed here; select the link and copy it."),
                  )
                }
              >
                <Copy aria-hidden />
              </Button>
            </div>
            <p className="text-xs text-muted-foreground">
              Without an account, the API answers the same link as JSON: <code>/projects/{project.id}</code>.
            </p>
          </div>
        ) : null}
        <FormError error={update.error ? messageOf(update.error) : null} />
      </CardContent>
    </Card>
  );
}

function RoleSelect({
  value,
  onChange,
  label,
  disabled,
}: {
  value: Role;
  onChange: (r: Role) => void;
  label: string;
  disabled?: boolean;
}) {
  return (
    <Select value={value} onValueChange={(v) => onChange(v as Role)} disabled={disabled ?? false}>
      <SelectTrigger aria-label={label} className="w-28">
        <SelectValue />
      </SelectTrigger>
      <SelectContent>
        <SelectItem value="viewer">Viewer</SelectItem>
        <SelectItem value="editor">Editor</SelectItem>
      </SelectContent>
    </Select>
  );
}

function SharingCard({ project }: { project: Project }) {
  const collaborators = useCollaborators(project.id);
  const invitations = useProjectInvitations(project.id, true);
  const invite = useInvite(project.id);
  const member = useProjectMemberAction(project.id);
  const [email, setEmail] = useState("");
  const [role, setRole] = useState<Role>("viewer");
  const submit = (e: FormEvent) => {
    e.preventDefault();
    invite.mutate(
      { email: email.trim(), role },
      {
        onSuccess: () => {
          toast.success(`Invitation sent to ${email.trim()}`);
          setEmail("");
        },
      },
    );
  };
  return (
    <Card>
      <CardHeader>
        <CardTitle>Collaborators</CardTitle>
        <CardDescription>Viewers read the project's diagrams and files; editors also change them.</CardDescription>
      </CardHeader>
      <CardContent className="grid gap-5">
        <form className="grid gap-3 sm:grid-cols-[1fr_auto_auto] sm:items-end" onSubmit={submit}>
          <Field label="Invite by email">
            {(p) => (
              <Input {...p} type="email" required autoComplete="off" value={email} onChange={(e) => setEmail(e.target.value)} />
            )}
          </Field>
          <div className="grid gap-1.5">
            <span className="text-sm font-medium" aria-hidden>
              Role
            </span>
            <RoleSelect value={role} onChange={setRole} label="Role of the invited person" />
          </div>
          <Button type="submit" pending={invite.isPending} disabled={!email.trim()}>
            {invite.isPending ? null : <UserPlus aria-hidden />}
            Send invitation
          </Button>
          <div className="sm:col-span-3">
            <FormError error={invite.error ? messageOf(invite.error) : null} />
          </div>
        </form>

        <section aria-labelledby="people-h" className="grid gap-2">
          <h3 id="people-h" className="text-sm font-semibold">
            People with access
          </h3>
          {collaborators.isPending ? (
            <Skeleton className="h-10 w-full" />
          ) : collaborators.error ? (
            <ErrorState error={collaborators.error} onRetry={() => collaborators.refetch()} />
          ) : collaborators.data.length === 0 ? (
            <p className="text-sm text-muted-foreground">Only you, for now.</p>
          ) : (
            <ul className="grid gap-2" aria-label="Collaborators">
              {collaborators.data.map((c) => {
                const who = c.email ?? c.user_id;
                return (
                  <li key={c.user_id} className="flex flex-wrap items-center gap-2 rounded-lg border px-3 py-2">
                    <span className="min-w-0 flex-1 truncate text-sm">{who}</span>
                    <RoleSelect
                      value={c.role}
                      label={`Role of ${who}`}
                      disabled={member.isPending}
                      onChange={(r) =>
                        member.mutate(
                          { kind: "role", userId: c.user_id, role: r },
                          { onSuccess: () => toast.success(`${who} is now ${r}`), onError: (e) => toast.error(messageOf(e)) },
                        )
                      }
                    />
                    <ConfirmDialog
                      title={`Remove ${who}?`}
                      description="They lose access to this project's diagrams and files."
                      confirmLabel="Remove"
                      onConfirm={() => member.mutateAsync({ kind: "remove", userId: c.user_id })}
                      trigger={(open) => (
                        <Button variant="ghost" size="icon" aria-label={`Remove ${who}`} onClick={open}>
                          <Trash2 aria-hidden />
                        </Button>
                      )}
                    />
                  </li>
                );
              })}
            </ul>
          )}
        </section>

        <section aria-labelledby="pending-h" className="grid gap-2">
          <h3 id="pending-h" className="text-sm font-semibold">
            Pending invitations
          </h3>
          {invitations.isPending ? (
            <Skeleton className="h-10 w-full" />
          ) : invitations.error ? (
            <ErrorState error={invitations.error} onRetry={() => invitations.refetch()} />
          ) : invitations.data.length === 0 ? (
            <p className="text-sm text-muted-foreground">No invitation is waiting for an answer.</p>
          ) : (
            <ul className="grid gap-2" aria-label="Pending invitations">
              {invitations.data.map((inv) => {
                const who = inv.email ?? inv.user_id ?? "";
                return (
                  <li key={inv.id} className="flex flex-wrap items-center gap-2 rounded-lg border border-dashed px-3 py-2">
                    <span className="min-w-0 flex-1 truncate text-sm">{who}</span>
                    <Badge>{inv.role}</Badge>
                    <Button
                      variant="ghost"
                      size="sm"
                      aria-label={`Withdraw the invitation of ${who}`}
                      onClick={() =>
                        member.mutate(
                          { kind: "withdraw", invitationId: inv.id },
                          { onSuccess: () => toast.success("Invitation withdrawn"), onError: (e) => toast.error(messageOf(e)) },
                        )
                      }
                    >
                      Withdraw
                    </Button>
                  </li>
                );
              })}
            </ul>
          )}
        </section>
      </CardContent>
    </Card>
  );
}

function AttachmentsCard({ project, canWrite }: { project: Project; canWrite: boolean }) {
  const attachments = useAttachments(project.id);
  const upload = useUploadAttachments(project.id);
  const action = useAttachmentAction(project.id);
  const input = useRef<HTMLInputElement>(null);
  const inputId = useId();
  const download = (id: string) =>
    action.mutate(
      { id, action: "link" },
      {
        onSuccess: (a) => {
          if (a?.url) window.location.assign(a.url);
        },
        onError: (e) => toast.error(messageOf(e)),
      },
    );
  return (
    <Card>
      <CardHeader>
        <CardTitle>Attachments</CardTitle>
        <CardDescription>Files that belong with the project's diagrams (up to 50 MB each).</CardDescription>
      </CardHeader>
      <CardContent className="grid gap-4">
        {canWrite ? (
          <div className="grid gap-2">
            <Label htmlFor={inputId}>Add files</Label>
            <div className="flex flex-wrap items-center gap-2">
              <Input
                ref={input}
                id={inputId}
                type="file"
                multiple
                className="max-w-sm"
                onChange={(e) => {
                  const files = Array.from(e.currentTarget.files ?? []);
                  if (files.length === 0) return;
                  upload.mutate(files, {
                    onSuccess: (r) => {
                      toast.success(`${r.attachments.length} file${r.attachments.length === 1 ? "" : "s"} uploaded`);
                      if (input.current) input.current.value = "";
                    },
                  });
                }}
              />
              {upload.isPending ? (
                <span role="status" className="flex items-center gap-1 text-sm text-muted-foreground">
                  <FileUp className="size-4" aria-hidden /> Uploading…
                </span>
              ) : null}
            </div>
            <FormError error={upload.error ? messageOf(upload.error) : null} />
          </div>
        ) : null}
        {attachments.isPending ? (
          <Skeleton className="h-10 w-full" />
        ) : attachments.error ? (
          <ErrorState error={attachments.error} onRetry={() => attachments.refetch()} />
        ) : attachments.data.length === 0 ? (
          <EmptyState icon={Paperclip} title="No attachments" />
        ) : (
          <ul className="grid gap-2" aria-label="Attachments">
            {attachments.data.map((a) => (
              <li key={a.id} className="flex flex-wrap items-center gap-2 rounded-lg border px-3 py-2">
                <Paperclip className="size-4 shrink-0 text-muted-foreground" aria-hidden />
                <div className="min-w-0 flex-1">
                  <p className="truncate text-sm font-medium">{a.name}</p>
                  <p className="text-xs text-muted-foreground">
                    {formatBytes(a.size)} ·{" "}
                    <time dateTime={a.created_at} title={formatDateTime(a.created_at)}>
                      {timeAgo(a.created_at)}
                    </time>
                  </p>
                </div>
                <Button variant="ghost" size="icon" aria-label={`Download ${a.name}`} onClick={() => download(a.id)}>
                  <Download aria-hidden />
                </Button>
                {canWrite ? (
                  <ConfirmDialog
                    title={`Delete ${a.name}?`}
                    description="The file is deleted for everyone in the project."
                    confirmLabel="Delete"
                    onConfirm={() => action.mutateAsync({ id: a.id, action: "delete" })}
                    trigger={(open) => (
                      <Button variant="ghost" size="icon" aria-label={`Delete ${a.name}`} onClick={open}>
                        <Trash2 aria-hidden />
                      </Button>
                    )}
                  />
                ) : null}
              </li>
            ))}
          </ul>
        )}
      </CardContent>
    </Card>
  );
}

function BackupsCard({ project }: { project: Project }) {
  const backups = useProjectBackups(project.id, true);
  const create = useCreateBackup(project.id);
  const restore = useRestoreBackup(project.id);
  const navigate = useNavigate();
  return (
    <Card>
      <CardHeader>
        <CardTitle>Backups</CardTitle>
        <CardDescription>
          A backup holds the project, its diagrams with every kept version, and its attachments. Restoring makes a new project;
          this one stays as it is.
        </CardDescription>
      </CardHeader>
      <CardContent className="grid gap-4">
        <div>
          <Button
            pending={create.isPending}
            onClick={() =>
              create.mutate(undefined, {
                onSuccess: () => toast.success("Backup created"),
              })
            }
          >
            {create.isPending ? null : <HardDriveDownload aria-hidden />}
            Back up now
          </Button>
        </div>
        <FormError error={create.error ? messageOf(create.error) : null} />
        {backups.isPending ? (
          <Skeleton className="h-10 w-full" />
        ) : backups.error ? (
          <ErrorState error={backups.error} onRetry={() => backups.refetch()} />
        ) : backups.data.length === 0 ? (
          <EmptyState icon={HardDriveDownload} title="No backups yet" />
        ) : (
          <ul className="grid gap-2" aria-label="Backups">
            {backups.data.map((b) => {
              const when = formatDateTime(b.created_at);
              const counts = [
                b.diagrams !== undefined ? `${b.diagrams} diagram${b.diagrams === 1 ? "" : "s"}` : null,
                b.versions !== undefined ? `${b.versions} version${b.versions === 1 ? "" : "s"}` : null,
                formatBytes(b.size),
              ]
                .filter(Boolean)
                .join(" · ");
              return (
                <li key={b.id} className="flex flex-wrap items-center gap-2 rounded-lg border px-3 py-2">
                  <div className="min-w-0 flex-1">
                    <p className="text-sm font-medium">
                      <time dateTime={b.created_at}>{when}</time> {b.trigger ? <Badge className="ml-1">{b.trigger}</Badge> : null}
                    </p>
                    <p className="text-xs text-muted-foreground">{counts}</p>
                  </div>
                  {b.url ? (
                    <Button asChild variant="ghost" size="icon" aria-label={`Download the backup of ${when}`}>
                      <a href={b.url} download>
                        <Download aria-hidden />
                      </a>
                    </Button>
                  ) : null}
                  <ConfirmDialog
                    title="Restore as a new project?"
                    description={`A new project is made from the backup of ${when}: ${counts}. “${project.name}” is not changed.`}
                    confirmLabel="Restore as new project"
                    onConfirm={async () => {
                      const restored = await restore.mutateAsync(b.id);
                      toast.success(`Restored: ${restored.diagrams} diagrams, ${restored.versions} versions`);
                      navigate(`/p/${restored.project_id}`);
                    }}
                    trigger={(open) => (
                      <Button
                        variant="outline"
                        size="sm"
                        aria-label={`Restore the backup of ${when} as a new project`}
                        onClick={open}
                      >
                        <RotateCcw aria-hidden />
                        Restore
                      </Button>
                    )}
                  />
                </li>
              );
            })}
          </ul>
        )}
      </CardContent>
    </Card>
  );
}

function DangerCard({ project }: { project: Project }) {
  const trash = useTrashProject();
  const navigate = useNavigate();
  return (
    <Card className="border-destructive/40">
      <CardHeader>
        <CardTitle>Move to the trash</CardTitle>
        <CardDescription>The project and its diagrams go to the trash, where you can restore them.</CardDescription>
      </CardHeader>
      <CardContent>
        <ConfirmDialog
          title={`Move “${project.name}” to the trash?`}
          description="Collaborators lose access until you restore it."
          confirmLabel="Move to the trash"
          onConfirm={async () => {
            await trash.mutateAsync(project.id);
            toast.success(`“${project.name}” moved to the trash`);
            navigate("/trash");
          }}
          trigger={(open) => (
            <Button variant="destructive" onClick={open}>
              <Trash2 aria-hidden /> Move project to the trash
            </Button>
          )}
        />
      </CardContent>
    </Card>
  );
}

export function ProjectSettingsPage() {
  const { projectId = "" } = useParams();
  const project = useProject(projectId);
  const role = useProjectRole(project.data);
  const back = (
    <Link
      to={`/p/${projectId}`}
      className="mb-2 inline-flex items-center gap-1 text-sm text-muted-foreground hover:text-foreground"
    >
      <ArrowLeft className="size-4" aria-hidden /> {project.data?.name ?? "Project"}
    </Link>
  );
  if (project.isPending || role === undefined) {
    return (
      <PageContainer>
        <Loading label="Loading the project" className="grid gap-3">
          <Skeleton className="h-8 w-60" />
          <Skeleton className="h-64 w-full" />
        </Loading>
      </PageContainer>
    );
  }
  if (project.error) {
    return (
      <PageContainer>
        <PageHeader title="Project settings" />
        <ErrorState error={project.error} onRetry={() => project.refetch()} />
      </PageContainer>
    );
  }
  const p = project.data;
  if (role !== "owner") {
    return (
      <PageContainer>
        {back}
        <PageHeader title="Project settings" />
        <ErrorState error={new Error("Only the project's owner can change its settings.")} />
        <div className="mt-5">
          <AttachmentsCard project={p} canWrite={role === "editor"} />
        </div>
      </PageContainer>
    );
  }
  return (
    <PageContainer>
      {back}
      <PageHeader title="Project settings" description={p.name} />
      <div className="grid gap-5 lg:grid-cols-2">
        <div className="grid content-start gap-5">
          <GeneralCard project={p} />
          <VisibilityCard project={p} />
          <AttachmentsCard project={p} canWrite />
        </div>
        <div className="grid content-start gap-5">
          <SharingCard project={p} />
          <BackupsCard project={p} />
          <DangerCard project={p} />
        </div>
      </div>
    </PageContainer>
  );
}

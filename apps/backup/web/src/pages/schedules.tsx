import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import cronstrue from "cronstrue";
import { CalendarClock, Pencil, Play, Plus, Save } from "lucide-react";
import { type FormEvent, useId, useMemo, useState } from "react";
import { Link } from "react-router-dom";
import { toast } from "sonner";
import { DeleteButton } from "../components/delete-button.tsx";
import { EmptyState, ErrorState, PageHeader, Skeleton } from "../components/layout.tsx";
import { StatusBadge } from "../components/status.tsx";
import { Badge } from "../components/ui/badge.tsx";
import { Button } from "../components/ui/button.tsx";
import { Card } from "../components/ui/card.tsx";
import { Checkbox } from "../components/ui/checkbox.tsx";
import { Dialog, DialogContent, DialogDescription, DialogHeader, DialogTitle } from "../components/ui/dialog.tsx";
import { Field, FormError } from "../components/ui/field.tsx";
import { Input } from "../components/ui/input.tsx";
import { Label } from "../components/ui/label.tsx";
import { Select, SelectContent, SelectItem, SelectTrigger, SelectValue } from "../components/ui/select.tsx";
import { Switch } from "../components/ui/switch.tsx";
import { api, fieldError, formError, messageOf } from "../lib/api.ts";
import { BACKUP_TYPE_LABELS, formatDateTime, formatRelative } from "../lib/format.ts";
import { itemsOf, useDestinations, useProjects } from "../lib/queries.ts";
import { useIsAdmin } from "../lib/session.ts";

const RETENTION_KEYS = ["keepLast", "keepDaily", "keepWeekly", "keepMonthly", "keepYearly"] as const;
type RetentionKey = (typeof RETENTION_KEYS)[number];
const RETENTION_LABELS: Record<RetentionKey, string> = {
  keepLast: "Keep last",
  keepDaily: "Daily",
  keepWeekly: "Weekly",
  keepMonthly: "Monthly",
  keepYearly: "Yearly",
};

interface Schedule {
  id: string;
  name: string;
  projectId: string;
  projectName: string | null;
  cron: string;
  timezone: string;
  backupType: "full" | "schema" | "data";
  compressionType: "gzip" | "zstd" | "none";
  includeMigrationHistory: boolean | null;
  destinationIds: string[];
  retention: (Partial<Record<RetentionKey, number>> & { includeManual?: boolean }) | null;
  drill: { every: number; scratchDatabaseUrl: string; hasPassword: boolean } | null;
  enabled: boolean;
  nextRunAt: string | null;
  nextRuns: string[];
  lastRunAt: string | null;
  lastStatus: string | null;
  lastBackupId: string | null;
  consecutiveFailures: number;
  running: boolean;
}

/** cronstrue's reading of an expression, or why it cannot read it. */
export function describeCron(cron: string): { text: string; ok: boolean } {
  if (!cron.trim()) return { text: "", ok: false };
  try {
    return { text: cronstrue.toString(cron.trim(), { use24HourTimeFormat: true, verbose: true }), ok: true };
  } catch (error) {
    return { text: String(error).replace(/^Error: /, ""), ok: false };
  }
}

function timeZones(): string[] {
  const intl = Intl as unknown as { supportedValuesOf?: (key: string) => string[] };
  return intl.supportedValuesOf?.("timeZone") ?? ["UTC"];
}

function ScheduleForm({ schedule, onDone }: { schedule?: Schedule; onDone: () => void }) {
  const id = useId();
  const queryClient = useQueryClient();
  const projects = useProjects();
  const destinations = useDestinations();
  const [projectId, setProjectId] = useState(schedule?.projectId ?? projects.data?.[0]?.id ?? "");
  const [name, setName] = useState(schedule?.name ?? "");
  const [cron, setCron] = useState(schedule?.cron ?? "0 3 * * *");
  const [timezone, setTimezone] = useState(schedule?.timezone ?? Intl.DateTimeFormat().resolvedOptions().timeZone ?? "UTC");
  const [backupType, setBackupType] = useState(schedule?.backupType ?? "full");
  const [compressionType, setCompression] = useState(schedule?.compressionType ?? "gzip");
  const [destinationIds, setDestinationIds] = useState<string[]>(schedule?.destinationIds ?? []);
  const [retention, setRetention] = useState<Record<RetentionKey, string>>(() => {
    const r = schedule?.retention ?? { keepLast: 7, keepDaily: 7, keepWeekly: 4, keepMonthly: 6 };
    return Object.fromEntries(RETENTION_KEYS.map((k) => [k, r[k] == null ? "" : String(r[k])])) as Record<RetentionKey, string>;
  });
  const [includeManual, setIncludeManual] = useState(schedule?.retention?.includeManual ?? false);
  const [drillOn, setDrillOn] = useState(!!schedule?.drill);
  const [drillUrl, setDrillUrl] = useState(schedule?.drill?.scratchDatabaseUrl ?? "");
  const [drillEvery, setDrillEvery] = useState(String(schedule?.drill?.every ?? 7));
  const [enabled, setEnabled] = useState(schedule?.enabled ?? true);
  const description = describeCron(cron);
  const zones = useMemo(timeZones, []);

  const save = useMutation({
    mutationFn: () => {
      const retentionBody: Record<string, number | boolean> = { includeManual };
      for (const k of RETENTION_KEYS) if (retention[k].trim() !== "") retentionBody[k] = Number(retention[k]);
      const body = {
        name: name.trim() || undefined,
        cron: cron.trim(),
        timezone: timezone.trim(),
        backupType,
        compressionType,
        destinationIds,
        retention: retentionBody,
        drill: drillOn ? { scratchDatabaseUrl: drillUrl.trim(), every: Number(drillEvery) } : null,
        enabled,
      };
      return schedule ? api.patch(`/api/schedules/${schedule.id}`, body) : api.post("/api/schedules", { projectId, ...body });
    },
    onSuccess: async () => {
      toast.success(schedule ? "Schedule saved" : "Schedule added");
      await queryClient.invalidateQueries({ queryKey: ["schedules"] });
      onDone();
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    save.mutate();
  };
  const fields = [
    "projectId",
    "name",
    "cron",
    "timezone",
    "destinationIds",
    "retention",
    "drill",
    "drill.scratchDatabaseUrl",
    "drill.every",
  ];
  return (
    <form onSubmit={submit} className="grid gap-4" noValidate>
      {schedule ? null : (
        <div className="grid gap-1.5">
          <Label htmlFor={`${id}-project`}>Project</Label>
          <Select value={projectId} onValueChange={setProjectId}>
            <SelectTrigger id={`${id}-project`}>
              <SelectValue placeholder="Choose a project" />
            </SelectTrigger>
            <SelectContent>
              {(projects.data ?? []).map((p) => (
                <SelectItem key={p.id} value={p.id}>
                  {p.name}
                </SelectItem>
              ))}
            </SelectContent>
          </Select>
        </div>
      )}
      <Field label="Name" help="Optional; shown in lists and notifications." error={fieldError(save.error, "name")}>
        {(p) => <Input {...p} value={name} onChange={(e) => setName(e.target.value)} placeholder="Nightly" />}
      </Field>
      <div className="grid gap-4 sm:grid-cols-2">
        <Field
          label="Cron expression"
          help={description.ok ? description.text : "5 fields (minute hour day month weekday), or 6 with seconds first."}
          error={fieldError(save.error, "cron") ?? (cron.trim() && !description.ok ? description.text : undefined)}
        >
          {(p) => (
            <Input {...p} className="font-mono" spellCheck={false} value={cron} onChange={(e) => setCron(e.target.value)} />
          )}
        </Field>
        <Field label="Time zone" help="IANA name, e.g. Europe/Berlin." error={fieldError(save.error, "timezone")}>
          {(p) => (
            <>
              <Input
                {...p}
                list={`${id}-zones`}
                spellCheck={false}
                value={timezone}
                onChange={(e) => setTimezone(e.target.value)}
              />
              <datalist id={`${id}-zones`}>
                {zones.map((z) => (
                  <option key={z} value={z} />
                ))}
              </datalist>
            </>
          )}
        </Field>
      </div>
      <div className="grid gap-4 sm:grid-cols-2">
        <div className="grid gap-1.5">
          <Label htmlFor={`${id}-type`}>Backup Type</Label>
          <Select value={backupType} onValueChange={(v) => setBackupType(v as typeof backupType)}>
            <SelectTrigger id={`${id}-type`}>
              <SelectValue />
            </SelectTrigger>
            <SelectContent>
              {Object.entries(BACKUP_TYPE_LABELS).map(([v, l]) => (
                <SelectItem key={v} value={v}>
                  {l}
                </SelectItem>
              ))}
            </SelectContent>
          </Select>
        </div>
        <div className="grid gap-1.5">
          <Label htmlFor={`${id}-compression`}>Compression</Label>
          <Select value={compressionType} onValueChange={(v) => setCompression(v as typeof compressionType)}>
            <SelectTrigger id={`${id}-compression`}>
              <SelectValue />
            </SelectTrigger>
            <SelectContent>
              <SelectItem value="gzip">gzip</SelectItem>
              <SelectItem value="zstd">zstd</SelectItem>
              <SelectItem value="none">None</SelectItem>
            </SelectContent>
          </Select>
        </div>
      </div>
      <fieldset className="grid gap-2 rounded-md border p-3">
        <legend className="px-1 text-sm font-medium">Destinations</legend>
        <p className="text-xs text-muted-foreground">None checked: the default destination.</p>
        {(destinations.data ?? []).map((d) => (
          <div key={d.id} className="flex items-center gap-2">
            <Checkbox
              id={`${id}-dest-${d.id}`}
              checked={destinationIds.includes(d.id)}
              onCheckedChange={(c) =>
                setDestinationIds((prev) => (c === true ? [...prev, d.id] : prev.filter((x) => x !== d.id)))
              }
            />
            <Label htmlFor={`${id}-dest-${d.id}`} className="font-normal">
              {d.name} ({d.type})
            </Label>
          </div>
        ))}
        {fieldError(save.error, "destinationIds") ? (
          <p role="alert" className="text-xs text-destructive">
            {fieldError(save.error, "destinationIds")}
          </p>
        ) : null}
      </fieldset>
      <fieldset className="grid gap-3 rounded-md border p-3">
        <legend className="px-1 text-sm font-medium">Retention</legend>
        <p className="text-xs text-muted-foreground">
          After each successful run, per destination. Empty = not used, -1 = unlimited. The newest complete backup is never
          removed.
        </p>
        <div className="grid grid-cols-2 gap-3 sm:grid-cols-5">
          {RETENTION_KEYS.map((k) => (
            <Field key={k} label={RETENTION_LABELS[k]} error={fieldError(save.error, `retention.${k}`)}>
              {(p) => (
                <Input
                  {...p}
                  type="number"
                  inputMode="numeric"
                  min={-1}
                  value={retention[k]}
                  onChange={(e) => setRetention((r) => ({ ...r, [k]: e.target.value }))}
                />
              )}
            </Field>
          ))}
        </div>
        <div className="flex items-center gap-2">
          <Checkbox id={`${id}-manual`} checked={includeManual} onCheckedChange={(c) => setIncludeManual(c === true)} />
          <Label htmlFor={`${id}-manual`} className="font-normal">
            Also prune manual backups of this project
          </Label>
        </div>
      </fieldset>
      <fieldset className="grid gap-3 rounded-md border p-3">
        <legend className="px-1 text-sm font-medium">Restore drill</legend>
        <div className="flex items-center gap-2">
          <Switch id={`${id}-drill`} checked={drillOn} onCheckedChange={setDrillOn} />
          <Label htmlFor={`${id}-drill`}>Restore every Nth backup into a scratch database and check its row counts</Label>
        </div>
        {drillOn ? (
          <div className="grid gap-3 sm:grid-cols-[1fr_8rem]">
            <Field
              label="Scratch database URL"
              help="Its contents are replaced at every drill. A stored password shows as ***; keep it to keep the password."
              error={fieldError(save.error, "drill.scratchDatabaseUrl", "scratchDatabaseUrl")}
            >
              {(p) => (
                <Input
                  {...p}
                  spellCheck={false}
                  autoComplete="off"
                  value={drillUrl}
                  onChange={(e) => setDrillUrl(e.target.value)}
                />
              )}
            </Field>
            <Field label="Every Nth backup" error={fieldError(save.error, "drill.every", "every")}>
              {(p) => <Input {...p} type="number" min={1} value={drillEvery} onChange={(e) => setDrillEvery(e.target.value)} />}
            </Field>
          </div>
        ) : null}
      </fieldset>
      <div className="flex items-center gap-2">
        <Switch id={`${id}-enabled`} checked={enabled} onCheckedChange={setEnabled} />
        <Label htmlFor={`${id}-enabled`}>Enabled</Label>
      </div>
      <FormError error={formError(save.error, fields)} />
      <div className="flex flex-col-reverse gap-2 sm:flex-row sm:justify-end">
        <Button type="button" variant="outline" onClick={onDone}>
          Cancel
        </Button>
        <Button type="submit" pending={save.isPending}>
          {save.isPending ? null : <Save aria-hidden />}
          {schedule ? "Save schedule" : "Add schedule"}
        </Button>
      </div>
    </form>
  );
}

function ScheduleDialog({
  schedule,
  open,
  onOpenChange,
}: {
  schedule?: Schedule;
  open: boolean;
  onOpenChange: (o: boolean) => void;
}) {
  return (
    <Dialog open={open} onOpenChange={onOpenChange}>
      <DialogContent wide>
        <DialogHeader>
          <DialogTitle>{schedule ? `Edit ${schedule.name || "schedule"}` : "Add schedule"}</DialogTitle>
          <DialogDescription>Backups that run by themselves; missed or failing runs raise alerts.</DialogDescription>
        </DialogHeader>
        {open ? <ScheduleForm schedule={schedule} onDone={() => onOpenChange(false)} /> : null}
      </DialogContent>
    </Dialog>
  );
}

function ScheduleCard({
  schedule: s,
  admin,
  destinationNames,
}: {
  schedule: Schedule;
  admin: boolean;
  destinationNames: Record<string, string>;
}) {
  const queryClient = useQueryClient();
  const [editing, setEditing] = useState(false);
  const toggle = useMutation({
    mutationFn: (enabled: boolean) => api.patch(`/api/schedules/${s.id}`, { enabled }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ["schedules"] }),
    onError: (error) => toast.error(messageOf(error)),
  });
  const runNow = useMutation({
    mutationFn: () => api.post<{ backupId: string | null }>(`/api/schedules/${s.id}/run`),
    onSuccess: async () => {
      toast.success(`${s.name || "Schedule"}: run started`);
      await queryClient.invalidateQueries({ queryKey: ["schedules"] });
    },
    onError: (error) => toast.error(messageOf(error)),
  });
  const description = describeCron(s.cron);
  const retention = s.retention
    ? RETENTION_KEYS.filter((k) => s.retention?.[k] != null)
        .map((k) => `${RETENTION_LABELS[k].toLowerCase()} ${s.retention?.[k] === -1 ? "∞" : s.retention?.[k]}`)
        .join(", ")
    : "";
  return (
    <Card className="grid gap-3 p-4">
      <div className="flex flex-wrap items-start justify-between gap-3">
        <div className="min-w-0">
          <h2 className="flex flex-wrap items-center gap-2 font-semibold">
            {s.name || "Schedule"}{" "}
            <span className="text-sm font-normal text-muted-foreground">· {s.projectName ?? "deleted project"}</span>
            {s.running ? <Badge variant="info">running</Badge> : null}
          </h2>
          <p className="text-sm">
            <code className="rounded bg-muted px-1 py-0.5 text-xs">{s.cron}</code> {description.ok ? description.text : ""} (
            {s.timezone})
          </p>
        </div>
        <div className="flex items-center gap-2">
          <Switch
            id={`enabled-${s.id}`}
            checked={s.enabled}
            disabled={!admin || toggle.isPending}
            onCheckedChange={(c) => toggle.mutate(c)}
            aria-label={`${s.name || "Schedule"} enabled`}
          />
          <span className="text-sm">{s.enabled ? "Enabled" : "Disabled"}</span>
        </div>
      </div>
      <dl className="grid gap-3 text-sm sm:grid-cols-2 lg:grid-cols-4">
        <div>
          <dt className="text-xs text-muted-foreground">Next runs</dt>
          <dd>
            {s.enabled && s.nextRuns.length ? (
              <ul>
                {s.nextRuns.slice(0, 5).map((t) => (
                  <li key={t} className="tabular-nums">
                    {formatDateTime(t)}
                  </li>
                ))}
              </ul>
            ) : (
              "—"
            )}
          </dd>
        </div>
        <div>
          <dt className="text-xs text-muted-foreground">Last run</dt>
          <dd className="flex flex-wrap items-center gap-2">
            {s.lastRunAt ? (
              <>
                <StatusBadge status={s.lastStatus} />
                {s.lastBackupId ? (
                  <Link to={`/backups/${s.lastBackupId}`} className="hover:underline">
                    {formatRelative(s.lastRunAt)}
                  </Link>
                ) : (
                  formatRelative(s.lastRunAt)
                )}
              </>
            ) : (
              "never"
            )}
            {s.consecutiveFailures > 1 ? (
              <span className="text-xs text-destructive">{s.consecutiveFailures} failures in a row</span>
            ) : null}
          </dd>
        </div>
        <div>
          <dt className="text-xs text-muted-foreground">Destinations</dt>
          <dd>
            {s.destinationIds.length ? s.destinationIds.map((d) => destinationNames[d] ?? "deleted").join(", ") : "default"}
          </dd>
        </div>
        <div>
          <dt className="text-xs text-muted-foreground">Retention · drill</dt>
          <dd>
            {retention || "keep all"} · {s.drill ? `every ${s.drill.every}. backup` : "no drill"}
          </dd>
        </div>
      </dl>
      {admin ? (
        <div className="flex flex-wrap gap-2">
          <Button size="sm" variant="outline" pending={runNow.isPending} disabled={s.running} onClick={() => runNow.mutate()}>
            {runNow.isPending ? null : <Play aria-hidden />}
            Run now
          </Button>
          <Button size="sm" variant="ghost" onClick={() => setEditing(true)} aria-label={`Edit ${s.name || "schedule"}`}>
            <Pencil aria-hidden />
            Edit
          </Button>
          <ScheduleDialog schedule={s} open={editing} onOpenChange={setEditing} />
          <DeleteButton
            title={`Delete ${s.name || "this schedule"}?`}
            description={<p>No more backups run from it. Its backups stay.</p>}
            confirmLabel="Delete schedule"
            path={`/api/schedules/${s.id}`}
            invalidate={["schedules"]}
            done={"Schedule deleted"}
            label="Delete"
            ariaLabel={`Delete ${s.name || "schedule"}`}
          />
        </div>
      ) : null}
    </Card>
  );
}

export function SchedulesPage() {
  const admin = useIsAdmin();
  const destinations = useDestinations();
  const [adding, setAdding] = useState(false);
  const schedules = useQuery({
    queryKey: ["schedules"],
    queryFn: async () => itemsOf<Schedule>(await api.get("/api/schedules")),
    refetchInterval: 15_000,
  });
  const names = Object.fromEntries((destinations.data ?? []).map((d) => [d.id, d.name]));
  return (
    <>
      <PageHeader
        title="Schedules"
        description="Backups that run by themselves."
        actions={
          admin ? (
            <Button onClick={() => setAdding(true)}>
              <Plus aria-hidden />
              Add schedule
            </Button>
          ) : null
        }
      />
      <ScheduleDialog open={adding} onOpenChange={setAdding} />
      {schedules.isPending ? (
        <Skeleton className="h-44" />
      ) : schedules.isError ? (
        <ErrorState error={schedules.error} onRetry={() => schedules.refetch()} />
      ) : schedules.data.length === 0 ? (
        <EmptyState icon={CalendarClock} title="No schedules yet">
          Add one so that backups happen without anyone remembering them.
        </EmptyState>
      ) : (
        <div className="grid gap-3">
          {schedules.data.map((s) => (
            <ScheduleCard key={s.id} schedule={s} admin={admin} destinationNames={names} />
          ))}
        </div>
      )}
    </>
  );
}

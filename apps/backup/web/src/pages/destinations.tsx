import { useMutation, useQueryClient } from "@tanstack/react-query";
import { HardDrive, Loader2, Pencil, PlugZap, Save } from "lucide-react";
import { type FormEvent, useId, useState } from "react";
import { toast } from "sonner";
import { DeleteButton } from "../components/delete-button.tsx";
import { EmptyState, ErrorState, PageHeader, Skeleton } from "../components/layout.tsx";
import { StatusBadge } from "../components/status.tsx";
import { Badge } from "../components/ui/badge.tsx";
import { Button } from "../components/ui/button.tsx";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "../components/ui/card.tsx";
import { Dialog, DialogContent, DialogDescription, DialogHeader, DialogTitle } from "../components/ui/dialog.tsx";
import { Field, FormError } from "../components/ui/field.tsx";
import { Input } from "../components/ui/input.tsx";
import { Label } from "../components/ui/label.tsx";
import { Select, SelectContent, SelectItem, SelectTrigger, SelectValue } from "../components/ui/select.tsx";
import { api, fieldError, formError, messageOf } from "../lib/api.ts";
import { DESTINATION_TYPE_LABELS, formatBytes, formatRelative } from "../lib/format.ts";
import { useDestinations } from "../lib/queries.ts";
import { useIsAdmin } from "../lib/session.ts";
import type { Destination, DestinationTest, DestinationType } from "../lib/types.ts";
import { CONFIG_FIELDS, type ConfigDraft, ConfigFields, configToSend, draftFromConfig } from "./destination-config.tsx";

const DEFAULTS: Record<DestinationType, ConfigDraft> = {
  s3: { region: "us-east-1", forcePathStyle: false },
  google_drive: {},
  nextcloud: { basePath: "/" },
  local_mapped: {},
};

function fieldsOf(type: DestinationType | undefined): string[] {
  return ["name", "type", ...(type ? CONFIG_FIELDS[type].map((f) => `config.${f.key}`) : [])];
}

/** The seed's StorageDestinationForm: type first, then the config form of that type. */
function StorageDestinationForm() {
  const queryClient = useQueryClient();
  const [storageType, setStorageType] = useState<DestinationType>();
  const [name, setName] = useState("");
  const [config, setConfig] = useState<ConfigDraft>({});
  const id = useId();
  const create = useMutation({
    mutationFn: () => {
      if (!storageType) throw new Error("Choose a storage type.");
      return api.post<Destination>("/api/destinations", {
        name: name.trim(),
        type: storageType,
        config: configToSend(storageType, config, false),
      });
    },
    onSuccess: async (destination) => {
      toast.success("Storage destination created successfully");
      await queryClient.invalidateQueries({ queryKey: ["destinations"] });
      setName("");
      setConfig(storageType ? DEFAULTS[storageType] : {});
      void destination;
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate();
  };
  return (
    <Card>
      <CardHeader>
        <CardTitle>Add Storage Destination</CardTitle>
        <CardDescription>Configure where your backups will be stored</CardDescription>
      </CardHeader>
      <CardContent>
        <form onSubmit={submit} className="grid gap-4" noValidate>
          <div className="grid gap-1.5">
            <Label htmlFor={`${id}-type`}>Storage Type</Label>
            <Select
              value={storageType ?? ""}
              onValueChange={(value) => {
                const type = value as DestinationType;
                setStorageType(type);
                setConfig(DEFAULTS[type]);
                create.reset();
              }}
            >
              <SelectTrigger id={`${id}-type`} aria-invalid={fieldError(create.error, "type") ? true : undefined}>
                <SelectValue placeholder="Choose storage type" />
              </SelectTrigger>
              <SelectContent>
                <SelectItem value="s3">S3 Compatible (AWS, R2, MinIO)</SelectItem>
                <SelectItem value="google_drive">Google Drive</SelectItem>
                <SelectItem value="nextcloud">Nextcloud</SelectItem>
                <SelectItem value="local_mapped">Local Mapped Storage</SelectItem>
              </SelectContent>
            </Select>
          </div>
          {storageType ? (
            <>
              <Field
                label="Name"
                help="How this destination appears in lists and backup forms."
                error={fieldError(create.error, "name")}
              >
                {(p) => <Input {...p} value={name} onChange={(e) => setName(e.target.value)} placeholder="Offsite S3" />}
              </Field>
              <ConfigFields type={storageType} draft={config} onChange={setConfig} error={create.error} idPrefix={`${id}-cfg`} />
            </>
          ) : null}
          <FormError error={formError(create.error, fieldsOf(storageType))} />
          <Button type="submit" disabled={create.isPending || !storageType}>
            {create.isPending ? <Loader2 className="animate-spin" aria-hidden /> : <Save aria-hidden />}
            Save Storage Destination
          </Button>
        </form>
      </CardContent>
    </Card>
  );
}

function EditDestinationDialog({
  destination,
  open,
  onOpenChange,
}: {
  destination: Destination;
  open: boolean;
  onOpenChange: (o: boolean) => void;
}) {
  const queryClient = useQueryClient();
  const [name, setName] = useState(destination.name);
  const [config, setConfig] = useState<ConfigDraft>(() => draftFromConfig(destination.config ?? {}));
  const id = useId();
  const save = useMutation({
    mutationFn: () =>
      api.patch<Destination>(`/api/destinations/${destination.id}`, {
        name: name.trim(),
        config: configToSend(destination.type, config, true),
      }),
    onSuccess: async () => {
      toast.success(`Storage destination ${name} saved`);
      await queryClient.invalidateQueries({ queryKey: ["destinations"] });
      onOpenChange(false);
    },
  });
  return (
    <Dialog open={open} onOpenChange={onOpenChange}>
      <DialogContent>
        <DialogHeader>
          <DialogTitle>Edit {destination.name}</DialogTitle>
          <DialogDescription>
            {DESTINATION_TYPE_LABELS[destination.type]}. Secrets are never shown; leave them empty to keep them.
          </DialogDescription>
        </DialogHeader>
        <form
          className="grid gap-4"
          noValidate
          onSubmit={(e) => {
            e.preventDefault();
            save.mutate();
          }}
        >
          <Field label="Name" error={fieldError(save.error, "name")}>
            {(p) => <Input {...p} value={name} onChange={(e) => setName(e.target.value)} />}
          </Field>
          <ConfigFields type={destination.type} draft={config} onChange={setConfig} error={save.error} idPrefix={`${id}-cfg`} />
          <FormError error={formError(save.error, fieldsOf(destination.type))} />
          <div className="flex flex-col-reverse gap-2 sm:flex-row sm:justify-end">
            <Button type="button" variant="outline" onClick={() => onOpenChange(false)}>
              Cancel
            </Button>
            <Button type="submit" pending={save.isPending}>
              {save.isPending ? null : <Save aria-hidden />}
              Save changes
            </Button>
          </div>
        </form>
      </DialogContent>
    </Dialog>
  );
}

function DestinationCard({ destination, admin }: { destination: Destination; admin: boolean }) {
  const queryClient = useQueryClient();
  const [editing, setEditing] = useState(false);
  const test = useMutation({
    mutationFn: () => api.post<DestinationTest>(`/api/destinations/${destination.id}/test`),
    onSuccess: async (result) => {
      await queryClient.invalidateQueries({ queryKey: ["destinations"] });
      if (result.valid) toast.success(`${destination.name} works · ${formatBytes(result.availableSpace)} free`);
      else toast.error(`${destination.name}: ${result.error ?? "the test failed"}`);
    },
    onError: (error) => toast.error(messageOf(error)),
  });
  const d = destination;
  return (
    <Card className="grid gap-3 p-4">
      <div className="flex items-start justify-between gap-3">
        <div className="min-w-0">
          <h2 className="flex flex-wrap items-center gap-2 font-semibold">
            <span className="truncate">{d.name}</span>
            {d.isDefault ? <Badge>default</Badge> : null}
            {d.enabled === false ? <Badge variant="warning">disabled</Badge> : null}
          </h2>
          <p className="text-xs break-all text-muted-foreground">
            {DESTINATION_TYPE_LABELS[d.type] ?? d.type}
            {d.location ? ` · ${d.location}` : ""}
          </p>
        </div>
        <StatusBadge status={d.validationStatus ?? "pending"} />
      </div>
      <dl className="grid grid-cols-2 gap-x-4 gap-y-1 text-sm sm:grid-cols-4">
        <div>
          <dt className="text-xs text-muted-foreground">Last tested</dt>
          <dd>{formatRelative(d.lastValidated)}</dd>
        </div>
        <div>
          <dt className="text-xs text-muted-foreground">Free space</dt>
          <dd>{formatBytes(d.availableSpace)}</dd>
        </div>
        <div>
          <dt className="text-xs text-muted-foreground">Backups</dt>
          <dd>{d.totalBackups ?? 0}</dd>
        </div>
        <div>
          <dt className="text-xs text-muted-foreground">Stored</dt>
          <dd>{formatBytes(d.totalSize ?? 0)}</dd>
        </div>
      </dl>
      {d.validationStatus === "invalid" && d.validationError ? (
        <p className="rounded-md border border-destructive/40 bg-destructive/10 px-3 py-2 text-sm break-words text-destructive">
          {d.validationError}
        </p>
      ) : null}
      {admin ? (
        <div className="flex flex-wrap gap-2">
          <Button
            size="sm"
            variant="outline"
            pending={test.isPending}
            onClick={() => test.mutate()}
            aria-label={`Test ${d.name}`}
          >
            {test.isPending ? null : <PlugZap aria-hidden />}
            Test
          </Button>
          <Button size="sm" variant="ghost" onClick={() => setEditing(true)} aria-label={`Edit ${d.name}`}>
            <Pencil aria-hidden />
            Edit
          </Button>
          {editing ? <EditDestinationDialog destination={d} open={editing} onOpenChange={setEditing} /> : null}
          <DeleteButton
            title={`Delete ${d.name}?`}
            description={
              <p>
                Stowage forgets this destination. The backups already stored there stay where they are; Stowage will no longer
                list or prune them.
              </p>
            }
            confirmLabel="Delete destination"
            path={`/api/destinations/${d.id}`}
            invalidate={["destinations"]}
            done={`${d.name} deleted`}
            label="Delete"
            ariaLabel={`Delete ${d.name}`}
          />
        </div>
      ) : null}
    </Card>
  );
}

export function DestinationsPage() {
  const destinations = useDestinations();
  const admin = useIsAdmin();
  return (
    <>
      <PageHeader
        title="Storage destinations"
        description="Where backups are stored. Secrets are kept encrypted and never shown."
      />
      <div className="grid grid-cols-1 items-start gap-6 lg:grid-cols-[minmax(0,1fr)_24rem]">
        <div className="grid gap-3">
          {destinations.isPending ? (
            <>
              <Skeleton className="h-40" />
              <Skeleton className="h-40" />
            </>
          ) : destinations.isError ? (
            <ErrorState error={destinations.error} onRetry={() => destinations.refetch()} />
          ) : destinations.data.length === 0 ? (
            <EmptyState icon={HardDrive} title="No storage destinations yet">
              Backups can still go to a browser download. Add a destination to keep them somewhere safe.
            </EmptyState>
          ) : (
            destinations.data.map((d) => <DestinationCard key={d.id} destination={d} admin={admin} />)
          )}
        </div>
        {admin ? (
          <div className="lg:sticky lg:top-6">
            <StorageDestinationForm />
          </div>
        ) : null}
      </div>
    </>
  );
}

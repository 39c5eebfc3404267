import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Bell, Plus, Send } from "lucide-react";
import { type FormEvent, useId, useState } from "react";
import { toast } from "sonner";
import { DeleteButton } from "../components/delete-button.tsx";
import { EmptyState, ErrorState, PageHeader, Skeleton } from "../components/layout.tsx";
import { StatusBadge } from "../components/status.tsx";
import { Badge } from "../components/ui/badge.tsx";
import { Button } from "../components/ui/button.tsx";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "../components/ui/card.tsx";
import { Checkbox } from "../components/ui/checkbox.tsx";
import { Dialog, DialogContent, DialogDescription, DialogHeader, DialogTitle } from "../components/ui/dialog.tsx";
import { Field, FormError } from "../components/ui/field.tsx";
import { Input } from "../components/ui/input.tsx";
import { Label } from "../components/ui/label.tsx";
import { Select, SelectContent, SelectItem, SelectTrigger, SelectValue } from "../components/ui/select.tsx";
import { api, fieldError, formError, messageOf } from "../lib/api.ts";
import { formatRelative } from "../lib/format.ts";
import { itemsOf } from "../lib/queries.ts";
import { useIsAdmin } from "../lib/session.ts";

const EVENTS = [
  ["failure", "Failure"],
  ["recovery", "Recovery (first success after failures)"],
  ["missed", "Missed backup"],
  ["warning", "Warnings (space, drills)"],
  ["success", "Every success (for healthchecks.io and other dead-man services)"],
] as const;
type EventName = (typeof EVENTS)[number][0];

interface Channel {
  id: string;
  name: string;
  type: "webhook" | "email";
  target: string;
  events: EventName[];
  enabled: boolean;
  lastDeliveryAt: string | null;
  lastDeliveryOk: boolean | null;
  lastDeliveryError: string | null;
}

function ChannelForm() {
  const id = useId();
  const queryClient = useQueryClient();
  const [type, setType] = useState<"webhook" | "email">("webhook");
  const [name, setName] = useState("");
  const [url, setUrl] = useState("");
  const [to, setTo] = useState("");
  const [events, setEvents] = useState<EventName[]>(["failure", "recovery", "missed", "warning"]);
  const [secret, setSecret] = useState<string | null>(null);
  const create = useMutation({
    mutationFn: () =>
      api.post<Channel & { secretValue?: string }>(
        "/api/notifications",
        type === "webhook"
          ? { type, name: name.trim(), url: url.trim(), events }
          : {
              type,
              name: name.trim(),
              to: to
                .split(/[,;\s]+/)
                .map((s) => s.trim())
                .filter(Boolean),
              events,
            },
      ),
    onSuccess: async (channel) => {
      toast.success(`${channel.name} added`);
      if (channel.secretValue) setSecret(channel.secretValue);
      setName("");
      setUrl("");
      setTo("");
      await queryClient.invalidateQueries({ queryKey: ["notifications"] });
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate();
  };
  return (
    <Card>
      <CardHeader>
        <CardTitle>Add channel</CardTitle>
        <CardDescription>Webhooks are signed: X-Stowage-Signature is the HMAC-SHA256 of the body.</CardDescription>
      </CardHeader>
      <CardContent>
        <form onSubmit={submit} className="grid gap-4" noValidate>
          <div className="grid gap-1.5">
            <Label htmlFor={`${id}-type`}>Type</Label>
            <Select value={type} onValueChange={(v) => setType(v as typeof type)}>
              <SelectTrigger id={`${id}-type`}>
                <SelectValue />
              </SelectTrigger>
              <SelectContent>
                <SelectItem value="webhook">Webhook</SelectItem>
                <SelectItem value="email">Email</SelectItem>
              </SelectContent>
            </Select>
          </div>
          <Field label="Name" error={fieldError(create.error, "name")}>
            {(p) => <Input {...p} value={name} onChange={(e) => setName(e.target.value)} placeholder="On-call" />}
          </Field>
          {type === "webhook" ? (
            <Field label="URL" help="Receives a JSON POST for each event." error={fieldError(create.error, "url")}>
              {(p) => (
                <Input
                  {...p}
                  type="url"
                  value={url}
                  onChange={(e) => setUrl(e.target.value)}
                  placeholder="https://hooks.example.com/…"
                />
              )}
            </Field>
          ) : (
            <Field
              label="Recipients"
              help="Email addresses, separated by commas. Needs SMTP_URL on the server."
              error={fieldError(create.error, "to")}
            >
              {(p) => <Input {...p} value={to} onChange={(e) => setTo(e.target.value)} placeholder="ops@example.com" />}
            </Field>
          )}
          <fieldset className="grid gap-2">
            <legend className="mb-1 text-sm font-medium">Events</legend>
            {EVENTS.map(([value, label]) => (
              <div key={value} className="flex items-center gap-2">
                <Checkbox
                  id={`${id}-ev-${value}`}
                  checked={events.includes(value)}
                  onCheckedChange={(c) => setEvents((prev) => (c === true ? [...prev, value] : prev.filter((e) => e !== value)))}
                />
                <Label htmlFor={`${id}-ev-${value}`} className="font-normal">
                  {label}
                </Label>
              </div>
            ))}
          </fieldset>
          <FormError error={formError(create.error, ["name", "url", "to"])} />
          <Button type="submit" pending={create.isPending}>
            {create.isPending ? null : <Plus aria-hidden />}
            Add channel
          </Button>
        </form>
      </CardContent>
      <Dialog open={!!secret} onOpenChange={(o) => !o && setSecret(null)}>
        <DialogContent>
          <DialogHeader>
            <DialogTitle>Webhook secret</DialogTitle>
            <DialogDescription>Copy it into the receiver to check signatures. It is not shown again.</DialogDescription>
          </DialogHeader>
          <Field label="Secret">
            {(p) => (
              <Input {...p} readOnly value={secret ?? ""} className="font-mono text-xs" onFocus={(e) => e.target.select()} />
            )}
          </Field>
          <Button onClick={() => setSecret(null)}>Done</Button>
        </DialogContent>
      </Dialog>
    </Card>
  );
}

function ChannelCard({ channel: c, admin }: { channel: Channel; admin: boolean }) {
  const queryClient = useQueryClient();
  const test = useMutation({
    mutationFn: () => api.post<{ ok: boolean; error?: string; attempts: number }>(`/api/notifications/${c.id}/test`),
    onSuccess: async (r) => {
      if (r.ok) toast.success(`${c.name}: test delivered`);
      else toast.error(`${c.name}: ${r.error ?? "delivery failed"} (${r.attempts} attempts)`);
      await queryClient.invalidateQueries({ queryKey: ["notifications"] });
    },
    onError: (error) => toast.error(messageOf(error)),
  });
  return (
    <Card className="grid gap-2 p-4">
      <div className="flex flex-wrap items-start justify-between gap-2">
        <div className="min-w-0">
          <h2 className="font-semibold">
            {c.name} <Badge>{c.type}</Badge>
          </h2>
          <p className="text-xs break-all text-muted-foreground">{c.target}</p>
        </div>
        <StatusBadge status={c.lastDeliveryOk == null ? "never sent" : c.lastDeliveryOk ? "ok" : "failed"} />
      </div>
      <p className="text-xs text-muted-foreground">
        {c.events.join(", ")}
        {c.lastDeliveryAt ? ` · last delivery ${formatRelative(c.lastDeliveryAt)}` : ""}
      </p>
      {c.lastDeliveryOk === false && c.lastDeliveryError ? (
        <p className="text-xs break-words text-destructive">{c.lastDeliveryError}</p>
      ) : null}
      {admin ? (
        <div className="flex flex-wrap gap-2">
          <Button
            size="sm"
            variant="outline"
            pending={test.isPending}
            onClick={() => test.mutate()}
            aria-label={`Send a test to ${c.name}`}
          >
            {test.isPending ? null : <Send aria-hidden />}
            Send test
          </Button>
          <DeleteButton
            title={`Remove ${c.name}?`}
            description={<p>It will no longer be told about failures.</p>}
            confirmLabel="Remove channel"
            path={`/api/notifications/${c.id}`}
            invalidate={["notifications"]}
            done={`${c.name} removed`}
            label="Remove"
            ariaLabel={`Remove ${c.name}`}
          />
        </div>
      ) : null}
    </Card>
  );
}

export function NotificationsPage() {
  const admin = useIsAdmin();
  const channels = useQuery({
    queryKey: ["notifications"],
    queryFn: async () => itemsOf<Channel>(await api.get("/api/notifications")),
  });
  return (
    <>
      <PageHeader title="Notifications" description="Who hears about failed, missed and recovered backups." />
      <div className="grid grid-cols-1 items-start gap-6 lg:grid-cols-[minmax(0,1fr)_24rem]">
        <div className="grid gap-3">
          {channels.isPending ? (
            <Skeleton className="h-32" />
          ) : channels.isError ? (
            <ErrorState error={channels.error} onRetry={() => channels.refetch()} />
          ) : channels.data.length === 0 ? (
            <EmptyState icon={Bell} title="No notification channels">
              Failures are only visible here and on the alerts page until you add one.
            </EmptyState>
          ) : (
            channels.data.map((c) => <ChannelCard key={c.id} channel={c} admin={admin} />)
          )}
        </div>
        {admin ? <ChannelForm /> : null}
      </div>
    </>
  );
}

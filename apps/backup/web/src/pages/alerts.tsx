import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { BellOff, Check, Siren } from "lucide-react";
import { useState } from "react";
import { toast } from "sonner";
import { EmptyState, ErrorState, PageHeader, Skeleton } from "../components/layout.tsx";
import { Badge } from "../components/ui/badge.tsx";
import { Button } from "../components/ui/button.tsx";
import { Card } from "../components/ui/card.tsx";
import { Label } from "../components/ui/label.tsx";
import { Switch } from "../components/ui/switch.tsx";
import { api, messageOf } from "../lib/api.ts";
import { formatDateTime, formatRelative } from "../lib/format.ts";
import { itemsOf } from "../lib/queries.ts";
import { useIsAdmin } from "../lib/session.ts";

interface Alert {
  id: string;
  kind: string;
  severity: "warning" | "critical";
  subjectType: string;
  subjectName: string | null;
  message: string;
  occurrences: number;
  createdAt: string;
  updatedAt: string;
  resolvedAt: string | null;
  acknowledgedAt: string | null;
}

function AlertCard({ alert: a, admin }: { alert: Alert; admin: boolean }) {
  const queryClient = useQueryClient();
  const ack = useMutation({
    mutationFn: () => api.post(`/api/alerts/${a.id}/acknowledge`),
    onSuccess: async () => {
      toast.success("Alert acknowledged");
      await queryClient.invalidateQueries({ queryKey: ["alerts"] });
    },
    onError: (error) => toast.error(messageOf(error)),
  });
  return (
    <Card className="grid gap-2 p-4">
      <div className="flex flex-wrap items-center justify-between gap-2">
        <p className="flex flex-wrap items-center gap-2 font-medium">
          <Badge variant={a.severity === "critical" ? "destructive" : "warning"}>{a.severity}</Badge>
          {a.kind.replaceAll("_", " ")}
          <span className="text-sm font-normal text-muted-foreground">
            {a.subjectType} {a.subjectName ?? ""}
          </span>
        </p>
        <span className="text-xs text-muted-foreground" title={formatDateTime(a.updatedAt)}>
          {formatRelative(a.updatedAt)}
          {a.occurrences > 1 ? ` · ${a.occurrences} times` : ""}
        </span>
      </div>
      <p className="text-sm break-words">{a.message}</p>
      <div className="flex flex-wrap items-center gap-2 text-xs text-muted-foreground">
        {a.resolvedAt ? <Badge variant="success">resolved {formatRelative(a.resolvedAt)}</Badge> : null}
        {a.acknowledgedAt ? <span>acknowledged {formatRelative(a.acknowledgedAt)}</span> : null}
        {admin && !a.acknowledgedAt ? (
          <Button size="sm" variant="outline" pending={ack.isPending} onClick={() => ack.mutate()}>
            {ack.isPending ? null : <Check aria-hidden />}
            Acknowledge
          </Button>
        ) : null}
      </div>
    </Card>
  );
}

export function AlertsPage() {
  const admin = useIsAdmin();
  const [all, setAll] = useState(false);
  const alerts = useQuery({
    queryKey: ["alerts", all],
    queryFn: async () => itemsOf<Alert>(await api.get(`/api/alerts${all ? "?all=true" : ""}`)),
    refetchInterval: 30_000,
  });
  return (
    <>
      <PageHeader
        title="Alerts"
        description="Failed or missed backups, failed drills, destinations running out of space."
        actions={
          <div className="flex items-center gap-2">
            <Switch id="alerts-all" checked={all} onCheckedChange={setAll} />
            <Label htmlFor="alerts-all">Show acknowledged</Label>
          </div>
        }
      />
      {alerts.isPending ? (
        <Skeleton className="h-32" />
      ) : alerts.isError ? (
        <ErrorState error={alerts.error} onRetry={() => alerts.refetch()} />
      ) : alerts.data.length === 0 ? (
        <EmptyState icon={all ? BellOff : Siren} title="No open alerts">
          Everything ran as planned.
        </EmptyState>
      ) : (
        <div className="grid gap-3">
          {alerts.data.map((a) => (
            <AlertCard key={a.id} alert={a} admin={admin} />
          ))}
        </div>
      )}
    </>
  );
}

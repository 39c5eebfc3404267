import { useQuery } from "@tanstack/react-query";
import { api } from "../lib/api.ts";
import { useJobEvents } from "../lib/events.ts";
import { formatBytes, formatDuration } from "../lib/format.ts";
import { isRunning, StatusBadge } from "./status.tsx";
import { Field } from "./ui/field.tsx";
import { Input } from "./ui/input.tsx";

interface Restore {
  id: string;
  status: string;
  source?: string;
  error?: string | null;
  bytesRestored?: number;
  targetDatabase?: string;
  startedAt?: string | null;
  finishedAt?: string | null;
}

/**
 * A restore job as it runs: its status, phase and bytes (a whole backup) or transactions replayed
 * (a point-in-time restore), and where a point-in-time restore arrived (the exact commit time and
 * LSN, which only the job's own events carry). The events are followed from the start, so their
 * last values stay after the job ends.
 */
export function RestoreProgress({ restoreId }: { restoreId: string }) {
  const restore = useQuery({
    queryKey: ["restore", restoreId],
    queryFn: () => api.get<Restore>(`/api/restores/${restoreId}`),
    refetchInterval: (q) => (q.state.data && !isRunning(q.state.data.status) ? false : 2000),
  });
  const events = useJobEvents(`/api/restores/${restoreId}/events`);
  const r = restore.data;
  const latest = events.latest;
  const status = r && !isRunning(r.status) ? r.status : (latest.status ?? r?.status ?? "pending");
  const pointInTime = r?.source === "point_in_time" || latest.transactions !== undefined;
  return (
    <div className="grid gap-2 rounded-lg border bg-muted/30 p-3 text-sm" aria-live="polite">
      <p className="flex flex-wrap items-center gap-2">
        Restore <StatusBadge status={status} />
        {isRunning(status) && latest.phase ? <span className="text-muted-foreground">{latest.phase}</span> : null}
      </p>
      <p className="tabular-nums text-muted-foreground">
        {pointInTime
          ? `${latest.transactions ?? 0} transactions replayed`
          : `${formatBytes(latest.bytesRestored ?? r?.bytesRestored ?? 0)} restored`}
        {r?.finishedAt ? ` in ${formatDuration(r.startedAt, r.finishedAt)}` : ""}
      </p>
      {status === "completed" && latest.reached ? (
        <p>
          Restored to <span className="font-mono text-xs">{latest.reached.time}</span> (LSN{" "}
          <span className="font-mono text-xs">{latest.reached.lsn}</span>)
        </p>
      ) : null}
      {status === "failed" && (r?.error ?? latest.error) ? (
        <p role="alert" className="break-words text-destructive">
          {r?.error ?? latest.error}
        </p>
      ) : null}
    </div>
  );
}

/** The target of a restore: a URL that may hold a password, so typed as one and never stored. */
export function TargetDatabaseField({
  value,
  onChange,
  error,
}: {
  value: string;
  onChange: (value: string) => void;
  error: string | undefined;
}) {
  return (
    <Field
      label="Target database URL"
      help="postgresql://user:password@host:5432/dbname. Not stored; use a new, empty database unless you mean to replace one."
      error={error}
    >
      {(p) => (
        <Input
          {...p}
          type="password"
          autoComplete="off"
          spellCheck={false}
          required
          value={value}
          onChange={(e) => onChange(e.target.value)}
          placeholder="postgresql://postgres:…@localhost:5432/restored"
        />
      )}
    </Field>
  );
}

import { useQuery } from "@tanstack/react-query";
import { Download } from "lucide-react";
import { useEffect, useRef } from "react";
import { Link } from "react-router-dom";
import { api } from "../lib/api.ts";
import { useJobEvents } from "../lib/events.ts";
import { formatBytes, formatDuration, formatRate } from "../lib/format.ts";
import type { Backup } from "../lib/types.ts";
import { isRunning, StatusBadge } from "./status.tsx";
import { Button } from "./ui/button.tsx";

/** Starts the browser's download of a one-time link (the seed's `window.open(downloadUrl)`, without a popup blocker in the way). */
export function startDownload(url: string): void {
  const a = document.createElement("a");
  a.href = url;
  a.download = "";
  a.rel = "noopener";
  document.body.append(a);
  a.click();
  a.remove();
}

export function useBackup(id: string | null | undefined) {
  return useQuery({
    queryKey: ["backup", id],
    queryFn: () => api.get<Backup>(`/api/backups/${id}`),
    enabled: !!id,
    // The events stream drives the live view; polling is the fallback and picks up the final row.
    refetchInterval: (query) => (query.state.data && !isRunning(query.state.data.status) ? false : 2000),
  });
}

function Meter({ label, value, detail }: { label: string; value: string; detail?: string }) {
  return (
    <div className="min-w-0">
      <dt className="text-xs text-muted-foreground">{label}</dt>
      <dd className="truncate font-medium tabular-nums">
        {value}
        {detail ? <span className="ml-1 text-xs font-normal text-muted-foreground">{detail}</span> : null}
      </dd>
    </div>
  );
}

/**
 * A backup's live progress: phase, bytes dumped, rate and each destination's upload, from the
 * events stream; the final row from the API. A browser download starts by itself when ready.
 */
export function BackupProgress({ backupId, autoDownload }: { backupId: string; autoDownload: boolean }) {
  const backup = useBackup(backupId);
  const running = !backup.data || isRunning(backup.data.status);
  const events = useJobEvents(running ? `/api/backups/${backupId}/events` : null);
  const downloaded = useRef(false);
  const b = backup.data;
  const status = b && !isRunning(b.status) ? b.status : (events.latest.status ?? b?.status ?? "pending");
  const downloadUrl = b?.downloadUrl ?? events.latest.downloadUrl ?? null;

  useEffect(() => {
    if (events.ended) void backup.refetch();
  }, [events.ended, backup.refetch]);

  useEffect(() => {
    if (autoDownload && status === "completed" && downloadUrl && !downloaded.current) {
      downloaded.current = true;
      startDownload(downloadUrl);
    }
  }, [autoDownload, status, downloadUrl]);

  const bytesDumped = events.latest.bytesDumped ?? b?.bytesDumped ?? 0;
  const rate = events.latest.bytesPerSecond ?? events.latest.rate;
  const destinations = b?.destinations ?? [];
  return (
    <div className="grid gap-3 rounded-lg border bg-muted/30 p-4" aria-live="polite">
      <div className="flex flex-wrap items-center justify-between gap-2">
        <p className="font-medium">
          Backup {b?.projectName ? `of ${b.projectName}` : ""} <StatusBadge status={status} />
        </p>
        <Link to={`/backups/${backupId}`} className="text-sm underline underline-offset-2">
          Details
        </Link>
      </div>
      <dl className="grid grid-cols-2 gap-3 text-sm sm:grid-cols-4">
        <Meter label="Phase" value={isRunning(status) ? (events.latest.phase ?? status) : status} />
        <Meter label="Dumped" value={formatBytes(bytesDumped)} />
        <Meter label="Rate" value={isRunning(status) ? formatRate(rate) : "—"} />
        <Meter
          label="Duration"
          value={formatDuration(b?.startedAt ?? b?.createdAt, b?.finishedAt ?? (isRunning(status) ? Date.now() : null))}
        />
      </dl>
      {destinations.length > 0 ? (
        <ul className="grid gap-1 text-sm">
          {destinations.map((d) => {
            const live = events.destinations[d.id] ?? events.destinations[d.name];
            const uploaded = Math.max(live?.bytesUploaded ?? 0, d.bytesUploaded ?? 0, d.size ?? 0);
            return (
              <li key={d.id} className="flex flex-wrap items-center justify-between gap-2">
                <span className="truncate">{d.name}</span>
                <span className="flex items-center gap-2 tabular-nums">
                  {formatBytes(uploaded)}
                  <StatusBadge status={live?.status ?? d.status} />
                </span>
                {d.error ? <span className="w-full text-xs break-words text-destructive">{d.error}</span> : null}
              </li>
            );
          })}
        </ul>
      ) : null}
      {status === "failed" && b?.error ? (
        <p role="alert" className="text-sm break-words text-destructive">
          {b.error}
        </p>
      ) : null}
      {events.connectionError && running ? <p className="text-xs text-muted-foreground">{events.connectionError}</p> : null}
      {b?.storageType === "browser_download" && status === "completed" && downloadUrl ? (
        <div className="flex flex-wrap items-center gap-2 text-sm">
          <span className="text-muted-foreground">The download started. Nothing happened?</span>
          <Button size="sm" variant="outline" onClick={() => startDownload(downloadUrl)}>
            <Download aria-hidden />
            Download the .tar
          </Button>
        </div>
      ) : null}
    </div>
  );
}

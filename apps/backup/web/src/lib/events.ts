import { useEffect, useRef, useState } from "react";
import type { JobEvent } from "./types.ts";

export interface JobProgress {
  /** Every field seen so far, the latest value of each. */
  latest: JobEvent;
  /** Per-destination upload bytes and status, by destination id or name. */
  destinations: Record<string, { name?: string; bytesUploaded: number; status?: string }>;
  /** The stream ended (the job reached its final state) or failed for good. */
  ended: boolean;
  connectionError: string | null;
}

const FINAL = new Set(["completed", "failed", "cancelled"]);

/**
 * Follows a job's Server-Sent Events (`/api/backups/:id/events`, `/api/restores/:id/events`).
 * Named events and plain `message`s are both read; each carries a JSON object. EventSource
 * reconnects by itself; the stream is closed once a final state arrives.
 */
export function useJobEvents(url: string | null): JobProgress {
  const [progress, setProgress] = useState<JobProgress>({ latest: {}, destinations: {}, ended: false, connectionError: null });
  const ref = useRef<EventSource | null>(null);
  useEffect(() => {
    setProgress({ latest: {}, destinations: {}, ended: false, connectionError: null });
    if (!url) return;
    const source = new EventSource(url, { withCredentials: true });
    ref.current = source;
    let ended = false;
    const onMessage = (type: string) => (event: MessageEvent<string>) => {
      let data: JobEvent;
      try {
        data = JSON.parse(event.data) as JobEvent;
      } catch {
        return;
      }
      if (!data.type && type !== "message") data = { ...data, type };
      setProgress((prev) => {
        const destinations = { ...prev.destinations };
        // A `status` event carries the whole row (its destinations with their own status); `progress` the bytes moved.
        for (const d of data.destinations ?? []) {
          const key = d.id ?? d.name ?? "?";
          destinations[key] = {
            ...destinations[key],
            ...(d.name ? { name: d.name } : {}),
            bytesUploaded: d.bytesUploaded ?? destinations[key]?.bytesUploaded ?? 0,
            ...(d.status ? { status: d.status } : d.failed ? { status: "failed" } : {}),
          };
        }
        const isFinal = FINAL.has(data.status ?? "") || data.done === true || type === "end" || type === "done";
        return { latest: { ...prev.latest, ...data }, destinations, ended: prev.ended || isFinal, connectionError: null };
      });
      if (FINAL.has(data.status ?? "") || data.done === true || type === "end" || type === "done") {
        ended = true;
        source.close();
      }
    };
    source.onmessage = onMessage("message");
    for (const name of ["progress", "phase", "status", "state", "destination", "end", "done", "final", "error"]) {
      source.addEventListener(name, onMessage(name) as EventListener);
    }
    source.onerror = () => {
      if (ended) return;
      if (source.readyState === EventSource.CLOSED) {
        setProgress((prev) => ({
          ...prev,
          connectionError: "Lost the live progress stream; the status below refreshes by itself.",
        }));
      }
    };
    return () => {
      source.close();
      ref.current = null;
    };
  }, [url]);
  return progress;
}

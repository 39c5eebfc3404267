import { CheckCircle2, CircleAlert, CircleDashed, CircleSlash, Loader2 } from "lucide-react";
import { Badge } from "./ui/badge.tsx";

const RUNNING = new Set(["pending", "dumping", "uploading", "restoring", "running"]);

/** A status word with an icon and a colour; the word is always there, so colour is never the only signal. */
export function StatusBadge({ status }: { status: string | null | undefined }) {
  const s = status ?? "unknown";
  if (s === "completed" || s === "valid" || s === "ok")
    return (
      <Badge variant="success">
        <CheckCircle2 className="size-3" aria-hidden />
        {s}
      </Badge>
    );
  if (s === "failed" || s === "invalid")
    return (
      <Badge variant="destructive">
        <CircleAlert className="size-3" aria-hidden />
        {s}
      </Badge>
    );
  if (s === "cancelled" || s === "deleted")
    return (
      <Badge>
        <CircleSlash className="size-3" aria-hidden />
        {s}
      </Badge>
    );
  if (RUNNING.has(s))
    return (
      <Badge variant="info">
        <Loader2 className="size-3 animate-spin" aria-hidden />
        {s}
      </Badge>
    );
  return (
    <Badge>
      <CircleDashed className="size-3" aria-hidden />
      {s}
    </Badge>
  );
}

export function isRunning(status: string | null | undefined): boolean {
  return RUNNING.has(status ?? "");
}

/**
 * @module pages/plan
 * Plan and storage use (GET /usage): the plan, each limit with what is used of it as a labelled
 * meter, and the export formats the plan allows.
 */
import { Gauge } from "lucide-react";
import { ErrorState, Loading, PageContainer, PageHeader, Skeleton } from "../components/layout.tsx";
import { Badge, Card, CardContent, CardDescription, CardHeader, CardTitle, cn } from "../components/ui.ts";
import { formatBytes } from "../lib/format.ts";
import { useUsage } from "../lib/queries.ts";

function Meter({
  label,
  used,
  max,
  format = String,
  note,
}: {
  label: string;
  used: number;
  /** null: the plan sets no limit; undefined: the count alone (the limit is per project or per diagram, in the note). */
  max?: number | null | undefined;
  format?: (n: number) => string;
  note?: string;
}) {
  const ratio = max ? Math.min(1, used / max) : 0;
  const text =
    max === undefined ? format(used) : max === null ? `${format(used)} (no limit)` : `${format(used)} of ${format(max)}`;
  return (
    <div className="grid gap-1.5">
      <div className="flex flex-wrap items-baseline justify-between gap-2 text-sm">
        <span className="font-medium">{label}</span>
        <span className="text-muted-foreground">{text}</span>
      </div>
      {typeof max === "number" ? (
        // biome-ignore lint/a11y/useSemanticElements: a bar coloured by how full it is; <meter> cannot be styled so in every browser
        <div
          role="meter"
          aria-label={label}
          aria-valuemin={0}
          aria-valuemax={max}
          aria-valuenow={Math.min(used, max)}
          aria-valuetext={text}
          className="h-2 overflow-hidden rounded-full bg-muted"
        >
          <div
            className={cn("h-full rounded-full", ratio >= 0.9 ? "bg-destructive" : ratio >= 0.7 ? "bg-warning" : "bg-primary")}
            style={{ width: `${Math.max(ratio * 100, used > 0 ? 2 : 0)}%` }}
          />
        </div>
      ) : null}
      {note ? <p className="text-xs text-muted-foreground">{note}</p> : null}
    </div>
  );
}

export function PlanPage() {
  const usage = useUsage();
  return (
    <PageContainer>
      <PageHeader title="Plan and storage" description="What your plan allows and how much of it you use." />
      {usage.isPending ? (
        <Loading label="Loading the plan" className="grid gap-3">
          <Skeleton className="h-40 w-full" />
        </Loading>
      ) : usage.error ? (
        <ErrorState error={usage.error} onRetry={() => usage.refetch()} />
      ) : (
        <div className="grid gap-5 lg:grid-cols-[2fr_1fr]">
          <Card>
            <CardHeader>
              <CardTitle className="flex items-center gap-2">
                <Gauge className="size-5" aria-hidden />
                <span>
                  <span className="sr-only">Plan: </span>
                  {usage.data.plan}
                </span>
                <Badge variant="info">current plan</Badge>
              </CardTitle>
              <CardDescription>Storage counts diagrams, their versions, exports, attachments and backups.</CardDescription>
            </CardHeader>
            <CardContent className="grid gap-5">
              <Meter
                label="Storage used"
                used={usage.data.used.bytes}
                max={usage.data.limits.total_storage_bytes}
                format={formatBytes}
              />
              <Meter label="Projects" used={usage.data.used.projects} max={usage.data.limits.projects} />
              <Meter
                label="Diagrams"
                used={usage.data.used.diagrams}
                note={[
                  usage.data.used.diagrams_in_trash ? `${usage.data.used.diagrams_in_trash} more in the trash.` : null,
                  usage.data.limits.diagrams_per_project !== null
                    ? `Up to ${usage.data.limits.diagrams_per_project} per project and ${usage.data.limits.personal_diagrams} in the personal space.`
                    : null,
                ]
                  .filter(Boolean)
                  .join(" ")}
              />
              <Meter
                label="Versions kept"
                used={usage.data.used.versions}
                note={
                  usage.data.limits.versions_kept !== null
                    ? `The last ${usage.data.limits.versions_kept} versions of each diagram are kept.`
                    : "Every version is kept."
                }
              />
            </CardContent>
          </Card>
          <Card>
            <CardHeader>
              <CardTitle>Exports</CardTitle>
              <CardDescription>Formats your plan can export.</CardDescription>
            </CardHeader>
            <CardContent>
              <ul className="flex flex-wrap gap-2" aria-label="Export formats">
                {usage.data.limits.export_formats.map((f) => (
                  <li key={f}>
                    <Badge variant="success">{f.toUpperCase()}</Badge>
                  </li>
                ))}
              </ul>
              {usage.data.plan === "FREE" ? (
                <p className="mt-3 text-sm text-muted-foreground">PNG, SVG and PDF exports come with the PRO plan.</p>
              ) : null}
            </CardContent>
          </Card>
        </div>
      )}
    </PageContainer>
  );
}

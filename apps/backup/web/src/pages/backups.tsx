import { useInfiniteQuery } from "@tanstack/react-query";
import { Archive, Plus } from "lucide-react";
import { useId } from "react";
import { Link, useSearchParams } from "react-router-dom";
import { EmptyState, ErrorState, PageHeader, Skeleton } from "../components/layout.tsx";
import { isRunning, StatusBadge } from "../components/status.tsx";
import { Badge } from "../components/ui/badge.tsx";
import { Button } from "../components/ui/button.tsx";
import { Label } from "../components/ui/label.tsx";
import { Select, SelectContent, SelectItem, SelectTrigger, SelectValue } from "../components/ui/select.tsx";
import { Table, TBody, Td, THead, Th, Tr } from "../components/ui/table.tsx";
import { api } from "../lib/api.ts";
import { BACKUP_TYPE_SHORT, formatBytes, formatDateTime, formatDuration } from "../lib/format.ts";
import { itemsOf, useProjects } from "../lib/queries.ts";
import { useIsAdmin } from "../lib/session.ts";
import type { Backup } from "../lib/types.ts";
import { PointInTimeSection } from "./point-in-time.tsx";

const ALL = "all";
const STATUSES = ["completed", "failed", "cancelled", "pending", "dumping", "uploading"];

export function backupSize(b: Backup): number | null {
  if (b.size) return b.size;
  if (b.destinations?.length) {
    const sizes = b.destinations.map((d) => d.size ?? 0).filter(Boolean);
    if (sizes.length) return Math.max(...sizes);
  }
  return b.bytesDumped || null;
}

export function destinationsText(b: Backup): string {
  if (b.storageType === "browser_download") return "Browser download";
  return (b.destinations ?? []).map((d) => d.name).join(", ") || "—";
}

export function VerifiedBadge({ backup }: { backup: Backup }) {
  if (backup.verifyStatus === "ok") return <Badge variant="success">verified</Badge>;
  if (backup.verifyStatus === "failed") return <Badge variant="destructive">verify failed</Badge>;
  return <span className="text-muted-foreground">—</span>;
}

export function BackupsPage() {
  const id = useId();
  const [params, setParams] = useSearchParams();
  const projectId = params.get("projectId") ?? ALL;
  const status = params.get("status") ?? ALL;
  const projects = useProjects();
  const admin = useIsAdmin();
  const backups = useInfiniteQuery({
    queryKey: ["backups", projectId, status],
    initialPageParam: null as string | null,
    queryFn: async ({ pageParam }) => {
      const q = new URLSearchParams();
      if (projectId !== ALL) q.set("projectId", projectId);
      if (status !== ALL) q.set("status", status);
      if (pageParam) q.set("cursor", pageParam);
      const body = await api.get<{ items: Backup[]; nextCursor?: string | null } | Backup[]>(`/api/backups?${q}`);
      return { items: itemsOf<Backup>(body), nextCursor: Array.isArray(body) ? null : (body.nextCursor ?? null) };
    },
    getNextPageParam: (last) => last.nextCursor ?? undefined,
    refetchInterval: (query) => (query.state.data?.pages.some((p) => p.items.some((b) => isRunning(b.status))) ? 3000 : false),
  });
  const setFilter = (key: string, value: string) => {
    const next = new URLSearchParams(params);
    if (value === ALL) next.delete(key);
    else next.set(key, value);
    setParams(next, { replace: true });
  };
  const rows = backups.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <>
      <PageHeader
        title="Backups"
        description="Every backup, newest first."
        actions={
          admin ? (
            <Button asChild>
              <Link to="/backups/new">
                <Plus aria-hidden />
                New backup
              </Link>
            </Button>
          ) : null
        }
      />
      <div className="mb-4 grid gap-3 sm:grid-cols-[repeat(2,minmax(0,14rem))]">
        <div className="grid gap-1.5">
          <Label htmlFor={`${id}-project`}>Project</Label>
          <Select value={projectId} onValueChange={(v) => setFilter("projectId", v)}>
            <SelectTrigger id={`${id}-project`}>
              <SelectValue />
            </SelectTrigger>
            <SelectContent>
              <SelectItem value={ALL}>All projects</SelectItem>
              {(projects.data ?? []).map((p) => (
                <SelectItem key={p.id} value={p.id}>
                  {p.name}
                </SelectItem>
              ))}
            </SelectContent>
          </Select>
        </div>
        <div className="grid gap-1.5">
          <Label htmlFor={`${id}-status`}>Status</Label>
          <Select value={status} onValueChange={(v) => setFilter("status", v)}>
            <SelectTrigger id={`${id}-status`}>
              <SelectValue />
            </SelectTrigger>
            <SelectContent>
              <SelectItem value={ALL}>Any status</SelectItem>
              {STATUSES.map((s) => (
                <SelectItem key={s} value={s}>
                  {s}
                </SelectItem>
              ))}
            </SelectContent>
          </Select>
        </div>
      </div>
      {backups.isPending ? (
        <Skeleton className="h-64" />
      ) : backups.isError ? (
        <ErrorState error={backups.error} onRetry={() => backups.refetch()} />
      ) : rows.length === 0 ? (
        <EmptyState icon={Archive} title="No backups match">
          {admin ? (
            <Link to="/backups/new" className="underline underline-offset-2">
              Create a manual backup
            </Link>
          ) : null}
        </EmptyState>
      ) : (
        <>
          {/* Phones get one card per backup (status first); wider screens the table. Only one is displayed, so only one is in the accessibility tree. */}
          <ul className="grid gap-2 md:hidden" aria-label="Backups">
            {rows.map((b) => (
              <li key={b.id}>
                <Link
                  to={`/backups/${b.id}`}
                  className="grid gap-1 rounded-lg border bg-card p-3 text-sm outline-none hover:bg-muted/40 focus-visible:ring-2 focus-visible:ring-ring"
                >
                  <span className="flex items-center justify-between gap-2">
                    <span className="truncate font-medium">{b.projectName}</span>
                    <StatusBadge status={b.status} />
                  </span>
                  <span className="text-xs text-muted-foreground">
                    {formatDateTime(b.startedAt ?? b.createdAt)} · {BACKUP_TYPE_SHORT[b.backupType] ?? b.backupType} ·{" "}
                    {formatBytes(backupSize(b))}
                  </span>
                  <span className="flex items-center justify-between gap-2 text-xs text-muted-foreground">
                    <span className="truncate">{destinationsText(b)}</span>
                    <VerifiedBadge backup={b} />
                  </span>
                </Link>
              </li>
            ))}
          </ul>
          <div className="hidden md:block">
            <Table label="Backups">
              <THead>
                <Tr>
                  <Th>Project</Th>
                  <Th>Time</Th>
                  <Th>Type</Th>
                  <Th>Status</Th>
                  <Th className="text-right">Size</Th>
                  <Th>Duration</Th>
                  <Th>Destinations</Th>
                  <Th>Verified</Th>
                </Tr>
              </THead>
              <TBody>
                {rows.map((b) => (
                  <Tr key={b.id}>
                    <Td className="font-medium">
                      <Link
                        to={`/backups/${b.id}`}
                        className="underline-offset-2 hover:underline"
                        aria-label={`Backup of ${b.projectName} at ${formatDateTime(b.createdAt)}`}
                      >
                        {b.projectName}
                      </Link>
                    </Td>
                    <Td className="whitespace-nowrap">{formatDateTime(b.startedAt ?? b.createdAt)}</Td>
                    <Td>
                      {BACKUP_TYPE_SHORT[b.backupType] ?? b.backupType}
                      {b.trigger === "schedule" ? <span className="ml-1 text-xs text-muted-foreground">(scheduled)</span> : null}
                    </Td>
                    <Td>
                      <StatusBadge status={b.status} />
                    </Td>
                    <Td className="text-right whitespace-nowrap tabular-nums">{formatBytes(backupSize(b))}</Td>
                    <Td className="whitespace-nowrap">
                      {isRunning(b.status) ? "running" : formatDuration(b.startedAt, b.finishedAt)}
                    </Td>
                    <Td className="max-w-48 truncate" title={destinationsText(b)}>
                      {destinationsText(b)}
                    </Td>
                    <Td>
                      <VerifiedBadge backup={b} />
                    </Td>
                  </Tr>
                ))}
              </TBody>
            </Table>
          </div>
          {backups.hasNextPage ? (
            <div className="mt-4 flex justify-center">
              <Button variant="outline" pending={backups.isFetchingNextPage} onClick={() => backups.fetchNextPage()}>
                Load more
              </Button>
            </div>
          ) : null}
        </>
      )}
      <PointInTimeSection />
    </>
  );
}

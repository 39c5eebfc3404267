import { useMutation, useQueryClient } from "@tanstack/react-query";
import { ArrowLeft, Download, RotateCcw, ShieldCheck, Trash2, TriangleAlert } from "lucide-react";
import { useState } from "react";
import { Link, useNavigate, useParams } from "react-router-dom";
import { toast } from "sonner";
import { startDownload, useBackup } from "../components/backup-progress.tsx";
import { ConfirmDialog } from "../components/confirm.tsx";
import { ErrorState, PageHeader, Skeleton } from "../components/layout.tsx";
import { RestoreDialog } from "../components/restore-dialog.tsx";
import { TargetDatabaseField } from "../components/restore-progress.tsx";
import { isRunning, StatusBadge } from "../components/status.tsx";
import { Button } from "../components/ui/button.tsx";
import { Card, CardContent, CardHeader, CardTitle } from "../components/ui/card.tsx";
import { Checkbox } from "../components/ui/checkbox.tsx";
import { Label } from "../components/ui/label.tsx";
import { Table, TBody, Td, THead, Th, Tr } from "../components/ui/table.tsx";
import { api, fieldError, messageOf } from "../lib/api.ts";
import { BACKUP_TYPE_LABELS, formatBytes, formatDateTime, formatDuration } from "../lib/format.ts";
import { useIsAdmin } from "../lib/session.ts";
import type { Backup, Manifest } from "../lib/types.ts";
import { backupSize, destinationsText, VerifiedBadge } from "./backups.tsx";

function parseManifest(m: Backup["manifest"] | string | undefined): Manifest | null {
  if (!m) return null;
  if (typeof m === "string") {
    try {
      return JSON.parse(m) as Manifest;
    } catch {
      return null;
    }
  }
  return m;
}

function RestoreBackupDialog({ backup }: { backup: Backup }) {
  const [target, setTarget] = useState("");
  const [clean, setClean] = useState(false);
  return (
    <RestoreDialog
      trigger={(open) => (
        <Button variant="outline" onClick={open} disabled={backup.status !== "completed"}>
          <RotateCcw aria-hidden />
          Restore
        </Button>
      )}
      title="Restore this backup"
      description={
        <>
          {backup.projectName}, {formatDateTime(backup.startedAt ?? backup.createdAt)}. The restore runs in one transaction: if it
          fails, the target stays as it was.
        </>
      }
      start={async () => {
        const body = await api.post<{ restoreId?: string; id?: string }>(`/api/backups/${backup.id}/restore`, {
          targetDatabaseUrl: target,
          clean,
        });
        return body.restoreId ?? body.id ?? null;
      }}
      fields={["targetDatabaseUrl", "clean"]}
      destructive={clean}
    >
      {(error) => (
        <>
          <TargetDatabaseField value={target} onChange={setTarget} error={fieldError(error, "targetDatabaseUrl")} />
          <div className="grid gap-2">
            <div className="flex items-center gap-2">
              <Checkbox id="restore-clean" checked={clean} onCheckedChange={(c) => setClean(c === true)} />
              <Label htmlFor="restore-clean">Clean first</Label>
            </div>
            {clean ? (
              <p role="alert" className="flex gap-2 rounded-md border border-warning/50 bg-warning/10 px-3 py-2 text-sm">
                <TriangleAlert className="mt-0.5 size-4 shrink-0 text-warning" aria-hidden />
                Drops the objects of this backup that already exist in the target, with their data, before restoring. Use only on
                a database you mean to replace.
              </p>
            ) : (
              <p className="text-xs text-muted-foreground">
                Without it, a target that already holds these tables makes the restore fail (nothing is changed).
              </p>
            )}
          </div>
        </>
      )}
    </RestoreDialog>
  );
}

function Info({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <div className="min-w-0">
      <dt className="text-xs text-muted-foreground">{label}</dt>
      <dd className="break-words">{children}</dd>
    </div>
  );
}

export function BackupDetailPage() {
  const { id } = useParams();
  const backup = useBackup(id);
  const admin = useIsAdmin();
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const verify = useMutation({
    mutationFn: () => api.post<{ ok?: boolean; valid?: boolean; error?: string | null }>(`/api/backups/${id}/verify`),
    onSuccess: async (result) => {
      await queryClient.invalidateQueries({ queryKey: ["backup", id] });
      void queryClient.invalidateQueries({ queryKey: ["backups"] });
      if (result.ok === false || result.valid === false) toast.error(`Verify failed: ${result.error ?? "checksums differ"}`);
      else toast.success("Verified: every part matches the manifest");
    },
    onError: (error) => toast.error(messageOf(error)),
  });

  if (backup.isPending) return <Skeleton className="h-96" />;
  if (backup.isError) return <ErrorState error={backup.error} onRetry={() => backup.refetch()} />;
  const b = backup.data;
  const manifest = parseManifest(b.manifest);
  // The server hands out one-time links for browser downloads (until used or expired); stored copies are read with `stowage restore`.
  const canDownload = b.status === "completed" && !!b.downloadUrl;
  return (
    <>
      <Link to="/backups" className="mb-3 inline-flex items-center gap-1 text-sm text-muted-foreground hover:text-foreground">
        <ArrowLeft className="size-4" aria-hidden />
        Backups
      </Link>
      <PageHeader
        title={`Backup of ${b.projectName}`}
        description={
          <span className="flex flex-wrap items-center gap-2">
            {formatDateTime(b.startedAt ?? b.createdAt)} <StatusBadge status={b.status} />
          </span>
        }
        actions={
          admin ? (
            <>
              <Button
                variant="outline"
                pending={verify.isPending}
                onClick={() => verify.mutate()}
                disabled={b.status !== "completed"}
              >
                {verify.isPending ? null : <ShieldCheck aria-hidden />}
                Verify
              </Button>
              {canDownload ? (
                <Button variant="outline" onClick={() => b.downloadUrl && startDownload(b.downloadUrl)}>
                  <Download aria-hidden />
                  Download
                </Button>
              ) : null}
              <RestoreBackupDialog backup={b} />
              <ConfirmDialog
                title="Delete this backup?"
                description={
                  <p>
                    Removes the backup of {b.projectName} from {formatDateTime(b.startedAt ?? b.createdAt)} from every destination
                    it was stored in ({destinationsText(b)}). This cannot be undone.
                  </p>
                }
                confirmLabel="Delete backup"
                onConfirm={async () => {
                  await api.delete(`/api/backups/${b.id}`);
                  await queryClient.invalidateQueries({ queryKey: ["backups"] });
                  toast.success("Backup deleted");
                  navigate("/backups");
                }}
                trigger={(open) => (
                  <Button variant="outline" onClick={open} disabled={isRunning(b.status)}>
                    <Trash2 aria-hidden />
                    Delete
                  </Button>
                )}
              />
            </>
          ) : null
        }
      />
      {b.error ? (
        <p
          role="alert"
          className="mb-4 rounded-md border border-destructive/40 bg-destructive/10 px-3 py-2 text-sm break-words text-destructive"
        >
          {b.error}
        </p>
      ) : null}
      <div className="grid gap-4">
        <Card>
          <CardContent className="pt-4 sm:pt-6">
            <dl className="grid grid-cols-2 gap-4 text-sm sm:grid-cols-4">
              <Info label="Type">{BACKUP_TYPE_LABELS[b.backupType] ?? b.backupType}</Info>
              <Info label="Compression">{b.compressionType}</Info>
              <Info label="Size">{formatBytes(backupSize(b))}</Info>
              <Info label="Duration">{formatDuration(b.startedAt, b.finishedAt)}</Info>
              <Info label="Trigger">{b.trigger}</Info>
              <Info label="Migration history">{b.includeMigrationHistory ? "included when present" : "not included"}</Info>
              <Info label="Verified">
                <VerifiedBadge backup={b} /> {b.verifiedAt ? formatDateTime(b.verifiedAt) : null}
              </Info>
              <Info label="Manifest SHA-256">
                <code className="text-xs break-all">{b.manifestSha256 ?? "—"}</code>
              </Info>
            </dl>
            {b.verifyStatus === "failed" && b.verifyError ? (
              <p className="mt-3 text-sm text-destructive">{b.verifyError}</p>
            ) : null}
          </CardContent>
        </Card>

        <Card>
          <CardHeader>
            <CardTitle>Destinations</CardTitle>
          </CardHeader>
          <CardContent>
            {b.storageType === "browser_download" ? (
              <p className="text-sm">
                Browser download{b.expiresAt ? `, link valid until ${formatDateTime(b.expiresAt)} (one use)` : ""}.
              </p>
            ) : (
              <ul className="grid gap-2 text-sm">
                {(b.destinations ?? []).map((d) => (
                  <li key={d.id} className="grid gap-1 rounded-md border p-3">
                    <span className="flex flex-wrap items-center justify-between gap-2">
                      <span className="font-medium">{d.name}</span>
                      <StatusBadge status={d.status} />
                    </span>
                    <span className="text-xs break-all text-muted-foreground">
                      {d.storageFilePath ?? b.storageFilePath ?? ""} · {formatBytes(d.size ?? d.bytesUploaded)}
                    </span>
                    {d.error ? <span className="text-xs break-words text-destructive">{d.error}</span> : null}
                  </li>
                ))}
              </ul>
            )}
          </CardContent>
        </Card>

        {manifest?.files?.length ? (
          <Card>
            <CardHeader>
              <CardTitle>Files</CardTitle>
            </CardHeader>
            <CardContent>
              <Table label="Files of this backup">
                <THead>
                  <Tr>
                    <Th>File</Th>
                    <Th className="text-right">Size</Th>
                    <Th>SHA-256</Th>
                  </Tr>
                </THead>
                <TBody>
                  {manifest.files.map((f) => (
                    <Tr key={f.name}>
                      <Td className="font-mono text-xs whitespace-nowrap">{f.name}</Td>
                      <Td className="text-right whitespace-nowrap tabular-nums">{formatBytes(f.size)}</Td>
                      <Td className="font-mono text-xs break-all">{f.sha256}</Td>
                    </Tr>
                  ))}
                </TBody>
              </Table>
            </CardContent>
          </Card>
        ) : null}

        {manifest?.tables?.length ? (
          <Card>
            <CardHeader>
              <CardTitle>Tables</CardTitle>
            </CardHeader>
            <CardContent>
              <Table label="Row counts">
                <THead>
                  <Tr>
                    <Th>Table</Th>
                    <Th className="text-right">Rows</Th>
                  </Tr>
                </THead>
                <TBody>
                  {manifest.tables.map((t) => (
                    <Tr key={`${t.schema}.${t.name}`}>
                      <Td className="font-mono text-xs">
                        {t.schema}.{t.name}
                      </Td>
                      <Td className="text-right tabular-nums">{t.rows.toLocaleString()}</Td>
                    </Tr>
                  ))}
                </TBody>
              </Table>
            </CardContent>
          </Card>
        ) : null}
      </div>
    </>
  );
}

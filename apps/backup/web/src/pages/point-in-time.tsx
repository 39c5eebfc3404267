import { useQuery } from "@tanstack/react-query";
import { History, RotateCcw } from "lucide-react";
import { useState } from "react";
import { RestoreDialog } from "../components/restore-dialog.tsx";
import { TargetDatabaseField } from "../components/restore-progress.tsx";
import { Badge } from "../components/ui/badge.tsx";
import { Button } from "../components/ui/button.tsx";
import { Checkbox } from "../components/ui/checkbox.tsx";
import { Field } from "../components/ui/field.tsx";
import { Input } from "../components/ui/input.tsx";
import { Label } from "../components/ui/label.tsx";
import { Table, TBody, Td, THead, Th, Tr } from "../components/ui/table.tsx";
import { api, fieldError } from "../lib/api.ts";
import { useIsAdmin } from "../lib/session.ts";
import type { PointInTimeArchive } from "../lib/types.ts";

type Window = PointInTimeArchive["windows"][number];

/** `2026-11-28T10:15:00.123456Z` → `2026-11-28 10:15:00.123456 UTC`: the archive's exact times, never rounded. */
const utc = (iso: string) => iso.replace("T", " ").replace(/Z$/, " UTC");

function RestoreToTimeDialog({ archive, window }: { archive: PointInTimeArchive; window: Window }) {
  const [toTime, setToTime] = useState(window.to);
  const [target, setTarget] = useState("");
  const [passphrase, setPassphrase] = useState("");
  const [clean, setClean] = useState(false);
  return (
    <RestoreDialog
      trigger={(open) => (
        <Button variant="outline" size="sm" onClick={open}>
          <RotateCcw aria-hidden />
          Restore to a time
        </Button>
      )}
      title={`Restore ${archive.name} to a time`}
      description={
        <>
          From {utc(window.from)} to {utc(window.to)}. The newest base before the time is restored, then every change committed up
          to it, in one transaction: if anything fails, the target stays as it was.
        </>
      }
      start={async () => {
        const body = await api.post<{ restoreId: string }>("/api/point-in-time/restore", {
          destinationId: archive.destinationId,
          name: archive.name,
          toTime,
          targetDatabaseUrl: target,
          clean,
          ...(passphrase ? { passphrase } : {}),
        });
        return body.restoreId;
      }}
      fields={["toTime", "targetDatabaseUrl", "passphrase"]}
      destructive={clean}
    >
      {(error) => (
        <>
          <Field
            label="Restore to"
            help="An ISO 8601 time with its zone (2026-11-28T10:15:00Z), or latest."
            error={fieldError(error, "toTime")}
          >
            {(p) => <Input {...p} spellCheck={false} required value={toTime} onChange={(e) => setToTime(e.target.value)} />}
          </Field>
          <TargetDatabaseField value={target} onChange={setTarget} error={fieldError(error, "targetDatabaseUrl")} />
          <Field label="Passphrase" help="Only if the archive is encrypted with one." error={fieldError(error, "passphrase")}>
            {(p) => (
              <Input
                {...p}
                type="password"
                autoComplete="off"
                value={passphrase}
                onChange={(e) => setPassphrase(e.target.value)}
              />
            )}
          </Field>
          <div className="flex items-center gap-2">
            <Checkbox id="pitr-clean" checked={clean} onCheckedChange={(c) => setClean(c === true)} />
            <Label htmlFor="pitr-clean">Clean first (drop the target's objects of this archive first)</Label>
          </div>
        </>
      )}
    </RestoreDialog>
  );
}

/**
 * The backups page's point-in-time section: each archive `stowage stream` writes to a destination,
 * with the windows it can be restored to (as `stowage list`), and a restore to a chosen moment.
 */
export function PointInTimeSection() {
  const admin = useIsAdmin();
  const archives = useQuery({
    queryKey: ["point-in-time"],
    queryFn: () =>
      api.get<{ items: PointInTimeArchive[]; unreadable: Array<{ destinationName: string; error: string }> }>(
        "/api/point-in-time",
      ),
  });
  const rows = (archives.data?.items ?? []).flatMap((a) => a.windows.map((w) => ({ archive: a, window: w })));
  return (
    <section aria-labelledby="pitr-heading" className="mt-8 grid gap-3">
      <div>
        <h2 id="pitr-heading" className="flex items-center gap-2 text-lg font-semibold">
          <History className="size-5" aria-hidden />
          Point-in-time restore
        </h2>
        <p className="text-sm text-muted-foreground">
          Archives of every change, written by <code className="font-mono text-xs">stowage stream</code> to a destination: each
          can be restored to any moment of its window.
        </p>
      </div>
      {archives.isPending ? null : rows.length === 0 ? (
        <p className="text-sm text-muted-foreground">
          No point-in-time archive on the destinations yet. Start one with{" "}
          <code className="font-mono text-xs">stowage stream --db &lt;url&gt; --to &lt;destination&gt;</code>.
        </p>
      ) : (
        <Table label="Point-in-time archives">
          <THead>
            <Tr>
              <Th>Archive</Th>
              <Th>Destination</Th>
              <Th>Restorable from</Th>
              <Th>Restorable to</Th>
              {admin ? (
                <Th>
                  <span className="sr-only">Actions</span>
                </Th>
              ) : null}
            </Tr>
          </THead>
          <TBody>
            {rows.map(({ archive, window }) => (
              <Tr key={`${archive.destinationId}/${window.baseId}`}>
                <Td className="font-medium">{archive.name}</Td>
                <Td>{archive.destinationName}</Td>
                <Td className="whitespace-nowrap font-mono text-xs">{utc(window.from)}</Td>
                <Td className="whitespace-nowrap font-mono text-xs">
                  {utc(window.to)}
                  {window.gap ? (
                    <Badge variant="destructive" className="ml-2">
                      gap after
                    </Badge>
                  ) : null}
                </Td>
                {admin ? (
                  <Td className="text-right">
                    <RestoreToTimeDialog archive={archive} window={window} />
                  </Td>
                ) : null}
              </Tr>
            ))}
          </TBody>
        </Table>
      )}
      {(archives.data?.unreadable ?? []).map((u) => (
        <p key={u.destinationName} role="alert" className="text-sm text-destructive">
          {u.destinationName}: {u.error}
        </p>
      ))}
    </section>
  );
}

import { useMutation } from "@tanstack/react-query";
import { RotateCcw } from "lucide-react";
import { type FormEvent, type ReactNode, useState } from "react";
import { toast } from "sonner";
import { formError } from "../lib/api.ts";
import { RestoreProgress } from "./restore-progress.tsx";
import { Button } from "./ui/button.tsx";
import { Dialog, DialogContent, DialogDescription, DialogHeader, DialogTitle } from "./ui/dialog.tsx";
import { FormError } from "./ui/field.tsx";

/**
 * The one restore dialog of the UI (a whole backup, or a point-in-time archive to a moment): the
 * caller's fields, then the API's error that names none of them, the restore's progress once it
 * started, and Close / Start restore. The caller keeps the fields' values (they stay when the dialog
 * closes) and says how to start the restore; closing the dialog forgets the started restore.
 */
export function RestoreDialog({
  trigger,
  title,
  description,
  start,
  fields,
  destructive,
  children,
}: {
  trigger: (open: () => void) => ReactNode;
  title: ReactNode;
  description: ReactNode;
  /** Starts the restore; resolves to the restore job's id. */
  start: () => Promise<string | null>;
  /** The request fields whose errors `children` shows beside them (every other error shows above the buttons). */
  fields: string[];
  /** The restore drops existing objects first (clean): Start restore is red. */
  destructive: boolean;
  /** The form's fields, given the error of the last start. */
  children: (error: Error | null) => ReactNode;
}) {
  const [open, setOpen] = useState(false);
  const [restoreId, setRestoreId] = useState<string | null>(null);
  const mutation = useMutation({
    mutationFn: start,
    onSuccess: (id) => {
      setRestoreId(id);
      toast.success("Restore started");
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    mutation.mutate();
  };
  return (
    <Dialog
      open={open}
      onOpenChange={(o) => {
        setOpen(o);
        if (!o) {
          mutation.reset();
          setRestoreId(null);
        }
      }}
    >
      {trigger(() => setOpen(true))}
      <DialogContent>
        <DialogHeader>
          <DialogTitle>{title}</DialogTitle>
          <DialogDescription>{description}</DialogDescription>
        </DialogHeader>
        <form onSubmit={submit} className="grid gap-4" noValidate>
          {children(mutation.error)}
          <FormError error={formError(mutation.error, fields)} />
          {restoreId ? <RestoreProgress restoreId={restoreId} /> : null}
          <div className="flex flex-col-reverse gap-2 sm:flex-row sm:justify-end">
            <Button type="button" variant="outline" onClick={() => setOpen(false)}>
              Close
            </Button>
            <Button
              type="submit"
              variant={destructive ? "destructive" : "default"}
              pending={mutation.isPending}
              disabled={!!restoreId}
            >
              {mutation.isPending ? null : <RotateCcw aria-hidden />}
              Start restore
            </Button>
          </div>
        </form>
      </DialogContent>
    </Dialog>
  );
}

import { type QueryKey, useQueryClient } from "@tanstack/react-query";
import { Trash2 } from "lucide-react";
import type { ReactNode } from "react";
import { toast } from "sonner";
import { api } from "../lib/api.ts";
import { ConfirmDialog } from "./confirm.tsx";
import { Button } from "./ui/button.tsx";

/** Delete something behind a confirmation: DELETE `path`, refresh `invalidate`, toast `done`. */
export function DeleteButton({
  title,
  description,
  confirmLabel,
  path,
  invalidate,
  done,
  label,
  ariaLabel,
}: {
  title: string;
  description: ReactNode;
  confirmLabel: string;
  path: string;
  invalidate: QueryKey;
  done: string;
  label: string;
  ariaLabel: string;
}) {
  const queryClient = useQueryClient();
  return (
    <ConfirmDialog
      title={title}
      description={description}
      confirmLabel={confirmLabel}
      onConfirm={async () => {
        await api.delete(path);
        await queryClient.invalidateQueries({ queryKey: invalidate });
        toast.success(done);
      }}
      trigger={(open) => (
        <Button size="sm" variant="ghost" onClick={open} aria-label={ariaLabel}>
          <Trash2 aria-hidden />
          {label}
        </Button>
      )}
    />
  );
}

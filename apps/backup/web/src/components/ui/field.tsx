import type * as React from "react";
import { useId } from "react";
import { cn } from "../../lib/cn.ts";
import { Label } from "./label.tsx";

export interface FieldControlProps {
  id: string;
  "aria-invalid"?: true;
  "aria-describedby"?: string;
}

/**
 * A labelled control with its help text and its error: the control gets the label's id,
 * `aria-invalid` and `aria-describedby` for both texts. The error line keeps its space
 * only when there is an error, so the form moves once, when the user submits.
 */
export function Field({
  label,
  help,
  error,
  className,
  children,
}: {
  label: React.ReactNode;
  help?: React.ReactNode;
  error?: string | undefined;
  className?: string;
  children: (control: FieldControlProps) => React.ReactNode;
}) {
  const id = useId();
  const helpId = `${id}-help`;
  const errorId = `${id}-error`;
  const describedBy = [help ? helpId : null, error ? errorId : null].filter(Boolean).join(" ") || undefined;
  return (
    <div className={cn("grid gap-1.5", className)}>
      <Label htmlFor={id}>{label}</Label>
      {children({ id, "aria-invalid": error ? true : undefined, "aria-describedby": describedBy })}
      {help ? (
        <p id={helpId} className="text-xs text-muted-foreground">
          {help}
        </p>
      ) : null}
      {error ? (
        <p id={errorId} className="text-xs font-medium text-destructive" role="alert">
          {error}
        </p>
      ) : null}
    </div>
  );
}

/** An error that concerns the whole form, not one field. */
export function FormError({ error }: { error?: string | null | undefined }) {
  if (!error) return null;
  return (
    <p
      role="alert"
      className="rounded-md border border-destructive/40 bg-destructive/10 px-3 py-2 text-sm text-destructive break-words"
    >
      {error}
    </p>
  );
}

import { messageOf } from "../lib/api.ts";
import { Field, FormError, Input, Textarea } from "./ui.ts";

/**
 * A project's name and description as "New project" and the project's settings edit them, under the
 * error of the last save (the service's own message).
 */
export function ProjectFields({
  name,
  description,
  onNameChange,
  onDescriptionChange,
  error,
  descriptionHelp,
}: {
  name: string;
  description: string;
  onNameChange: (name: string) => void;
  onDescriptionChange: (description: string) => void;
  error: unknown;
  descriptionHelp?: string;
}) {
  return (
    <>
      <FormError error={error ? messageOf(error) : null} />
      <Field label="Project name">
        {(p) => <Input {...p} required maxLength={255} value={name} onChange={(e) => onNameChange(e.target.value)} />}
      </Field>
      <Field label="Description" help={descriptionHelp}>
        {(p) => (
          <Textarea
            {...p}
            rows={3}
            className="font-sans text-sm"
            value={description}
            onChange={(e) => onDescriptionChange(e.target.value)}
          />
        )}
      </Field>
    </>
  );
}

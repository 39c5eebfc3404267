import { messageOf } from "../lib/api.ts";
import { Field, FormError, Input, Textarea } from "./ui.ts";

/** What a person types about a project: its name and its description ("" for none). */
export interface ProjectText {
  name: string;
  description: string;
}

export interface ProjectFieldsProps {
  value: ProjectText;
  onChange: (value: ProjectText) => void;
  /** The last save's error, shown above the fields. */
  error: unknown;
  descriptionHelp?: string;
}

/**
 * A project's name and description as "New project" and the project's settings edit them, under the
 * error of the last save (the service's own message).
 */
export function ProjectFields({ value, onChange, error, descriptionHelp }: ProjectFieldsProps) {
  return (
    <>
      <FormError error={error ? messageOf(error) : null} />
      <Field label="Project name">
        {(p) => (
          <Input
            {...p}
            required
            maxLength={255}
            value={value.name}
            onChange={(e) => onChange({ ...value, name: e.target.value })}
          />
        )}
      </Field>
      <Field label="Description" help={descriptionHelp}>
        {(p) => (
          <Textarea
            {...p}
            rows={3}
            className="font-sans text-sm"
            value={value.description}
            onChange={(e) => onChange({ ...value, description: e.target.value })}
          />
        )}
      </Field>
    </>
  );
}

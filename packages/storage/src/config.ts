/**
 * @module config
 * Turns untrusted configuration into a typed provider config, or a `StorageError("INVALID_CONFIG")`
 * whose message names every bad field and never echoes a secret value.
 */
import type { z } from "zod";
import { StorageError } from "./errors.ts";

export function parseProviderConfig<S extends z.ZodType>(schema: S, raw: unknown, destination: string): z.output<S> {
  const result = schema.safeParse(raw);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const field = issue.path.length > 0 ? issue.path.join(".") : "(config)";
    return `${field}: ${issue.message}`;
  });
  throw new StorageError("INVALID_CONFIG", destination, `invalid configuration: ${problems.join("; ")}`);
}

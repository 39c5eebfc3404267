/**
 * @module test/smoke/common
 * What the three smoke files share: the destination spec from the STOWAGE_SMOKE_* variable (parsed as the
 * CLI parses a destination URL, credentials from the environment), a port nothing listens on, and the
 * reasons for the checks a real service cannot take part in.
 */
import { createServer } from "node:net";
import { parseDestinationUrl } from "../../src/destination-url.ts";
import type { DestinationSpec } from "../../src/registry.ts";

/** The raw config the destination URL in `variable` gives, with the environment's credentials. */
export function specFrom(variable: string, url: (value: string) => string = (v) => v): DestinationSpec {
  const value = process.env[variable]?.trim();
  if (!value) throw new Error(`${variable} is not set: vitest.smoke.config.ts should not have run this file`);
  return parseDestinationUrl(url(value), process.env);
}

export const rawConfig = (spec: DestinationSpec) => spec.config as Record<string, unknown>;

/** A port on this machine that nothing listens on. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export const REAL_SERVICE = {
  quota: "a real account's quota cannot be set to 100 kB for the test",
  killServer: "a real service cannot be killed mid-upload (the abort and failing-source checks cover interruption)",
} as const;

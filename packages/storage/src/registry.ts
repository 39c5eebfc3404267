/**
 * @module registry
 * The one place that lists the providers: each line is a provider folder's description. Adding a
 * provider means one folder and one line here. Providers' SDKs are imported on first use, so a process
 * that talks to a local folder never loads the AWS or Google SDKs (about 45 MB of resident memory
 * saved in the backup CLI).
 */
import type { StorageDestination, StorageType } from "./contract.ts";
import { StorageError } from "./errors.ts";
import type { ProviderDescription } from "./layer/provider.ts";
import { browserDownloadDescription } from "./providers/browser-download/description.ts";
import { googleDriveDescription } from "./providers/google-drive/description.ts";
import { localMappedDescription } from "./providers/local-mapped/description.ts";
import { nextcloudDescription } from "./providers/nextcloud/description.ts";
import { s3Description } from "./providers/s3/description.ts";

// biome-ignore lint/suspicious/noExplicitAny: each description has its own config type
export const PROVIDERS: ReadonlyArray<ProviderDescription<any>> = [
  localMappedDescription,
  s3Description,
  nextcloudDescription,
  googleDriveDescription,
  browserDownloadDescription,
];

/** The description of a storage type, or undefined. */
// biome-ignore lint/suspicious/noExplicitAny: see PROVIDERS
export function providerOf(type: string): ProviderDescription<any> | undefined {
  return PROVIDERS.find((p) => p.type === type);
}

/** `local_mapped, s3, nextcloud, google_drive or browser_download`. */
export function storageTypeList(): string {
  const types = PROVIDERS.map((p) => p.type);
  return `${types.slice(0, -1).join(", ")} or ${types.at(-1)}`;
}

export interface DestinationSpec {
  readonly type: StorageType;
  readonly config: unknown;
}

/** Creates and configures a destination; throws `INVALID_CONFIG` naming the bad field. */
export async function createDestination(spec: DestinationSpec): Promise<StorageDestination> {
  const provider = providerOf(spec.type);
  if (!provider) {
    throw new StorageError("INVALID_CONFIG", String(spec.type), `unknown storage type; use one of ${storageTypeList()}`);
  }
  const Destination = await provider.load();
  return new Destination(spec.config);
}

/**
 * Names of every environment variable that holds a secret, across providers (`S3_SECRET_ACCESS_KEY`,
 * `NEXTCLOUD_PASSWORD`, `GOOGLE_DRIVE_REFRESH_TOKEN`…): what a CLI scrubs from its messages.
 */
export function secretVariableNames(): string[] {
  return [...new Set(PROVIDERS.flatMap((p) => p.secretVariables))];
}

/** The values of those variables that are set in `env`, for `redact`. */
export function secretValues(env: Readonly<Record<string, string | undefined>> = process.env): string[] {
  return secretVariableNames()
    .map((name) => env[name])
    .filter((value): value is string => typeof value === "string" && value.length > 0);
}

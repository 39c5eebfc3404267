/**
 * @module registry
 * The one place that knows every provider: storage type → constructor. Callers create
 * destinations from a `{ type, config }` pair, a destination URL, or the environment.
 */
import type { StorageDestination, StorageType } from "./contract.ts";
import { StorageError } from "./errors.ts";
import { BrowserDownloadDestination } from "./providers/browser-download/provider.ts";
import { GoogleDriveDestination } from "./providers/google-drive/provider.ts";
import { LocalMappedDestination } from "./providers/local-mapped/provider.ts";
import { NextcloudDestination } from "./providers/nextcloud/provider.ts";
import { S3Destination } from "./providers/s3/provider.ts";

const constructors: Record<StorageType, new (config?: unknown) => StorageDestination> = {
  local_mapped: LocalMappedDestination,
  s3: S3Destination,
  nextcloud: NextcloudDestination,
  google_drive: GoogleDriveDestination,
  browser_download: BrowserDownloadDestination,
};

export interface DestinationSpec {
  readonly type: StorageType;
  readonly config: unknown;
}

/** Creates and configures a destination; throws `INVALID_CONFIG` naming the bad field. */
export function createDestination(spec: DestinationSpec): StorageDestination {
  const Ctor = constructors[spec.type];
  if (!Ctor) {
    throw new StorageError(
      "INVALID_CONFIG",
      String(spec.type),
      `unknown storage type; use one of ${Object.keys(constructors).join(", ")}`,
    );
  }
  return new Ctor(spec.config);
}

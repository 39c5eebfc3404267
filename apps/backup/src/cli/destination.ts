/**
 * @module cli/destination
 * Turns `--from`/`--to` URLs and the `<backup>` argument into storage destinations and backup locations.
 */
import { type BackupLocation, locateBackup } from "@stowage/backup-core";
import { createDestination, parseDestinationUrl, type StorageDestination } from "@stowage/storage";

export function openDestination(url: string): Promise<StorageDestination> {
  return createDestination(parseDestinationUrl(url));
}

/** `--from <dest> <id>` or a local folder path. The caller closes `location.destination`. */
export async function openBackup(backup: string, from: string | undefined): Promise<BackupLocation> {
  return locateBackup(backup, from ? await openDestination(from) : undefined);
}

/** Runs `fn` and closes the destination whatever happens. */
export async function withDestination<T>(destination: StorageDestination, fn: (d: StorageDestination) => Promise<T>): Promise<T> {
  try {
    return await fn(destination);
  } finally {
    await destination.close().catch(() => {});
  }
}

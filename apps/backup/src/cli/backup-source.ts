/**
 * @module cli/backup-source
 * The `<backup>` argument of restore and verify: a backup id on `--from`, a local backup folder, or
 * a `.tar` of one backup folder (a browser download), read as a stream without unpacking it.
 */
import { stat } from "node:fs/promises";
import { resolve } from "node:path";
import { type BackupLocation, type BackupReader, isTarPath, tarFileBackup } from "@stowage/backup-core";
import { openBackup, withDestination } from "./destination.ts";
import { UsageError } from "./exit-codes.ts";

/** Opens the backup, runs `fn` on it, and closes whatever was opened. */
export async function withBackup<T>(
  backup: string,
  from: string | undefined,
  fn: (location: BackupLocation<BackupReader>) => Promise<T>,
): Promise<T> {
  if (!from && isTarPath(backup)) {
    const path = resolve(backup);
    const info = await stat(path).catch((error: NodeJS.ErrnoException) => {
      throw new UsageError(`cannot read ${path}: ${error.code === "ENOENT" ? "no such file" : error.message}`);
    });
    if (!info.isFile()) throw new UsageError(`${path} is not a file`);
    const location = tarFileBackup(path);
    try {
      return await fn(location);
    } finally {
      await location.destination.close();
    }
  }
  const location = await openBackup(backup, from);
  return withDestination(location.destination, () => fn(location));
}

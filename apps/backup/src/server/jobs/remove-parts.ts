/**
 * @module server/jobs/remove-parts
 * Removes what a run that did not complete left in its folder on a destination. Never touches a
 * folder holding a manifest: that backup committed and is complete.
 */
import { MANIFEST_FILE } from "@stowage/backup-core";
import type { StorageDestination } from "@stowage/storage";

/** Deletes every object under `folder/` unless a manifest is there; answers whether a manifest was found. */
export async function removeParts(dest: StorageDestination, folder: string): Promise<{ committed: boolean; removed: number }> {
  const keys = (await dest.list(`${folder}/`)).map((o) => o.key);
  if (keys.includes(`${folder}/${MANIFEST_FILE}`)) return { committed: true, removed: 0 };
  for (const key of keys) await dest.delete(key);
  return { committed: false, removed: keys.length };
}

/**
 * @module server/jobs/download-tar
 * A browser download is one `.tar` of the backup folder: `<name>-<timestamp>/` holding
 * `manifest.json` first (so a streaming reader knows every expected checksum before the parts),
 * then the parts as stored, in manifest order. Written with tar-stream, file by file, never buffered.
 */
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { type BackupManifest, MANIFEST_FILE } from "@stowage/backup-core";
import { type Pack, pack } from "tar-stream";

/** `<name>-<timestamp>`, e.g. `shop-20261202T093000Z`: the tar's file name without `.tar`, and its one folder. */
export function downloadBaseName(manifest: Pick<BackupManifest, "name" | "startedAt">): string {
  const stamp = manifest.startedAt.replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
  return `${manifest.name}-${stamp}`;
}

async function addFile(tar: Pack, name: string, path: string, mtime: Date, signal?: AbortSignal): Promise<void> {
  const { size } = await stat(path);
  const entry = tar.entry({ name, size, mode: 0o644, mtime, type: "file" });
  await pipeline(createReadStream(path), entry, { signal });
}

/**
 * A tar stream of the backup folder at `folder` (a local directory holding the parts and manifest.json).
 * The stream errors if a file cannot be read; the consumer's failure aborts via `signal`.
 */
export function tarBackupFolder(folder: string, manifest: BackupManifest, signal?: AbortSignal): Pack {
  const tar = pack();
  const top = downloadBaseName(manifest);
  const mtime = new Date(manifest.finishedAt);
  void (async () => {
    try {
      tar.entry({ name: `${top}/`, type: "directory", mode: 0o755, mtime });
      await addFile(tar, `${top}/${MANIFEST_FILE}`, join(folder, MANIFEST_FILE), mtime, signal);
      for (const file of manifest.files) await addFile(tar, `${top}/${file.name}`, join(folder, file.name), mtime, signal);
      tar.finalize();
    } catch (error) {
      tar.destroy(error as Error);
    }
  })();
  return tar;
}

/**
 * @module server/jobs/recording-destination
 * Wraps a destination so the server learns the backup folder before the first byte is written:
 * the engine picks `<name>/<timestamp>-<id>` itself, and crash recovery must know where a dead run
 * left its parts. Every other call goes straight through.
 */
import type { StorageDestination, UploadOptions, UploadResult, UploadSource } from "@stowage/storage";

export function recordingDestination(inner: StorageDestination, onFolder: (folder: string) => Promise<void>): StorageDestination {
  let recorded: Promise<void> | undefined;
  return {
    get type() {
      return inner.type;
    },
    get name() {
      return inner.name;
    },
    get capabilities() {
      return inner.capabilities;
    },
    async upload(source: UploadSource, key: string, options?: UploadOptions): Promise<UploadResult> {
      const slash = key.lastIndexOf("/");
      if (slash > 0) recorded ??= onFolder(key.slice(0, slash));
      await recorded;
      return inner.upload(source, key, options);
    },
    configure: (config) => inner.configure(config),
    download: (key, options) => inner.download(key, options),
    stat: (key) => inner.stat(key),
    delete: (key) => inner.delete(key),
    list: (prefix) => inner.list(prefix),
    validateConnection: () => inner.validateConnection(),
    getAvailableSpace: () => inner.getAvailableSpace(),
    close: () => inner.close(),
  };
}

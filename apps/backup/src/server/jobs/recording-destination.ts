/**
 * @module server/jobs/recording-destination
 * Wraps a destination so the server learns the backup folder before the first byte is written:
 * the engine picks `<name>/<timestamp>-<id>` itself, and crash recovery must know where a dead run
 * left its parts. Every other call goes straight through.
 */
import type { StorageDestination, UploadOptions, UploadResult, UploadSource } from "@stowage/storage";

export interface RecordingDestination extends StorageDestination {
  /**
   * Resolves once every upload started through this wrapper has settled. The engine stops waiting
   * for uploads when a run is aborted; a cleanup that ran before they settle could miss a file
   * that lands a moment later.
   */
  settled(): Promise<void>;
}

export function recordingDestination(
  inner: StorageDestination,
  onFolder: (folder: string) => Promise<void>,
): RecordingDestination {
  let recorded: Promise<void> | undefined;
  const inFlight = new Set<Promise<unknown>>();
  return {
    async settled() {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    },
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
      const upload = inner.upload(source, key, options);
      inFlight.add(upload);
      upload.then(
        () => inFlight.delete(upload),
        () => inFlight.delete(upload),
      );
      return upload;
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

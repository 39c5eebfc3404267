/**
 * @module contract
 * The storage destination contract. Every provider implements `StorageDestination`;
 * callers (the backup engine, the diagram service) only ever see this interface.
 * One conformance suite (`test/contract`) checks every provider against a real server.
 */
import type { Readable } from "node:stream";

export const STORAGE_TYPES = ["local_mapped", "s3", "nextcloud", "google_drive", "browser_download"] as const;
export type StorageType = (typeof STORAGE_TYPES)[number];

/**
 * What a provider can do, declared once (as restic's backend `Properties`) so callers never
 * special-case a provider by name.
 */
export interface StorageCapabilities {
  /** An upload to an existing key replaces it in one step: readers see the old or the new object, never a mix. */
  readonly atomicReplace: boolean;
  /** Streams of unknown length can be uploaded without buffering them whole. */
  readonly unknownLengthUpload: boolean;
  /** `getAvailableSpace()` can return a number (not always `null`). */
  readonly reportsFreeSpace: boolean;
  /** Keys are real paths in a hierarchy (folders), not flat names. */
  readonly hierarchical: boolean;
}

/** A Node readable stream (length unknown, e.g. a pg_dump pipe) or a file on disk. */
export type UploadSource = Readable | { readonly path: string };

export interface UploadOptions {
  readonly contentType?: string;
  /** Byte length when the caller knows it; lets providers send Content-Length. */
  readonly size?: number;
  /** Aborting leaves nothing behind under the key. */
  readonly signal?: AbortSignal;
  /** Called with the total number of bytes read from the source so far. */
  readonly onProgress?: (bytesSent: number) => void;
  /** Small string metadata stored with the object where the backend supports it. */
  readonly metadata?: Readonly<Record<string, string>>;
}

export interface UploadResult {
  /** Where the object lives in the provider's own terms (path, object key, Drive file id). */
  readonly storagePath: string;
  /** A link for the user, when the provider has one (never a public link to private data). */
  readonly url?: string;
  readonly etag?: string;
  /** Bytes stored. */
  readonly size: number;
  /** Hex SHA-256 of the bytes stored. */
  readonly sha256: string;
}

export interface StorageObjectInfo {
  /** The key relative to the destination, as passed to `upload`. */
  readonly key: string;
  readonly size: number;
  readonly modifiedAt: Date;
  readonly etag?: string;
}

export interface ConnectionCheck {
  readonly ok: boolean;
  /** A sentence for a human: what failed and what to check. */
  readonly error?: string;
  readonly latencyMs: number;
  /**
   * The destination works, but something will fail or surprise later (a Drive role that cannot delete,
   * so `prune` will fail): sentences for a human, each saying what to change.
   */
  readonly warnings?: readonly string[];
  /** What the check found that a human may want to know (the shared drive and the role in it). */
  readonly details?: readonly string[];
}

/** What a provider's connection check may add to a successful `ConnectionCheck`. */
export interface ConnectionNotes {
  readonly warnings?: readonly string[];
  readonly details?: readonly string[];
}

export interface DownloadOptions {
  readonly signal?: AbortSignal;
}

export interface StorageDestination {
  readonly type: StorageType;
  /** Display name, safe to log: `s3://bucket/prefix`, never credentials. */
  readonly name: string;
  readonly capabilities: StorageCapabilities;

  /**
   * Validates `config` with the provider's zod schema and applies it.
   * Throws `StorageError("INVALID_CONFIG")` naming the offending field.
   */
  configure(config: unknown): Promise<void>;

  /**
   * Stores `source` under `key`. Atomic: nothing is visible under `key` until the upload is complete,
   * and a failed or aborted upload leaves nothing behind. Overwrites an existing object.
   */
  upload(source: UploadSource, key: string, options?: UploadOptions): Promise<UploadResult>;

  /** A stream of the object's bytes. Throws `NOT_FOUND` when the key does not exist. */
  download(key: string, options?: DownloadOptions): Promise<Readable>;

  /** Throws `NOT_FOUND` when the key does not exist. */
  stat(key: string): Promise<StorageObjectInfo>;

  /** Removes the object. Does not throw when it does not exist. */
  delete(key: string): Promise<void>;

  /**
   * Every object whose key starts with `prefix` (all pages), sorted by key.
   * `prefix` is a plain string prefix of keys; pass `"a/b/"` for the contents of folder `a/b`.
   */
  list(prefix?: string): Promise<StorageObjectInfo[]>;

  /** Never throws. */
  validateConnection(): Promise<ConnectionCheck>;

  /** Free bytes, or `null` where the backend cannot tell. */
  getAvailableSpace(): Promise<number | null>;

  /** Releases sockets and timers. Safe to call more than once. */
  close(): Promise<void>;
}

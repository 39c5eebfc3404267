/**
 * @module layer/provider
 * What a provider folder supplies, and nothing more:
 * - a `ProviderDescription` (`providers/<name>/description.ts`): its config schema, display name,
 *   capabilities, URL form (parse and print, never a secret), environment variables and the names of
 *   its secret variables. Light to import: no SDK is loaded until a destination is created.
 * - a `StorageDriver` (`providers/<name>/provider.ts`): the service calls. Drivers are called by the
 *   destination layer only, with keys and prefixes already validated, never after an abort, and their
 *   answers are sorted, filtered, timed, retried and relabelled there (destination-layer.ts).
 */
import type { Readable } from "node:stream";
import type { z } from "zod";
import type * as contract from "../contract.ts";
import type { RetryPolicy } from "./retry.ts";

export type Env = Readonly<Record<string, string | undefined>>;

/** What the layer hands a driver: its display name and the one retry policy, for replayable pieces. */
export interface DriverContext {
  readonly name: string;
  readonly policy: RetryPolicy;
}

/**
 * The service-specific half of a destination. Same meaning as `contract.StorageDestination`'s methods, except:
 * keys are valid, `list` may return temporary names and in any order, and failures may be any error
 * (the layer turns them into `StorageError`s); a `StorageError` marked `transient` is retried by the
 * layer for idempotent operations.
 */
export interface StorageDriver {
  upload(source: contract.UploadSource, key: string, options: contract.UploadOptions): Promise<contract.UploadResult>;
  download(key: string, options: contract.DownloadOptions): Promise<Readable>;
  stat(key: string): Promise<contract.StorageObjectInfo>;
  delete(key: string): Promise<void>;
  list(prefix: string): Promise<contract.StorageObjectInfo[]>;
  /**
   * Resolves when the destination is usable, optionally with warnings and details for the human;
   * throws a `StorageError` whose message says what to fix.
   */
  // biome-ignore lint/suspicious/noConfusingVoidType: most drivers only resolve (Promise<void>); notes are optional
  checkConnection(): Promise<void | contract.ConnectionNotes>;
  getAvailableSpace(): Promise<number | null>;
  close(): Promise<void>;
}

/** The command-line form of a provider's destinations. */
export interface UrlForm<C> {
  /** URL schemes, with the colon: `s3:`, `webdav+https:`. */
  readonly schemes: readonly string[];
  /** How the form is written, for help and error messages. */
  readonly example: string;
  /** The raw config (validated later by the schema); secrets come from `env`, never from the URL. */
  parse(url: URL, env: Env, input: string): unknown;
  /** The URL for a config, without any secret: `parse(print(c))` with the same environment gives `c` back. */
  print(config: C): string;
}

export interface ProviderDescription<C = unknown> {
  readonly type: contract.StorageType;
  /** Parses and applies defaults; `INVALID_CONFIG` messages name the field. */
  readonly configSchema: z.ZodType<C>;
  /** Safe to log: never a credential. */
  displayName(config: C): string;
  capabilities(config: C | undefined): contract.StorageCapabilities;
  /** Values of this config that must never appear in a message (passwords, keys, tokens). */
  secrets(config: C): ReadonlyArray<string | undefined>;
  /** Retry policy for this config (Drive lets the user set `maxRetries`); the layer's default otherwise. */
  retryPolicy?(config: C): RetryPolicy;
  readonly url?: UrlForm<C>;
  /** The raw config from the environment (`DEFAULT_STORAGE_TYPE` picked this provider). */
  fromEnv(env: Env): unknown;
  /** Every environment variable the provider reads. */
  readonly envVariables: readonly string[];
  /** Those of them that hold secrets (for redaction). */
  readonly secretVariables: readonly string[];
  /** Loads the provider's destination class (its SDK) on first use. */
  load(): Promise<new (config?: unknown) => contract.StorageDestination>;
}

/** Reads a boolean variable or query parameter: only `1`, `true`, `yes`, `on` (any case) are true. */
export function isTruthy(value: string | null | undefined): boolean {
  return value !== null && value !== undefined && /^(1|true|yes|on)$/i.test(value);
}

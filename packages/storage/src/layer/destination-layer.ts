/**
 * @module layer/destination-layer
 * The one wrapper every provider sits behind (as restic's backend wrappers and flydrive's `Disk`):
 * it implements `StorageDestination` around a provider's `StorageDriver` and does, once for all of
 * them, what each used to repeat:
 * - the not-configured guard and config parsing (the provider's zod schema);
 * - key and prefix validation (keys.ts), before any call reaches the service;
 * - abort checks before an operation starts;
 * - listing order (by UTF-16 code unit, the same everywhere) and hiding temporary names;
 * - the latency of `validateConnection`, which never throws;
 * - retries of idempotent operations with the one policy (layer/retry.ts), only for errors the
 *   provider marked transient. Uploads are not retried whole: a stream cannot be read twice, so the
 *   providers retry its replayable pieces (a spooled S3 part, a buffered chunk) with the same policy,
 *   and retrying a whole upload on top would multiply the attempts;
 * - every failure becomes a `StorageError` under this destination's name, with secrets redacted.
 */
import type { Readable } from "node:stream";
import { parseProviderConfig } from "../config.ts";
import type {
  ConnectionCheck,
  DownloadOptions,
  StorageCapabilities,
  StorageDestination,
  StorageObjectInfo,
  StorageType,
  UploadOptions,
  UploadResult,
  UploadSource,
} from "../contract.ts";
import { isAbortError, redact, StorageError } from "../errors.ts";
import { validateKey, validatePrefix } from "../keys.ts";
import type { DriverContext, ProviderDescription, StorageDriver } from "./provider.ts";
import { DEFAULT_RETRY_POLICY, type RetryPolicy, retry } from "./retry.ts";
import { isTempKey } from "./temp-name.ts";

export type DriverFactory<C> = (config: C, context: DriverContext) => StorageDriver;

const byKey = (a: StorageObjectInfo, b: StorageObjectInfo) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

const isFileSource = (source: UploadSource): source is { readonly path: string } =>
  !("pipe" in source) && typeof (source as { path?: unknown }).path === "string";

export class DestinationLayer<C, D extends StorageDriver = StorageDriver> implements StorageDestination {
  readonly type: StorageType;
  private config: C | undefined;
  private current: D | undefined;

  constructor(
    private readonly description: ProviderDescription<C>,
    private readonly createDriver: (config: C, context: DriverContext) => D,
    config?: unknown,
  ) {
    this.type = description.type;
    if (config !== undefined) this.apply(parseProviderConfig(description.configSchema, config, description.type));
  }

  get name(): string {
    return this.config === undefined ? `${this.description.type} (not configured)` : this.description.displayName(this.config);
  }

  get capabilities(): StorageCapabilities {
    return this.description.capabilities(this.config);
  }

  async configure(config: unknown): Promise<void> {
    const parsed = parseProviderConfig(this.description.configSchema, config, this.config === undefined ? this.type : this.name);
    const previous = this.current;
    this.apply(parsed);
    await previous?.close().catch(() => undefined);
  }

  private apply(config: C): void {
    this.config = config;
    this.current = this.createDriver(config, { name: this.description.displayName(config), policy: this.policy(config) });
  }

  private policy(config: C): RetryPolicy {
    return this.description.retryPolicy?.(config) ?? DEFAULT_RETRY_POLICY;
  }

  /** The configured driver; `INVALID_CONFIG` before `configure()`. For subclasses that add provider-specific methods. */
  protected get driver(): D {
    if (!this.current) throw new StorageError("INVALID_CONFIG", this.name, "not configured: call configure() first");
    return this.current;
  }

  /** Any failure as a `StorageError` under this destination's name, with the config's secrets redacted. */
  protected toStorageError(error: unknown, what: string, signal?: AbortSignal): StorageError {
    const secrets = this.config === undefined ? [] : this.description.secrets(this.config);
    if (error instanceof StorageError) {
      const relabelled = error.relabel(this.name);
      return relabelled.message === redact(relabelled.message, secrets)
        ? relabelled
        : new StorageError(error.code, this.name, redact(relabelled.detail, secrets), { transient: error.transient });
    }
    if (signal?.aborted || isAbortError(error)) {
      return new StorageError("INTERRUPTED", this.name, `${what}: aborted`, { cause: error });
    }
    const message = error instanceof Error ? error.message : String(error);
    return new StorageError("UNKNOWN", this.name, redact(`${what}: ${message}`, secrets), { cause: error });
  }

  /**
   * Runs one operation: refuses to start after an abort, retries transient failures when `retryable`,
   * and turns whatever it throws into a `StorageError` of this destination.
   */
  private async run<T>(
    what: string,
    operation: (driver: D) => Promise<T>,
    options: { signal?: AbortSignal | undefined; retryable: boolean },
  ): Promise<T> {
    const { signal } = options;
    if (signal?.aborted) throw new StorageError("INTERRUPTED", this.name, `${what}: aborted before it started`);
    const driver = this.driver;
    const config = this.config as C;
    try {
      if (!options.retryable) return await operation(driver);
      return await retry(() => operation(driver), {
        policy: this.policy(config),
        isTransient: (error) => error instanceof StorageError && error.transient,
        signal,
      });
    } catch (error) {
      throw this.toStorageError(error, what, signal);
    }
  }

  async upload(source: UploadSource, key: string, options: UploadOptions = {}): Promise<UploadResult> {
    validateKey(key, this.name);
    const what = `upload of ${key}`;
    // A source that fails (pg_dump exiting) is not the destination's fault: whatever the provider
    // made of it, the caller hears that the source failed and that nothing was kept.
    let sourceError: unknown;
    const onSourceError = (error: unknown) => {
      sourceError ??= error;
    };
    const stream = isFileSource(source) ? undefined : (source as NodeJS.EventEmitter);
    stream?.on("error", onSourceError);
    try {
      // Pieces are retried by the driver (see the module comment), never the whole upload.
      return await this.run(what, (d) => d.upload(source, key, options), { signal: options.signal, retryable: false });
    } catch (error) {
      if (sourceError === undefined || options.signal?.aborted) throw error;
      const reason = sourceError instanceof Error ? sourceError.message : String(sourceError);
      throw this.toStorageError(
        new StorageError("INTERRUPTED", this.name, `${what}: the source stream failed (${reason}); nothing was stored`, {
          cause: sourceError,
        }),
        what,
      );
    } finally {
      stream?.off("error", onSourceError);
    }
  }

  async download(key: string, options: DownloadOptions = {}): Promise<Readable> {
    validateKey(key, this.name);
    return this.run(`download of ${key}`, (d) => d.download(key, options), { signal: options.signal, retryable: true });
  }

  async stat(key: string): Promise<StorageObjectInfo> {
    validateKey(key, this.name);
    return this.run(`stat of ${key}`, (d) => d.stat(key), { retryable: true });
  }

  async delete(key: string): Promise<void> {
    validateKey(key, this.name);
    return this.run(`delete of ${key}`, (d) => d.delete(key), { retryable: true });
  }

  async list(prefix = ""): Promise<StorageObjectInfo[]> {
    validatePrefix(prefix, this.name);
    const found = await this.run(`list of ${prefix || "/"}`, (d) => d.list(prefix), { retryable: true });
    return found.filter((o) => o.key.startsWith(prefix) && !isTempKey(o.key)).sort(byKey);
  }

  async validateConnection(): Promise<ConnectionCheck> {
    const started = performance.now();
    const latencyMs = () => Math.round(performance.now() - started);
    try {
      const notes = await this.run("connection check", (d) => d.checkConnection(), { retryable: false });
      const warnings = notes?.warnings?.length ? { warnings: notes.warnings } : {};
      const details = notes?.details?.length ? { details: notes.details } : {};
      return { ok: true, latencyMs: latencyMs(), ...warnings, ...details };
    } catch (error) {
      return { ok: false, error: this.toStorageError(error, "connection check").message, latencyMs: latencyMs() };
    }
  }

  async getAvailableSpace(): Promise<number | null> {
    return this.run("free space", (d) => d.getAvailableSpace(), { retryable: true });
  }

  async close(): Promise<void> {
    await this.current?.close();
  }
}

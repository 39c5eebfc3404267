/**
 * @module layer/delegating-destination
 * A destination that forwards every call to another one, for wrappers that change one or two methods
 * (the browser-download staging, a test's destination that fails after N bytes) instead of forwarding
 * each method by hand. Errors of the inner destination are relabelled with this one's name.
 */
import type { Readable } from "node:stream";
import type * as contract from "../contract.ts";
import { StorageError } from "../errors.ts";

export class DelegatingDestination implements contract.StorageDestination {
  constructor(protected inner: contract.StorageDestination) {}

  get type(): contract.StorageType {
    return this.inner.type;
  }

  get name(): string {
    return this.inner.name;
  }

  get capabilities(): contract.StorageCapabilities {
    return this.inner.capabilities;
  }

  /** Runs a call of the inner destination; its `StorageError`s come out under this destination's name. */
  protected async delegate<T>(call: (inner: contract.StorageDestination) => Promise<T>): Promise<T> {
    try {
      return await call(this.inner);
    } catch (error) {
      throw error instanceof StorageError ? error.relabel(this.name) : error;
    }
  }

  configure(config: unknown): Promise<void> {
    return this.delegate((d) => d.configure(config));
  }

  upload(source: contract.UploadSource, key: string, options?: contract.UploadOptions): Promise<contract.UploadResult> {
    return this.delegate((d) => d.upload(source, key, options));
  }

  download(key: string, options?: contract.DownloadOptions): Promise<Readable> {
    return this.delegate((d) => d.download(key, options));
  }

  stat(key: string): Promise<contract.StorageObjectInfo> {
    return this.delegate((d) => d.stat(key));
  }

  delete(key: string): Promise<void> {
    return this.delegate((d) => d.delete(key));
  }

  list(prefix?: string): Promise<contract.StorageObjectInfo[]> {
    return this.delegate((d) => d.list(prefix));
  }

  async validateConnection(): Promise<contract.ConnectionCheck> {
    const check = await this.inner.validateConnection();
    return check.error === undefined ? check : { ...check, error: check.error.split(this.inner.name).join(this.name) };
  }

  getAvailableSpace(): Promise<number | null> {
    return this.delegate((d) => d.getAvailableSpace());
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

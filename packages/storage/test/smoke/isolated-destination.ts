/**
 * @module test/smoke/isolated-destination
 * A real destination seen through a fresh key prefix (`stowage-smoke-<random>/`), so a smoke run never
 * touches anything else in the bucket or folder, and `purge()` removes what the run stored. Folders that
 * hierarchical services created for the keys (Nextcloud, Drive) stay behind, empty.
 */
import { randomBytes } from "node:crypto";
import type { Readable } from "node:stream";
import type * as contract from "../../src/contract.ts";
import { DelegatingDestination } from "../../src/layer/delegating-destination.ts";

export class IsolatedDestination extends DelegatingDestination {
  readonly prefix = `stowage-smoke-${new Date().toISOString().slice(0, 10)}-${randomBytes(4).toString("hex")}/`;

  override upload(source: contract.UploadSource, key: string, options?: contract.UploadOptions) {
    return super.upload(source, this.prefix + key, options);
  }

  override download(key: string, options?: contract.DownloadOptions): Promise<Readable> {
    return super.download(this.prefix + key, options);
  }

  override async stat(key: string): Promise<contract.StorageObjectInfo> {
    const info = await super.stat(this.prefix + key);
    return { ...info, key };
  }

  override delete(key: string): Promise<void> {
    return super.delete(this.prefix + key);
  }

  override async list(prefix = ""): Promise<contract.StorageObjectInfo[]> {
    const found = await super.list(this.prefix + prefix);
    return found.map((o) => ({ ...o, key: o.key.slice(this.prefix.length) }));
  }

  /** Deletes every object the run left under its prefix. */
  async purge(): Promise<void> {
    for (const object of await this.list("")) await this.delete(object.key).catch(() => undefined);
  }
}

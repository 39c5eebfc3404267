/**
 * @module @stowage/storage
 * Storage destinations shared by the backup tool and the diagram service.
 * The SDK-backed providers (S3, Nextcloud, Google Drive) are not re-exported here so that importing
 * the package stays light: create them with `createDestination`, or import
 * `@stowage/storage/providers/<name>` when the class itself is needed.
 */
export * from "./contract.ts";
export { destinationFromEnv, destinationUrlForms, formatDestinationUrl, parseDestinationUrl } from "./destination-url.ts";
export * from "./errors.ts";
export { joinPath, validateKey, validatePrefix } from "./keys.ts";
export { DelegatingDestination } from "./layer/delegating-destination.ts";
export { DestinationLayer } from "./layer/destination-layer.ts";
export type { DriverContext, ProviderDescription, StorageDriver } from "./layer/provider.ts";
export { DEFAULT_RETRY_POLICY, type RetryPolicy, retry } from "./layer/retry.ts";
export { createDownloadHandler } from "./providers/browser-download/handler.ts";
export { BrowserDownloadDestination } from "./providers/browser-download/provider.ts";
export { LocalMappedDestination } from "./providers/local-mapped/provider.ts";
export {
  createDestination,
  type DestinationSpec,
  PROVIDERS,
  providerOf,
  secretValues,
  secretVariableNames,
} from "./registry.ts";
export { ByteMeter, type MeteredTotals, meterSource, openSource } from "./stream/meter.ts";

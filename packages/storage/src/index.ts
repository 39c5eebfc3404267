/**
 * @module @stowage/storage
 * Storage destinations shared by the backup tool and the diagram service.
 */
export * from "./contract.ts";
export * from "./errors.ts";
export { joinPath, validateKey, validatePrefix } from "./keys.ts";
export { ByteMeter, meterSource, openSource } from "./stream/meter.ts";
export { createDestination, type DestinationSpec } from "./registry.ts";
export { destinationFromEnv, parseDestinationUrl } from "./destination-url.ts";
export { LocalMappedDestination } from "./providers/local-mapped/provider.ts";
export { S3Destination } from "./providers/s3/provider.ts";
export { NextcloudDestination } from "./providers/nextcloud/provider.ts";
export { GoogleDriveDestination } from "./providers/google-drive/provider.ts";
export { BrowserDownloadDestination } from "./providers/browser-download/provider.ts";

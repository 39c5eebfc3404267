/**
 * @module @stowage/storage
 * Storage destinations shared by the backup tool and the diagram service.
 */
export * from "./contract.ts";
export { destinationFromEnv, parseDestinationUrl } from "./destination-url.ts";
export * from "./errors.ts";
export { joinPath, validateKey, validatePrefix } from "./keys.ts";
export { createDownloadHandler } from "./providers/browser-download/handler.ts";
export { BrowserDownloadDestination } from "./providers/browser-download/provider.ts";
export { GoogleDriveDestination } from "./providers/google-drive/provider.ts";
export { LocalMappedDestination } from "./providers/local-mapped/provider.ts";
export { NextcloudDestination } from "./providers/nextcloud/provider.ts";
export { S3Destination } from "./providers/s3/provider.ts";
export { createDestination, type DestinationSpec } from "./registry.ts";
export { ByteMeter, meterSource, openSource } from "./stream/meter.ts";

/**
 * @module providers/browser-download/description
 * Results handed to the user's browser: `DEFAULT_STORAGE_TYPE=browser_download` with
 * `BROWSER_DOWNLOAD_STAGING_PATH` and `BROWSER_DOWNLOAD_TTL_SECONDS`. No URL form (a browser download
 * needs the web server, not a CLI destination) and no secrets (tokens are issued per upload).
 */
import type { ProviderDescription } from "../../layer/provider.ts";
import { type BrowserDownloadConfig, browserDownloadConfigSchema, browserDownloadDisplayName } from "./config.ts";

export const browserDownloadDescription: ProviderDescription<BrowserDownloadConfig> = {
  type: "browser_download",
  configSchema: browserDownloadConfigSchema,
  displayName: browserDownloadDisplayName,
  capabilities: () => ({ atomicReplace: true, unknownLengthUpload: true, reportsFreeSpace: true, hierarchical: true }),
  secrets: () => [],
  fromEnv: (env) => ({
    stagingPath: env.BROWSER_DOWNLOAD_STAGING_PATH ?? "/app/data/staging",
    ...(env.BROWSER_DOWNLOAD_TTL_SECONDS ? { ttlSeconds: Number(env.BROWSER_DOWNLOAD_TTL_SECONDS) } : {}),
  }),
  envVariables: ["BROWSER_DOWNLOAD_STAGING_PATH", "BROWSER_DOWNLOAD_TTL_SECONDS"],
  secretVariables: [],
  load: async () => (await import("./provider.ts")).BrowserDownloadDestination,
};

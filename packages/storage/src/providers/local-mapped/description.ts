/**
 * @module providers/local-mapped/description
 * A folder on this machine: `file:///abs/path[?max_size=BYTES&must_exist=true]` or a bare absolute
 * path; `LOCAL_STORAGE_PATH`, `LOCAL_STORAGE_MAX_SIZE`, `LOCAL_STORAGE_MUST_EXIST`. No secrets.
 */
import { StorageError } from "../../errors.ts";
import { type Env, isTruthy, type ProviderDescription } from "../../layer/provider.ts";
import { type LocalMappedConfig, localMappedConfigSchema, localMappedDisplayName } from "./config.ts";

/** Drops trailing slashes but keeps the root. */
export const withoutTrailingSlashes = (path: string) => path.replace(/\/+$/, "") || "/";

/** `max_size` / `must_exist` from the URL, else from the environment (the URL wins). */
function options(query: URLSearchParams | undefined, env: Env) {
  const maxSize = query?.get("max_size") || env.LOCAL_STORAGE_MAX_SIZE;
  const mustExist = query?.has("must_exist") ? query.get("must_exist") : env.LOCAL_STORAGE_MUST_EXIST;
  return { ...(maxSize ? { maxSize: Number(maxSize) } : {}), ...(isTruthy(mustExist) ? { mustExist: true } : {}) };
}

export const localMappedDescription: ProviderDescription<LocalMappedConfig> = {
  type: "local_mapped",
  configSchema: localMappedConfigSchema,
  displayName: localMappedDisplayName,
  capabilities: () => ({ atomicReplace: true, unknownLengthUpload: true, reportsFreeSpace: true, hierarchical: true }),
  secrets: () => [],
  url: {
    schemes: ["file:"],
    example: "file:///abs/path (or /abs/path)",
    parse(url, env, input) {
      if (url.hostname && url.hostname !== "localhost") {
        throw new StorageError(
          "INVALID_CONFIG",
          input,
          `a file: URL names a folder on this machine; write three slashes: file:///${url.hostname}${url.pathname}`,
        );
      }
      return { basePath: withoutTrailingSlashes(decodeURIComponent(url.pathname)), ...options(url.searchParams, env) };
    },
    print(config) {
      const query = new URLSearchParams();
      if (config.maxSize !== undefined) query.set("max_size", String(config.maxSize));
      if (config.mustExist) query.set("must_exist", "true");
      const path = config.basePath.split("/").map(encodeURIComponent).join("/");
      return `file://${path}${query.size > 0 ? `?${query}` : ""}`;
    },
  },
  fromEnv: (env) => ({ basePath: env.LOCAL_STORAGE_PATH ?? "/app/backup-storage", ...options(undefined, env) }),
  envVariables: ["LOCAL_STORAGE_PATH", "LOCAL_STORAGE_MAX_SIZE", "LOCAL_STORAGE_MUST_EXIST"],
  secretVariables: [],
  load: async () => (await import("./provider.ts")).LocalMappedDestination,
};

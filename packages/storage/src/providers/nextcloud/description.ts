/**
 * @module providers/nextcloud/description
 * `nextcloud+https://USER@host/folder` (`NEXTCLOUD_PASSWORD`, an app password) and
 * `webdav+https://[user@]host/dav/root/path` (`WEBDAV_USERNAME`, `WEBDAV_PASSWORD`), or
 * `DEFAULT_STORAGE_TYPE=nextcloud` with `NEXTCLOUD_*`. `?must_exist=true` refuses to create the folder;
 * `?purge_trash=true` (`NEXTCLOUD_PURGE_TRASH`) also removes deleted files from Nextcloud's trash bin.
 */
import { StorageError } from "../../errors.ts";
import { type Env, isTruthy, type ProviderDescription } from "../../layer/provider.ts";
import { type NextcloudConfig, nextcloudConfigSchema, nextcloudDisplayName } from "./config.ts";

const withoutTrailingSlashes = (path: string) => path.replace(/\/+$/, "");

function flags(query: URLSearchParams | undefined, env: Env) {
  const mustExist = query?.has("must_exist") ? query.get("must_exist") : env.NEXTCLOUD_MUST_EXIST;
  const purgeTrash = query?.has("purge_trash") ? query.get("purge_trash") : env.NEXTCLOUD_PURGE_TRASH;
  return { ...(isTruthy(mustExist) ? { mustExist: true } : {}), ...(isTruthy(purgeTrash) ? { purgeTrash: true } : {}) };
}

export const nextcloudDescription: ProviderDescription<NextcloudConfig> = {
  type: "nextcloud",
  configSchema: nextcloudConfigSchema,
  displayName: nextcloudDisplayName,
  capabilities: (c) => ({
    // RFC 4918 §9.9.3: MOVE with Overwrite deletes the target first, so a replace is two steps
    // (readers may briefly see no object, never a partial one).
    atomicReplace: false,
    unknownLengthUpload: true,
    // Nextcloud always answers quota-available-bytes; a plain WebDAV server may not (rclone does not).
    reportsFreeSpace: c?.mode === "nextcloud",
    hierarchical: true,
  }),
  secrets: (c) => [c.password],
  url: {
    schemes: ["nextcloud+http:", "nextcloud+https:", "webdav+http:", "webdav+https:"],
    example: "nextcloud+https://user@host/folder, webdav+https://[user@]host/path",
    parse(url, env, input) {
      const [mode, scheme] = url.protocol.split("+") as ["nextcloud" | "webdav", string];
      if (mode === "webdav") {
        return {
          mode,
          serverUrl: `${scheme}//${url.host}${withoutTrailingSlashes(url.pathname)}`,
          username: decodeURIComponent(url.username) || env.WEBDAV_USERNAME || "",
          password: env.WEBDAV_PASSWORD ?? "",
          basePath: "/",
          ...flags(url.searchParams, env),
        };
      }
      const username = decodeURIComponent(url.username) || env.NEXTCLOUD_USERNAME || "";
      if (!username) {
        throw new StorageError("INVALID_CONFIG", input, "name the Nextcloud user in the URL: nextcloud+https://USER@host/folder");
      }
      return {
        mode,
        serverUrl: `${scheme}//${url.host}`,
        username,
        password: env.NEXTCLOUD_PASSWORD ?? "",
        basePath: withoutTrailingSlashes(decodeURIComponent(url.pathname)) || "/",
        ...flags(url.searchParams, env),
      };
    },
    print(c) {
      const query = new URLSearchParams();
      if (c.mustExist) query.set("must_exist", "true");
      if (c.purgeTrash) query.set("purge_trash", "true");
      const user = c.username ? `${encodeURIComponent(c.username)}@` : "";
      const url = new URL(c.serverUrl);
      const base = c.basePath.replace(/^\/+|\/+$/g, "");
      const path = `${withoutTrailingSlashes(url.pathname)}${base ? `/${base}` : ""}`;
      return `${c.mode}+${url.protocol}//${user}${url.host}${path}${query.size > 0 ? `?${query}` : ""}`;
    },
  },
  fromEnv: (env) => ({
    mode: env.NEXTCLOUD_MODE ?? "nextcloud",
    serverUrl: env.NEXTCLOUD_URL,
    username: env.NEXTCLOUD_USERNAME ?? "",
    password: env.NEXTCLOUD_PASSWORD ?? "",
    basePath: env.NEXTCLOUD_BASE_PATH ?? "/",
    ...flags(undefined, env),
  }),
  envVariables: [
    "NEXTCLOUD_URL",
    "NEXTCLOUD_USERNAME",
    "NEXTCLOUD_PASSWORD",
    "NEXTCLOUD_BASE_PATH",
    "NEXTCLOUD_MODE",
    "NEXTCLOUD_MUST_EXIST",
    "NEXTCLOUD_PURGE_TRASH",
    "WEBDAV_USERNAME",
    "WEBDAV_PASSWORD",
  ],
  secretVariables: ["NEXTCLOUD_PASSWORD", "WEBDAV_PASSWORD"],
  load: async () => (await import("./provider.ts")).NextcloudDestination,
};

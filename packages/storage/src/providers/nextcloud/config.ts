/** @module providers/nextcloud/config */
import { z } from "zod";

export const nextcloudConfigSchema = z
  .object({
    /**
     * `nextcloud`: `serverUrl` is the Nextcloud root (https://cloud.example.com); files live under
     * `/remote.php/dav/files/<username>` and chunked upload v2 is used for large streams when offered.
     * `webdav`: `serverUrl` is the WebDAV root itself; any WebDAV server works.
     */
    mode: z.enum(["nextcloud", "webdav"]).default("nextcloud"),
    serverUrl: z.url(),
    username: z.string().default(""),
    /** An app password, not the account password. */
    password: z.string().default(""),
    /** Folder under the user's files where backups go. */
    basePath: z
      .string()
      .refine((p) => !p.split("/").includes(".."), "must not contain '..' segments")
      .default("/"),
    /** The base folder must already exist: never create it (MKCOL), fail with NOT_FOUND instead. */
    mustExist: z.boolean().default(false),
    /**
     * Nextcloud mode: after deleting a file (prune, a replaced upload's cleanup), also remove it from the
     * user's trash bin (`/remote.php/dav/trashbin/<user-id>/trash`), so the space is freed at once. Off by
     * default: the trash bin is the user's undo. Env NEXTCLOUD_PURGE_TRASH, URL `?purge_trash=true`.
     */
    purgeTrash: z.boolean().default(false),
    /** Chunk size for Nextcloud chunked upload v2 (5 MB to 5 GB). */
    chunkSizeBytes: z
      .number()
      .int()
      .min(5 * 1024 * 1024)
      .max(5 * 1024 * 1024 * 1024)
      .default(10 * 1024 * 1024),
  })
  // Nextcloud's DAV paths contain the user (/remote.php/dav/files/<username>), so it cannot be empty there.
  .refine((c) => c.mode !== "nextcloud" || c.username.length > 0, {
    path: ["username"],
    message: "required in nextcloud mode (the Nextcloud login name)",
  })
  // A plain WebDAV server has no trash bin API.
  .refine((c) => c.mode === "nextcloud" || !c.purgeTrash, {
    path: ["purgeTrash"],
    message: "only in nextcloud mode (plain WebDAV has no trash bin API)",
  });
export type NextcloudConfig = z.infer<typeof nextcloudConfigSchema>;

export const nextcloudDisplayName = (c: Pick<NextcloudConfig, "mode" | "serverUrl" | "username" | "basePath">) => {
  const url = new URL(c.serverUrl);
  const user = c.mode === "nextcloud" && c.username ? `${encodeURIComponent(c.username)}@` : "";
  const base = c.basePath.replace(/^\/+|\/+$/g, "");
  return `${c.mode}+${url.protocol}//${user}${url.host}${url.pathname.replace(/\/+$/, "")}${base ? `/${base}` : ""}`;
};

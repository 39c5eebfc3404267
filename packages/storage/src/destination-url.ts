/**
 * @module destination-url
 * The command-line form of a destination, parsed by this one function:
 *   file:///abs/path
 *   s3://bucket/prefix?endpoint=http://host:9000&region=auto&path_style=true   (S3_ACCESS_KEY_ID / S3_SECRET_ACCESS_KEY)
 *   webdav+https://[user@]host/dav/root/path                                     (WEBDAV_USERNAME / WEBDAV_PASSWORD)
 *   nextcloud+https://user@host/folder                                           (NEXTCLOUD_PASSWORD)
 *   gdrive://FOLDER_ID?credentials=/path/key.json                                (or GOOGLE_DRIVE_* variables)
 * Secrets never appear in the URL: they come from the environment.
 */
import { readFileSync } from "node:fs";
import type { StorageType } from "./contract.ts";
import { StorageError } from "./errors.ts";
import type { DestinationSpec } from "./registry.ts";

type Env = Readonly<Record<string, string | undefined>>;

const truthy = (v: string | null | undefined) => v !== null && v !== undefined && /^(1|true|yes|on)$/i.test(v);

const FORMS =
  "file:///abs/path, /abs/path, s3://bucket/prefix?endpoint=…&region=…&path_style=true, webdav+https://[user@]host/path, " +
  "nextcloud+https://user@host/folder or gdrive://FOLDER_ID?credentials=/path/key.json";

/**
 * The input as safe to show in an error. A password could hide anywhere in the user-info part
 * (even one the URL parser rejects), so any input with an `@` is cut down to what a parser
 * vouches for, without the password, or to its scheme alone.
 */
function displayable(input: string): string {
  if (!input.includes("@")) return input;
  try {
    const url = new URL(input);
    url.password = "";
    return url.toString();
  } catch {
    const scheme = /^[a-z][a-z0-9+.-]*:/i.exec(input)?.[0];
    return scheme ? `${scheme}//…` : "(destination URL)";
  }
}

function invalid(url: string, message: string): StorageError {
  return new StorageError("INVALID_CONFIG", displayable(url), message);
}

/** Parses a destination URL into `{ type, config }`, reading credentials from `env`. */
export function parseDestinationUrl(input: string, env: Env = process.env): DestinationSpec {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    if (input.startsWith("/")) return { type: "local_mapped", config: { basePath: input.replace(/\/+$/, "") || "/" } };
    throw invalid(input, `not a destination URL; use one of ${FORMS}`);
  }
  if (url.password) {
    throw invalid(input, "do not put a password in the destination URL; set it in the environment (see README, Configuration)");
  }
  const q = url.searchParams;
  switch (url.protocol) {
    case "file:": {
      if (url.hostname && url.hostname !== "localhost") {
        throw invalid(
          input,
          `a file: URL names a folder on this machine; write three slashes: file:///${url.hostname}${url.pathname}`,
        );
      }
      const basePath = decodeURIComponent(url.pathname).replace(/\/+$/, "") || "/";
      const maxSize = q.get("max_size");
      return { type: "local_mapped", config: { basePath, ...(maxSize ? { maxSize: Number(maxSize) } : {}) } };
    }
    case "s3:": {
      const prefix = decodeURIComponent(url.pathname).replace(/^\/+|\/+$/g, "");
      return {
        type: "s3",
        config: {
          bucket: url.hostname,
          prefix,
          endpoint: q.get("endpoint") || env.S3_ENDPOINT || undefined,
          region: q.get("region") ?? env.S3_REGION ?? env.AWS_REGION ?? "us-east-1",
          forcePathStyle: q.has("path_style") ? truthy(q.get("path_style")) : truthy(env.S3_FORCE_PATH_STYLE),
          accessKeyId: env.S3_ACCESS_KEY_ID ?? env.AWS_ACCESS_KEY_ID,
          secretAccessKey: env.S3_SECRET_ACCESS_KEY ?? env.AWS_SECRET_ACCESS_KEY,
          sessionToken: env.S3_SESSION_TOKEN ?? env.AWS_SESSION_TOKEN ?? undefined,
          ...(env.S3_SPOOL_DIR ? { spoolDir: env.S3_SPOOL_DIR } : {}),
        },
      };
    }
    case "webdav+http:":
    case "webdav+https:": {
      const scheme = url.protocol.slice("webdav+".length);
      return {
        type: "nextcloud",
        config: {
          mode: "webdav",
          serverUrl: `${scheme}//${url.host}${url.pathname.replace(/\/+$/, "")}`,
          username: decodeURIComponent(url.username) || env.WEBDAV_USERNAME || "",
          password: env.WEBDAV_PASSWORD ?? "",
          basePath: "/",
        },
      };
    }
    case "nextcloud+http:":
    case "nextcloud+https:": {
      const scheme = url.protocol.slice("nextcloud+".length);
      const username = decodeURIComponent(url.username) || env.NEXTCLOUD_USERNAME || "";
      if (!username) throw invalid(input, "name the Nextcloud user in the URL: nextcloud+https://USER@host/folder");
      return {
        type: "nextcloud",
        config: {
          mode: "nextcloud",
          serverUrl: `${scheme}//${url.host}`,
          username,
          password: env.NEXTCLOUD_PASSWORD ?? "",
          basePath: decodeURIComponent(url.pathname) || "/",
        },
      };
    }
    case "gdrive:": {
      const folderId = url.hostname || decodeURIComponent(url.pathname).replace(/^\/+/, "");
      const credentialsPath = q.get("credentials") ?? env.GOOGLE_DRIVE_CREDENTIALS_FILE ?? env.GOOGLE_APPLICATION_CREDENTIALS;
      return { type: "google_drive", config: googleDriveConfig(folderId, credentialsPath, q, env, input) };
    }
    default:
      throw invalid(input, `unknown destination scheme ${JSON.stringify(url.protocol)}; use one of ${FORMS}`);
  }
}

function googleDriveConfig(
  folderId: string,
  credentialsPath: string | null | undefined,
  q: URLSearchParams,
  env: Env,
  input: string,
) {
  let serviceAccountKey: string | undefined = env.GOOGLE_DRIVE_SERVICE_ACCOUNT_KEY;
  if (credentialsPath) {
    try {
      serviceAccountKey = readFileSync(credentialsPath, "utf8");
    } catch (error) {
      throw invalid(input, `cannot read the Google credentials file ${credentialsPath}: ${(error as Error).message}`);
    }
  }
  const oauth =
    env.GOOGLE_DRIVE_REFRESH_TOKEN && !serviceAccountKey
      ? {
          clientId: env.GOOGLE_DRIVE_CLIENT_ID,
          clientSecret: env.GOOGLE_DRIVE_CLIENT_SECRET,
          refreshToken: env.GOOGLE_DRIVE_REFRESH_TOKEN,
        }
      : undefined;
  const rootUrl = q.get("root_url") ?? env.GOOGLE_DRIVE_ROOT_URL;
  const tokenUrl = q.get("token_url") ?? env.GOOGLE_DRIVE_TOKEN_URL;
  return {
    folderId,
    ...(serviceAccountKey ? { serviceAccountKey } : {}),
    ...(oauth ? { oauth } : {}),
    ...(rootUrl ? { rootUrl } : {}),
    ...(tokenUrl ? { tokenUrl } : {}),
  };
}

/**
 * The default destination from the seed's variables: `DEFAULT_STORAGE_TYPE` picks the provider,
 * `LOCAL_STORAGE_PATH`, `S3_*`, `GOOGLE_DRIVE_*`, `NEXTCLOUD_*`, `BROWSER_DOWNLOAD_*` configure it.
 */
export function destinationFromEnv(env: Env = process.env): DestinationSpec {
  const type = (env.DEFAULT_STORAGE_TYPE ?? "local_mapped") as StorageType;
  switch (type) {
    case "local_mapped":
      return {
        type,
        config: {
          basePath: env.LOCAL_STORAGE_PATH ?? "/app/backup-storage",
          ...(env.LOCAL_STORAGE_MAX_SIZE ? { maxSize: Number(env.LOCAL_STORAGE_MAX_SIZE) } : {}),
        },
      };
    case "s3":
      return {
        type,
        config: {
          endpoint: env.S3_ENDPOINT || undefined,
          bucket: env.S3_BUCKET,
          region: env.S3_REGION || "auto",
          prefix: env.S3_PREFIX ?? "",
          accessKeyId: env.S3_ACCESS_KEY_ID,
          secretAccessKey: env.S3_SECRET_ACCESS_KEY,
          forcePathStyle: truthy(env.S3_FORCE_PATH_STYLE),
          ...(env.S3_SPOOL_DIR ? { spoolDir: env.S3_SPOOL_DIR } : {}),
        },
      };
    case "nextcloud":
      return {
        type,
        config: {
          mode: env.NEXTCLOUD_MODE ?? "nextcloud",
          serverUrl: env.NEXTCLOUD_URL,
          username: env.NEXTCLOUD_USERNAME ?? "",
          password: env.NEXTCLOUD_PASSWORD ?? "",
          basePath: env.NEXTCLOUD_BASE_PATH ?? "/",
        },
      };
    case "google_drive":
      return {
        type,
        config: googleDriveConfig(
          env.GOOGLE_DRIVE_FOLDER_ID ?? "",
          env.GOOGLE_DRIVE_CREDENTIALS_FILE ?? env.GOOGLE_APPLICATION_CREDENTIALS,
          new URLSearchParams(),
          env,
          "google_drive",
        ),
      };
    case "browser_download":
      return {
        type,
        config: {
          stagingPath: env.BROWSER_DOWNLOAD_STAGING_PATH ?? "/app/data/staging",
          ...(env.BROWSER_DOWNLOAD_TTL_SECONDS ? { ttlSeconds: Number(env.BROWSER_DOWNLOAD_TTL_SECONDS) } : {}),
        },
      };
    default:
      throw new StorageError(
        "INVALID_CONFIG",
        "DEFAULT_STORAGE_TYPE",
        `unknown storage type ${JSON.stringify(type)}; use local_mapped, s3, nextcloud, google_drive or browser_download`,
      );
  }
}

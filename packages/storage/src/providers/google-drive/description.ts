/**
 * @module providers/google-drive/description
 * `gdrive://FOLDER_ID?credentials=/path/key.json`, or `DEFAULT_STORAGE_TYPE=google_drive` with
 * `GOOGLE_DRIVE_*`. Credentials: a service account key (file or inline JSON), optionally impersonating
 * a Workspace user (`GOOGLE_DRIVE_IMPERSONATE`, domain-wide delegation), or an OAuth client with a
 * refresh token. `root_url`/`token_url` point at an emulator in tests.
 */
import { readFileSync } from "node:fs";
import { StorageError } from "../../errors.ts";
import type { Env, ProviderDescription } from "../../layer/provider.ts";
import { DEFAULT_RETRY_POLICY } from "../../layer/retry.ts";
import { type GoogleDriveConfig, googleDriveConfigSchema, googleDriveDisplayName } from "./config.ts";

function configFrom(folderId: string, query: URLSearchParams | undefined, env: Env, input: string) {
  const credentialsPath = query?.get("credentials") ?? env.GOOGLE_DRIVE_CREDENTIALS_FILE ?? env.GOOGLE_APPLICATION_CREDENTIALS;
  let serviceAccountKey: string | undefined = env.GOOGLE_DRIVE_SERVICE_ACCOUNT_KEY;
  if (credentialsPath) {
    try {
      serviceAccountKey = readFileSync(credentialsPath, "utf8");
    } catch (error) {
      throw new StorageError(
        "INVALID_CONFIG",
        input,
        `cannot read the Google credentials file ${credentialsPath}: ${(error as Error).message}`,
      );
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
  const rootUrl = query?.get("root_url") ?? env.GOOGLE_DRIVE_ROOT_URL;
  const tokenUrl = query?.get("token_url") ?? env.GOOGLE_DRIVE_TOKEN_URL;
  const subject = query?.get("impersonate") ?? env.GOOGLE_DRIVE_IMPERSONATE;
  return {
    folderId,
    ...(serviceAccountKey ? { serviceAccountKey } : {}),
    ...(oauth ? { oauth } : {}),
    ...(subject ? { subject } : {}),
    ...(rootUrl ? { rootUrl } : {}),
    ...(tokenUrl ? { tokenUrl } : {}),
  };
}

export const googleDriveDescription: ProviderDescription<GoogleDriveConfig> = {
  type: "google_drive",
  configSchema: googleDriveConfigSchema,
  displayName: googleDriveDisplayName,
  capabilities: (c) => ({
    // Drive has no rename-over: for an instant two complete files share the name (readers pick the
    // newest); readers never see partial data, but the replace is two steps.
    atomicReplace: false,
    unknownLengthUpload: true,
    // A service account without impersonation writes to shared drives only, whose free space Drive does not report.
    reportsFreeSpace: !(c?.serviceAccountKey && !c.subject),
    hierarchical: true,
  }),
  secrets: (c) => [c.serviceAccountKey?.private_key, c.oauth?.clientSecret, c.oauth?.refreshToken],
  retryPolicy: (c) => ({ ...DEFAULT_RETRY_POLICY, maxRetries: c.maxRetries }),
  url: {
    schemes: ["gdrive:"],
    example: "gdrive://FOLDER_ID?credentials=/path/key.json",
    parse: (url, env, input) =>
      configFrom(url.hostname || decodeURIComponent(url.pathname).replace(/^\/+/, ""), url.searchParams, env, input),
    print(c) {
      // The key itself is a secret and its file name is not in the config: credentials come from the environment.
      const query = new URLSearchParams();
      if (c.subject) query.set("impersonate", c.subject);
      if (c.rootUrl !== "https://www.googleapis.com/") query.set("root_url", c.rootUrl);
      if (c.tokenUrl !== "https://oauth2.googleapis.com/token") query.set("token_url", c.tokenUrl);
      return `gdrive://${encodeURIComponent(c.folderId)}${query.size > 0 ? `?${query}` : ""}`;
    },
  },
  fromEnv: (env) => configFrom(env.GOOGLE_DRIVE_FOLDER_ID ?? "", undefined, env, "google_drive"),
  envVariables: [
    "GOOGLE_DRIVE_FOLDER_ID",
    "GOOGLE_DRIVE_CREDENTIALS_FILE",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "GOOGLE_DRIVE_SERVICE_ACCOUNT_KEY",
    "GOOGLE_DRIVE_IMPERSONATE",
    "GOOGLE_DRIVE_CLIENT_ID",
    "GOOGLE_DRIVE_CLIENT_SECRET",
    "GOOGLE_DRIVE_REFRESH_TOKEN",
    "GOOGLE_DRIVE_ROOT_URL",
    "GOOGLE_DRIVE_TOKEN_URL",
  ],
  secretVariables: ["GOOGLE_DRIVE_SERVICE_ACCOUNT_KEY", "GOOGLE_DRIVE_CLIENT_SECRET", "GOOGLE_DRIVE_REFRESH_TOKEN"],
  load: async () => (await import("./provider.ts")).GoogleDriveDestination,
};

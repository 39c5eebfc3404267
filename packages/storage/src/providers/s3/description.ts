/**
 * @module providers/s3/description
 * `s3://bucket/prefix?endpoint=…&region=…&path_style=true`, or `DEFAULT_STORAGE_TYPE=s3` with `S3_*`.
 * Both forms read the same variables the same way (one function, `common`): credentials from
 * `S3_ACCESS_KEY_ID`/`S3_SECRET_ACCESS_KEY`/`S3_SESSION_TOKEN` or the AWS CLI's `AWS_*` names; the
 * region from the URL, `S3_REGION` or `AWS_REGION`, else `auto` with a custom endpoint (R2, MinIO,
 * s3rver accept it; it is what R2 asks for) and `us-east-1` without one (AWS cannot sign for `auto`).
 */
import { type Env, isTruthy, type ProviderDescription } from "../../layer/provider.ts";
import { type S3Config, s3ConfigSchema, s3DisplayName } from "./config.ts";

/** The region when none is given. */
export const defaultRegion = (endpoint: string | undefined) => (endpoint ? "auto" : "us-east-1");

/** What both forms read from the environment, with URL query values (when given) taking precedence. */
function common(env: Env, query?: URLSearchParams) {
  const endpoint = query?.get("endpoint") || env.S3_ENDPOINT || undefined;
  const pathStyle = query?.has("path_style") ? query.get("path_style") : env.S3_FORCE_PATH_STYLE;
  return {
    endpoint,
    region: query?.get("region") || env.S3_REGION || env.AWS_REGION || defaultRegion(endpoint),
    forcePathStyle: isTruthy(pathStyle),
    accessKeyId: env.S3_ACCESS_KEY_ID ?? env.AWS_ACCESS_KEY_ID,
    secretAccessKey: env.S3_SECRET_ACCESS_KEY ?? env.AWS_SECRET_ACCESS_KEY,
    sessionToken: env.S3_SESSION_TOKEN ?? env.AWS_SESSION_TOKEN ?? undefined,
    ...(env.S3_SPOOL_DIR ? { spoolDir: env.S3_SPOOL_DIR } : {}),
  };
}

export const s3Description: ProviderDescription<S3Config> = {
  type: "s3",
  configSchema: s3ConfigSchema,
  displayName: s3DisplayName,
  capabilities: () => ({
    // A PUT or CompleteMultipartUpload replaces the object in one step.
    atomicReplace: true,
    unknownLengthUpload: true,
    // S3 has no free-space notion (R2/MinIO quotas are not exposed through the S3 API).
    reportsFreeSpace: false,
    // Keys are flat names; "folders" are only prefixes.
    hierarchical: false,
  }),
  secrets: (c) => [c.secretAccessKey, c.sessionToken],
  url: {
    schemes: ["s3:"],
    example: "s3://bucket/prefix?endpoint=…&region=…&path_style=true",
    parse: (url, env) => ({
      bucket: url.hostname,
      prefix: decodeURIComponent(url.pathname).replace(/^\/+|\/+$/g, ""),
      ...common(env, url.searchParams),
    }),
    print(c) {
      const query = new URLSearchParams();
      if (c.endpoint) query.set("endpoint", c.endpoint);
      if (c.region !== defaultRegion(c.endpoint)) query.set("region", c.region);
      if (c.forcePathStyle) query.set("path_style", "true");
      const prefix = c.prefix.replace(/^\/+|\/+$/g, "");
      return `s3://${c.bucket}${prefix ? `/${prefix.split("/").map(encodeURIComponent).join("/")}` : ""}${query.size > 0 ? `?${query}` : ""}`;
    },
  },
  fromEnv: (env) => ({ bucket: env.S3_BUCKET, prefix: env.S3_PREFIX ?? "", ...common(env) }),
  envVariables: [
    "S3_ENDPOINT",
    "S3_BUCKET",
    "S3_PREFIX",
    "S3_REGION",
    "AWS_REGION",
    "S3_FORCE_PATH_STYLE",
    "S3_ACCESS_KEY_ID",
    "AWS_ACCESS_KEY_ID",
    "S3_SECRET_ACCESS_KEY",
    "AWS_SECRET_ACCESS_KEY",
    "S3_SESSION_TOKEN",
    "AWS_SESSION_TOKEN",
    "S3_SPOOL_DIR",
  ],
  secretVariables: ["S3_SECRET_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY", "S3_SESSION_TOKEN", "AWS_SESSION_TOKEN"],
  load: async () => (await import("./provider.ts")).S3Destination,
};

/**
 * @module test/smoke/targets
 * The opt-in smoke runs of the contract suite against real services, one per provider, each turned on by
 * the variable issue 18 names (`STOWAGE_SMOKE_S3_URL`, `STOWAGE_SMOKE_NEXTCLOUD_URL`,
 * `STOWAGE_SMOKE_GDRIVE_FOLDER`) with the provider's usual credential variables. `vitest.smoke.config.ts`
 * runs only the files of configured targets and prints a NOT RUN line for every other one, so an absent
 * service is never counted as a pass.
 */
type Env = Readonly<Record<string, string | undefined>>;

export interface SmokeTarget {
  readonly name: string;
  /** The variable that turns the run on. */
  readonly variable: string;
  /** The test file, relative to packages/storage. */
  readonly file: string;
  readonly example: string;
  /** Where the credentials come from. */
  readonly credentials: string;
}

export const SMOKE_TARGETS: readonly SmokeTarget[] = [
  {
    name: "S3 (AWS S3, Cloudflare R2, MinIO)",
    variable: "STOWAGE_SMOKE_S3_URL",
    file: "test/smoke/s3.smoke.ts",
    example: "s3://my-bucket/some/prefix?endpoint=https://ACCOUNT.r2.cloudflarestorage.com&region=auto",
    credentials: "S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY (or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)",
  },
  {
    name: "Nextcloud",
    variable: "STOWAGE_SMOKE_NEXTCLOUD_URL",
    file: "test/smoke/nextcloud.smoke.ts",
    example: "nextcloud+https://alice@cloud.example.com/stowage-smoke",
    credentials: "NEXTCLOUD_PASSWORD (an app password)",
  },
  {
    name: "Google Drive",
    variable: "STOWAGE_SMOKE_GDRIVE_FOLDER",
    file: "test/smoke/google-drive.smoke.ts",
    example: "the folder id (the last part of the folder's URL)",
    credentials:
      "GOOGLE_APPLICATION_CREDENTIALS (a service account key file; the folder in a shared drive, or with GOOGLE_DRIVE_IMPERSONATE), or GOOGLE_DRIVE_CLIENT_ID, GOOGLE_DRIVE_CLIENT_SECRET and GOOGLE_DRIVE_REFRESH_TOKEN",
  },
];

export const isConfigured = (target: SmokeTarget, env: Env): boolean => !!env[target.variable]?.trim();

/** One line per target that will not run, saying how to run it. */
export function notRunNotices(env: Env): string[] {
  return SMOKE_TARGETS.filter((t) => !isConfigured(t, env)).map(
    (t) => `storage smoke: ${t.name} NOT RUN: set ${t.variable} (e.g. ${t.example}) and ${t.credentials}`,
  );
}

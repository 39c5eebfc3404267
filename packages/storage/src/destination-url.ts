/**
 * @module destination-url
 * The command-line form of a destination, and the default destination from the environment. Each
 * provider describes its own URL form and variables (`providers/<name>/description.ts`); this module
 * only picks the provider by scheme or `DEFAULT_STORAGE_TYPE` and asks it:
 *   file:///abs/path (or /abs/path)                                              (?max_size=…&must_exist=true)
 *   s3://bucket/prefix?endpoint=http://host:9000&region=auto&path_style=true   (S3_ACCESS_KEY_ID / S3_SECRET_ACCESS_KEY)
 *   webdav+https://[user@]host/dav/root/path                                     (WEBDAV_USERNAME / WEBDAV_PASSWORD)
 *   nextcloud+https://user@host/folder                                           (NEXTCLOUD_PASSWORD)
 *   gdrive://FOLDER_ID?credentials=/path/key.json                                (or GOOGLE_DRIVE_* variables)
 * Secrets never appear in the URL: they come from the environment.
 */
import { StorageError } from "./errors.ts";
import type { Env } from "./layer/provider.ts";
import { localMappedDescription } from "./providers/local-mapped/description.ts";
import { type DestinationSpec, PROVIDERS, providerOf, storageTypeList } from "./registry.ts";

/** Every URL form, for help and error messages. */
export function destinationUrlForms(): string {
  const forms = PROVIDERS.flatMap((p) => (p.url ? [p.url.example] : []));
  return `${forms.slice(0, -1).join(", ")} or ${forms.at(-1)}`;
}

/**
 * The input as safe to show in an error. A password could hide anywhere in the user-info part
 * (even one the URL parser rejects), so any input with an `@` is cut down to what a parser
 * vouches for, without the password, or to its scheme alone.
 */
function displayable(input: string): string {
  if (!input.includes("@")) return input;
  const url = URL.canParse(input) ? new URL(input) : undefined;
  // Only a URL with an authority (`scheme://…`) has a user-info part the parser finds. In scp's
  // form `alice:hunter2@nas:/backups`, "alice:" parses as a scheme and the password as the path.
  if (url?.href.startsWith(`${url.protocol}//`)) {
    url.password = "";
    return url.toString();
  }
  const scheme = /^[a-z][a-z0-9+.-]*:/i.exec(input)?.[0];
  return scheme ? `${scheme}//…` : "(destination URL)";
}

/** `input` is never empty here: parseDestinationUrl refuses a blank one first. */
function invalid(input: string, message: string): StorageError {
  return new StorageError("INVALID_CONFIG", displayable(input), message);
}

/** Parses a destination URL into `{ type, config }`, reading credentials from `env`. */
export function parseDestinationUrl(input: string, env: Env = process.env): DestinationSpec {
  if (typeof input !== "string" || input.trim() === "") {
    throw new StorageError("INVALID_CONFIG", "(destination URL)", `no destination given; use one of ${destinationUrlForms()}`);
  }
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    // A bare absolute path is a local folder, written as a file: URL would be.
    if (input.startsWith("/")) return parseDestinationUrl(`file://${input.split("/").map(encodeURIComponent).join("/")}`, env);
    throw invalid(input, `not a destination URL; use one of ${destinationUrlForms()}`);
  }
  if (url.password) {
    throw invalid(input, "do not put a password in the destination URL; set it in the environment (see README, Configuration)");
  }
  const provider = PROVIDERS.find((p) => p.url?.schemes.includes(url.protocol));
  if (!provider?.url) {
    throw invalid(input, `unknown destination scheme ${JSON.stringify(url.protocol)}; use one of ${destinationUrlForms()}`);
  }
  try {
    return { type: provider.type, config: provider.url.parse(url, env, input) };
  } catch (error) {
    // A URL a provider cannot read is the user's to fix, whatever threw: its own INVALID_CONFIG (which
    // names the input as given) or a parser's error (decodeURIComponent's URIError on `%zz`). Both
    // are labelled with the displayable form.
    throw invalid(input, error instanceof StorageError ? error.detail : `cannot read this URL: ${(error as Error).message}`);
  }
}

/**
 * The URL of a destination spec, without secrets (they stay in the environment): what `stowage`
 * prints and stores as the place of a backup. The config is validated first (defaults applied).
 */
export function formatDestinationUrl(spec: DestinationSpec): string {
  const provider = providerOf(spec.type);
  if (!provider?.url) {
    throw new StorageError("INVALID_CONFIG", String(spec.type), "this storage type has no URL form");
  }
  const parsed = provider.configSchema.safeParse(spec.config);
  if (!parsed.success) throw new StorageError("INVALID_CONFIG", spec.type, "the configuration is not valid");
  return provider.url.print(parsed.data);
}

/**
 * The default destination from the seed's variables: `DEFAULT_STORAGE_TYPE` picks the provider,
 * which reads its own (`LOCAL_STORAGE_PATH`, `S3_*`, `GOOGLE_DRIVE_*`, `NEXTCLOUD_*`, `BROWSER_DOWNLOAD_*`).
 */
export function destinationFromEnv(env: Env = process.env): DestinationSpec {
  const type = env.DEFAULT_STORAGE_TYPE || localMappedDescription.type;
  const provider = providerOf(type);
  if (!provider) {
    throw new StorageError(
      "INVALID_CONFIG",
      "DEFAULT_STORAGE_TYPE",
      `unknown storage type ${JSON.stringify(type)}; use ${storageTypeList()}`,
    );
  }
  return { type: provider.type, config: provider.fromEnv(env) };
}

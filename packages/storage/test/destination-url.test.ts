import { generateKeyPairSync } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseProviderConfig } from "../src/config.ts";
import type { StorageDestination } from "../src/contract.ts";
import { destinationFromEnv, parseDestinationUrl } from "../src/destination-url.ts";
import { browserDownloadConfigSchema } from "../src/providers/browser-download/config.ts";
import { googleDriveConfigSchema } from "../src/providers/google-drive/config.ts";
import { localMappedConfigSchema } from "../src/providers/local-mapped/config.ts";
import { nextcloudConfigSchema } from "../src/providers/nextcloud/config.ts";
import { s3ConfigSchema } from "../src/providers/s3/config.ts";
import { caught } from "./caught.ts";

const S3_SECRET = "s3-secret-value-0123456789";
const WEBDAV_PASSWORD = "webdav-password-value";
const NEXTCLOUD_PASSWORD = "nextcloud-app-password-value";

let dir: string;
let keyFile: string;
let keyText: string;
const privateKey = generateKeyPairSync("rsa", { modulusLength: 2048 })
  .privateKey.export({ type: "pkcs8", format: "pem" })
  .toString();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "stowage-url-"));
  keyFile = join(dir, "key.json");
  keyText = JSON.stringify({
    type: "service_account",
    client_email: "backup@project.iam.gserviceaccount.com",
    private_key: privateKey,
    private_key_id: "abc123",
    token_uri: "https://oauth2.googleapis.com/token",
  });
  await writeFile(keyFile, keyText);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("parseDestinationUrl", () => {
  it("file:///abs/path → local_mapped, trailing slash dropped, %-escapes decoded", () => {
    expect(parseDestinationUrl("file:///var/backups/", {})).toEqual({
      type: "local_mapped",
      config: { basePath: "/var/backups" },
    });
    expect(parseDestinationUrl("file:///mnt/my%20nas", {})).toEqual({
      type: "local_mapped",
      config: { basePath: "/mnt/my nas" },
    });
    expect(parseDestinationUrl("file:///", {})).toEqual({ type: "local_mapped", config: { basePath: "/" } });
    expect(parseDestinationUrl("file://localhost/srv", {}).config).toEqual({ basePath: "/srv" });
    expect(parseDestinationUrl("file:///srv?max_size=1000", {}).config).toEqual({ basePath: "/srv", maxSize: 1000 });
  });

  it("file://host/path (two slashes) is refused instead of silently dropping the host", () => {
    const error = caught(() => parseDestinationUrl("file://backups/daily", {}));
    expect(error.code).toBe("INVALID_CONFIG");
    expect(error.message).toContain("file:///backups/daily");
  });

  it("a bare absolute path → local_mapped", () => {
    expect(parseDestinationUrl("/srv/backups/", {})).toEqual({ type: "local_mapped", config: { basePath: "/srv/backups" } });
    expect(parseDestinationUrl("/", {})).toEqual({ type: "local_mapped", config: { basePath: "/" } });
  });

  it("s3://bucket/prefix with endpoint, region and path style from the query, credentials from S3_*", () => {
    const spec = parseDestinationUrl("s3://my-bucket/db/daily/?endpoint=http://127.0.0.1:9000&region=auto&path_style=true", {
      S3_ACCESS_KEY_ID: "AKIAEXAMPLE",
      S3_SECRET_ACCESS_KEY: S3_SECRET,
      AWS_ACCESS_KEY_ID: "ignored-because-S3_-wins",
    });
    expect(spec).toEqual({
      type: "s3",
      config: {
        bucket: "my-bucket",
        prefix: "db/daily",
        endpoint: "http://127.0.0.1:9000",
        region: "auto",
        forcePathStyle: true,
        accessKeyId: "AKIAEXAMPLE",
        secretAccessKey: S3_SECRET,
        sessionToken: undefined,
      },
    });
    const config = parseProviderConfig(s3ConfigSchema, spec.config, "s3");
    expect(config.forcePathStyle).toBe(true);
  });

  it("s3:// falls back to AWS_* credentials, S3_ENDPOINT/S3_REGION, and path style off", () => {
    const spec = parseDestinationUrl("s3://bucket-two", {
      AWS_ACCESS_KEY_ID: "AKIAAWS",
      AWS_SECRET_ACCESS_KEY: "aws-secret",
      AWS_SESSION_TOKEN: "aws-session",
      S3_ENDPOINT: "https://account.r2.cloudflarestorage.com",
      S3_REGION: "auto",
    });
    expect(spec.config).toMatchObject({
      bucket: "bucket-two",
      prefix: "",
      endpoint: "https://account.r2.cloudflarestorage.com",
      region: "auto",
      forcePathStyle: false,
      accessKeyId: "AKIAAWS",
      secretAccessKey: "aws-secret",
      sessionToken: "aws-session",
    });
    // No endpoint anywhere (AWS itself), and an empty S3_ENDPOINT counts as none.
    const aws = parseDestinationUrl("s3://bucket-two/x", { S3_ENDPOINT: "", S3_ACCESS_KEY_ID: "k", S3_SECRET_ACCESS_KEY: "s" });
    expect((aws.config as { endpoint?: string }).endpoint).toBeUndefined();
    expect((aws.config as { region: string }).region).toBe("us-east-1");
    expect(parseProviderConfig(s3ConfigSchema, aws.config, "s3").endpoint).toBeUndefined();
  });

  it("s3:// refuses an endpoint carrying a user name or password, and one that is not http(s), without echoing it", () => {
    const env = { S3_ACCESS_KEY_ID: "k", S3_SECRET_ACCESS_KEY: "s" };
    const spec = parseDestinationUrl("s3://bucket-two/x?endpoint=http://minio:hunter2@127.0.0.1:9000", env);
    const error = caught(() => parseProviderConfig(s3ConfigSchema, spec.config, "s3"));
    expect(error.code).toBe("INVALID_CONFIG");
    expect(error.message).toContain("endpoint: must not contain a user name or password");
    expect(error.message).not.toContain("hunter2");
    const ftp = parseDestinationUrl("s3://bucket-two/x?endpoint=ftp://127.0.0.1:9000", env);
    expect(caught(() => parseProviderConfig(s3ConfigSchema, ftp.config, "s3")).message).toContain(
      "endpoint: must be an http:// or https:// URL",
    );
  });

  it("s3:// without credentials in the environment fails config validation naming the fields", () => {
    const spec = parseDestinationUrl("s3://bucket-two/x", {});
    const error = caught(() => parseProviderConfig(s3ConfigSchema, spec.config, "s3://bucket-two/x"));
    expect(error.code).toBe("INVALID_CONFIG");
    expect(error.message).toContain("accessKeyId");
    expect(error.message).toContain("secretAccessKey");
  });

  it("webdav+https://host/path → nextcloud provider in webdav mode, password from WEBDAV_PASSWORD", () => {
    const spec = parseDestinationUrl("webdav+https://dav.example.com/remote/backups/", {
      WEBDAV_USERNAME: "env-user",
      WEBDAV_PASSWORD,
    });
    expect(spec).toEqual({
      type: "nextcloud",
      config: {
        mode: "webdav",
        serverUrl: "https://dav.example.com/remote/backups",
        username: "env-user",
        password: WEBDAV_PASSWORD,
        basePath: "/",
      },
    });
    parseProviderConfig(nextcloudConfigSchema, spec.config, "webdav");
  });

  it("webdav+http://user@host:port/path keeps the port and takes the user from the URL", () => {
    const spec = parseDestinationUrl("webdav+http://bob@127.0.0.1:8080/dav", { WEBDAV_USERNAME: "env-user", WEBDAV_PASSWORD });
    expect(spec.config).toEqual({
      mode: "webdav",
      serverUrl: "http://127.0.0.1:8080/dav",
      username: "bob",
      password: WEBDAV_PASSWORD,
      basePath: "/",
    });
    // No password in the environment: anonymous WebDAV, an empty password.
    expect((parseDestinationUrl("webdav+http://127.0.0.1:8080/", {}).config as { password: string }).password).toBe("");
  });

  it("nextcloud+https://user@host/folder → nextcloud mode, password from NEXTCLOUD_PASSWORD", () => {
    const spec = parseDestinationUrl("nextcloud+https://alice@cloud.example.com/Backups/db", { NEXTCLOUD_PASSWORD });
    expect(spec).toEqual({
      type: "nextcloud",
      config: {
        mode: "nextcloud",
        serverUrl: "https://cloud.example.com",
        username: "alice",
        password: NEXTCLOUD_PASSWORD,
        basePath: "/Backups/db",
      },
    });
    parseProviderConfig(nextcloudConfigSchema, spec.config, "nextcloud");
    // The user may come from NEXTCLOUD_USERNAME instead; with neither, a message says where to put it.
    expect(
      (parseDestinationUrl("nextcloud+http://127.0.0.1:8081/", { NEXTCLOUD_USERNAME: "carol" }).config as { username: string })
        .username,
    ).toBe("carol");
    const error = caught(() => parseDestinationUrl("nextcloud+https://cloud.example.com/Backups", {}));
    expect(error.message).toContain("nextcloud+https://USER@host/folder");
  });

  it("gdrive://FOLDER_ID?credentials=/path/key.json reads the key file (folder id keeps its case)", () => {
    const spec = parseDestinationUrl(`gdrive://1AbC_dEf-XyZ?credentials=${keyFile}`, {});
    expect(spec).toEqual({ type: "google_drive", config: { folderId: "1AbC_dEf-XyZ", serviceAccountKey: keyText } });
    const config = parseProviderConfig(googleDriveConfigSchema, spec.config, "gdrive");
    expect(config.serviceAccountKey?.client_email).toBe("backup@project.iam.gserviceaccount.com");
    // The emulator seam: root and token URLs from the query.
    const emulated = parseDestinationUrl(
      `gdrive://F?credentials=${keyFile}&root_url=http://127.0.0.1:9/&token_url=http://127.0.0.1:9/token`,
      {},
    );
    expect(emulated.config).toMatchObject({ rootUrl: "http://127.0.0.1:9/", tokenUrl: "http://127.0.0.1:9/token" });
  });

  it("gdrive:// with an unreadable key file says which file", () => {
    const error = caught(() => parseDestinationUrl("gdrive://F?credentials=/nonexistent/key.json", {}));
    expect(error.code).toBe("INVALID_CONFIG");
    expect(error.message).toContain("cannot read the Google credentials file /nonexistent/key.json");
  });

  it("gdrive:// takes credentials from GOOGLE_DRIVE_CREDENTIALS_FILE when the URL has none", () => {
    const spec = parseDestinationUrl("gdrive://F", { GOOGLE_DRIVE_CREDENTIALS_FILE: keyFile });
    expect((spec.config as { serviceAccountKey: string }).serviceAccountKey).toBe(keyText);
  });

  it("refuses a password in the URL, without repeating it", () => {
    for (const input of [
      "s3://AKIA:s3-secret-in-url@bucket/x",
      "webdav+https://bob:hunter2-in-url@dav.example.com/x",
      "nextcloud+https://alice:app-pass-in-url@cloud.example.com/Backups",
    ]) {
      const error = caught(() => parseDestinationUrl(input, {}));
      expect(error.code).toBe("INVALID_CONFIG");
      expect(error.message).toContain("do not put a password in the destination URL");
      expect(error.message).not.toMatch(/in-url/);
    }
  });

  it("an unparsable URL with user info is not echoed (the password could be anywhere in it)", () => {
    const error = caught(() => parseDestinationUrl("nextcloud+https://alice:pa/ss-in-url@cloud/x", {}));
    expect(error.message).not.toMatch(/in-url|pa\/ss/);
    // The message is labelled with the scheme alone (the list of forms later in it also names the scheme).
    expect(error.destination).toBe("nextcloud+https://…");
    expect(error.message.startsWith("nextcloud+https://…: not a destination URL")).toBe(true);
  });

  it("refuses an unknown scheme or a relative path with a message listing the forms", () => {
    for (const input of ["ftp://host/backups", "http://host/backups", "backups/daily", "./backups"]) {
      const error = caught(() => parseDestinationUrl(input, {}));
      expect(error.code).toBe("INVALID_CONFIG");
      for (const form of [
        "file:///abs/path",
        "s3://bucket/prefix",
        "webdav+https://",
        "nextcloud+https://user@host",
        "gdrive://FOLDER_ID",
      ]) {
        expect(error.message).toContain(form);
      }
    }
    expect(caught(() => parseDestinationUrl("ftp://host/backups", {})).message).toContain('unknown destination scheme "ftp:"');
  });
});

describe("destinationFromEnv", () => {
  it("defaults to local_mapped at the seed's /app/backup-storage", () => {
    expect(destinationFromEnv({})).toEqual({ type: "local_mapped", config: { basePath: "/app/backup-storage" } });
  });

  it("local_mapped: LOCAL_STORAGE_PATH (and LOCAL_STORAGE_MAX_SIZE)", () => {
    const spec = destinationFromEnv({
      DEFAULT_STORAGE_TYPE: "local_mapped",
      LOCAL_STORAGE_PATH: "/data/backups",
      LOCAL_STORAGE_MAX_SIZE: "5000",
    });
    expect(spec).toEqual({ type: "local_mapped", config: { basePath: "/data/backups", maxSize: 5000 } });
    parseProviderConfig(localMappedConfigSchema, spec.config, "local");
  });

  it("s3: S3_ENDPOINT, S3_BUCKET, S3_REGION, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY", () => {
    const spec = destinationFromEnv({
      DEFAULT_STORAGE_TYPE: "s3",
      S3_ENDPOINT: "https://account.r2.cloudflarestorage.com",
      S3_BUCKET: "backups",
      S3_REGION: "weur",
      S3_ACCESS_KEY_ID: "AKIAEXAMPLE",
      S3_SECRET_ACCESS_KEY: S3_SECRET,
      S3_PREFIX: "prod",
      S3_FORCE_PATH_STYLE: "true",
    });
    expect(spec).toEqual({
      type: "s3",
      config: {
        endpoint: "https://account.r2.cloudflarestorage.com",
        bucket: "backups",
        region: "weur",
        prefix: "prod",
        accessKeyId: "AKIAEXAMPLE",
        secretAccessKey: S3_SECRET,
        forcePathStyle: true,
      },
    });
    parseProviderConfig(s3ConfigSchema, spec.config, "s3");
    // The seed's default region "auto" (Cloudflare R2) applies with a custom endpoint; AWS itself cannot sign for it.
    const region = (env: Record<string, string>) =>
      (destinationFromEnv({ DEFAULT_STORAGE_TYPE: "s3", ...env }).config as { region: string }).region;
    expect(region({ S3_ENDPOINT: "https://account.r2.cloudflarestorage.com" })).toBe("auto");
    expect(region({})).toBe("us-east-1");
  });

  it("nextcloud: NEXTCLOUD_URL, NEXTCLOUD_USERNAME, NEXTCLOUD_PASSWORD, NEXTCLOUD_BASE_PATH", () => {
    const spec = destinationFromEnv({
      DEFAULT_STORAGE_TYPE: "nextcloud",
      NEXTCLOUD_URL: "https://cloud.example.com",
      NEXTCLOUD_USERNAME: "alice",
      NEXTCLOUD_PASSWORD,
      NEXTCLOUD_BASE_PATH: "/Backups",
    });
    expect(spec).toEqual({
      type: "nextcloud",
      config: {
        mode: "nextcloud",
        serverUrl: "https://cloud.example.com",
        username: "alice",
        password: NEXTCLOUD_PASSWORD,
        basePath: "/Backups",
      },
    });
    parseProviderConfig(nextcloudConfigSchema, spec.config, "nextcloud");
    const missing = caught(() =>
      parseProviderConfig(nextcloudConfigSchema, destinationFromEnv({ DEFAULT_STORAGE_TYPE: "nextcloud" }).config, "nc"),
    );
    expect(missing.message).toContain("serverUrl");
  });

  it("google_drive: GOOGLE_DRIVE_FOLDER_ID with a key file, an inline key, or an OAuth refresh token", () => {
    const fromFile = destinationFromEnv({
      DEFAULT_STORAGE_TYPE: "google_drive",
      GOOGLE_DRIVE_FOLDER_ID: "folder-1",
      GOOGLE_DRIVE_CREDENTIALS_FILE: keyFile,
    });
    expect(fromFile).toEqual({ type: "google_drive", config: { folderId: "folder-1", serviceAccountKey: keyText } });
    parseProviderConfig(googleDriveConfigSchema, fromFile.config, "gdrive");

    const viaAdc = destinationFromEnv({
      DEFAULT_STORAGE_TYPE: "google_drive",
      GOOGLE_DRIVE_FOLDER_ID: "f",
      GOOGLE_APPLICATION_CREDENTIALS: keyFile,
    });
    expect((viaAdc.config as { serviceAccountKey: string }).serviceAccountKey).toBe(keyText);

    const inline = destinationFromEnv({
      DEFAULT_STORAGE_TYPE: "google_drive",
      GOOGLE_DRIVE_FOLDER_ID: "f",
      GOOGLE_DRIVE_SERVICE_ACCOUNT_KEY: keyText,
    });
    expect((inline.config as { serviceAccountKey: string }).serviceAccountKey).toBe(keyText);

    const oauth = destinationFromEnv({
      DEFAULT_STORAGE_TYPE: "google_drive",
      GOOGLE_DRIVE_FOLDER_ID: "f",
      GOOGLE_DRIVE_CLIENT_ID: "client",
      GOOGLE_DRIVE_CLIENT_SECRET: "client-secret",
      GOOGLE_DRIVE_REFRESH_TOKEN: "refresh",
      GOOGLE_DRIVE_ROOT_URL: "http://127.0.0.1:9/",
      GOOGLE_DRIVE_TOKEN_URL: "http://127.0.0.1:9/token",
    });
    expect(oauth.config).toEqual({
      folderId: "f",
      oauth: { clientId: "client", clientSecret: "client-secret", refreshToken: "refresh" },
      rootUrl: "http://127.0.0.1:9/",
      tokenUrl: "http://127.0.0.1:9/token",
    });
    parseProviderConfig(googleDriveConfigSchema, oauth.config, "gdrive");

    const none = caught(() =>
      parseProviderConfig(
        googleDriveConfigSchema,
        destinationFromEnv({ DEFAULT_STORAGE_TYPE: "google_drive", GOOGLE_DRIVE_FOLDER_ID: "f" }).config,
        "g",
      ),
    );
    expect(none.message).toContain("serviceAccountKey");
  });

  it("browser_download: BROWSER_DOWNLOAD_STAGING_PATH and BROWSER_DOWNLOAD_TTL_SECONDS", () => {
    const spec = destinationFromEnv({
      DEFAULT_STORAGE_TYPE: "browser_download",
      BROWSER_DOWNLOAD_STAGING_PATH: "/var/stowage/staging",
      BROWSER_DOWNLOAD_TTL_SECONDS: "900",
    });
    expect(spec).toEqual({ type: "browser_download", config: { stagingPath: "/var/stowage/staging", ttlSeconds: 900 } });
    expect(parseProviderConfig(browserDownloadConfigSchema, spec.config, "bd").ttlSeconds).toBe(900);
    const defaults = destinationFromEnv({ DEFAULT_STORAGE_TYPE: "browser_download" });
    expect(parseProviderConfig(browserDownloadConfigSchema, defaults.config, "bd")).toMatchObject({
      stagingPath: "/app/data/staging",
      ttlSeconds: 3600,
    });
  });

  it("an unknown DEFAULT_STORAGE_TYPE is refused, listing the types", () => {
    const error = caught(() => destinationFromEnv({ DEFAULT_STORAGE_TYPE: "dropbox" }));
    expect(error.code).toBe("INVALID_CONFIG");
    expect(error.message).toContain("DEFAULT_STORAGE_TYPE");
    expect(error.message).toContain("local_mapped, s3, nextcloud, google_drive or browser_download");
  });
});

describe("createDestination(parseDestinationUrl(…))", () => {
  const env = {
    S3_ACCESS_KEY_ID: "AKIAEXAMPLE",
    S3_SECRET_ACCESS_KEY: S3_SECRET,
    WEBDAV_PASSWORD,
    NEXTCLOUD_PASSWORD,
  };

  it("yields a destination whose name carries no secret, for every form", async () => {
    // Imported here so that the parser tests above run even while a provider module is broken.
    const { createDestination } = await import("../src/registry.ts");
    const cases: Array<[string, string]> = [
      [`file://${dir}/files`, `file://${dir}/files`],
      [`${dir}/bare`, `file://${dir}/bare`],
      ["s3://my-bucket/db?endpoint=http://127.0.0.1:9000&region=auto&path_style=true", "s3://my-bucket/db"],
      ["webdav+http://bob@127.0.0.1:8080/dav", "webdav+http://127.0.0.1:8080/dav"],
      ["nextcloud+https://alice@cloud.example.com/Backups", "nextcloud+https://alice@cloud.example.com/Backups"],
      [`gdrive://1AbC_dEf-XyZ?credentials=${keyFile}`, "gdrive://1AbC_dEf-XyZ"],
    ];
    const secrets = [S3_SECRET, WEBDAV_PASSWORD, NEXTCLOUD_PASSWORD, privateKey.split("\n")[1] ?? "unused"];
    for (const [input, expectedName] of cases) {
      const destination: StorageDestination = await createDestination(parseDestinationUrl(input, env));
      try {
        expect(destination.name).toBe(expectedName);
        for (const secret of secrets) expect(destination.name).not.toContain(secret);
      } finally {
        await destination.close();
      }
    }
    const staged = await createDestination(
      destinationFromEnv({ DEFAULT_STORAGE_TYPE: "browser_download", BROWSER_DOWNLOAD_STAGING_PATH: dir }),
    );
    expect(staged.name).toBe(`browser-download://${dir}`);
    await staged.close();
  });
});

describe("one description per provider: URL and environment agree", () => {
  const s3Env = { S3_ACCESS_KEY_ID: "AKIAEXAMPLE", S3_SECRET_ACCESS_KEY: S3_SECRET };
  const fromEnv = (env: Record<string, string>) =>
    destinationFromEnv({ DEFAULT_STORAGE_TYPE: "s3", S3_BUCKET: "bkt", ...env }).config as Record<string, unknown>;
  const fromUrl = (url: string, env: Record<string, string>) => parseDestinationUrl(url, env).config as Record<string, unknown>;

  it("the S3 region defaults the same way from a URL and from the environment", () => {
    for (const [env, region] of [
      [{}, "us-east-1"],
      [{ S3_ENDPOINT: "http://127.0.0.1:9000" }, "auto"],
      [{ AWS_REGION: "eu-west-3" }, "eu-west-3"],
      [{ S3_REGION: "weur", AWS_REGION: "eu-west-3" }, "weur"],
    ] as const) {
      expect(fromEnv({ ...s3Env, ...env }).region, JSON.stringify(env)).toBe(region);
      expect(fromUrl("s3://bkt", { ...s3Env, ...env }).region, JSON.stringify(env)).toBe(region);
    }
    expect(fromUrl("s3://bkt?region=us-west-2", { ...s3Env, S3_REGION: "weur" }).region).toBe("us-west-2");
  });

  it("AWS_* credentials, S3_SESSION_TOKEN and S3_SPOOL_DIR work on both paths", () => {
    const env = {
      AWS_ACCESS_KEY_ID: "AKIAAWS",
      AWS_SECRET_ACCESS_KEY: "aws-secret",
      S3_SESSION_TOKEN: "s3-session",
      AWS_SESSION_TOKEN: "aws-session",
      S3_SPOOL_DIR: "/var/spool/stowage",
    };
    for (const config of [fromEnv(env), fromUrl("s3://bkt", env)]) {
      expect(config).toMatchObject({
        accessKeyId: "AKIAAWS",
        secretAccessKey: "aws-secret",
        sessionToken: "s3-session",
        spoolDir: "/var/spool/stowage",
      });
      expect(parseProviderConfig(s3ConfigSchema, config, "s3").spoolDir).toBe("/var/spool/stowage");
    }
    expect(fromUrl("s3://bkt", { ...s3Env }).spoolDir).toBeUndefined();
    expect(fromUrl("s3://bkt", { AWS_SESSION_TOKEN: "aws-session", ...s3Env }).sessionToken).toBe("aws-session");
  });

  it("only 1, true, yes and on (any case) turn path style on", () => {
    for (const value of ["true", "TRUE", "1", "yes", "On"]) {
      expect(fromUrl(`s3://b?path_style=${value}`, s3Env).forcePathStyle, value).toBe(true);
      expect(fromEnv({ ...s3Env, S3_FORCE_PATH_STYLE: value }).forcePathStyle, value).toBe(true);
    }
    for (const value of ["non", "10", "0", "false", "no", "off", "", "truee", "ontrue"]) {
      expect(fromUrl(`s3://b?path_style=${value}`, s3Env).forcePathStyle, value).toBe(false);
      expect(fromEnv({ ...s3Env, S3_FORCE_PATH_STYLE: value }).forcePathStyle, value).toBe(false);
    }
    // The URL wins over the environment, both ways.
    expect(fromUrl("s3://bkt?path_style=false", { ...s3Env, S3_FORCE_PATH_STYLE: "true" }).forcePathStyle).toBe(false);
    expect(fromUrl("s3://bkt", { ...s3Env, S3_FORCE_PATH_STYLE: "true" }).forcePathStyle).toBe(true);
  });

  it("several trailing slashes are all dropped", () => {
    expect(parseDestinationUrl("file:///var/backups///", {}).config).toEqual({ basePath: "/var/backups" });
    expect(parseDestinationUrl("/srv/backups///", {}).config).toEqual({ basePath: "/srv/backups" });
    expect(parseDestinationUrl("file:////", {}).config).toEqual({ basePath: "/" });
    expect(fromUrl("webdav+https://dav.example.com/remote/backups///", {}).serverUrl).toBe(
      "https://dav.example.com/remote/backups",
    );
    expect(fromUrl("nextcloud+https://alice@cloud.example.com/Backups/db///", {}).basePath).toBe("/Backups/db");
    expect(fromUrl("s3://bkt/db/daily///", s3Env).prefix).toBe("db/daily");
  });

  it("error messages name what was given, never `undefined:`", () => {
    for (const input of [undefined, "", "   ", "ftp://host/x", "backups/daily", "gopher://x"] as unknown as string[]) {
      const error = caught(() => parseDestinationUrl(input, {}));
      expect(error.code).toBe("INVALID_CONFIG");
      expect(error.message).not.toMatch(/^undefined|^null|^: /);
      expect(error.destination.length).toBeGreaterThan(0);
    }
    expect(caught(() => destinationFromEnv({ DEFAULT_STORAGE_TYPE: "dropbox" })).message).toMatch(/^DEFAULT_STORAGE_TYPE: /);
  });

  it("must_exist from the URL or LOCAL_STORAGE_MUST_EXIST; the URL wins", () => {
    expect(parseDestinationUrl("file:///srv?must_exist=true", {}).config).toEqual({ basePath: "/srv", mustExist: true });
    expect(parseDestinationUrl("/srv", { LOCAL_STORAGE_MUST_EXIST: "true" }).config).toEqual({
      basePath: "/srv",
      mustExist: true,
    });
    expect(parseDestinationUrl("file:///srv?must_exist=false", { LOCAL_STORAGE_MUST_EXIST: "true" }).config).toEqual({
      basePath: "/srv",
    });
    expect(destinationFromEnv({ LOCAL_STORAGE_PATH: "/data", LOCAL_STORAGE_MUST_EXIST: "1" }).config).toEqual({
      basePath: "/data",
      mustExist: true,
    });
    expect(parseProviderConfig(localMappedConfigSchema, { basePath: "/srv" }, "l").mustExist).toBe(false);
    expect(fromUrl("webdav+http://127.0.0.1:8080/dav?must_exist=true", {}).mustExist).toBe(true);
  });

  it("prints every URL form back without secrets (parse → print → parse is stable)", async () => {
    const { formatDestinationUrl } = await import("../src/destination-url.ts");
    const env = { ...s3Env, WEBDAV_PASSWORD, NEXTCLOUD_PASSWORD };
    for (const input of [
      "file:///var/backups?max_size=1000&must_exist=true",
      "file:///mnt/my%20nas",
      "s3://my-bucket/db/daily?endpoint=http%3A%2F%2F127.0.0.1%3A9000&path_style=true",
      "s3://bucket-two",
      "s3://bucket-two/x?region=eu-west-3",
      "webdav+http://bob@127.0.0.1:8080/dav",
      "nextcloud+https://alice@cloud.example.com/Backups/db?must_exist=true",
      `gdrive://1AbC_dEf-XyZ?impersonate=${encodeURIComponent("alice@example.com")}`,
    ]) {
      const spec = parseDestinationUrl(input.startsWith("gdrive") ? `${input}&credentials=${keyFile}` : input, env);
      const printed = formatDestinationUrl(spec);
      expect(printed, input).toBe(input);
      for (const secret of [S3_SECRET, WEBDAV_PASSWORD, NEXTCLOUD_PASSWORD, "PRIVATE KEY"]) expect(printed).not.toContain(secret);
    }
  });

  it("the CLI's secret list comes from the providers' descriptions and misses none", async () => {
    const { secretValues, secretVariableNames } = await import("../src/registry.ts");
    const names = secretVariableNames();
    for (const name of [
      "S3_SECRET_ACCESS_KEY",
      "AWS_SECRET_ACCESS_KEY",
      "S3_SESSION_TOKEN",
      "AWS_SESSION_TOKEN",
      "NEXTCLOUD_PASSWORD",
      "WEBDAV_PASSWORD",
      "GOOGLE_DRIVE_CLIENT_SECRET",
      "GOOGLE_DRIVE_REFRESH_TOKEN",
      "GOOGLE_DRIVE_SERVICE_ACCOUNT_KEY",
    ]) {
      expect(names).toContain(name);
    }
    expect(names).not.toContain("S3_ACCESS_KEY_ID");
    expect(secretValues({ S3_SESSION_TOKEN: "tok", S3_BUCKET: "not-secret", NEXTCLOUD_PASSWORD: "" })).toEqual(["tok"]);
  });
});

/**
 * @module manifest
 * The backup manifest: `manifest.json`, written LAST into a backup folder as its commit marker.
 * A folder without a manifest is an incomplete backup. Documented for humans in docs/FORMAT.md.
 * Never holds a secret: no passwords, no passphrases, no private keys, no full connection URLs.
 */
import { z } from "zod";

export const MANIFEST_FILE = "manifest.json";
export const FORMAT_VERSION = 1;

export const BACKUP_TYPES = ["full", "schema", "data"] as const;
export type BackupType = (typeof BACKUP_TYPES)[number];

export const COMPRESSIONS = ["gzip", "zstd", "none"] as const;
export type Compression = (typeof COMPRESSIONS)[number];

/**
 * The parts of a backup, in restore order (the manifest lists them in this order too). `post-data`
 * (indexes, constraints, triggers, policies) is restored after the data; backups made before it
 * existed carry those in `schema`.
 */
export const PART_ROLES = ["roles", "schema", "history_schema", "data", "history_data", "post-data"] as const;
export type PartRole = (typeof PART_ROLES)[number];

const COMPRESSION_SUFFIX: Record<Compression, string> = { gzip: ".gz", zstd: ".zst", none: "" };

/** `roles.sql.gz`, `data.sql.zst.age`, … */
export function partFileName(role: PartRole, compression: Compression, encrypted: boolean): string {
  return `${role}.sql${COMPRESSION_SUFFIX[compression]}${encrypted ? ".age" : ""}`;
}

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);

export const manifestFileSchema = z.object({
  /** File name inside the backup folder. */
  name: z.string(),
  role: z.enum(PART_ROLES),
  /** Bytes as stored (compressed, encrypted). */
  size: z.number().int().nonnegative(),
  sha256: sha256Hex,
  /** The plain SQL, before compression and encryption. */
  plainSize: z.number().int().nonnegative(),
  plainSha256: sha256Hex,
});
export type ManifestFile = z.infer<typeof manifestFileSchema>;

/** MAC of a passphrase-encrypted backup's manifest (manifest-mac.ts). */
export const manifestMacSchema = z.object({
  algorithm: z.literal("hmac-sha256"),
  kdf: z.literal("scrypt"),
  /** log2 of scrypt's N (r = 8, p = 1). */
  logN: z.number().int(),
  /** Base64 salt. */
  salt: z.string().min(1),
  /** HMAC of "passphrase check": tells a wrong passphrase from a tampered manifest. */
  check: sha256Hex,
  /** HMAC of the canonical JSON (sorted keys) of the manifest without `mac`. */
  value: sha256Hex,
});
export type ManifestMac = z.infer<typeof manifestMacSchema>;

export const manifestSchema = z.object({
  format: z.literal("stowage-backup"),
  formatVersion: z.literal(FORMAT_VERSION),
  /** `<name>/<UTC timestamp>-<short id>`: the folder path under the destination. */
  id: z.string(),
  /** Project or database name: the first path segment. */
  name: z.string(),
  tool: z.object({ name: z.literal("stowage"), version: z.string() }),
  server: z.object({
    /** `server_version` as the server reports it, e.g. "15.19 (Debian 15.19-0+deb12u1)". */
    version: z.string(),
    /** `server_version_num`, e.g. 150019. */
    versionNum: z.number().int(),
    /** True when Supabase's schemas and roles were detected. */
    supabase: z.boolean(),
    /** Host and database name of the source; never the user's password. */
    host: z.string(),
    database: z.string(),
  }),
  pgDump: z.object({ version: z.string() }),
  type: z.enum(BACKUP_TYPES),
  compression: z.enum(COMPRESSIONS),
  encryption: z
    .object({
      algorithm: z.literal("age"),
      /** Public age recipients (age1…), empty when a passphrase was used. */
      recipients: z.array(z.string()),
      passphrase: z.boolean(),
    })
    .nullable(),
  migrationHistory: z.boolean(),
  files: z.array(manifestFileSchema),
  /** Row counts per table, counted in the same snapshot the dump saw. */
  tables: z.array(z.object({ schema: z.string(), name: z.string(), rows: z.number().int().nonnegative() })),
  startedAt: z.iso.datetime(),
  finishedAt: z.iso.datetime(),
  /** Passphrase-encrypted backups only: authenticates everything above. */
  mac: manifestMacSchema.optional(),
});
export type BackupManifest = z.infer<typeof manifestSchema>;

/** `20261125T101500Z`: sortable, filesystem- and URL-safe. */
export function backupTimestamp(date: Date): string {
  return date
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}Z$/, "Z");
}

/**
 * Parses the time back out of a backup id (`name/20261125T101500Z-ab12cd`). Undefined for an id
 * without one, and for fields out of range (month 13, hour 24) that Date would roll over into
 * another time: the caller then falls back to the folder's modification time.
 */
export function timeFromBackupId(id: string): Date | undefined {
  const m = /((\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z)-[0-9a-z]+$/.exec(id);
  if (!m) return undefined;
  const date = new Date(0);
  // setUTCFullYear, not Date.UTC: Date.UTC reads the years 0-99 as 1900-1999.
  date.setUTCFullYear(+m[2]!, +m[3]! - 1, +m[4]!);
  date.setUTCHours(+m[5]!, +m[6]!, +m[7]!);
  return backupTimestamp(date) === m[1] ? date : undefined;
}

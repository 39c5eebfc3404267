/**
 * `manifest.ts` without a database (issue 20, mutation testing): part file names, the backup id's
 * timestamp both ways, and the schema's refusals field by field (before, only the end-to-end backup
 * tests read a manifest, and none of them sends a bad one).
 */
import { describe, expect, it } from "vitest";
import {
  BACKUP_TYPES,
  type BackupManifest,
  backupTimestamp,
  COMPRESSIONS,
  FORMAT_VERSION,
  MANIFEST_FILE,
  manifestSchema,
  PART_ROLES,
  partFileName,
  timeFromBackupId,
} from "../src/manifest.ts";

const HEX = "0123456789abcdef".repeat(4);

function manifest(): BackupManifest {
  return {
    format: "stowage-backup",
    formatVersion: 1,
    id: "shop/20261125T101500Z-ab12cd",
    name: "shop",
    tool: { name: "stowage", version: "1.2.3" },
    server: { version: "17.2", versionNum: 170002, supabase: false, host: "db.internal", database: "shop" },
    pgDump: { version: "17.2" },
    type: "full",
    compression: "zstd",
    encryption: { algorithm: "age", recipients: [], passphrase: true },
    migrationHistory: false,
    files: [{ name: "data.sql.zst.age", role: "data", size: 10, sha256: HEX, plainSize: 0, plainSha256: HEX }],
    tables: [{ schema: "public", name: "orders", rows: 0 }],
    startedAt: "2026-11-25T10:15:00.000Z",
    finishedAt: "2026-11-25T10:16:00Z",
    mac: { algorithm: "hmac-sha256", kdf: "scrypt", logN: 15, salt: "c2FsdA==", check: HEX, value: HEX },
  };
}

/** A JSON copy a test may break in any way the schema must refuse. */
// biome-ignore lint/suspicious/noExplicitAny: the point is to write what the types forbid
type Loose = Record<string, any>;

/** The manifest with one change applied to a fresh copy. */
function changed(change: (m: Loose) => void): unknown {
  const m = structuredClone(manifest()) as Loose;
  change(m);
  return m;
}

describe("manifest constants and part names", () => {
  it("names the file, the version and the closed lists", () => {
    expect(MANIFEST_FILE).toBe("manifest.json");
    expect(FORMAT_VERSION).toBe(1);
    expect(BACKUP_TYPES).toEqual(["full", "schema", "data"]);
    expect(COMPRESSIONS).toEqual(["gzip", "zstd", "none"]);
    // Restore order: roles first, the schema before its data.
    expect(PART_ROLES[0]).toBe("roles");
    expect(PART_ROLES.indexOf("schema")).toBeLessThan(PART_ROLES.indexOf("data"));
  });

  it("part file names: role, .sql, the compression's suffix, .age when encrypted", () => {
    expect(partFileName("roles", "gzip", false)).toBe("roles.sql.gz");
    expect(partFileName("data", "zstd", true)).toBe("data.sql.zst.age");
    expect(partFileName("history_schema", "none", false)).toBe("history_schema.sql");
    expect(partFileName("schema", "none", true)).toBe("schema.sql.age");
  });
});

describe("backup id timestamps", () => {
  it("writes the UTC time to the second, without separators or milliseconds", () => {
    expect(backupTimestamp(new Date("2026-11-25T10:15:09.987Z"))).toBe("20261125T101509Z");
    expect(backupTimestamp(new Date("2026-01-02T03:04:05.000Z"))).toBe("20260102T030405Z");
  });

  it("reads the time back from an id, with or without a name in front", () => {
    expect(timeFromBackupId("shop/20261125T101509Z-ab12cd")?.toISOString()).toBe("2026-11-25T10:15:09.000Z");
    expect(timeFromBackupId("20260102T030405Z-0")?.toISOString()).toBe("2026-01-02T03:04:05.000Z");
    const now = new Date("2026-12-02T08:28:54Z");
    expect(timeFromBackupId(`a/b/${backupTimestamp(now)}-ff00aa`)).toEqual(now);
  });

  it("is undefined for anything that is not a backup id", () => {
    for (const id of [
      "shop/20261125T101509Z", // no short id
      "shop/20261125T101509Z-", // empty short id
      "shop/20261125T101509Z-AB12CD", // upper case
      "shop/20261125T101509Z-ab12cd/manifest.json", // a file inside the folder
      "shop/20261125T101509Z-ab_12", // not [0-9a-z]
      "shop/20261125 101509Z-ab12cd",
      "shop/2026112T101509Z-ab12cd", // seven digits
      "shop/20261125T101509-ab12cd", // no Z
      "",
    ]) {
      expect(timeFromBackupId(id), id).toBeUndefined();
    }
  });

  it("refuses fields out of range instead of rolling over into another time", () => {
    for (const id of [
      "shop/20261325T101509Z-ab", // month 13
      "shop/20260230T101509Z-ab", // 30 February
      "shop/20261100T101509Z-ab", // day 0
      "shop/20261125T241509Z-ab", // hour 24
      "shop/20261125T106009Z-ab", // minute 60
      "shop/20261125T101560Z-ab", // second 60
    ]) {
      expect(timeFromBackupId(id), id).toBeUndefined();
    }
  });

  it("keeps four-digit years below 100 (Date.UTC would read 0050 as 1950)", () => {
    expect(timeFromBackupId("old/00500101T000000Z-ab")?.toISOString()).toBe("0050-01-01T00:00:00.000Z");
  });
});

describe("manifestSchema", () => {
  it("accepts a complete manifest, with and without encryption and mac", () => {
    expect(manifestSchema.parse(manifest())).toEqual(manifest());
    const plain = changed((m) => {
      m.encryption = null;
      delete m.mac;
      m.files[0].name = "data.sql.zst";
    });
    expect(manifestSchema.parse(plain)).toEqual(plain);
  });

  it("accepts every backup type, compression and part role", () => {
    for (const type of BACKUP_TYPES) expect(manifestSchema.safeParse(changed((m) => (m.type = type))).success, type).toBe(true);
    for (const c of COMPRESSIONS) expect(manifestSchema.safeParse(changed((m) => (m.compression = c))).success, c).toBe(true);
    for (const role of PART_ROLES) {
      expect(manifestSchema.safeParse(changed((m) => (m.files[0].role = role))).success, role).toBe(true);
    }
  });

  const refusals: Array<[string, (m: Loose) => void]> = [
    ["another format", (m) => (m.format = "stowage")],
    ["format version 2", (m) => (m.formatVersion = 2)],
    ["another tool", (m) => (m.tool.name = "pgbackrest")],
    ["a fractional server version number", (m) => (m.server.versionNum = 170002.5)],
    ["a backup type outside the list", (m) => (m.type = "incremental")],
    ["a compression outside the list", (m) => (m.compression = "lz4")],
    ["another encryption", (m) => (m.encryption.algorithm = "gpg")],
    ["a part role outside the list", (m) => (m.files[0].role = "globals")],
    ["a negative size", (m) => (m.files[0].size = -1)],
    ["a fractional size", (m) => (m.files[0].size = 1.5)],
    ["a negative plain size", (m) => (m.files[0].plainSize = -1)],
    ["an upper-case sha256", (m) => (m.files[0].sha256 = HEX.toUpperCase())],
    ["a 63-digit sha256", (m) => (m.files[0].sha256 = HEX.slice(1))],
    ["a 65-digit sha256", (m) => (m.files[0].sha256 = `${HEX}0`)],
    ["a sha256 with a prefix", (m) => (m.files[0].sha256 = `sha256:${HEX}`)],
    ["a sha256 with a suffix", (m) => (m.files[0].sha256 = `${HEX}\n`)],
    ["a non-hex plain sha256", (m) => (m.files[0].plainSha256 = `g${HEX.slice(1)}`)],
    ["a negative row count", (m) => (m.tables[0].rows = -1)],
    ["a start time that is not ISO 8601", (m) => (m.startedAt = "25 Nov 2026 10:15")],
    ["a finish time that is not ISO 8601", (m) => (m.finishedAt = "yesterday")],
    ["a MAC algorithm other than hmac-sha256", (m) => (m.mac.algorithm = "hmac-sha1")],
    ["a KDF other than scrypt", (m) => (m.mac.kdf = "pbkdf2")],
    ["a fractional logN", (m) => (m.mac.logN = 15.5)],
    ["an empty salt", (m) => (m.mac.salt = "")],
    ["a short MAC check", (m) => (m.mac.check = "00")],
    ["a short MAC value", (m) => (m.mac.value = HEX.slice(2))],
    ["no files list", (m) => delete m.files],
    ["no encryption field (null is required for none)", (m) => delete m.encryption],
  ];
  for (const [what, change] of refusals) {
    it(`refuses ${what}`, () => {
      expect(manifestSchema.safeParse(changed(change)).success).toBe(false);
    });
  }
});

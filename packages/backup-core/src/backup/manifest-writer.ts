/**
 * @module backup/manifest-writer
 * The last step of a backup: `manifest.json`, the commit marker of the backup folder (manifest.ts,
 * docs/FORMAT.md). Written only once every part is stored, to the destinations that stored all of
 * them; a passphrase backup's manifest carries a MAC (manifest-mac.ts).
 */
import { createRequire } from "node:module";
import type { ManifestEncryption } from "../archive/encrypt.ts";
import {
  type BackupManifest,
  type BackupType,
  type Compression,
  FORMAT_VERSION,
  MANIFEST_FILE,
  type ManifestFile,
  manifestSchema,
} from "../manifest.ts";
import { sealManifest } from "../manifest-mac.ts";
import type { DatabaseTarget } from "../pg/connection.ts";
import type { ServerFacts } from "../pg/snapshot.ts";
import type { BackupDestinations } from "./destinations.ts";

/** The engine's version: in every manifest, the CLI's `--version` and the server's health. */
export const TOOL_VERSION: string = (createRequire(import.meta.url)("../../package.json") as { version: string }).version;

export interface ManifestInput {
  readonly id: string;
  readonly name: string;
  readonly facts: ServerFacts;
  readonly target: DatabaseTarget;
  readonly pgDumpVersion: string;
  readonly type: BackupType;
  readonly compression: Compression;
  readonly encryption: ManifestEncryption | undefined;
  /** Present for passphrase backups only: the key of the manifest's MAC. */
  readonly passphrase?: { readonly passphrase: string; readonly scryptWorkFactor?: number };
  readonly migrationHistory: boolean;
  readonly files: readonly ManifestFile[];
  readonly tables: BackupManifest["tables"];
  readonly startedAt: Date;
}

/** Builds (and for a passphrase backup, seals) the manifest. Never holds a secret (see manifest.ts). */
export async function composeManifest(input: ManifestInput): Promise<BackupManifest> {
  const manifest = manifestSchema.parse({
    format: "stowage-backup",
    formatVersion: FORMAT_VERSION,
    id: input.id,
    name: input.name,
    tool: { name: "stowage", version: TOOL_VERSION },
    server: {
      version: input.facts.version,
      versionNum: input.facts.versionNum,
      supabase: input.facts.supabase,
      host: input.target.host,
      database: input.target.database,
    },
    pgDump: { version: input.pgDumpVersion },
    type: input.type,
    compression: input.compression,
    encryption: input.encryption ?? null,
    migrationHistory: input.migrationHistory,
    files: [...input.files],
    tables: input.tables,
    startedAt: input.startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
  } satisfies BackupManifest);
  // A passphrase backup authenticates its manifest (manifest-mac.ts); recipients cannot.
  if (!input.passphrase) return manifest;
  return sealManifest(manifest, input.passphrase.passphrase, input.passphrase.scryptWorkFactor);
}

/** Uploads the manifest, LAST, to every destination still live; one that fails now keeps no backup. */
export async function writeManifest(
  destinations: BackupDestinations,
  manifest: BackupManifest,
  signal?: AbortSignal,
): Promise<void> {
  const body = `${JSON.stringify(manifest, null, 2)}\n`;
  await destinations.putEverywhere(`${manifest.id}/${MANIFEST_FILE}`, body, "application/json", signal);
}

/**
 * @module pitr/format
 * The change archive of one backup name, next to its backups (docs/FORMAT.md, "Point-in-time archive"):
 *
 *   <name>/changes/bases/<backup folder>.json          a base: which backup, taken at which LSN and time
 *   <name>/changes/<start LSN>-<end LSN>.jsonl.gz[.age] a segment: decoded changes, one JSON object a line
 *   <name>/changes/<start LSN>-<end LSN>.json           its manifest, written LAST (the commit marker)
 *
 * A segment without its manifest is incomplete and ignored, as a backup folder without manifest.json.
 * Segments chain: each starts where the previous one ended (the slot's confirmed position).
 */
import { z } from "zod";
import { COMPRESSIONS, type Compression } from "../manifest.ts";
import { type Lsn, lsnKey } from "./lsn.ts";

export const CHANGES_FOLDER = "changes";
export const BASES_FOLDER = "bases";
export const SEGMENT_FORMAT_VERSION = 1;

const lsnText = z.string().regex(/^[0-9A-F]{1,8}\/[0-9A-F]{1,8}$/);
const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);
/** ISO 8601 UTC with microseconds (commit timestamps). */
const microTime = z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/);

const commitPoint = z.object({ lsn: lsnText, time: microTime });
export type CommitPoint = z.infer<typeof commitPoint>;

export const segmentManifestSchema = z.object({
  format: z.literal("stowage-changes"),
  formatVersion: z.literal(SEGMENT_FORMAT_VERSION),
  name: z.string(),
  /** The segment file in the same folder. */
  file: z.string(),
  /** Streaming resumed from here: every transaction committed at or after it and up to `endLsn` is in this segment. */
  startLsn: lsnText,
  /** End of the last commit record in the segment: the slot's confirmed position once stored. */
  endLsn: lsnText,
  firstCommit: commitPoint,
  lastCommit: commitPoint,
  transactions: z.number().int().positive(),
  changes: z.number().int().nonnegative(),
  compression: z.enum(COMPRESSIONS),
  encryption: z.object({ algorithm: z.literal("age"), recipients: z.array(z.string()), passphrase: z.boolean() }).nullable(),
  size: z.number().int().nonnegative(),
  sha256: sha256Hex,
  plainSize: z.number().int().nonnegative(),
  plainSha256: sha256Hex,
  /** Sequence values read on the source when the segment was closed (logical decoding does not carry them). */
  sequences: z.array(z.object({ schema: z.string(), name: z.string(), value: z.string() })),
  createdAt: z.iso.datetime(),
});
export type SegmentManifest = z.infer<typeof segmentManifestSchema>;

export const baseMarkerSchema = z.object({
  format: z.literal("stowage-pitr-base"),
  formatVersion: z.literal(SEGMENT_FORMAT_VERSION),
  name: z.string(),
  /** The backup folder (`<name>/<timestamp>-<id>`), a normal Stowage backup. */
  backupId: z.string(),
  /** The slot's consistent point: the base holds every transaction committed before it, the segments the rest. */
  lsn: lsnText,
  /** Server time right after the slot was created: the base is restorable from this moment on. */
  time: microTime,
  slot: z.string(),
  publication: z.string(),
  /** `initial`, or `schema-change` when a DDL made the previous base unusable for later changes. */
  reason: z.enum(["initial", "schema-change", "restart"]),
  /** For `schema-change`: the last commit that still replays on the previous base. */
  previousEndsAt: commitPoint.nullable(),
  /** Column shapes of the published tables in the base (to detect DDL in the change stream). */
  relations: z.array(z.object({ schema: z.string(), name: z.string(), columns: z.array(z.tuple([z.string(), z.number()])) })),
  createdAt: z.iso.datetime(),
});
export type BaseMarker = z.infer<typeof baseMarkerSchema>;

/** A tuple's values in column order: text as PostgreSQL prints it, `null` for NULL, `false` for an unchanged TOAST value. */
export type TupleValues = Array<string | null | false>;

/** One line of a segment. */
export type ChangeLine =
  | { op: "B"; xid: number; lsn: string; time: string }
  | {
      op: "R";
      rel: number;
      schema: string;
      table: string;
      identity: "default" | "nothing" | "full" | "index";
      columns: Array<{ name: string; type: number; key: boolean }>;
    }
  | { op: "I"; rel: number; new: TupleValues }
  | { op: "U"; rel: number; old: TupleValues | null; oldKind: "K" | "O" | null; new: TupleValues }
  | { op: "D"; rel: number; old: TupleValues; oldKind: "K" | "O" }
  | { op: "T"; rels: number[]; cascade: boolean; restartIdentity: boolean }
  | { op: "C"; lsn: string; end: string; time: string };

const SUFFIX: Record<Compression, string> = { gzip: ".gz", zstd: ".zst", none: "" };

export function changesPrefix(name: string): string {
  return `${name}/${CHANGES_FOLDER}/`;
}

export function segmentStem(name: string, start: Lsn, end: Lsn): string {
  return `${changesPrefix(name)}${lsnKey(start)}-${lsnKey(end)}`;
}

export function segmentFileName(stem: string, compression: Compression, encrypted: boolean): string {
  return `${stem}.jsonl${SUFFIX[compression]}${encrypted ? ".age" : ""}`;
}

export function baseMarkerKey(name: string, backupId: string): string {
  return `${changesPrefix(name)}${BASES_FOLDER}/${backupId.slice(backupId.lastIndexOf("/") + 1)}.json`;
}

/** `stowage_<name>`: the publication of a backup name (lower case, [a-z0-9_], ≤ 63 bytes). */
export function publicationName(name: string): string {
  return `stowage_${sanitize(name)}`.slice(0, 63);
}

/** `stowage_<name>_<incarnation>`: a slot per incarnation, so a base always belongs to its own slot. */
export function slotName(name: string, incarnation: string): string {
  return `${`stowage_${sanitize(name)}`.slice(0, 54)}_${incarnation}`;
}

export function slotPrefix(name: string): string {
  return `${`stowage_${sanitize(name)}`.slice(0, 54)}_`;
}

function sanitize(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9_]/g, "_");
}

/**
 * @module pitr
 * Point-in-time recovery from a logical change archive: `runStream()` (base in a replication slot's
 * snapshot + pgoutput changes in checksummed segments), `restoreToTime()`, the restorable windows,
 * and the slot's status and removal. Format: docs/FORMAT.md, "Point-in-time archive".
 */
export {
  type ArchivedBase,
  type ArchivedSegment,
  archiveNames,
  type NameWindows,
  type PitrArchive,
  type RestorableWindow,
  readArchive,
  restorableWindows,
  windows,
} from "./archive.ts";
export { dropStream, type StreamControlOptions, type StreamStatus, streamStatus } from "./control.ts";
export type { BaseMarker, SegmentManifest } from "./format.ts";
export { formatLsn, isoToMicros, microsToIso, parseLsn } from "./lsn.ts";
export {
  PitrError,
  planRestoreToTime,
  type RestoreToTimeOptions,
  type RestoreToTimePlan,
  type RestoreToTimeResult,
  restoreToTime,
} from "./restore.ts";
export { type PitrPruneResult, prunePitrArchive } from "./retention.ts";
export type { SlotStatus } from "./source.ts";
export { runStream, type StreamEvent, type StreamOptions, type StreamSummary } from "./streamer.ts";

/**
 * @module pitr/retention
 * Retention of change archives follows the bases: `stowage prune` decides which backups stay (per
 * name, restic's rules), and this keeps exactly the changes the remaining bases need. Markers of
 * pruned bases go; segments that end at or before the oldest remaining base's LSN go (manifest
 * first, so an interrupted prune leaves an incomplete segment, never a complete-looking damaged one).
 * A name with no remaining base keeps its segments: nothing can use them, but nothing is decided
 * without a base to anchor it.
 */
import type { StorageDestination } from "@stowage/storage";
import { archiveNames, readArchive } from "./archive.ts";
import { changesPrefix } from "./format.ts";
import { formatLsn, type Lsn } from "./lsn.ts";

export interface PitrPruneResult {
  readonly name: string;
  /** Base markers removed because their backup is gone. */
  readonly removedBases: string[];
  /** Segment files (data + manifest) removed. */
  readonly removedSegments: number;
  readonly removedBytes: number;
  /** Changes from this LSN on are kept (the oldest remaining base). */
  readonly keptFrom: string | null;
}

export async function prunePitrArchive(options: {
  readonly destination: StorageDestination;
  readonly name?: string;
  readonly dryRun?: boolean;
}): Promise<PitrPruneResult[]> {
  const { destination } = options;
  const names = options.name ? [options.name] : await archiveNames(destination);
  const results: PitrPruneResult[] = [];
  for (const name of names) {
    const archive = await readArchive(destination, name);
    const removedBases = archive.orphanBases.map((b) => b.marker.backupId);
    let removedSegments = 0;
    let removedBytes = 0;
    const oldest: Lsn | undefined = archive.bases[0]?.lsn;
    if (!options.dryRun) for (const b of archive.orphanBases) await destination.delete(b.key);
    if (oldest !== undefined) {
      const sizes = new Map((await destination.list(changesPrefix(name))).map((o) => [o.key, o.size]));
      for (const segment of archive.segments) {
        if (segment.end > oldest) continue;
        const dataKey = `${changesPrefix(name)}${segment.manifest.file}`;
        removedSegments++;
        removedBytes += (sizes.get(dataKey) ?? 0) + (sizes.get(segment.key) ?? 0);
        if (options.dryRun) continue;
        await destination.delete(segment.key);
        await destination.delete(dataKey);
      }
    }
    results.push({
      name,
      removedBases,
      removedSegments,
      removedBytes,
      keptFrom: oldest === undefined ? null : formatLsn(oldest),
    });
  }
  return results;
}

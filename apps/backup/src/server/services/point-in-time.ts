/**
 * @module server/services/point-in-time
 * Point-in-time archives (`stowage stream`) as the server sees them: each enabled destination's
 * archive names and the windows of time each can be restored to, read by the engine's own
 * `restorableWindows()` (what `stowage list` prints), so the server never reads the format itself.
 * The archives are written by `stowage stream`, a long-running process of its own, not a server job.
 */
import { restorableWindows } from "@stowage/backup-core";
import type { DestinationRecord, MetadataStore } from "../db/store.ts";
import type { DestinationService } from "./destinations.ts";

export interface RestorableWindowView {
  /** ISO 8601 UTC with microseconds: the base's time. */
  from: string;
  /** The last archived commit that replays on this base. */
  to: string;
  toLsn: string;
  /** The base backup (`<name>/<timestamp>-<id>`) on the destination. */
  baseId: string;
  /** The archive has a gap (a missing or incomplete segment) after `to`. */
  gap: boolean;
}

export interface PointInTimeArchiveView {
  destinationId: string;
  destinationName: string;
  /** The archive name (`stowage stream --name`), the first folder on the destination. */
  name: string;
  windows: RestorableWindowView[];
}

export interface PointInTimeListing {
  items: PointInTimeArchiveView[];
  /** Destinations that could not be read, with why (the others are listed anyway). */
  unreadable: Array<{ destinationId: string; destinationName: string; error: string }>;
}

export class PointInTimeService {
  constructor(
    private readonly store: MetadataStore,
    private readonly destinations: DestinationService,
  ) {}

  /** Every archive on every enabled destination, with its restorable windows (oldest first). */
  async list(): Promise<PointInTimeListing> {
    const records = (await this.store.destinations.list()).filter((r) => r.enabled);
    const read = await Promise.all(records.map((r) => this.read(r)));
    return {
      items: read.flatMap((r) => ("items" in r ? r.items : [])),
      unreadable: read.flatMap((r) => ("error" in r ? [r.error] : [])),
    };
  }

  private async read(
    record: DestinationRecord,
  ): Promise<{ items: PointInTimeArchiveView[] } | { error: PointInTimeListing["unreadable"][number] }> {
    try {
      const destination = await this.destinations.open(record);
      try {
        const names = await restorableWindows(destination);
        return {
          items: names.map((n) => ({
            destinationId: record.id,
            destinationName: record.name,
            name: n.name,
            windows: n.windows.map((w) => ({ ...w })),
          })),
        };
      } finally {
        await destination.close().catch(() => {});
      }
    } catch (error) {
      return { error: { destinationId: record.id, destinationName: record.name, error: (error as Error).message } };
    }
  }
}

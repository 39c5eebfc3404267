/**
 * @module pitr/control
 * `stowage stream --status` and `--drop`: the slot is a liability when nobody reads it (the source
 * keeps WAL for it until its disk fills), so its lag is easy to see and it is easy to remove.
 */
import { parseDatabaseUrl } from "../pg/connection.ts";
import { publicationName, slotPrefix } from "./format.ts";
import { type SlotStatus, SourceDatabase } from "./source.ts";

export interface StreamControlOptions {
  readonly databaseUrl: string;
  readonly name?: string;
  readonly env?: NodeJS.ProcessEnv;
}

export interface StreamStatus {
  readonly name: string;
  readonly publication: string;
  readonly publicationExists: boolean;
  readonly slots: readonly SlotStatus[];
}

function nameOf(options: StreamControlOptions): { name: string; target: ReturnType<typeof parseDatabaseUrl> } {
  const target = parseDatabaseUrl(options.databaseUrl, options.env ?? process.env);
  const name = options.name ?? (target.database.replace(/[^A-Za-z0-9._-]/g, "_").replace(/^[._-]+/, "") || "db");
  return { name, target };
}

export async function streamStatus(options: StreamControlOptions): Promise<StreamStatus> {
  const { name, target } = nameOf(options);
  const source = await SourceDatabase.open(target);
  try {
    const publication = publicationName(name);
    const pub = await source.query("select 1 from pg_publication where pubname = $1", [publication]);
    return { name, publication, publicationExists: pub.length > 0, slots: await source.slots(slotPrefix(name)) };
  } finally {
    await source.close();
  }
}

export async function dropStream(
  options: StreamControlOptions,
): Promise<{ name: string; slots: string[]; publication: string | null }> {
  const { name, target } = nameOf(options);
  const source = await SourceDatabase.open(target);
  try {
    const slots = await source.slots(slotPrefix(name));
    for (const s of slots) {
      // An active slot belongs to a running streamer: end its connection first, or the drop fails.
      if (s.active)
        await source.query("select pg_terminate_backend(active_pid) from pg_replication_slots where slot_name = $1", [s.slot]);
    }
    for (const s of slots) {
      for (let attempt = 0; ; attempt++) {
        try {
          await source.dropSlot(s.slot);
          break;
        } catch (error) {
          if (attempt >= 20) throw error;
          await new Promise((r) => setTimeout(r, 250));
        }
      }
    }
    const publication = publicationName(name);
    const dropped = await source.dropPublication(publication);
    return { name, slots: slots.map((s) => s.slot), publication: dropped ? publication : null };
  } finally {
    await source.close();
  }
}

/**
 * @module pitr/archive
 * Reads a name's change archive from a destination: its bases and complete segments, the chain of
 * segments that follows each base, and the window of time a restore can reach from it.
 */
import { text } from "node:stream/consumers";
import type { StorageDestination } from "@stowage/storage";
import { StorageError } from "@stowage/storage";
import type { z } from "zod";
import { MANIFEST_FILE } from "../manifest.ts";
import { BackupReadError } from "../read-errors.ts";
import {
  BASES_FOLDER,
  type BaseMarker,
  baseMarkerSchema,
  changesPrefix,
  type SegmentManifest,
  segmentManifestSchema,
} from "./format.ts";
import { formatLsn, isoToMicros, type Lsn, microsToIso, parseLsn } from "./lsn.ts";

export interface ArchivedSegment {
  readonly key: string;
  readonly manifest: SegmentManifest;
  readonly start: Lsn;
  readonly end: Lsn;
}

export interface ArchivedBase {
  readonly key: string;
  readonly marker: BaseMarker;
  readonly lsn: Lsn;
  readonly time: bigint;
}

export interface PitrArchive {
  readonly name: string;
  /** Oldest first; only bases whose backup is complete (has its manifest.json). */
  readonly bases: ArchivedBase[];
  /** Markers whose backup is gone (pruned) or incomplete: not usable. */
  readonly orphanBases: ArchivedBase[];
  /** Sorted by start LSN, then end LSN. */
  readonly segments: ArchivedSegment[];
}

async function readJson<T>(destination: StorageDestination, key: string, schema: z.ZodType<T>): Promise<T> {
  let raw: string;
  try {
    raw = await text(await destination.download(key));
  } catch (error) {
    if (StorageError.is(error, "NOT_FOUND"))
      throw new BackupReadError("FILE_MISSING", `${key} is missing`, { cause: error, file: key });
    throw error;
  }
  let parsed: z.ZodSafeParseResult<T>;
  try {
    parsed = schema.safeParse(JSON.parse(raw));
  } catch (error) {
    throw new BackupReadError("MANIFEST_INVALID", `${key} is not valid JSON: the file is damaged`, { cause: error, file: key });
  }
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new BackupReadError(
      "MANIFEST_INVALID",
      `${key} is not a valid Stowage change-archive file (field ${issue?.path.join(".") || "(root)"}: ${issue?.message}); it is damaged or from a newer Stowage`,
      {
        file: key,
      },
    );
  }
  return parsed.data;
}

/** Every name that has a change archive on the destination. */
export async function archiveNames(destination: StorageDestination): Promise<string[]> {
  const names = new Set<string>();
  for (const object of await destination.list("")) {
    const m = /^([^/]+)\/changes\//.exec(object.key);
    if (m) names.add(m[1]!);
  }
  return [...names].sort();
}

/** Reads the bases and complete segments of `name`; segments without manifest are skipped (incomplete). */
export async function readArchive(destination: StorageDestination, name: string): Promise<PitrArchive> {
  const prefix = changesPrefix(name);
  const objects = await destination.list(prefix);
  const keys = new Set(objects.map((o) => o.key));
  const bases: ArchivedBase[] = [];
  const orphanBases: ArchivedBase[] = [];
  const segments: ArchivedSegment[] = [];
  for (const object of objects) {
    const rest = object.key.slice(prefix.length);
    if (rest.startsWith(`${BASES_FOLDER}/`) && rest.endsWith(".json")) {
      const marker = await readJson(destination, object.key, baseMarkerSchema);
      const base = { key: object.key, marker, lsn: parseLsn(marker.lsn), time: isoToMicros(marker.time) };
      const complete = await destination.stat(`${marker.backupId}/${MANIFEST_FILE}`).then(
        () => true,
        (error: unknown) => {
          if (StorageError.is(error, "NOT_FOUND")) return false;
          throw error;
        },
      );
      (complete ? bases : orphanBases).push(base);
    } else if (/^[0-9A-F]{16}-[0-9A-F]{16}\.json$/.test(rest)) {
      const manifest = await readJson(destination, object.key, segmentManifestSchema);
      if (!keys.has(`${prefix}${manifest.file}`)) continue; // its data file is gone: not a segment
      segments.push({ key: object.key, manifest, start: parseLsn(manifest.startLsn), end: parseLsn(manifest.endLsn) });
    }
  }
  bases.sort((a, b) => (a.lsn < b.lsn ? -1 : a.lsn > b.lsn ? 1 : 0));
  segments.sort((a, b) => (a.start !== b.start ? (a.start < b.start ? -1 : 1) : a.end < b.end ? -1 : a.end > b.end ? 1 : 0));
  return { name, bases, orphanBases, segments };
}

/**
 * The segments that continue a base, in order: from position `pos`, the segment that starts at or
 * before it and reaches furthest. Overlaps (a streamer killed after storing a segment but before
 * the slot confirmed it streams those transactions again) are fine: replay skips what it has.
 * Stops at the first gap, or where `limit` (a later base's break) says the base's schema ends.
 */
export function chainFrom(archive: PitrArchive, from: Lsn): { segments: ArchivedSegment[]; gapAfter: Lsn | null } {
  const chain: ArchivedSegment[] = [];
  let pos = from;
  for (;;) {
    let best: ArchivedSegment | undefined;
    for (const s of archive.segments) if (s.start <= pos && s.end > pos && (!best || s.end > best.end)) best = s;
    if (!best) break;
    chain.push(best);
    pos = best.end;
  }
  const gap = archive.segments.some((s) => s.start > pos);
  return { segments: chain, gapAfter: gap ? pos : null };
}

export interface RestorableWindow {
  readonly base: ArchivedBase;
  /** Earliest time: the base's. */
  readonly from: bigint;
  /** Latest commit archived (heartbeats included) that replays on this base. */
  readonly to: bigint;
  readonly toLsn: Lsn;
  readonly segments: ArchivedSegment[];
  /** Set when the chain stops at a gap or a damaged/missing segment before the end of the archive. */
  readonly gapAfter: Lsn | null;
  /** The LSN after which this base no longer applies (a schema change), if a later base says so. */
  readonly endsAt: { lsn: Lsn; time: bigint } | null;
}

/** One window per base: what time range each base can be restored to. */
export function windows(archive: PitrArchive): RestorableWindow[] {
  return archive.bases.map((base, i) => {
    const next = archive.bases.slice(i + 1).find((b) => b.marker.reason === "schema-change" && b.marker.previousEndsAt);
    const endsAt = next?.marker.previousEndsAt
      ? { lsn: parseLsn(next.marker.previousEndsAt.lsn), time: isoToMicros(next.marker.previousEndsAt.time) }
      : null;
    const { segments, gapAfter } = chainFrom(archive, base.lsn);
    let to = base.time;
    let toLsn = base.lsn;
    const used: ArchivedSegment[] = [];
    for (const s of segments) {
      used.push(s);
      const last = parseLsn(s.manifest.lastCommit.lsn);
      if (endsAt && last > endsAt.lsn) {
        if (endsAt.time > to) to = endsAt.time;
        toLsn = endsAt.lsn;
        break;
      }
      const t = isoToMicros(s.manifest.lastCommit.time);
      if (t > to) to = t;
      toLsn = last;
    }
    return { base, from: base.time, to, toLsn, segments: used, gapAfter, endsAt };
  });
}

export interface NameWindows {
  readonly name: string;
  readonly windows: ReadonlyArray<{ from: string; to: string; toLsn: string; baseId: string; gap: boolean }>;
}

/** Every archive name on the destination with the time ranges it can be restored to (`stowage list`). */
export async function restorableWindows(destination: StorageDestination): Promise<NameWindows[]> {
  const out: NameWindows[] = [];
  for (const name of await archiveNames(destination)) {
    const ws = windows(await readArchive(destination, name));
    out.push({
      name,
      windows: ws.map((w) => ({
        from: microsToIso(w.from),
        to: microsToIso(w.to),
        toLsn: formatLsn(w.toLsn),
        baseId: w.base.marker.backupId,
        gap: w.gapAfter !== null,
      })),
    });
  }
  return out;
}

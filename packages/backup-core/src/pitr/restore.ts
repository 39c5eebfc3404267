/**
 * @module pitr/restore
 * `restoreToTime()`: restore a name to a moment. Picks the newest base taken at or before the time,
 * restores it with runRestore() and, in the same transaction, replays every archived transaction
 * committed after the base and up to the time, in commit (LSN) order. A transaction is replayed
 * whole or not at all, and the replay stops at the first one committed after the time, so the
 * result is a state the source really had. Every segment's checksums are verified as it is read;
 * a damaged or missing one rolls everything back and the error says how far the archive does reach.
 */
import { randomBytes } from "node:crypto";
import { createInterface } from "node:readline";
import type { StorageDestination } from "@stowage/storage";
import { type DecryptionKeys, openPart } from "../archive/read-part.ts";
import { readManifest } from "../catalog.ts";
import type { BackupManifest, ManifestFile } from "../manifest.ts";
import { BackupReadError } from "../read-errors.ts";
import { runRestore } from "../restore.ts";
import { type ArchivedSegment, type RestorableWindow, readArchive, windows } from "./archive.ts";
import { type ChangeLine, changesPrefix, type SegmentManifest } from "./format.ts";
import { formatLsn, isoToMicros, type Lsn, microsToIso, parseLsn } from "./lsn.ts";
import { IDENTITY_ALWAYS_OFF, IDENTITY_ALWAYS_RESTORE, SqlWriter, sequencesSql } from "./sql.ts";

export class PitrError extends Error {
  override readonly name = "PitrError";
  constructor(
    readonly code: "NO_ARCHIVE" | "NOT_RESTORABLE" | "INVALID_TIME",
    message: string,
  ) {
    super(message);
  }
  static is(error: unknown): error is PitrError {
    return error instanceof PitrError;
  }
}

export interface RestoreToTimeOptions {
  readonly destination: StorageDestination;
  readonly name: string;
  /** ISO 8601 with a time zone, or `latest`. */
  readonly toTime: string;
  readonly targetUrl: string;
  readonly clean?: boolean;
  readonly keys?: DecryptionKeys;
  readonly signal?: AbortSignal;
  readonly env?: NodeJS.ProcessEnv;
  readonly onProgress?: (progress: { phase: "base" | "replay"; transactions: number; segment?: string }) => void;
}

export interface RestoreToTimeResult {
  readonly name: string;
  readonly baseId: string;
  readonly baseLsn: string;
  readonly baseTime: string;
  /** The last transaction replayed (the base's own point when none was). */
  readonly reached: { readonly lsn: string; readonly time: string };
  readonly transactions: number;
  readonly changes: number;
  readonly segments: number;
  readonly durationMs: number;
}

/**
 * Groups replayed statements into DO blocks of about 256 KiB: psql sends one statement per round
 * trip, and with one UPDATE per changed row those round trips (not the server's work) set the pace.
 * Everything is one transaction anyway, and where to stop is decided per transaction before a
 * statement gets here, so batching changes nothing but the speed.
 */
class StatementBatch {
  private parts: string[] = [];
  private bytes = 0;
  private readonly tag = `$stowage_replay_${randomBytes(8).toString("hex")}$`;

  constructor(private readonly write: (sql: string) => Promise<void>) {}

  async add(sql: string): Promise<void> {
    this.parts.push(sql);
    this.bytes += sql.length;
    if (this.bytes >= 256 * 1024) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.parts.length === 0) return;
    const body = this.parts.join("");
    this.parts = [];
    this.bytes = 0;
    // A value holding the random tag would end the block early: send such a batch as it is.
    await this.write(body.includes(this.tag) ? body : `DO ${this.tag}\nBEGIN\n${body}END ${this.tag};\n`);
  }
}

/** Shows a window's ends for messages. */
const at = (micros: bigint) => microsToIso(micros);

/** The window that holds `time` (newest base at or before it), or a PitrError that explains why none does. */
export function chooseWindow(all: readonly RestorableWindow[], name: string, time: bigint | "latest"): RestorableWindow {
  if (all.length === 0) throw new PitrError("NO_ARCHIVE", `${name} has no base in its change archive: run stowage stream first`);
  if (time === "latest") return all[all.length - 1]!;
  const candidates = all.filter((w) => w.from <= time);
  const window = candidates[candidates.length - 1];
  const list = all.map((w) => `${at(w.from)} … ${at(w.to)}`).join(", ");
  if (!window) {
    throw new PitrError(
      "NOT_RESTORABLE",
      `${name} cannot be restored to ${at(time)}: the earliest restorable moment is ${at(all[0]!.from)} (windows: ${list})`,
    );
  }
  if (time > window.to) {
    const why =
      window.gapAfter !== null
        ? `the change archive stops at LSN ${formatLsn(window.gapAfter)} (a segment after it is missing or incomplete)`
        : window.endsAt
          ? `a schema change at ${at(window.endsAt.time)} ended this base; the next base starts later`
          : "no later change has been archived yet (is stowage stream running?)";
    throw new PitrError(
      "NOT_RESTORABLE",
      `${name} cannot be restored to ${at(time)}: ${why}. It can be restored from ${at(window.from)} to ${at(window.to)} (windows: ${list})`,
    );
  }
  return window;
}

/** openPart() reads a segment like a backup part: same checksums, decryption and decompression. */
function asPart(segment: SegmentManifest): { manifest: BackupManifest; file: ManifestFile } {
  const manifest = { compression: segment.compression, encryption: segment.encryption } as BackupManifest;
  const file: ManifestFile = {
    name: segment.file,
    role: "data",
    size: segment.size,
    sha256: segment.sha256,
    plainSize: segment.plainSize,
    plainSha256: segment.plainSha256,
  };
  return { manifest, file };
}

export interface RestoreToTimePlan {
  readonly window: RestorableWindow;
  /** The time replay stops at (microseconds since the Unix epoch). */
  readonly limit: bigint;
  /** The base backup's manifest (its `encryption` says which key the restore needs). */
  readonly manifest: BackupManifest;
}

/** Reads the archive and picks the base and segments, without touching the target. */
export async function planRestoreToTime(
  destination: StorageDestination,
  name: string,
  toTime: string,
): Promise<RestoreToTimePlan> {
  let time: bigint | "latest";
  if (toTime === "latest") time = "latest";
  else {
    try {
      time = isoToMicros(toTime);
    } catch (error) {
      throw new PitrError("INVALID_TIME", `--to-time: ${(error as Error).message}; use e.g. 2026-11-28T10:15:00Z, or latest`);
    }
  }
  const archive = await readArchive(destination, name);
  const window = chooseWindow(windows(archive), name, time);
  const manifest = await readManifest({ destination, folder: window.base.marker.backupId });
  return { window, limit: time === "latest" ? window.to : time, manifest };
}

export async function restoreToTime(options: RestoreToTimeOptions & { plan?: RestoreToTimePlan }): Promise<RestoreToTimeResult> {
  const started = Date.now();
  const { window, limit, manifest } =
    options.plan ?? (await planRestoreToTime(options.destination, options.name, options.toTime));
  const base = window.base;
  const location = { destination: options.destination, folder: base.marker.backupId };

  let pos: Lsn = base.lsn;
  let reached = { lsn: base.marker.lsn, time: base.marker.time };
  let transactions = 0;
  let changes = 0;
  let segmentsRead = 0;
  /** Sequences of the last segment whose transactions were all replayed. */
  let sequences: SegmentManifest["sequences"] = [];

  const replay = async (psqlWrite: (sql: string | Buffer) => Promise<void>) => {
    options.onProgress?.({ phase: "replay", transactions: 0 });
    await psqlWrite("SET standard_conforming_strings = on;\n");
    await psqlWrite(IDENTITY_ALWAYS_OFF);
    const batch = new StatementBatch(psqlWrite);
    let done = false;
    for (const segment of window.segments) {
      if (done || isoToMicros(segment.manifest.firstCommit.time) > limit) break;
      done = await replaySegment(segment, (sql) => batch.add(sql));
      segmentsRead++;
      if (!done) sequences = segment.manifest.sequences;
    }
    await batch.flush();
    await psqlWrite(IDENTITY_ALWAYS_RESTORE);
    await psqlWrite(sequencesSql(sequences));
  };

  const replaySegment = async (segment: ArchivedSegment, write: (sql: string) => Promise<void>): Promise<boolean> => {
    const { manifest: asManifest, file } = asPart(segment.manifest);
    const sql = new SqlWriter();
    let stopped = false;
    let skipping = false;
    let pending: ChangeLine[] | undefined;
    let malformed = false;
    try {
      const stream = await openPart(
        { destination: options.destination, folder: `${changesPrefix(options.name).slice(0, -1)}` },
        asManifest,
        file,
        {
          keys: options.keys,
          signal: options.signal,
        },
      );
      // Read to the end even after the stopping point: the checksum covers the whole file.
      for await (const text of createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY })) {
        if (stopped || !text) continue;
        let line: ChangeLine;
        try {
          line = JSON.parse(text) as ChangeLine;
        } catch {
          // A damaged segment can decompress into garbage before gzip's own check at its end: stop
          // replaying, but read on so the checksum (or the decompressor) reports what is wrong.
          malformed = true;
          stopped = true;
          continue;
        }
        switch (line.op) {
          case "R":
            sql.relation(line);
            break;
          case "B": {
            const lsn = parseLsn(line.lsn);
            if (lsn < pos) {
              skipping = true; // in the base, or already replayed from an overlapping segment
            } else if (isoToMicros(line.time) > limit || (window.endsAt && lsn > window.endsAt.lsn)) {
              stopped = true;
            } else {
              skipping = false;
              pending = [];
            }
            break;
          }
          case "C":
            if (!skipping && pending) {
              // A transaction goes out whole, once its commit is read.
              let out = "";
              for (const change of pending) out += sql.change(change);
              out += sql.flush();
              if (out) await write(out);
              changes += pending.length;
              transactions++;
              pos = parseLsn(line.end);
              reached = { lsn: line.lsn, time: line.time };
              if (transactions % 1000 === 0)
                options.onProgress?.({ phase: "replay", transactions, segment: segment.manifest.file });
            }
            pending = undefined;
            skipping = false;
            break;
          default:
            if (!skipping) pending?.push(line);
        }
      }
      if (malformed) {
        throw new BackupReadError(
          "DECOMPRESSION_FAILED",
          `${segment.manifest.file} holds a line that is not JSON: the segment is damaged`,
          {
            file: segment.manifest.file,
          },
        );
      }
    } catch (error) {
      if (BackupReadError.is(error) && ["CHECKSUM_MISMATCH", "DECOMPRESSION_FAILED", "FILE_MISSING"].includes(error.code)) {
        throw new BackupReadError(
          error.code,
          `${error.message}. The change archive of ${options.name} is intact only up to ${reachableBefore(segment)}; ` +
            `restore with --to-time ${reachableBefore(segment)} (or from another destination). Nothing was changed on the target`,
          { cause: error, file: segment.manifest.file },
        );
      }
      throw error;
    }
    return stopped;
  };

  /** The last commit before `segment` that replays from this base. */
  const reachableBefore = (segment: ArchivedSegment): string => {
    let last = base.marker.time;
    for (const s of window.segments) {
      if (s === segment) break;
      last = s.manifest.lastCommit.time;
    }
    return last;
  };

  options.onProgress?.({ phase: "base", transactions: 0 });
  await runRestore({
    source: location,
    targetUrl: options.targetUrl,
    clean: options.clean,
    keys: options.keys,
    manifest,
    signal: options.signal,
    env: options.env,
    replay,
  });
  return {
    name: options.name,
    baseId: base.marker.backupId,
    baseLsn: base.marker.lsn,
    baseTime: base.marker.time,
    reached,
    transactions,
    changes,
    segments: segmentsRead,
    durationMs: Date.now() - started,
  };
}

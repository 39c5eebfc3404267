/**
 * @module pitr/streamer
 * `runStream()`: the long-running archiver behind `stowage stream`.
 *
 * First start: a publication (`FOR ALL TABLES`, or for a role that is not a superuser, as on Supabase,
 * the tables it owns: source.ts) and a logical slot that exports its snapshot; a normal
 * Stowage backup taken in exactly that snapshot (the base); a base marker saying at which LSN and
 * time it stands. Then pgoutput changes are decoded into segments (segment-file.ts) closed every
 * `segmentSeconds` at a transaction boundary, stored on every destination (data file, then its
 * manifest), and only then confirmed to the slot. A crash or kill therefore loses nothing (the
 * slot re-sends what was not confirmed) and the restore side drops what a re-send repeats.
 */
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { Readable } from "node:stream";
import type { StorageDestination } from "@stowage/storage";
import { compressionStage, DEFAULT_LEVELS, type Stage } from "../archive/compress.ts";
import { createEncryption, type EncryptionOptions } from "../archive/encrypt.ts";
import { runBackup, shortId } from "../backup.ts";
import { BackupError, storageFailure } from "../errors.ts";
import type { Compression } from "../manifest.ts";
import { parseDatabaseUrl } from "../pg/connection.ts";
import { readArchive } from "./archive.ts";
import { ChangeDecoder } from "./decode.ts";
import {
  type BaseMarker,
  baseMarkerKey,
  type ChangeLine,
  type CommitPoint,
  changesPrefix,
  publicationName,
  SEGMENT_FORMAT_VERSION,
  type SegmentManifest,
  segmentFileName,
  segmentStem,
  slotName,
  slotPrefix,
} from "./format.ts";
import { formatLsn, type Lsn, microsToIso, parseLsn } from "./lsn.ts";
import { ReplicationConnection, type XLogData } from "./replication.ts";
import { type ClosedSegmentFile, SegmentFile } from "./segment-file.ts";
import { type RelationShape, SourceDatabase } from "./source.ts";

export interface StreamOptions {
  readonly databaseUrl: string;
  readonly destinations: readonly StorageDestination[];
  /** Name of the archive (first folder); default: the database name. */
  readonly name?: string;
  /** Close a segment this long after it opened (at the next transaction boundary). Default 60. */
  readonly segmentSeconds?: number;
  /** …or once it holds this many plain bytes. Default 64 MiB. */
  readonly segmentBytes?: number;
  readonly compression?: Compression;
  readonly encryption?: EncryptionOptions;
  /** Warn when the slot holds back more WAL than this. Default 1 GiB. */
  readonly maxLagBytes?: number;
  /** Emit a heartbeat transaction after this long without a commit. Default: segmentSeconds. */
  readonly heartbeatSeconds?: number;
  readonly tempDir?: string;
  readonly signal?: AbortSignal;
  readonly onEvent?: (event: StreamEvent) => void;
  readonly env?: NodeJS.ProcessEnv;
}

export type StreamEvent =
  | { type: "base"; backupId: string; lsn: string; time: string; reason: BaseMarker["reason"] }
  | { type: "resume"; slot: string; fromLsn: string }
  | { type: "streaming"; slot: string; fromLsn: string }
  | {
      type: "segment";
      key: string;
      startLsn: string;
      endLsn: string;
      transactions: number;
      changes: number;
      size: number;
      firstCommitTime: string;
      lastCommitTime: string;
      lagMs: number;
    }
  | { type: "retry"; destination: string; key: string; attempt: number; message: string }
  | { type: "lag"; slot: string; lagBytes: number; retainedBytes: number; maxLagBytes: number }
  /** Dumped tables a non-superuser's publication cannot carry (owned by another role): their changes are not archived. */
  | { type: "unpublished"; tables: string[] }
  | { type: "schema-change"; table: string; previousEndsAt: CommitPoint | null };

export interface StreamSummary {
  readonly name: string;
  readonly slot: string;
  readonly segments: number;
  readonly confirmedLsn: string;
}

interface OpenSegment {
  readonly file: SegmentFile;
  readonly start: Lsn;
  readonly openedAt: number;
  readonly relationsWritten: Set<number>;
  transactions: number;
  changes: number;
  firstCommit?: CommitPoint;
  lastCommit?: CommitPoint;
  end: Lsn;
}

interface ClosedSegment {
  readonly file: ClosedSegmentFile;
  readonly manifest: SegmentManifest;
  readonly stem: string;
  readonly end: Lsn;
  readonly lastCommitMs: number;
}

const CONTENT_TYPE: Record<Compression, string> = {
  gzip: "application/gzip",
  zstd: "application/zstd",
  none: "application/jsonl",
};
const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });

function safeName(database: string): string {
  return database.replace(/[^A-Za-z0-9._-]/g, "_").replace(/^[._-]+/, "") || "db";
}

async function putJson(destination: StorageDestination, key: string, value: unknown, signal?: AbortSignal): Promise<void> {
  const body = Buffer.from(`${JSON.stringify(value, null, 2)}\n`);
  await destination.upload(Readable.from([body]), key, { contentType: "application/json", size: body.length, signal });
}

export async function runStream(options: StreamOptions): Promise<StreamSummary> {
  const env = options.env ?? process.env;
  const signal = options.signal;
  if (options.destinations.length === 0) throw new BackupError("INVALID_OPTIONS", "no destination given: pass at least one --to");
  const segmentSeconds = options.segmentSeconds ?? 60;
  if (!(segmentSeconds > 0)) throw new BackupError("INVALID_OPTIONS", "--segment-seconds must be a positive number");
  const segmentBytes = options.segmentBytes ?? 64 * 1024 * 1024;
  const heartbeatMs = (options.heartbeatSeconds ?? segmentSeconds) * 1000;
  const maxLagBytes = options.maxLagBytes ?? 1024 ** 3;
  const compression = options.compression ?? "gzip";
  const target = parseDatabaseUrl(options.databaseUrl, env);
  const name = options.name ?? safeName(target.database);
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name) || name.length > 100)
    throw new BackupError("INVALID_OPTIONS", "invalid --name: use letters, digits, '.', '_' and '-' only");
  const compress = compressionStage(compression, DEFAULT_LEVELS[compression]);
  const encryption = options.encryption ? createEncryption(options.encryption) : undefined;
  const stages = (): Stage[] => [...(compress ? [compress()] : []), ...(encryption ? [encryption.stage] : [])];
  const emit = (event: StreamEvent) => options.onEvent?.(event);
  const publication = publicationName(name);
  const tempDir = options.tempDir ?? tmpdir();

  let baseLsn: Lsn = 0n;
  /**
   * Creates `slot` on `conn` with an exported snapshot and takes a base backup in it; the marker
   * names `markerSlot`'s archive. Returns the column shapes the base holds.
   */
  const takeBase = async (
    conn: ReplicationConnection,
    control: SourceDatabase,
    slot: string,
    temporary: boolean,
    reason: BaseMarker["reason"],
    previousEndsAt: CommitPoint | null,
    markerSlot = slot,
  ): Promise<RelationShape[]> => {
    const created = await conn.createSlot(slot, { serverVersionNum: control.versionNum, temporary });
    const time = await control.now();
    const shapes = await control.relationShapes(created.snapshot);
    const result = await runBackup({
      databaseUrl: options.databaseUrl,
      destinations: options.destinations,
      name,
      compression,
      encryption: options.encryption,
      snapshot: created.snapshot,
      signal,
      env,
    });
    const failed = result.destinations.find((d) => !d.ok);
    if (failed && !failed.ok) throw failed.error;
    const marker: BaseMarker = {
      format: "stowage-pitr-base",
      formatVersion: SEGMENT_FORMAT_VERSION,
      name,
      backupId: result.backupId,
      lsn: formatLsn(created.lsn),
      time: microsToIso(time),
      slot: markerSlot,
      publication,
      reason,
      previousEndsAt,
      relations: shapes.map((s) => ({ schema: s.schema, name: s.name, columns: s.columns })),
      createdAt: new Date().toISOString(),
    };
    for (const d of options.destinations) await putJson(d, baseMarkerKey(name, result.backupId), marker, signal);
    emit({ type: "base", backupId: result.backupId, lsn: marker.lsn, time: marker.time, reason });
    baseLsn = created.lsn;
    return shapes;
  };
  /** After a schema change: a new base in a temporary slot's snapshot, on connections of its own. */
  const schemaChangeBase = async (mainSlot: string, previousEndsAt: CommitPoint | null): Promise<RelationShape[]> => {
    const control = await SourceDatabase.open(target);
    const conn = await ReplicationConnection.open(target, "stowage stream (new base)");
    try {
      // A new table must be in a listed publication before the base's snapshot, so that its changes
      // after the base are streamed (FOR ALL TABLES has it already).
      await control.syncPublication(publication);
      return await takeBase(
        conn,
        control,
        `${mainSlot}_b${shortId()}`.slice(0, 63),
        true,
        "schema-change",
        previousEndsAt,
        mainSlot,
      );
    } finally {
      await conn.close(); // drops the temporary slot
      await control.close();
    }
  };

  const source = await SourceDatabase.open(target);
  let repl: ReplicationConnection | undefined;
  try {
    await source.checkWalLevel();
    const missing = await source.tablesWithoutIdentity();
    if (missing.length > 0) {
      throw new BackupError(
        "INVALID_OPTIONS",
        `${missing.length} table(s) have no primary key or replica identity: ${missing.slice(0, 5).join(", ")}${missing.length > 5 ? ", …" : ""}. ` +
          "Once published, UPDATE and DELETE on them would fail on the source. Add a primary key, or run ALTER TABLE … REPLICA IDENTITY FULL, then start again",
      );
    }
    const unpublished = await source.ensurePublication(publication);
    if (unpublished.length > 0) emit({ type: "unpublished", tables: unpublished });

    // Resume when a slot of this name has a base on the destinations; otherwise start over.
    const archives = await Promise.all(options.destinations.map((d) => readArchive(d, name)));
    // A streamer killed a moment ago leaves its slot active until the server notices: wait a little.
    let slots = await source.slots(slotPrefix(name));
    for (let waited = 0; slots.some((s) => s.active) && waited < 15_000; waited += 500) {
      await sleep(500, signal);
      slots = await source.slots(slotPrefix(name));
    }
    const active = slots.find((s) => s.active);
    if (active) {
      throw new BackupError(
        "INVALID_OPTIONS",
        `another stowage stream is already archiving ${name} (slot ${active.slot} is in use); stop it first, or pick another --name`,
      );
    }
    const resumable = slots.find((s) => archives.every((a) => a.bases.some((b) => b.marker.slot === s.slot)));
    for (const s of slots) if (s !== resumable) await source.dropSlot(s.slot);

    let slot: string;
    let startLsn: Lsn;
    let shapes: RelationShape[];
    repl = await ReplicationConnection.open(target);
    if (resumable) {
      slot = resumable.slot;
      const bases = archives[0]!.bases.filter((b) => b.marker.slot === slot);
      const latest = bases[bases.length - 1]!;
      shapes = latest.marker.relations.map((r) => ({ schema: r.schema, name: r.name, columns: r.columns }));
      // From the earliest point any destination still needs (a kill between two destinations' writes).
      let from = resumable.confirmedLsn ?? latest.lsn;
      for (const archive of archives) {
        let end = latest.lsn;
        for (const s of archive.segments) if (s.start >= latest.lsn && s.end > end && s.start <= end) end = s.end;
        if (end < from) from = end;
      }
      startLsn = from;
      emit({ type: "resume", slot, fromLsn: formatLsn(startLsn) });
    } else {
      slot = slotName(name, shortId());
      try {
        shapes = await takeBase(repl, source, slot, false, "initial", null);
      } catch (error) {
        await repl.close();
        repl = undefined;
        await source.dropSlot(slot).catch(() => {});
        throw error;
      }
      startLsn = baseLsn;
    }
    const summary = await streamChanges({
      repl,
      source,
      slot,
      shapes,
      newBase: (previousEndsAt) => schemaChangeBase(slot, previousEndsAt),
      publication,
      startLsn,
      name,
      destinations: options.destinations,
      segmentMs: segmentSeconds * 1000,
      segmentBytes,
      heartbeatMs,
      maxLagBytes,
      compression,
      encryptionManifest: encryption?.manifest ?? null,
      stages,
      tempDir,
      emit,
      signal,
    });
    return summary;
  } finally {
    await repl?.close();
    await source.close();
  }
}

interface StreamContext {
  readonly repl: ReplicationConnection;
  readonly source: SourceDatabase;
  readonly slot: string;
  /** Column shapes of the latest base's tables. */
  readonly shapes: RelationShape[];
  /** Takes a new base after a schema change; resolves with its shapes. */
  readonly newBase: (previousEndsAt: CommitPoint | null) => Promise<RelationShape[]>;
  readonly publication: string;
  readonly startLsn: Lsn;
  readonly name: string;
  readonly destinations: readonly StorageDestination[];
  readonly segmentMs: number;
  readonly segmentBytes: number;
  readonly heartbeatMs: number;
  readonly maxLagBytes: number;
  readonly compression: Compression;
  readonly encryptionManifest: SegmentManifest["encryption"];
  readonly stages: () => Stage[];
  readonly tempDir: string;
  readonly emit: (event: StreamEvent) => void;
  readonly signal?: AbortSignal;
}

async function streamChanges(ctx: StreamContext): Promise<StreamSummary> {
  const { repl, source, signal } = ctx;
  const decoder = new ChangeDecoder();
  const shapeKey = (schema: string, table: string) => JSON.stringify([schema, table]);
  const shapeMap = (list: readonly RelationShape[]) =>
    new Map(list.map((r) => [shapeKey(r.schema, r.name), JSON.stringify(r.columns)]));
  let shapes = shapeMap(ctx.shapes);
  /** The last commit handled, and the one before the transaction being read (where a schema change cuts). */
  let lastCommit: CommitPoint | null = null;
  let commitBeforeTransaction: CommitPoint | null = null;
  let baseRunning = false;
  const startNewBase = (table: string, previousEndsAt: CommitPoint | null) => {
    if (baseRunning) return;
    baseRunning = true;
    ctx.emit({ type: "schema-change", table, previousEndsAt });
    ctx.newBase(previousEndsAt).then(
      (fresh) => {
        shapes = shapeMap(fresh);
        baseRunning = false;
      },
      (error) => fail(error),
    );
  };
  const relations = new Map<number, Extract<ChangeLine, { op: "R" }>>();
  const queue: Array<XLogData | "tick"> = [];
  const uploads: ClosedSegment[] = [];
  let segment: OpenSegment | undefined;
  let segmentStart = ctx.startLsn;
  let received = ctx.startLsn;
  let confirmed = ctx.startLsn;
  let inTransaction = false;
  let lastCommitAt = Date.now();
  let stored = 0;
  let fatal: unknown;
  let paused = false;
  let heartbeating = false;
  let lastStatusAt = 0;
  let lastLagCheck = Date.now();

  const stop = new AbortController();
  const onAbort = () => stop.abort();
  signal?.addEventListener("abort", onAbort, { once: true });
  const fail = (error: unknown) => {
    fatal ??= error;
    stop.abort();
  };

  const sendStatus = (reply = false) => {
    lastStatusAt = Date.now();
    try {
      repl.sendStatus(received, confirmed, reply);
    } catch (error) {
      fail(error);
    }
  };

  const openSegment = (): OpenSegment => {
    const stem = segmentStem(ctx.name, segmentStart, segmentStart);
    return {
      file: SegmentFile.in(ctx.tempDir, stem, ctx.stages()),
      start: segmentStart,
      openedAt: Date.now(),
      relationsWritten: new Set(),
      transactions: 0,
      changes: 0,
      end: segmentStart,
    };
  };

  const writeRelation = async (seg: OpenSegment, rel: number) => {
    if (seg.relationsWritten.has(rel)) return;
    const line = relations.get(rel);
    if (!line) throw new Error(`change for relation ${rel} before its relation message`);
    await seg.file.write(line);
    seg.relationsWritten.add(rel);
  };

  const closeSegment = async () => {
    const seg = segment;
    if (!seg || inTransaction) return;
    segment = undefined;
    if (seg.transactions === 0) {
      await seg.file.discard();
      return;
    }
    const file = await seg.file.close();
    const stem = segmentStem(ctx.name, seg.start, seg.end);
    const fileName = segmentFileName(stem, ctx.compression, ctx.encryptionManifest !== null);
    const manifest: SegmentManifest = {
      format: "stowage-changes",
      formatVersion: SEGMENT_FORMAT_VERSION,
      name: ctx.name,
      file: fileName.slice(changesPrefix(ctx.name).length),
      startLsn: formatLsn(seg.start),
      endLsn: formatLsn(seg.end),
      firstCommit: seg.firstCommit!,
      lastCommit: seg.lastCommit!,
      transactions: seg.transactions,
      changes: seg.changes,
      compression: ctx.compression,
      encryption: ctx.encryptionManifest,
      size: file.size,
      sha256: file.sha256,
      plainSize: file.plainSize,
      plainSha256: file.plainSha256,
      sequences: await source.sequences(),
      createdAt: new Date().toISOString(),
    };
    segmentStart = seg.end;
    // DDL that no change has shown yet (a new column nobody wrote to, a new empty table).
    if (!baseRunning) {
      const now = shapeMap(await source.relationShapes());
      const changed = [...new Set([...now.keys(), ...shapes.keys()])].find((k) => now.get(k) !== shapes.get(k));
      if (changed) startNewBase((JSON.parse(changed) as string[]).join("."), lastCommit);
    }
    uploads.push({ file, manifest, stem, end: seg.end, lastCommitMs: Date.parse(seg.lastCommit!.time) });
    if (uploads.length === 1) void uploadLoop();
  };

  /** Stores one segment on one destination, retrying until it is there or the stream stops. */
  const storeOn = async (destination: StorageDestination, item: ClosedSegment) => {
    const dataKey = `${changesPrefix(ctx.name)}${item.manifest.file}`;
    for (let attempt = 1; ; attempt++) {
      try {
        const result = await destination.upload({ path: item.file.path }, dataKey, {
          contentType: CONTENT_TYPE[ctx.compression],
          size: item.file.size,
          signal: stop.signal,
        });
        if (result.sha256 !== item.file.sha256 || result.size !== item.file.size) {
          throw new Error(`${dataKey} was stored with a different size or checksum than was sent`);
        }
        await putJson(destination, `${item.stem}.json`, item.manifest, stop.signal);
        return;
      } catch (error) {
        if (stop.signal.aborted) throw error;
        const message = storageFailure(error, `upload of ${dataKey} to ${destination.name}`).message;
        ctx.emit({ type: "retry", destination: destination.name, key: dataKey, attempt, message });
        await sleep(Math.min(30_000, 250 * 2 ** Math.min(attempt, 7)), stop.signal);
        if (stop.signal.aborted) throw error;
      }
    }
  };

  const uploadLoop = async () => {
    try {
      while (uploads.length > 0 && !stop.signal.aborted) {
        const item = uploads[0]!;
        await Promise.all(ctx.destinations.map((d) => storeOn(d, item)));
        // On every destination: only now may the slot forget these changes.
        confirmed = item.end;
        uploads.shift();
        stored++;
        sendStatus();
        await rm(item.file.path, { force: true });
        ctx.emit({
          type: "segment",
          key: `${item.stem}.json`,
          startLsn: item.manifest.startLsn,
          endLsn: item.manifest.endLsn,
          transactions: item.manifest.transactions,
          changes: item.manifest.changes,
          size: item.file.size,
          firstCommitTime: item.manifest.firstCommit.time,
          lastCommitTime: item.manifest.lastCommit.time,
          lagMs: Date.now() - item.lastCommitMs,
        });
      }
    } catch (error) {
      if (!stop.signal.aborted) fail(error);
    }
  };

  const handle = async (data: XLogData) => {
    if (data.walStart > received) received = data.walStart;
    const line = decoder.decode(data.payload);
    if (!line) return;
    switch (line.op) {
      case "R": {
        relations.set(line.rel, line);
        segment?.relationsWritten.delete(line.rel);
        // Decoding carries no DDL, but a table whose columns differ from the base's (or a new table)
        // means the base can no longer take these changes: a new base is needed from here on.
        const columns = JSON.stringify(line.columns.map((c) => [c.name, c.type]));
        if (!baseRunning && shapes.get(shapeKey(line.schema, line.table)) !== columns) {
          startNewBase(`${line.schema}.${line.table}`, commitBeforeTransaction);
        }
        return;
      }
      case "B":
        segment ??= openSegment();
        inTransaction = true;
        commitBeforeTransaction = lastCommit;
        await segment.file.write(line);
        return;
      case "C": {
        const seg = segment!;
        await seg.file.write(line);
        inTransaction = false;
        seg.transactions++;
        const point = { lsn: line.lsn, time: line.time };
        lastCommit = point;
        seg.firstCommit ??= point;
        seg.lastCommit = point;
        seg.end = parseLsn(line.end);
        if (seg.end > received) received = seg.end;
        lastCommitAt = Date.now();
        if (Date.now() - seg.openedAt >= ctx.segmentMs || seg.file.bytes >= ctx.segmentBytes) await closeSegment();
        return;
      }
      case "T":
        for (const rel of line.rels) await writeRelation(segment!, rel);
        segment!.changes++;
        await segment!.file.write(line);
        return;
      default:
        await writeRelation(segment!, line.rel);
        segment!.changes++;
        await segment!.file.write(line);
    }
  };

  /** Warns (a "lag" event) when the slot holds back more WAL than --max-lag. */
  const checkLag = async () => {
    const status = (await source.slots(ctx.slot)).find((s) => s.slot === ctx.slot);
    if (status && status.lagBytes > ctx.maxLagBytes) {
      ctx.emit({
        type: "lag",
        slot: ctx.slot,
        lagBytes: status.lagBytes,
        retainedBytes: status.retainedBytes,
        maxLagBytes: ctx.maxLagBytes,
      });
    }
  };

  const tick = async () => {
    const now = Date.now();
    if (segment && !inTransaction && now - segment.openedAt >= ctx.segmentMs) await closeSegment();
    if (!heartbeating && !inTransaction && now - lastCommitAt >= ctx.heartbeatMs && source.versionNum >= 140000) {
      heartbeating = true;
      lastCommitAt = now;
      source.heartbeat().then(
        () => (heartbeating = false),
        (error) => fail(error),
      );
    }
    if (now - lastStatusAt >= 10_000) sendStatus();
    if (now - lastLagCheck >= 30_000) {
      lastLagCheck = now;
      await checkLag();
    }
  };

  let draining = false;
  const drain = async () => {
    if (draining) return;
    draining = true;
    try {
      while (queue.length > 0 && !stop.signal.aborted) {
        const item = queue.shift()!;
        if (item === "tick") await tick();
        else await handle(item);
        if (paused && queue.length < 256) {
          paused = false;
          repl.resume();
        }
      }
    } catch (error) {
      fail(error);
    } finally {
      draining = false;
    }
  };

  const push = (item: XLogData | "tick") => {
    if (stop.signal.aborted) return;
    queue.push(item);
    if (!paused && queue.length > 4096) {
      paused = true;
      repl.pause();
    }
    void drain();
  };

  // Once before streaming: a slot nobody read for a while is most likely far behind right at a
  // restart, and the user should hear it then, not 30 s later. Then every 30 s (tick).
  await checkLag();
  const streaming = repl.start(
    ctx.slot,
    ctx.publication,
    ctx.startLsn,
    {
      onData: (data) => push(data),
      onKeepalive: (k) => {
        if (k.replyRequested) sendStatus();
      },
    },
    { messages: source.versionNum >= 140000 },
  );
  streaming.then(
    () => fail(new BackupError("UNREACHABLE", "the replication stream ended: the source closed the connection")),
    (error) => fail(error),
  );
  ctx.emit({ type: "streaming", slot: ctx.slot, fromLsn: formatLsn(ctx.startLsn) });
  const timer = setInterval(() => push("tick"), Math.max(50, Math.min(1000, ctx.segmentMs / 4)));
  await new Promise<void>((resolve) => {
    if (stop.signal.aborted) resolve();
    else stop.signal.addEventListener("abort", () => resolve(), { once: true });
  });
  clearInterval(timer);
  signal?.removeEventListener("abort", onAbort);
  await segment?.file.discard();
  for (const item of uploads) await rm(item.file.path, { force: true });
  if (fatal && !signal?.aborted) throw fatal;
  return { name: ctx.name, slot: ctx.slot, segments: stored, confirmedLsn: formatLsn(confirmed) };
}

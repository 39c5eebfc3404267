/**
 * @module pitr/segment-file
 * Writes one segment to a local temporary file while changes arrive, through the same stages as a
 * backup part (archive/): plain SHA-256 → gzip/zstd → optional age → stored SHA-256 → file. The
 * file, not memory, holds the segment until every destination has it, so a long transaction or a
 * destination that is down for an hour costs disk, not RAM.
 */
import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { pipeline } from "node:stream/promises";
import { ByteMeter } from "@stowage/storage";
import type { Stage } from "../archive/compress.ts";
import type { ChangeLine } from "./format.ts";

export interface ClosedSegmentFile {
  readonly path: string;
  readonly size: number;
  readonly sha256: string;
  readonly plainSize: number;
  readonly plainSha256: string;
}

export class SegmentFile {
  private readonly input = new PassThrough({ highWaterMark: 256 * 1024 });
  private readonly plain = new ByteMeter();
  private readonly stored = new ByteMeter();
  private readonly done: Promise<void>;
  /** Plain bytes written so far (for the size limit). */
  bytes = 0;

  constructor(
    readonly path: string,
    stages: readonly Stage[],
  ) {
    this.done = pipeline(this.input, this.plain, ...(stages as []), this.stored, createWriteStream(path, { mode: 0o600 }));
    this.done.catch(() => {});
  }

  static in(dir: string, stem: string, stages: readonly Stage[]): SegmentFile {
    return new SegmentFile(join(dir, `${stem.replace(/\//g, "_")}.${process.pid}.${Date.now()}.part`), stages);
  }

  async write(line: ChangeLine): Promise<void> {
    const text = `${JSON.stringify(line)}\n`;
    this.bytes += Buffer.byteLength(text);
    if (!this.input.write(text)) await Promise.race([once(this.input, "drain"), this.done]);
  }

  async close(): Promise<ClosedSegmentFile> {
    this.input.end();
    await this.done;
    const plain = await this.plain.totals();
    const stored = await this.stored.totals();
    return { path: this.path, size: stored.bytes, sha256: stored.sha256, plainSize: plain.bytes, plainSha256: plain.sha256 };
  }

  async discard(): Promise<void> {
    this.input.destroy();
    await this.done.catch(() => {});
    await rm(this.path, { force: true });
  }
}

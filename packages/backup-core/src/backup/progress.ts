/**
 * @module backup/progress
 * The backup's progress reports: bytes dumped and stored over all parts, what each destination has
 * read, throttled to one call per `intervalMs` (pg_dump's output arrives in thousands of chunks a
 * second) plus one forced call at the end of each part.
 */
import type { BackupProgress } from "../backup.ts";
import type { PartRole } from "../manifest.ts";

export class BackupMeter {
  private part: PartRole = "roles";
  private bytesDumped = 0;
  private bytesStored = 0;
  private lastReport = 0;

  constructor(
    private readonly onProgress: ((progress: BackupProgress) => void) | undefined,
    private readonly intervalMs: number,
    private readonly startedAt: Date,
    private readonly uploaded: () => BackupProgress["uploaded"],
  ) {}

  /** Starts counting a part; the callbacks take that part's running totals (Hasher's `onBytes`). */
  startPart(part: PartRole): { plain: (bytes: number) => void; stored: (bytes: number) => void } {
    this.part = part;
    const dumpedBefore = this.bytesDumped;
    const storedBefore = this.bytesStored;
    return {
      plain: (bytes) => {
        this.bytesDumped = dumpedBefore + bytes;
        this.report(false);
      },
      stored: (bytes) => {
        this.bytesStored = storedBefore + bytes;
      },
    };
  }

  report(force: boolean): void {
    if (!this.onProgress) return;
    const now = performance.now();
    if (!force && now - this.lastReport < this.intervalMs) return;
    this.lastReport = now;
    const elapsedMs = Date.now() - this.startedAt.getTime();
    this.onProgress({
      part: this.part,
      bytesDumped: this.bytesDumped,
      bytesStored: this.bytesStored,
      uploaded: this.uploaded(),
      elapsedMs,
      bytesPerSecond: elapsedMs > 0 ? Math.round((this.bytesDumped / elapsedMs) * 1000) : 0,
    });
  }
}

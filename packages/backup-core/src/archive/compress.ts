/**
 * @module archive/compress
 * Compression stages: gzip as independent members deflated on worker threads (parallel-gzip.ts,
 * as pigz; `STOWAGE_COMPRESS_THREADS` threads, default one per core up to 4), zstd through the `zstd`
 * binary (Node 20 has no zstd; `-T0` uses every core), or none.
 * Each stage is an async-generator transform for `stream.pipeline`, so backpressure is kept.
 */
import { access, constants } from "node:fs/promises";
import { delimiter, join } from "node:path";
import type { Transform } from "node:stream";
import { BackupError } from "../errors.ts";
import type { Compression } from "../manifest.ts";
import { compressThreads, parallelGzipStage } from "./parallel-gzip.ts";
import { zstdStage } from "./zstd.ts";

/** One pipeline stage: a Transform stream or an async-generator transform. */
export type Stage = Transform | ((source: AsyncIterable<Buffer>, options?: { signal?: AbortSignal }) => AsyncIterable<Buffer>);

export interface CompressionOptions {
  readonly zstdPath?: string;
  /** gzip worker threads; default `STOWAGE_COMPRESS_THREADS` from `env`, else one per core up to 4. */
  readonly threads?: number;
  /** Where `STOWAGE_COMPRESS_THREADS` is read; default process.env. */
  readonly env?: NodeJS.ProcessEnv;
}

export const DEFAULT_LEVELS: Record<Compression, number> = { gzip: 6, zstd: 3, none: 0 };

const ZSTD_MISSING = "zstd compression needs the zstd program: apt-get install zstd (or use gzip)";

/**
 * Fails early, before any dump, when the zstd program is not on `PATH` (the one its stage spawns
 * from). A lookup, as `which` does, not a `zstd --version`: starting a process from a Node process
 * costs ~25 ms on every backup's start. A zstd that is there but broken still fails the backup
 * before the manifest, with its own exit status (archive/zstd.ts).
 */
export async function checkCompressor(compression: Compression, zstdPath = "zstd", path = process.env.PATH ?? ""): Promise<void> {
  if (compression !== "zstd") return;
  const candidates = zstdPath.includes("/")
    ? [zstdPath]
    : path
        .split(delimiter)
        .filter(Boolean)
        .map((dir) => join(dir, zstdPath));
  for (const candidate of candidates) {
    try {
      await access(candidate, constants.X_OK);
      return;
    } catch {}
  }
  throw new BackupError("COMPRESSOR_MISSING", ZSTD_MISSING);
}

function zstdCompressStage(level: number, zstdPath: string): Stage {
  // -T0: one worker per core, like `zstd -T0`; -q: no progress on stderr.
  return zstdStage({
    args: [`-${level}`, "-T0", "-q", "-c"],
    zstdPath,
    failed: (code, stderr) => new BackupError("COMPRESSION_FAILED", `zstd exited with status ${code}: ${stderr}`),
    notStarted: () => new BackupError("COMPRESSOR_MISSING", ZSTD_MISSING),
  });
}

/**
 * A factory of fresh stages (one per file), or `undefined` for no compression. Throws
 * INVALID_OPTIONS now, before any dump, for a bad thread count.
 */
export function compressionStage(
  compression: Compression,
  level = DEFAULT_LEVELS[compression],
  options: CompressionOptions = {},
): (() => Stage) | undefined {
  switch (compression) {
    case "gzip": {
      const threads = compressThreads(options.threads, options.env);
      return () => parallelGzipStage({ level, threads });
    }
    case "zstd":
      return () => zstdCompressStage(level, options.zstdPath ?? "zstd");
    case "none":
      return undefined;
  }
}

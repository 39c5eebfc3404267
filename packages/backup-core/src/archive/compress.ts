/**
 * @module archive/compress
 * Compression stages: gzip through node:zlib (runs on libuv's thread pool, so it overlaps with
 * the rest of the pipeline), zstd through the `zstd` binary (Node 20 has no zstd), or none.
 * Each stage is an async-generator transform for `stream.pipeline`, so backpressure is kept.
 */
import { spawn } from "node:child_process";
import type { Transform } from "node:stream";
import { createGzip } from "node:zlib";
import { BackupError } from "../errors.ts";
import type { Compression } from "../manifest.ts";
import { zstdStage } from "./zstd.ts";

/** One pipeline stage: a Transform stream or an async-generator transform. */
export type Stage = Transform | ((source: AsyncIterable<Buffer>) => AsyncIterable<Buffer>);

export const DEFAULT_LEVELS: Record<Compression, number> = { gzip: 6, zstd: 3, none: 0 };

/** Fails early, before any dump, when the zstd binary is missing. */
export async function checkCompressor(compression: Compression, zstdPath = "zstd"): Promise<void> {
  if (compression !== "zstd") return;
  await new Promise<void>((resolve, reject) => {
    const child = spawn(zstdPath, ["--version"], { stdio: "ignore" });
    child.once("error", () =>
      reject(
        new BackupError("COMPRESSOR_MISSING", "zstd compression needs the zstd program: apt-get install zstd (or use gzip)"),
      ),
    );
    child.once("close", (code) =>
      code === 0
        ? resolve()
        : reject(new BackupError("COMPRESSOR_MISSING", `zstd --version exited with status ${code}: reinstall zstd`)),
    );
  });
}

function gzipStage(level: number): Stage {
  return createGzip({ level, chunkSize: 64 * 1024 });
}

function zstdCompressStage(level: number, zstdPath: string): Stage {
  // -T0: one worker per core, like `zstd -T0`; -q: no progress on stderr.
  return zstdStage({
    args: [`-${level}`, "-T0", "-q", "-c"],
    zstdPath,
    failed: (code, stderr) => new BackupError("DUMP_FAILED", `zstd exited with status ${code}: ${stderr}`),
    notStarted: () =>
      new BackupError("COMPRESSOR_MISSING", "zstd compression needs the zstd program: apt-get install zstd (or use gzip)"),
  });
}

/** A factory of fresh stages (one per file), or `undefined` for no compression. */
export function compressionStage(
  compression: Compression,
  level = DEFAULT_LEVELS[compression],
  zstdPath = "zstd",
): (() => Stage) | undefined {
  switch (compression) {
    case "gzip":
      return () => gzipStage(level);
    case "zstd":
      return () => zstdCompressStage(level, zstdPath);
    case "none":
      return undefined;
  }
}

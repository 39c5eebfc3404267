/**
 * @module backup/dump-part
 * One part of a backup (`schema.sql.gz`, `data.sql.gz`, …) from the tool to every destination at
 * once: pg_dump (or pg_dumpall) → 128 KiB chunks → the part's framing/filters → SHA-256 of the plain
 * SQL → compression → age → SHA-256 of the stored bytes → fan-out to each destination's upload.
 * Nothing is buffered whole: the slowest destination paces the dump (archive/fan-out.ts).
 *
 * Only the source can fail this function (pg_dump, a filter, the compressor, an abort): it throws.
 * A destination that fails is the caller's business: its outcome comes back in `outcomes`, and
 * when every destination failed the dump is stopped and the function returns normally.
 */
import { pipeline } from "node:stream/promises";
import { coalesce } from "../archive/coalesce.ts";
import type { Stage } from "../archive/compress.ts";
import { AllDestinationsFailedError, type BranchOutcome, FanOut, type FanOutTarget } from "../archive/fan-out.ts";
import { Hasher } from "../archive/hasher.ts";
import type { DumpPart } from "../dump/plan.ts";
import { runTool } from "../dump/run-tool.ts";

export interface PartPipeline {
  readonly part: DumpPart;
  /** Path of the tool the part runs (pg/tools.ts). */
  readonly command: string;
  /** The tool's environment (PGPASSWORD, never the password on its command line). */
  readonly env: NodeJS.ProcessEnv;
  readonly secrets: readonly string[];
  readonly compress: (() => Stage) | undefined;
  readonly encrypt: Stage | undefined;
  /** One upload per destination still live, in the caller's order. */
  readonly targets: readonly FanOutTarget[];
  /** Plain SQL bytes of this part so far. */
  readonly onPlainBytes?: (bytes: number) => void;
  /** Stored (compressed, encrypted) bytes of this part so far. */
  readonly onStoredBytes?: (bytes: number) => void;
  readonly signal?: AbortSignal;
}

/** Size and SHA-256 of a stream; `sha256` is undefined when the stream was stopped before its end. */
export interface Digest {
  readonly bytes: number;
  readonly sha256: string | undefined;
}

export interface DumpedPart {
  readonly plain: Digest;
  readonly stored: Digest;
  /** One per target, in the order given. */
  readonly outcomes: readonly BranchOutcome[];
}

export async function dumpPart(p: PartPipeline): Promise<DumpedPart> {
  const plain = new Hasher(p.onPlainBytes);
  const stored = new Hasher(p.onStoredBytes);
  const fan = new FanOut(p.targets);
  const stages: Stage[] = [];
  const compressor = p.compress?.();
  if (compressor) stages.push(compressor);
  if (p.encrypt) stages.push(p.encrypt);
  try {
    await pipeline(
      runTool({ command: p.command, args: p.part.args, env: p.env, secrets: p.secrets, signal: p.signal }),
      coalesce(),
      p.part.transform(),
      plain,
      ...(stages as []),
      stored,
      fan,
      { signal: p.signal },
    );
  } catch (error) {
    if (!(error instanceof AllDestinationsFailedError)) throw error;
  }
  return {
    plain: { bytes: plain.bytes, sha256: plain.digest },
    stored: { bytes: stored.bytes, sha256: stored.digest },
    outcomes: await fan.outcomes(),
  };
}

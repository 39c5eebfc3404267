/**
 * @module providers/s3/part-size
 * Picks the multipart part size. S3 allows at most 10,000 parts of 5 MiB–5 GiB each, and every part
 * but the last must have the same size (R2 enforces this), so the size is fixed before the first
 * byte is read. For a stream of unknown length the size must let 10,000 parts reach 1 TiB. Parts are
 * spooled to disk (multipart-upload.ts), so the part size costs temp disk space, (queueSize + 1) ×
 * partSize, not memory; it should still be no larger than the 1 TiB goal needs.
 */

export const MiB = 1024 * 1024;
export const TiB = 1024 * 1024 * MiB;
/** S3's limits (also R2's and MinIO's). */
export const MAX_PARTS = 10_000;
export const MIN_PART_SIZE = 5 * MiB;
export const MAX_PART_SIZE = 5 * 1024 * MiB;

/**
 * Default for streams of unknown length: 112 MiB. The smallest size that reaches 1 TiB in 10,000
 * parts is 104.9 MiB; 112 MiB (7 × 16 MiB) reaches 1.07 TiB, a 7% margin. At queueSize 2 an upload
 * spools at most 3 × 112 = 336 MiB on disk. (lib-storage, which buffered parts in memory, peaked at
 * ≈ 600 MiB RSS for 1 GiB with this size.)
 */
export const DEFAULT_UNKNOWN_LENGTH_PART_SIZE = 112 * MiB;

/** Floor when the length is known: below this, per-request overhead dominates throughput. */
export const MIN_KNOWN_LENGTH_PART_SIZE = 16 * MiB;

/**
 * Headroom when the caller gave a size: plan for 9,000 parts, so a size hint that is a little low
 * (a file that grew, an estimate) still fits in 10,000.
 */
const PLANNED_PARTS_FOR_KNOWN_SIZE = 9_000;

const roundUpToMiB = (bytes: number) => Math.ceil(bytes / MiB) * MiB;

/** Largest object a multipart upload with this part size can hold. */
export const maxObjectSize = (partSize: number): number => partSize * MAX_PARTS;

/**
 * The part size for one upload.
 * - `configured` (the `partSizeBytes` config) wins, raised if a known size would not fit in 10,000 parts.
 * - Otherwise a known `sizeHint` gives the smallest whole-MiB size that fits in 9,000 parts (min 16 MiB).
 * - Otherwise the unknown-length default.
 */
export function choosePartSize(options: { configured?: number; sizeHint?: number }): number {
  const { configured, sizeHint } = options;
  const neededForHint = sizeHint !== undefined && sizeHint > 0 ? roundUpToMiB(sizeHint / PLANNED_PARTS_FOR_KNOWN_SIZE) : 0;
  let size: number;
  if (configured !== undefined) size = Math.max(configured, neededForHint);
  else if (sizeHint !== undefined) size = Math.max(MIN_KNOWN_LENGTH_PART_SIZE, neededForHint);
  else size = DEFAULT_UNKNOWN_LENGTH_PART_SIZE;
  return Math.min(MAX_PART_SIZE, Math.max(MIN_PART_SIZE, size));
}

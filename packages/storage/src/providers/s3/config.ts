/**
 * @module providers/s3/config
 * The S3 provider's configuration (AWS S3, Cloudflare R2 with `region: auto`, MinIO with `forcePathStyle`).
 */
import { isAbsolute } from "node:path";
import { z } from "zod";
import { MAX_PART_SIZE, MIN_PART_SIZE } from "./part-size.ts";

/** A prefix is a key without the leading/trailing slashes: no `.`/`..`/empty segments, no backslashes. */
const safePrefix = (prefix: string) => {
  const trimmed = prefix.replace(/^\/+|\/+$/g, "");
  return trimmed === "" || (!trimmed.includes("\\") && trimmed.split("/").every((s) => s !== "" && s !== "." && s !== ".."));
};

export const s3ConfigSchema = z.object({
  /** Custom endpoint for R2, MinIO and other S3-compatible servers; omit for AWS. */
  endpoint: z
    .url()
    // zod runs these after a failed `url()` too: an unparsable value is that check's to report.
    .refine((u) => !URL.canParse(u) || /^https?:$/.test(new URL(u).protocol), "must be an http:// or https:// URL")
    // The endpoint is shown in display names, messages and the web UI: a user:password in it would be too.
    .refine((u) => {
      if (!URL.canParse(u)) return true;
      const url = new URL(u);
      return url.username === "" && url.password === "";
    }, "must not contain a user name or password: give the keys as S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY")
    .optional(),
  /** `auto` for Cloudflare R2. */
  region: z.string().min(1).default("us-east-1"),
  bucket: z.string().min(3).max(63),
  /** Key prefix inside the bucket, without leading slash. */
  prefix: z.string().default("").refine(safePrefix, "must be a relative path without '.', '..' or empty segments"),
  accessKeyId: z.string().min(1),
  secretAccessKey: z.string().min(1),
  sessionToken: z.string().optional(),
  /** Path-style addressing (`endpoint/bucket/key`), required by MinIO and s3rver. */
  forcePathStyle: z.boolean().default(false),
  /**
   * Multipart part size. Default: 112 MiB for streams of unknown length (10,000 parts reach 1.07 TiB),
   * or sized from the length when the caller knows it. See part-size.ts.
   */
  partSizeBytes: z
    .number()
    .int()
    .min(MIN_PART_SIZE, "must be at least 5 MiB (5242880 bytes), S3's minimum part size")
    .max(MAX_PART_SIZE, "must be at most 5 GiB, S3's maximum part size")
    .optional(),
  /**
   * Parts uploaded at once. Parts are spooled to disk, not memory: up to (queueSize + 1) × partSize
   * bytes sit in `spoolDir` during an upload.
   */
  queueSize: z.number().int().min(1).max(16).default(2),
  /**
   * Where parts are spooled while they fill (a private folder per upload, files mode 0600, removed
   * when the upload ends). Default: the OS temp directory. Env: S3_SPOOL_DIR.
   */
  spoolDir: z
    .string()
    .refine((p) => isAbsolute(p), "must be an absolute path")
    .optional(),
});
export type S3Config = z.infer<typeof s3ConfigSchema>;

export const s3DisplayName = (c: Pick<S3Config, "bucket" | "prefix">) =>
  `s3://${c.bucket}${c.prefix ? `/${c.prefix.replace(/^\/+|\/+$/g, "")}` : ""}`;

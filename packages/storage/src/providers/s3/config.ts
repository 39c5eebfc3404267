/** @module providers/s3/config */
import { z } from "zod";

export const s3ConfigSchema = z.object({
  /** Custom endpoint for R2, MinIO and other S3-compatible servers; omit for AWS. */
  endpoint: z.url().optional(),
  /** `auto` for Cloudflare R2. */
  region: z.string().min(1).default("us-east-1"),
  bucket: z.string().min(3).max(63),
  /** Key prefix inside the bucket, without leading slash. */
  prefix: z.string().default(""),
  accessKeyId: z.string().min(1),
  secretAccessKey: z.string().min(1),
  sessionToken: z.string().optional(),
  /** Path-style addressing (`endpoint/bucket/key`), required by MinIO and s3rver. */
  forcePathStyle: z.boolean().default(false),
  /** Multipart part size; default chosen so that 10,000 parts reach more than 1 TiB. */
  partSizeBytes: z.number().int().min(5 * 1024 * 1024).optional(),
  /** Parts uploaded at once; memory is bounded by partSize × queueSize. */
  queueSize: z.number().int().min(1).max(16).default(2),
});
export type S3Config = z.infer<typeof s3ConfigSchema>;

export const s3DisplayName = (c: Pick<S3Config, "bucket" | "prefix">) =>
  `s3://${c.bucket}${c.prefix ? `/${c.prefix.replace(/^\/+|\/+$/g, "")}` : ""}`;

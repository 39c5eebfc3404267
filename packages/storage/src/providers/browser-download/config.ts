/** @module providers/browser-download/config */
import { isAbsolute } from "node:path";
import { z } from "zod";

export const browserDownloadConfigSchema = z.object({
  /** Where results wait for their download; the only place the server keeps backup bytes. */
  stagingPath: z.string().min(1).refine(isAbsolute, "must be an absolute path"),
  /** Lifetime of a download token, in seconds (default one hour). */
  ttlSeconds: z.number().int().positive().default(3600),
  /** Prefix of the download URL handed to the browser; the raw token is appended to it. */
  urlPrefix: z.string().min(1).default("/api/backup/download/"),
  /** Optional cap, in bytes, on what the staging folder may hold at once. */
  maxSize: z.number().int().positive().optional(),
});
export type BrowserDownloadConfig = z.infer<typeof browserDownloadConfigSchema>;

export const browserDownloadDisplayName = (c: Pick<BrowserDownloadConfig, "stagingPath">) =>
  `browser-download://${c.stagingPath}`;

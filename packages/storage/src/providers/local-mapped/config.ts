/** @module providers/local-mapped/config */
import { isAbsolute } from "node:path";
import { z } from "zod";

export const localMappedConfigSchema = z.object({
  /** Absolute path of the mapped folder (a Docker volume, a NAS mount). Created on first upload unless `mustExist`. */
  basePath: z.string().min(1).refine(isAbsolute, "must be an absolute path"),
  /** Optional cap, in bytes, on the total size of objects under basePath. */
  maxSize: z.number().int().positive().optional(),
  /**
   * The folder must already exist (a Docker volume that might not be mounted): never create it, fail
   * with NOT_FOUND instead. URL `?must_exist=true`, env `LOCAL_STORAGE_MUST_EXIST=true`.
   */
  mustExist: z.boolean().default(false),
});
export type LocalMappedConfig = z.infer<typeof localMappedConfigSchema>;

export const localMappedDisplayName = (c: Pick<LocalMappedConfig, "basePath">) => `file://${c.basePath}`;

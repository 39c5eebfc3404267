/**
 * @module bin/bundle-check
 * Decides whether the prebuilt bundle in `dist/` (see build.js) may run instead of the TypeScript
 * sources through tsx. The bundle is used only when every file it was built from still exists and
 * is no newer than the moment the build started, so an edited source, an updated dependency or a
 * moved checkout silently falls back to the sources: the bundle can save memory, never run stale code.
 * Plain JavaScript with no dependency, because it runs before tsx is loaded.
 */
import { readFileSync, statSync } from "node:fs";

/** Name of the file build.js writes beside the bundle. */
export const BUILD_INFO = "build-info.json";

/**
 * Returns the bundle's entry as a file URL, or `undefined` when there is no bundle or it is stale.
 * @param {URL} distDir folder URL ending in `/`
 * @returns {string | undefined}
 */
export function freshBundle(distDir) {
  /** @type {{ startedAt: number, entry: string, inputs: string[] }} */
  let info;
  try {
    info = JSON.parse(readFileSync(new URL(BUILD_INFO, distDir), "utf8"));
  } catch {
    return undefined;
  }
  if (typeof info?.startedAt !== "number" || typeof info.entry !== "string" || !Array.isArray(info.inputs)) return undefined;
  for (const file of info.inputs) {
    try {
      if (statSync(file).mtimeMs > info.startedAt) return undefined;
    } catch {
      return undefined;
    }
  }
  const entry = new URL(info.entry, distDir);
  try {
    statSync(entry);
  } catch {
    return undefined;
  }
  return entry.href;
}

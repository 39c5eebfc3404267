/**
 * Opt-in smoke runs of the storage contract suite against real services (issue 18):
 * `npm run test:smoke`. Only the files whose STOWAGE_SMOKE_* variable is set run; every other service
 * is printed as NOT RUN with what to set, so a missing account never shows up as a passed test.
 */
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";
import { isConfigured, notRunNotices, SMOKE_TARGETS } from "./test/smoke/targets.ts";

const include = SMOKE_TARGETS.filter((t) => isConfigured(t, process.env)).map((t) => t.file);
const notices = notRunNotices(process.env);
for (const line of notices) process.stdout.write(`${line}\n`);
if (include.length === 0) process.stdout.write("storage smoke: no real service configured: nothing was tested\n");

export default defineConfig({
  test: {
    // Paths are relative to packages/storage, also when run from the repository root (npm run test:smoke).
    root: fileURLToPath(new URL(".", import.meta.url)),
    include,
    // With no service configured there is nothing to run: the NOT RUN lines above say so.
    passWithNoTests: true,
    // Real services over the internet: uploads of 12 MiB and 1,005 small objects take minutes.
    testTimeout: 300_000,
    hookTimeout: 300_000,
    // One service at a time, one test at a time: rate limits, and results that are easy to read.
    fileParallelism: false,
    reporters: ["verbose"],
  },
});

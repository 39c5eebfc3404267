import { defineConfig } from "vitest/config";

/**
 * Vitest for `npm run mutation` (Stryker) only: the fast, pure unit tests of the mutated modules.
 * No test here starts a server (PostgreSQL, s3rver, rclone, Chromium), so Stryker's many reruns
 * stay in minutes. `npm test` keeps using vitest.config.ts.
 */
export default defineConfig({
  test: {
    include: [
      "packages/backup-core/test/retention.test.ts",
      "packages/backup-core/test/backup-units.test.ts",
      "packages/backup-core/test/**/*.mutation-gaps.test.ts",
      "packages/storage/test/keys.test.ts",
      "packages/storage/test/destination-url.test.ts",
      "packages/storage/test/layer.test.ts",
      "packages/storage/test/**/*.mutation-gaps.test.ts",
      "apps/diagrams/test/**/*.mutation-gaps.test.ts",
    ],
    testTimeout: 30_000,
    maxWorkers: 1,
    reporters: ["default"],
  },
});

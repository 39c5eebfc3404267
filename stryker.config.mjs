// @ts-check
/**
 * Mutation testing of the pure modules (issue 20): `npm run mutation` (all modules) or
 * `npm run mutation -- --mutate packages/storage/src/keys.ts` (one module). Not part of `npm test`:
 * it takes minutes. The clear-text reporter prints the score per module (one row per file).
 * @type {import('@stryker-mutator/api/core').PartialStrykerOptions}
 */
export default {
  packageManager: "npm",
  testRunner: "vitest",
  vitest: { configFile: "vitest.mutation.config.ts" },
  plugins: ["@stryker-mutator/vitest-runner"],
  concurrency: 2,
  coverageAnalysis: "perTest",
  mutate: [
    "packages/backup-core/src/retention.ts",
    "packages/storage/src/keys.ts",
    "apps/diagrams/src/repo/cursor.ts",
    "packages/backup-core/src/dump/roles-filter.ts",
    "packages/backup-core/src/dump/schema-filter.ts",
    "packages/storage/src/destination-url.ts",
    "packages/backup-core/src/manifest.ts",
    "packages/storage/src/layer/retry.ts",
  ],
  reporters: ["clear-text", "progress", "html", "json"],
  htmlReporter: { fileName: "reports/mutation/mutation.html" },
  jsonReporter: { fileName: "reports/mutation/mutation.json" },
  clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: true, reportMutants: true },
  thresholds: { high: 95, low: 85, break: null },
  timeoutMS: 30_000,
  tempDirName: ".stryker-tmp",
  cleanTempDir: true,
  ignorePatterns: ["data", ".tmp", "bench/.results", "reports", "apps/backup/web/dist", "**/dist"],
};

import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["packages/*/test/**/*.test.ts", "apps/*/test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Test files start their own servers on free ports; two cores, so keep the pool small.
    maxWorkers: 2,
    reporters: ["default"],
  },
});

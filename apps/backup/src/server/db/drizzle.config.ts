/** drizzle-kit configuration: `npx drizzle-kit generate --config apps/backup/src/server/db/drizzle.config.ts` writes the next migration. */
import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "sqlite",
  schema: "./apps/backup/src/server/db/schema.ts",
  out: "./apps/backup/src/server/db/migrations/sqlite",
});

/** drizzle-kit for the PostgreSQL metadata: `npx drizzle-kit generate --config apps/backup/src/server/db/pg/drizzle.config.ts`. */
import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "postgresql",
  schema: "./apps/backup/src/server/db/pg/schema.ts",
  out: "./apps/backup/src/server/db/migrations/pg",
});

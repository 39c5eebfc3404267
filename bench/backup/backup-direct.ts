/**
 * @module bench/backup/backup-direct
 * Calls runBackup() directly (no CLI), so the benchmark can tell the engine's own cost and memory
 * from the CLI's start-up. Usage: node --import tsx bench/backup/backup-direct.ts <db-url> <folder> [type]
 */
import { LocalMappedDestination } from "@stowage/storage";
import { type BackupType, runBackup } from "../../packages/backup-core/src/index.ts";

const [url, folder, type = "data"] = process.argv.slice(2);
if (!url || !folder) {
  console.error("usage: backup-direct.ts <db-url> <folder> [full|schema|data]");
  process.exit(2);
}
const result = await runBackup({
  databaseUrl: url,
  destinations: [new LocalMappedDestination({ basePath: folder })],
  type: type as BackupType,
  name: "bench",
});
if (!result.ok) {
  for (const d of result.destinations) if (!d.ok) console.error(d.error.message);
  process.exit(1);
}
console.log(result.backupId);

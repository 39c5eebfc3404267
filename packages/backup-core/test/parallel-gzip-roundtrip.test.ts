/**
 * A real backup whose data part is bigger than several gzip blocks, so it is written as many gzip
 * members by worker threads (archive/parallel-gzip.ts), read back three ways: Stowage's verify,
 * Stowage's restore, and the psql-only restore of docs/FORMAT.md (`gunzip -c … | psql`). Each
 * restored table must equal the source, row for row.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { LocalMappedDestination } from "@stowage/storage";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GZIP_BLOCK_BYTES, liveGzipWorkers } from "../src/archive/parallel-gzip.ts";
import { BackupError, runBackup, runRestore, verifyBackup } from "../src/index.ts";
import { adminQuery, createDatabase, databaseUrl, dropDatabase, uniqueName } from "./helpers/pg.ts";

const run = promisify(execFile);

let root: string;
let source: string;
const scratch: string[] = [];

/** A fingerprint of the table's rows in key order. */
async function fingerprint(database: string): Promise<{ rows: number; digest: string }> {
  const [row] = await adminQuery<{ rows: string; digest: string }>(
    "SELECT count(*) AS rows, md5(string_agg(id || ':' || note || ':' || doc::text, ',' ORDER BY id)) AS digest FROM docs",
    database,
  );
  return { rows: Number(row!.rows), digest: row!.digest };
}

/** Gzip members in a file written by the stage: every member starts with the same 10-byte header. */
function memberCount(file: Buffer): number {
  const header = file.subarray(0, 10);
  let count = 0;
  for (let at = file.indexOf(header); at >= 0; at = file.indexOf(header, at + 1)) count++;
  return count;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "stowage-pgzip-test-"));
  source = uniqueName("pgzip");
  scratch.push(source);
  await createDatabase(source);
  // ~6 MB of COPY data: md5 text and jsonb, as the bench database, 6 members of 1 MiB.
  await adminQuery(
    `CREATE TABLE docs (id integer PRIMARY KEY, note text NOT NULL, doc jsonb NOT NULL);
     INSERT INTO docs SELECT i, md5(i::text), jsonb_build_object('id', i, 'hash', md5((i * 7)::text), 'tags', jsonb_build_array('a' || i % 7))
       FROM generate_series(1, 50000) i;`,
    source,
  );
}, 300_000);

afterAll(async () => {
  for (const db of scratch) await dropDatabase(db);
  await rm(root, { recursive: true, force: true });
}, 300_000);

describe("a full gzip backup written by worker threads", { timeout: 300_000 }, () => {
  it("refuses a thread count that is not 1–64 from runBackup's env before dumping anything", async () => {
    const dest = new LocalMappedDestination({ basePath: join(root, "refused") });
    const env = { ...process.env, STOWAGE_COMPRESS_THREADS: "0" };
    const error = await runBackup({ databaseUrl: databaseUrl(source), destinations: [dest], type: "data", env }).catch((e) => e);
    expect(BackupError.is(error, "INVALID_OPTIONS")).toBe(true);
    expect((error as Error).message).toMatch(/STOWAGE_COMPRESS_THREADS must be a whole number from 1 to 64 \(got 0\)/);
  });

  it("verifies, restores with Stowage and with gunzip | psql, identical to the source", async () => {
    const dest = new LocalMappedDestination({ basePath: root });
    // Two threads whatever the machine (runBackup's env carries STOWAGE_COMPRESS_THREADS, as for the tools).
    const env = { ...process.env, STOWAGE_COMPRESS_THREADS: "2" };
    const result = await runBackup({ databaseUrl: databaseUrl(source), destinations: [dest], type: "full", name: "pgzip", env });
    expect(result.ok).toBe(true);
    expect(liveGzipWorkers()).toBe(0);
    const folder = join(root, result.backupId);
    const data = await readFile(join(folder, "data.sql.gz"));
    const manifest = result.destinations[0]!.ok ? result.destinations[0]!.manifest : undefined;
    const plainSize = manifest!.files.find((f) => f.role === "data")!.plainSize;
    expect(plainSize).toBeGreaterThan(4 * GZIP_BLOCK_BYTES);
    expect(memberCount(data)).toBe(Math.ceil(plainSize / GZIP_BLOCK_BYTES));

    const verdict = await verifyBackup({ source: { destination: dest, folder: result.backupId } });
    expect(verdict.ok).toBe(true);
    const expected = await fingerprint(source);
    expect(expected.rows).toBe(50000);

    const viaStowage = uniqueName("pgzip_r");
    scratch.push(viaStowage);
    await createDatabase(viaStowage);
    await runRestore({ source: { destination: dest, folder: result.backupId }, targetUrl: databaseUrl(viaStowage) });
    expect(await fingerprint(viaStowage)).toEqual(expected);

    // docs/FORMAT.md "Restoring without Stowage": every part through gunzip, one psql.
    const viaPsql = uniqueName("pgzip_p");
    scratch.push(viaPsql);
    await createDatabase(viaPsql);
    const script = [
      "set -o pipefail;",
      '{ echo "BEGIN;"; gunzip -c "$1/roles.sql.gz"; gunzip -c "$1/schema.sql.gz";',
      '  echo "SET session_replication_role = replica;"; gunzip -c "$1/data.sql.gz";',
      // Backups split as pg_dump's sections (issue 17) have their indexes and constraints after the data.
      '  if [ -f "$1/post-data.sql.gz" ]; then gunzip -c "$1/post-data.sql.gz"; fi; echo "COMMIT;"; }',
      '| psql --no-psqlrc -v ON_ERROR_STOP=1 --quiet --dbname "$2" >/dev/null',
    ].join(" ");
    await run("bash", ["-c", script, "restore", folder, databaseUrl(viaPsql)], {
      env: { ...process.env, PGOPTIONS: "-c client_min_messages=warning" },
    });
    expect(await fingerprint(viaPsql)).toEqual(expected);
  });
});

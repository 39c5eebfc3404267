/**
 * @module pitr/connect
 * One way to open the streamer's connections to the source: errors classified and redacted as the
 * backup's are, and an 'error' listener so a connection dropped while idle cannot crash the process.
 */
import pg from "pg";
import type { DatabaseTarget } from "../pg/connection.ts";
import { classifyConnectionError } from "../pg/snapshot.ts";

export async function connectSource(
  target: DatabaseTarget,
  applicationName: string,
  options: { replication?: boolean } = {},
): Promise<pg.Client> {
  const client = new pg.Client({
    connectionString: target.connectionString,
    connectionTimeoutMillis: 15_000,
    application_name: applicationName,
    ...(options.replication ? { replication: "database" } : {}),
  } as pg.ClientConfig);
  client.on("error", () => {});
  try {
    await client.connect();
    return client;
  } catch (error) {
    await client.end().catch(() => {});
    throw classifyConnectionError(error, target);
  }
}

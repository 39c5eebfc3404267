/**
 * @module server/db/open
 * Picks the metadata store from `DATABASE_URL`: `file:<path>` (relative paths resolve against the
 * working directory, as in the seed's `file:./data/app.db`) or a bare path is SQLite. PostgreSQL
 * (`postgres://…`) is the scheduler issue's; until then it is refused with a clear message.
 */
import { isAbsolute, resolve } from "node:path";
import { ServerError } from "../errors.ts";
import { openPgStore } from "./pg/store.ts";
import { openSqliteStore } from "./sqlite/store.ts";
import type { MetadataStore } from "./store.ts";

export type MetadataOpener = (url: string) => Promise<MetadataStore>;

/** Extra dialects registered by other modules (PostgreSQL metadata, issue 12), by URL scheme. */
const openers = new Map<string, MetadataOpener>();

export function registerMetadataDialect(schemes: string[], open: MetadataOpener): void {
  for (const scheme of schemes) openers.set(scheme, open);
}

// PostgreSQL metadata (issue 12): several `stowage serve` processes on one database.
registerMetadataDialect(["postgres", "postgresql"], async (url) => {
  try {
    return await openPgStore(url);
  } catch (error) {
    const safe = (error as Error).message.replace(/\/\/[^@\s]*@/g, "//***@");
    throw new ServerError("METADATA_UNAVAILABLE", `cannot open the PostgreSQL metadata database (DATABASE_URL): ${safe}`, {
      cause: error,
    });
  }
});

/** The SQLite file a `DATABASE_URL` names, or undefined when it is not SQLite. */
export function sqlitePathOf(url: string): string | undefined {
  if (url.startsWith("file:")) {
    const path = url.slice("file:".length).replace(/^\/\/(?=\/)/, "");
    return isAbsolute(path) ? path : resolve(path);
  }
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) return isAbsolute(url) ? url : resolve(url);
  return undefined;
}

export async function openMetadataStore(url: string): Promise<MetadataStore> {
  const file = sqlitePathOf(url);
  if (file) {
    try {
      return openSqliteStore(file);
    } catch (error) {
      throw new ServerError("METADATA_UNAVAILABLE", `cannot open the metadata database ${file}: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }
  const scheme = url.slice(0, url.indexOf(":")).toLowerCase();
  const open = openers.get(scheme);
  if (!open) {
    throw new ServerError(
      "CONFIG",
      `DATABASE_URL: unsupported metadata database "${scheme}:"; use file:./data/app.db (SQLite)${openers.size ? ` or ${[...openers.keys()].join(", ")}` : ""}`,
    );
  }
  return open(url);
}

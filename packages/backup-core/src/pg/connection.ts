/**
 * @module pg/connection
 * Turns a user's database URL into what the child tools and the `pg` driver need, keeping the
 * password out of every argument list: libpq tools get the URL WITHOUT the password as `--dbname`
 * (libpq parses every URI parameter itself: sslmode, host sockets, options) and the password only
 * in the `PGPASSWORD` environment variable. A URL without a password falls back to the caller's own
 * `PGPASSWORD`/`~/.pgpass`, as psql does.
 */
import { BackupError } from "../errors.ts";

export interface DatabaseTarget {
  /** The URL without any password: safe for argv (`--dbname`), never for the manifest (it has the user). */
  readonly urlWithoutPassword: string;
  /** URL with the password, for the node `pg` driver only (kept in memory, never logged). */
  readonly connectionString: string;
  /** Password from the URL, else `PGPASSWORD` from the environment; used for redaction and child env. */
  readonly password: string | undefined;
  /** Host for display and the manifest (`127.0.0.1`, `/var/run/postgresql`). */
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string | undefined;
}

const PASSWORD_PARAMS = ["password"];

export function parseDatabaseUrl(raw: string, env: NodeJS.ProcessEnv = process.env): DatabaseTarget {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new BackupError(
      "INVALID_OPTIONS",
      "the database URL is not a valid URL: expected postgresql://user[:password]@host[:port]/database",
      { secrets: [raw] },
    );
  }
  if (url.protocol !== "postgresql:" && url.protocol !== "postgres:") {
    throw new BackupError("INVALID_OPTIONS", `the database URL must start with postgresql:// (got ${url.protocol}//)`);
  }
  let password = url.password ? decodeURIComponent(url.password) : undefined;
  for (const param of PASSWORD_PARAMS) {
    const value = url.searchParams.get(param);
    if (value !== null) {
      password ??= value;
      url.searchParams.delete(param);
    }
  }
  const stripped = new URL(url.toString());
  stripped.password = "";
  const database = decodeURIComponent(url.pathname.replace(/^\//, "")) || url.searchParams.get("dbname") || env.PGDATABASE || "";
  if (!database) throw new BackupError("INVALID_OPTIONS", "the database URL names no database: add /<database> after the host");
  const host = url.searchParams.get("host") ?? (url.hostname ? decodeURIComponent(url.hostname) : (env.PGHOST ?? "localhost"));
  const user = url.username ? decodeURIComponent(url.username) : (url.searchParams.get("user") ?? env.PGUSER);
  password ??= env.PGPASSWORD || undefined;
  // The driver gets the password inside its (in-memory) URL, also when it came from PGPASSWORD in `env`.
  const forDriver = new URL(stripped.toString());
  if (password !== undefined) forDriver.password = encodeURIComponent(password);
  return {
    urlWithoutPassword: stripped.toString(),
    connectionString: forDriver.toString(),
    password,
    host,
    port: url.port ? Number(url.port) : Number(env.PGPORT ?? 5432),
    database,
    user,
  };
}

/**
 * Environment for a libpq child (pg_dump, pg_dumpall, psql): the caller's environment plus
 * `PGPASSWORD` when known. `PGDATABASE`/`PGHOST` etc. are dropped so the URL alone decides.
 */
export function childEnv(target: DatabaseTarget, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base };
  for (const key of ["PGDATABASE", "PGHOST", "PGHOSTADDR", "PGPORT", "PGUSER", "PGSERVICE", "PGPASSWORD"]) delete env[key];
  if (target.password !== undefined) env.PGPASSWORD = target.password;
  // Messages in English so stderr classification (auth vs unreachable) works on any locale.
  env.LC_MESSAGES = "C";
  env.PGCONNECT_TIMEOUT ??= "10";
  return env;
}

/** Secrets to scrub from any text that might echo them. */
export function secretsOf(target: DatabaseTarget): string[] {
  return target.password ? [target.password, encodeURIComponent(target.password)] : [];
}

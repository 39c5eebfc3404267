/**
 * @module pg/tools
 * Finds PostgreSQL client tools (pg_dump, pg_dumpall, psql) whose major version fits the server.
 * pg_dump refuses servers newer than itself, and a much newer pg_dump writes SQL an older server
 * may not accept, so we prefer the server's own major and otherwise the oldest newer one.
 * All tools come from ONE folder so their versions agree.
 */
import { execFile } from "node:child_process";
import { access, constants, readdir, realpath } from "node:fs/promises";
import { basename, delimiter, join } from "node:path";
import { promisify } from "node:util";
import { BackupError } from "../errors.ts";

const run = promisify(execFile);

export type PgToolName = "pg_dump" | "pg_dumpall" | "psql";

export interface PgTools {
  /** Folder the tools were taken from. */
  readonly dir: string;
  /** Major version of the tools (e.g. 15, 17). */
  readonly major: number;
  /** `pg_dump (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)` */
  readonly version: string;
  /** Absolute path of each requested tool. */
  readonly paths: Readonly<Record<PgToolName, string>>;
}

export interface FindPgToolsOptions {
  /** `server_version_num` (e.g. 150019) or a major (15). */
  readonly serverVersionNum: number;
  /** Tools that must all exist in the chosen folder. Default: all three. */
  readonly tools?: readonly PgToolName[];
  readonly env?: NodeJS.ProcessEnv;
  /** Only psql that knows `\restrict` (restores: a backup's meta-commands must never run). */
  readonly requireRestrict?: boolean;
}

/** First minor of each major with psql's `\restrict` (the 2025-08-14 security releases, CVE-2025-8714). */
const RESTRICT_SINCE: Record<number, number> = { 13: 22, 14: 19, 15: 14, 16: 10, 17: 6 };

/** True when a `psql --version` line names a psql that supports `\restrict` / `\unrestrict`. */
export function supportsRestrict(versionLine: string): boolean {
  const m = /\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?/.exec(versionLine);
  if (!m) return false;
  const major = Number(m[1]);
  const minor = Number(m[2] ?? 0);
  if (major >= 18) return true;
  const since = RESTRICT_SINCE[major];
  return since !== undefined && minor >= since;
}

/** Major version from `server_version_num` (150019 → 15, 90624 → 9). */
export function majorOf(versionNum: number): number {
  if (versionNum < 1000) return versionNum;
  return versionNum >= 100000
    ? Math.floor(versionNum / 10000)
    : Math.floor(versionNum / 10000) + (Math.floor(versionNum / 100) % 100) / 10;
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function globDirs(parent: string, match: (name: string) => boolean, suffix: string): Promise<string[]> {
  try {
    const names = await readdir(parent);
    return names.filter(match).map((n) => join(parent, n, suffix));
  } catch {
    return [];
  }
}

/**
 * Candidate folders, in priority order. When `STOWAGE_PG_BIN` is set it is the ONLY candidate
 * (colon-separated list allowed): the user chose, and silently using another pg_dump would hide that.
 */
export async function candidateDirs(env: NodeJS.ProcessEnv = process.env): Promise<string[]> {
  if (env.STOWAGE_PG_BIN) return env.STOWAGE_PG_BIN.split(delimiter).filter(Boolean);
  const dirs = [
    ...(env.PATH ?? "").split(delimiter).filter(Boolean),
    ...(await globDirs("/usr/lib/postgresql", (n) => /^\d+$/.test(n), "bin")),
    ...(await globDirs("/usr/libexec", (n) => n.startsWith("postgresql"), "")),
  ];
  return [...new Set(dirs)];
}

/** Parses `pg_dump (PostgreSQL) 15.20 (Debian …)` → 15; `pg_dump (PostgreSQL) 9.6.24` → 9.6. */
export function parseToolMajor(versionLine: string): number | undefined {
  const m = /\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?/.exec(versionLine);
  if (!m) return undefined;
  const major = Number(m[1]);
  return major >= 10 ? major : Number(`${m[1]}.${m[2] ?? 0}`);
}

interface Found {
  dir: string;
  major: number;
  version: string;
  /** Debian's /usr/bin/pg_dump is a perl dispatcher (pg_wrapper): correct, but slower to start. */
  wrapper: boolean;
  order: number;
}

interface Candidate {
  dir: string;
  order: number;
  wrapper: boolean;
}

/** A folder holding every tool, and whether its first tool is Debian's pg_wrapper (no process started). */
async function locate(dir: string, tools: readonly PgToolName[], order: number): Promise<Candidate | undefined> {
  for (const tool of tools) if (!(await isExecutable(join(dir, tool)))) return undefined;
  try {
    return { dir, order, wrapper: basename(await realpath(join(dir, tools[0]!))) === "pg_wrapper" };
  } catch {
    return undefined;
  }
}

async function probe(candidate: Candidate, tools: readonly PgToolName[]): Promise<Found | undefined> {
  try {
    const { stdout } = await run(join(candidate.dir, tools[0]!), ["--version"], { timeout: 10_000 });
    const major = parseToolMajor(stdout);
    return major === undefined ? undefined : { ...candidate, major, version: stdout.trim() };
  } catch {
    return undefined;
  }
}

/** How to get the right client tools on Debian/Ubuntu; appended to every tools error. */
export function installHint(major: number): string {
  return (
    `install postgresql-client-${major} from the PGDG apt repository ` +
    `(https://wiki.postgresql.org/wiki/Apt: sh /usr/share/postgresql-common/pgdg/apt.postgresql.org.sh, then ` +
    `apt-get install postgresql-client-${major}), or point STOWAGE_PG_BIN at a folder holding pg_dump ${major} or newer`
  );
}

/** Picks the tools for a server; throws PG_TOOLS_MISSING or PG_VERSION_MISMATCH before anything runs. */
export async function findPgTools(options: FindPgToolsOptions): Promise<PgTools> {
  const env = options.env ?? process.env;
  const tools = options.tools ?? (["pg_dump", "pg_dumpall", "psql"] as const);
  const need = majorOf(options.serverVersionNum);
  const dirs = await candidateDirs(env);
  const candidates = (await Promise.all(dirs.map((dir, i) => locate(dir, tools, i)))).filter(
    (c): c is Candidate => c !== undefined,
  );
  const probeAll = async (list: Candidate[]) =>
    (await Promise.all(list.map((c) => probe(c, tools)))).filter((f): f is Found => f !== undefined);
  const fits = (f: Found) => f.major >= need && (!options.requireRestrict || supportsRestrict(f.version));
  // Debian's pg_wrapper is a perl script that only dispatches to /usr/lib/postgresql/N/bin, which is
  // a candidate of its own: ask it for its version (~50 ms of perl per call, on every backup's
  // start) only when no direct folder fits.
  let found = await probeAll(candidates.filter((c) => !c.wrapper));
  if (!found.some(fits)) found = [...found, ...(await probeAll(candidates.filter((c) => c.wrapper)))];
  const where = env.STOWAGE_PG_BIN
    ? `STOWAGE_PG_BIN (${env.STOWAGE_PG_BIN})`
    : "PATH, /usr/lib/postgresql/*/bin or /usr/libexec/postgresql*";
  if (found.length === 0) {
    throw new BackupError("PG_TOOLS_MISSING", `no ${tools.join(", ")} found in ${where}; ${installHint(need)}`);
  }
  const fitting = found
    .filter(fits)
    .sort((a, b) => a.major - b.major || Number(a.wrapper) - Number(b.wrapper) || a.order - b.order);
  const best = fitting[0];
  if (!best && options.requireRestrict && found.some((f) => f.major >= need)) {
    const have = [...new Set(found.filter((f) => f.major >= need).map((f) => `${f.version} (${f.dir})`))].join(", ");
    throw new BackupError(
      "PG_TOOLS_MISSING",
      `restores need a psql that supports \\restrict (PostgreSQL 13.22, 14.19, 15.14, 16.10, 17.6 or newer), so that no psql ` +
        `meta-command inside a backup can run on this machine; found ${have}. Upgrade the client: ` +
        `apt-get install --only-upgrade postgresql-client-${Math.max(need, 13)} (or ${installHint(need)})`,
    );
  }
  if (!best) {
    const have = [...new Set(found.map((f) => `${f.major} (${f.dir})`))].join(", ");
    throw new BackupError(
      "PG_VERSION_MISMATCH",
      `the server runs PostgreSQL ${need} but the newest ${tools[0]} found in ${where} is ${have}: ` +
        `pg_dump must be version ${need} or newer; ${installHint(need)}`,
    );
  }
  const paths = Object.fromEntries(tools.map((t) => [t, join(best.dir, t)])) as Record<PgToolName, string>;
  return { dir: best.dir, major: best.major, version: best.version, paths };
}

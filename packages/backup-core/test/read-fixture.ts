/**
 * @module test/read-fixture
 * Writes backup folders for the read-side tests without the dump engine: real pg_dump output of a
 * small database (or any SQL), compressed and encrypted the way the archive format says, with a
 * manifest. Lets catalog/restore/verify/prune be tested on their own.
 */
import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import type { StorageDestination } from "@stowage/storage";
import { Encrypter } from "age-encryption";
import pg from "pg";
import {
  type BackupManifest,
  backupTimestamp,
  type Compression,
  MANIFEST_FILE,
  type ManifestFile,
  type PartRole,
  partFileName,
} from "../src/manifest.ts";
import { sealManifest } from "../src/manifest-mac.ts";

export const PG_URL = process.env.STOWAGE_TEST_PG_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";

export function dbUrl(name: string): string {
  const url = new URL(PG_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export const uniqueName = (prefix: string) => `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString("hex")}`;

export async function createDatabase(name: string, sql?: string): Promise<string> {
  await admin((c) => c.query(`create database "${name}"`));
  const url = dbUrl(name);
  if (sql) {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  }
  return url;
}

export async function dropDatabase(name: string): Promise<void> {
  await admin((c) => c.query(`drop database if exists "${name}" with (force)`));
}

/** The scratch databases of one test file: each `create` makes a fresh one named `<prefix>_…`; `dropAll` drops them all. */
export function scratchDatabases(prefix: string): { create(sql?: string): Promise<string>; dropAll(): Promise<void> } {
  const names: string[] = [];
  return {
    async create(sql) {
      const name = uniqueName(prefix);
      names.push(name);
      return createDatabase(name, sql);
    },
    async dropAll() {
      for (const name of names) await dropDatabase(name);
    },
  };
}

export async function query<R extends pg.QueryResultRow>(url: string, sql: string): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(sql)).rows;
  } finally {
    await client.end();
  }
}

/** md5 of every user table's rows in order, plus the list of tables: equal databases give equal maps. */
export async function contentHashes(url: string): Promise<Record<string, string>> {
  const tables = await query<{ t: string }>(
    url,
    `select format('%I.%I', n.nspname, c.relname) as t from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where c.relkind in ('r','m') and n.nspname not in ('pg_catalog','information_schema') and n.nspname !~ '^pg_toast' order by 1`,
  );
  const out: Record<string, string> = {};
  for (const { t } of tables) {
    const [row] = await query<{ h: string | null }>(
      url,
      `select md5(string_agg(x::text, '|' order by x::text)) as h from ${t} x`,
    );
    out[t] = row?.h ?? "empty";
  }
  return out;
}

export function pgDump(url: string, args: string[]): string {
  return execFileSync("pg_dump", [...args, "--dbname", url], { encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
}

export interface FixturePart {
  readonly role: PartRole;
  readonly sql: string;
}

export interface WriteBackupOptions {
  readonly name: string;
  readonly time: Date;
  readonly parts: readonly FixturePart[];
  readonly compression?: Compression;
  readonly passphrase?: string;
  readonly recipients?: readonly string[];
  /** Leave the manifest out: an incomplete backup. */
  readonly incomplete?: boolean;
  readonly tables?: BackupManifest["tables"];
  readonly type?: BackupManifest["type"];
  /** Leave the MAC out of a passphrase backup's manifest (as an attacker or an old Stowage would). */
  readonly unsealed?: boolean;
}

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

function compress(plain: Buffer, compression: Compression): Buffer {
  if (compression === "gzip") return gzipSync(plain);
  if (compression === "zstd") return execFileSync("zstd", ["-q", "-c"], { input: plain, maxBuffer: 256 * 1024 * 1024 });
  return plain;
}

/** Writes a backup folder `<name>/<timestamp>-<id>/` and returns its manifest (also for incomplete ones). */
export async function writeBackup(destination: StorageDestination, options: WriteBackupOptions): Promise<BackupManifest> {
  const compression = options.compression ?? "gzip";
  const encrypted = !!options.passphrase || !!options.recipients?.length;
  const id = `${options.name}/${backupTimestamp(options.time)}-${randomBytes(3).toString("hex")}`;
  const files: ManifestFile[] = [];
  for (const part of options.parts) {
    const plain = Buffer.from(part.sql, "utf8");
    let stored = compress(plain, compression);
    if (encrypted) {
      const encrypter = new Encrypter();
      if (options.passphrase) {
        encrypter.setPassphrase(options.passphrase);
        encrypter.setScryptWorkFactor(10); // fast tests; age -d accepts it
      }
      for (const r of options.recipients ?? []) encrypter.addRecipient(r);
      stored = Buffer.from(await encrypter.encrypt(stored));
    }
    const name = partFileName(part.role, compression, encrypted);
    await destination.upload(Readable.from([stored]), `${id}/${name}`);
    files.push({
      name,
      role: part.role,
      size: stored.length,
      sha256: sha(stored),
      plainSize: plain.length,
      plainSha256: sha(plain),
    });
  }
  const manifest: BackupManifest = {
    format: "stowage-backup",
    formatVersion: 1,
    id,
    name: options.name,
    tool: { name: "stowage", version: "0.0.0-test" },
    server: { version: "15", versionNum: 150000, supabase: false, host: "127.0.0.1", database: options.name },
    pgDump: { version: "pg_dump (PostgreSQL) 15" },
    type: options.type ?? "full",
    compression,
    encryption: encrypted
      ? { algorithm: "age", recipients: [...(options.recipients ?? [])], passphrase: !!options.passphrase }
      : null,
    migrationHistory: false,
    files,
    tables: options.tables ?? [],
    startedAt: options.time.toISOString(),
    finishedAt: new Date(options.time.getTime() + 1000).toISOString(),
  };
  // Passphrase backups carry a manifest MAC, as the engine writes them (fast scrypt for tests).
  const written = options.passphrase && !options.unsealed ? await sealManifest(manifest, options.passphrase, 10) : manifest;
  if (!options.incomplete) {
    await destination.upload(Readable.from([Buffer.from(JSON.stringify(written, null, 2))]), `${id}/${MANIFEST_FILE}`);
  }
  return written;
}

/** A small database with the shapes that trip restores: FKs, triggers, enums, arrays, jsonb, NULLs, unicode. */
export const SMALL_SOURCE_SQL = `
create type mood as enum ('sad', 'ok', 'happy');
create table authors (id serial primary key, name text not null, mood mood, tags text[], meta jsonb);
create table books (id bigint generated always as identity primary key, author_id int not null references authors(id), title text, cover bytea);
create schema app;
create table app.audit (id serial primary key, at timestamptz default now(), note text);
create function app.log_book() returns trigger language plpgsql as $$ begin insert into app.audit(note) values ('book ' || new.title); return new; end $$;
create trigger books_audit after insert on books for each row execute function app.log_book();
insert into authors (name, mood, tags, meta) values ('Zoë', 'happy', '{a,b}', '{"k": [1, 2]}'), ('Łukasz', null, null, null), ('李', 'sad', '{}', '{}');
insert into books (author_id, title, cover) select 1 + (g % 3), 'title ' || g, decode('deadbeef', 'hex') from generate_series(1, 500) g;
`;

/** The parts of a backup of `url`, dumped with the local pg_dump (no roles part: roles are cluster-wide). */
export function dumpParts(url: string): FixturePart[] {
  return [
    { role: "schema", sql: pgDump(url, ["--schema-only", "--no-owner"]) },
    { role: "data", sql: pgDump(url, ["--data-only"]) },
  ];
}

export async function rowCounts(url: string): Promise<BackupManifest["tables"]> {
  const tables = await query<{ s: string; n: string }>(
    url,
    `select n.nspname as s, c.relname as n from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where c.relkind = 'r' and n.nspname not in ('pg_catalog','information_schema') and n.nspname !~ '^pg_toast' order by 1, 2`,
  );
  const out: { schema: string; name: string; rows: number }[] = [];
  for (const t of tables) {
    const [r] = await query<{ c: string }>(url, `select count(*) as c from "${t.s}"."${t.n}"`);
    out.push({ schema: t.s, name: t.n, rows: Number(r!.c) });
  }
  return out;
}

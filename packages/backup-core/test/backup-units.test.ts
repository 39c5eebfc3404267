/**
 * Pure parts of the write side: the roles filter on pg_dumpall output of newer servers (\restrict,
 * GRANTED BY, WITH INHERIT), the Supabase schema rules, tool selection by version, URL parsing.
 */
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rolesLineFilter } from "../src/dump/roles-filter.ts";
import { supabaseSchemaLine } from "../src/dump/schema-filter.ts";
import { BackupError, childEnv, findPgTools, majorOf, parseDatabaseUrl } from "../src/index.ts";

const PG17_ROLES = `\\restrict abcDEF123

SET default_transaction_read_only = off;
--
-- Roles
--

CREATE ROLE "anon";
ALTER ROLE "anon" WITH NOSUPERUSER INHERIT NOCREATEROLE NOCREATEDB NOLOGIN NOREPLICATION NOBYPASSRLS;
CREATE ROLE "authenticator";
ALTER ROLE "authenticator" WITH NOSUPERUSER NOINHERIT NOCREATEROLE NOCREATEDB LOGIN NOREPLICATION NOBYPASSRLS;
CREATE ROLE "supabase_admin";
ALTER ROLE "supabase_admin" WITH SUPERUSER INHERIT CREATEROLE CREATEDB LOGIN REPLICATION BYPASSRLS;
CREATE ROLE "app ""quoted""";
ALTER ROLE "app ""quoted""" WITH NOSUPERUSER INHERIT NOCREATEROLE NOCREATEDB LOGIN NOREPLICATION NOBYPASSRLS;
ALTER ROLE "authenticator" SET "statement_timeout" TO '8s';
ALTER ROLE "authenticator" SET "search_path" TO 'x';

GRANT "anon" TO "authenticator" WITH INHERIT FALSE GRANTED BY "supabase_admin";
GRANT "authenticated" TO "app ""quoted""" WITH INHERIT TRUE GRANTED BY "supabase_admin";
GRANT "authenticated" TO "app ""quoted""" WITH INHERIT TRUE GRANTED BY "supabase_admin";

\\unrestrict abcDEF123
`;

function filter(text: string, supabase: boolean, bootstrap = "supabase_admin"): string[] {
  const f = rolesLineFilter({ supabase, bootstrapSuperuser: bootstrap });
  return text.split("\n").flatMap((l) => {
    const out = f(l);
    return out === null ? [] : [out];
  });
}

describe("roles filter", () => {
  it("Supabase: drops reserved roles and unrestorable attributes, keeps pg_dump's \\restrict guard; idempotent CREATE; no GRANTED BY", () => {
    const out = filter(PG17_ROLES, true).filter(Boolean);
    expect(out).toEqual([
      "\\restrict abcDEF123",
      // Serialises concurrent restores on one cluster (roles are not locked by PostgreSQL).
      "SELECT pg_advisory_xact_lock(1398034263);\n",
      "SET default_transaction_read_only = off;",
      `DO $stowage_role$ BEGIN CREATE ROLE "app ""quoted"""; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $stowage_role$;`,
      `ALTER ROLE "app ""quoted""" WITH INHERIT NOCREATEROLE NOCREATEDB LOGIN NOBYPASSRLS;`,
      `ALTER ROLE "authenticator" SET "statement_timeout" TO '8s';`,
      `GRANT "authenticated" TO "app ""quoted""" WITH INHERIT TRUE;`,
      "\\unrestrict abcDEF123",
    ]);
  });

  it("plain Postgres: keeps every role but the bootstrap superuser", () => {
    const out = filter(PG17_ROLES, false).join("\n");
    expect(out).not.toContain('ROLE "supabase_admin"');
    expect(out).toContain('CREATE ROLE "anon"; EXCEPTION WHEN duplicate_object');
    expect(out).toContain('GRANT "anon" TO "authenticator" WITH INHERIT FALSE;');
  });

  it("plain Postgres: a bootstrap superuser named with '.', '$' or '\"' is left out exactly, and only it", () => {
    for (const name of ["post.gres", "su$per", 'we"ird', "a$'b.c"]) {
      const q = `"${name.replace(/"/g, '""')}"`;
      // A role whose name would match if '.' were a wildcard, '$' an anchor or '"' left undoubled.
      const lookalike = `"${name.replace(/[.$]/g, "X").replace(/"/g, '""')}X"`;
      const dump = [
        `CREATE ROLE ${q};`,
        `ALTER ROLE ${q} WITH SUPERUSER INHERIT CREATEROLE CREATEDB LOGIN REPLICATION BYPASSRLS;`,
        `CREATE ROLE ${lookalike};`,
        `ALTER ROLE ${lookalike} WITH NOSUPERUSER INHERIT LOGIN;`,
        `GRANT ${lookalike} TO ${q} GRANTED BY ${q};`,
      ].join("\n");
      const out = filter(dump, false, name).join("\n");
      expect(out).not.toContain(`ROLE ${q}`);
      expect(out).not.toContain(`TO ${q}`);
      expect(out).toContain(`CREATE ROLE ${lookalike}; EXCEPTION`);
      expect(out).toContain(`ALTER ROLE ${lookalike} WITH INHERIT LOGIN;`);
    }
  });
});

describe("Supabase schema rules (dump_schema.sh)", () => {
  it.each([
    ['CREATE TABLE "public"."t" (', 'CREATE TABLE IF NOT EXISTS "public"."t" ('],
    ['CREATE FUNCTION "public"."f"() RETURNS', 'CREATE OR REPLACE FUNCTION "public"."f"() RETURNS'],
    ['CREATE PUBLICATION "supabase_realtime" WITH', '-- CREATE PUBLICATION "supabase_realtime" WITH'],
    ['GRANT USAGE ON SCHEMA "auth" TO "anon";', '-- GRANT USAGE ON SCHEMA "auth" TO "anon";'],
    ['GRANT USAGE ON SCHEMA "public" TO "anon";', 'GRANT USAGE ON SCHEMA "public" TO "anon";'],
    ['CREATE EXTENSION IF NOT EXISTS "pgsodium" WITH SCHEMA "pgsodium";', 'CREATE EXTENSION IF NOT EXISTS "pgsodium";'],
    ["SET transaction_timeout = 0;", "-- SET transaction_timeout = 0;"],
  ])("%s", (input, expected) => {
    expect(supabaseSchemaLine(input)).toBe(expected);
  });
});

describe("client tool selection", () => {
  let root: string;
  async function fakeTools(major: number): Promise<string> {
    const dir = join(root, String(major));
    await mkdir(dir, { recursive: true });
    for (const t of ["pg_dump", "pg_dumpall", "psql"]) {
      await writeFile(join(dir, t), `#!/bin/sh\necho "${t} (PostgreSQL) ${major}.3"\n`, { mode: 0o755 });
    }
    return dir;
  }
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "stowage-tools-"));
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it("prefers the server's major, else the oldest newer one; never an older one", async () => {
    const [d14, d15, d17] = await Promise.all([fakeTools(14), fakeTools(15), fakeTools(17)]);
    const env = (...dirs: string[]) => ({ STOWAGE_PG_BIN: dirs.join(delimiter) });
    expect((await findPgTools({ serverVersionNum: 150004, env: env(d17, d15, d14) })).dir).toBe(d15);
    expect((await findPgTools({ serverVersionNum: 160001, env: env(d14, d17) })).major).toBe(17);
    const error = await findPgTools({ serverVersionNum: 160001, env: env(d14, d15) }).catch((e) => e);
    expect(BackupError.is(error, "PG_VERSION_MISMATCH")).toBe(true);
    expect(error.message).toContain("postgresql-client-16");
    expect((await findPgTools({ serverVersionNum: 150004, tools: ["psql"], env: env(d15) })).paths.psql).toBe(join(d15, "psql"));
  });

  it("asks Debian's pg_wrapper for its version only when no direct folder fits", async () => {
    // A folder whose tools are symlinks to a script named pg_wrapper, as /usr/bin on Debian; the
    // script leaves a mark each time it runs.
    const wrapped = join(root, "wrapper-bin");
    const marks = join(root, "wrapper-ran");
    await mkdir(wrapped, { recursive: true });
    await writeFile(join(root, "pg_wrapper"), `#!/bin/sh\necho ran >> "${marks}"\necho "pg_dump (PostgreSQL) 16.2"\n`, {
      mode: 0o755,
    });
    for (const t of ["pg_dump", "pg_dumpall", "psql"]) await symlink(join(root, "pg_wrapper"), join(wrapped, t));
    const [d14, d16] = await Promise.all([fakeTools(14), fakeTools(16)]);
    const env = (...dirs: string[]) => ({ STOWAGE_PG_BIN: dirs.join(delimiter) });
    expect((await findPgTools({ serverVersionNum: 160001, env: env(wrapped, d16) })).dir).toBe(d16);
    await expect(readFile(marks, "utf8")).rejects.toThrow(/ENOENT/);
    expect((await findPgTools({ serverVersionNum: 160001, env: env(wrapped, d14) })).dir).toBe(wrapped);
    expect(await readFile(marks, "utf8")).toBe("ran\n");
  });

  it("reads majors from server_version_num", () => {
    expect(majorOf(150019)).toBe(15);
    expect(majorOf(170002)).toBe(17);
    expect(majorOf(90624)).toBe(9.6);
  });
});

describe("database URL", () => {
  it("keeps the password out of the tool URL and puts it in PGPASSWORD only", () => {
    const t = parseDatabaseUrl("postgresql://app:p%40ss%3Aw0rd@db.example.com:6543/postgres?sslmode=require", {});
    expect(t.password).toBe("p@ss:w0rd");
    expect(t.urlWithoutPassword).toBe("postgresql://app@db.example.com:6543/postgres?sslmode=require");
    expect(t).toMatchObject({ host: "db.example.com", port: 6543, database: "postgres", user: "app" });
    expect(childEnv(t, { PGPASSWORD: "old", PATH: "/bin" })).toMatchObject({ PGPASSWORD: "p@ss:w0rd", PATH: "/bin" });
  });

  it("falls back to PGPASSWORD from the environment and rejects non-postgres URLs", () => {
    const t = parseDatabaseUrl("postgres://app@localhost/db", { PGPASSWORD: "fromenv" });
    expect(t.password).toBe("fromenv");
    expect(t.connectionString).toContain("fromenv");
    expect(() => parseDatabaseUrl("mysql://a@b/c", {})).toThrow(BackupError);
  });
});

describe("zstd check before a backup", () => {
  it("finds zstd on PATH without starting it, and names the package when it is missing", async () => {
    const { checkCompressor } = await import("../src/archive/compress.ts");
    const empty = await mkdtemp(join(tmpdir(), "stowage-nozstd-"));
    try {
      await expect(checkCompressor("zstd", "zstd", process.env.PATH)).resolves.toBeUndefined();
      const error = await checkCompressor("zstd", "zstd", empty).catch((e) => e);
      expect(BackupError.is(error, "COMPRESSOR_MISSING")).toBe(true);
      expect(error.message).toContain("apt-get install zstd");
      // A file that is there but not executable does not count.
      await writeFile(join(empty, "zstd"), "#!/bin/sh\n", { mode: 0o644 });
      expect(BackupError.is(await checkCompressor("zstd", "zstd", empty).catch((e) => e), "COMPRESSOR_MISSING")).toBe(true);
      await expect(checkCompressor("gzip", "zstd", empty)).resolves.toBeUndefined();
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });
});

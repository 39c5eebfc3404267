/**
 * runBackup against a real PostgreSQL (STOWAGE_TEST_PG_URL) and local_mapped destinations:
 * layout, manifest, checksums, row counts, the roles filter, compressions, age encryption, fan-out.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { gunzipSync } from "node:zlib";
import { LocalMappedDestination } from "@stowage/storage";
import { Decrypter } from "age-encryption";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MANAGED_OBJECTS_FOOTER, MANAGED_OBJECTS_HEADER } from "../src/dump/managed-objects.ts";
import { type BackupManifest, DATA_PREFIX, manifestSchema, runBackup, runRestore } from "../src/index.ts";
import {
  adminQuery,
  createDatabase,
  createFixtureDatabase,
  createPlatformDatabase,
  dropDatabase,
  psql,
  uniqueName,
} from "./helpers/pg.ts";

const run = promisify(execFile);
const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

let root: string;
let fixtureName: string;
let fixtureUrl: string;
const scratch: string[] = [];

async function destination(name: string): Promise<{ dest: LocalMappedDestination; dir: string }> {
  const dir = join(root, name);
  await run("mkdir", ["-p", dir]);
  return { dest: new LocalMappedDestination({ basePath: dir }), dir };
}

async function readManifest(dir: string, id: string): Promise<BackupManifest> {
  return manifestSchema.parse(JSON.parse(await readFile(join(dir, id, "manifest.json"), "utf8")));
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "stowage-backup-test-"));
  fixtureName = uniqueName("bk");
  fixtureUrl = await createFixtureDatabase(fixtureName);
});

afterAll(async () => {
  await dropDatabase(fixtureName);
  for (const db of scratch) await dropDatabase(db);
  await rm(root, { recursive: true, force: true });
});

/**
 * `psql --single-transaction -f file`, run again (up to 3 times) only after "tuple concurrently updated":
 * roles.sql changes cluster-wide rows, and another test file's GRANT/ALTER ROLE outside Stowage's lock
 * can fail it that way (rolled back whole, as --single-transaction does). A person restoring by hand runs
 * it again; so do these tests (seen in a fresh-clone CI run on the idempotence case).
 */
async function psqlSingleTransaction(url: string, file: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await psql(url, { file }, ["--single-transaction"]);
      return;
    } catch (error) {
      const text = `${String(error)} ${(error as { stderr?: string }).stderr ?? ""}`;
      if (attempt >= 3 || !/tuple concurrently updated/.test(text)) throw error;
    }
  }
}

describe("full backup of a Supabase-like database (gzip)", () => {
  let dir: string;
  let manifest: BackupManifest;

  beforeAll(async () => {
    const d = await destination("full");
    dir = d.dir;
    const progress: number[] = [];
    const result = await runBackup({
      databaseUrl: fixtureUrl,
      destinations: [d.dest],
      migrationHistory: true,
      onProgress: (p) => progress.push(p.bytesDumped),
    });
    expect(result.ok).toBe(true);
    const first = result.destinations[0]!;
    if (!first.ok) throw first.error;
    manifest = await readManifest(dir, result.backupId);
    expect(manifest).toEqual(first.manifest);
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.at(-1)).toBe(manifest.files.reduce((n, f) => n + f.plainSize, 0));
  });

  it("writes the folder <name>/<timestamp>-<id>/ with every part and the manifest", async () => {
    expect(manifest.id).toMatch(new RegExp(`^${fixtureName}/\\d{8}T\\d{6}Z-[0-9a-z]{6}$`));
    const files = (await readdir(join(dir, manifest.id))).sort();
    expect(files).toEqual(
      [
        "data.sql.gz",
        "history_data.sql.gz",
        "history_schema.sql.gz",
        "manifest.json",
        "post-data.sql.gz",
        "roles.sql.gz",
        "schema.sql.gz",
      ].sort(),
    );
    // Restore order, which a backup tar streams in: post-data (indexes, constraints, …) after the data.
    expect(manifest.files.map((f) => f.role)).toEqual(["roles", "schema", "history_schema", "data", "history_data", "post-data"]);
    expect(manifest.server.supabase).toBe(true);
    expect(manifest.server.database).toBe(fixtureName);
    expect(manifest.pgDump.version).toMatch(/^pg_dump \(PostgreSQL\) \d+/);
    expect(JSON.stringify(manifest)).not.toMatch(/postgresql:\/\//);
  });

  it("records checksums and sizes of the stored bytes and of the plain SQL", async () => {
    for (const file of manifest.files) {
      const stored = await readFile(join(dir, manifest.id, file.name));
      expect(stored.length).toBe(file.size);
      expect(sha256(stored)).toBe(file.sha256);
      const plain = gunzipSync(stored);
      expect(plain.length).toBe(file.plainSize);
      expect(sha256(plain)).toBe(file.plainSha256);
    }
  });

  it("counts the rows of every dumped table in the snapshot", () => {
    const rows = Object.fromEntries(manifest.tables.map((t) => [`${t.schema}.${t.name}`, t.rows]));
    expect(rows["public.events"]).toBe(120000);
    expect(rows["public.orders_2024"]! + rows["public.orders_2025"]!).toBe(20000);
    expect(rows["auth.users"]).toBe(3);
    expect(rows["storage.objects"]).toBe(3);
    expect(rows["supabase_migrations.schema_migrations"]).toBe(2);
    // Platform bookkeeping is not dumped (as the Supabase CLI), so it is not counted either.
    expect(rows["auth.schema_migrations"]).toBeUndefined();
    expect(rows["storage.migrations"]).toBeUndefined();
  });

  it("dumps data as COPY behind session_replication_role, keeping auth and storage data", async () => {
    const data = gunzipSync(await readFile(join(dir, manifest.id, "data.sql.gz"))).toString("utf8");
    expect(data.startsWith(DATA_PREFIX)).toBe(true);
    expect(data.trimEnd().endsWith("RESET ALL;")).toBe(true);
    expect(data).toContain('COPY "auth"."users"');
    expect(data).toContain('COPY "storage"."objects"');
    expect(data).toContain('COPY "public"."events"');
    expect(data).not.toContain('COPY "auth"."schema_migrations"');
    expect(data).not.toContain('COPY "supabase_migrations"');
    expect(data).not.toMatch(/^INSERT INTO/m);
  });

  it("leaves Supabase's internal schemas out of schema.sql and puts the history in its own parts", async () => {
    const schema = gunzipSync(await readFile(join(dir, manifest.id, "schema.sql.gz"))).toString("utf8");
    const postData = gunzipSync(await readFile(join(dir, manifest.id, "post-data.sql.gz"))).toString("utf8");
    expect(schema).toContain('CREATE TABLE IF NOT EXISTS "public"."profiles"');
    // pg_dump's sections: policies, indexes and keys come after the data.
    expect(schema).not.toContain("CREATE POLICY");
    expect(postData).toContain('CREATE POLICY "users update their own profile"');
    expect(postData).toMatch(/^ {4}ADD CONSTRAINT "profiles_pkey" PRIMARY KEY/m);
    expect(postData).not.toMatch(/^CREATE TABLE/m);
    // Keys and indexes of the managed tables are the platform's (only the user's own objects, in the section).
    expect(postData).not.toMatch(/^(ALTER TABLE (ONLY )?|CREATE (UNIQUE )?INDEX .* ON )"(auth|storage)"\./m);
    expect(schema).not.toMatch(/^CREATE TABLE IF NOT EXISTS "auth"\./m);
    expect(schema).not.toMatch(/^CREATE TABLE IF NOT EXISTS "storage"\./m);
    expect(schema).not.toMatch(/^CREATE SCHEMA IF NOT EXISTS "(auth|storage|extensions|supabase_migrations)"/m);
    const history = gunzipSync(await readFile(join(dir, manifest.id, "history_schema.sql.gz"))).toString("utf8");
    expect(history).toContain('CREATE TABLE IF NOT EXISTS "supabase_migrations"."schema_migrations"');
    const historyData = gunzipSync(await readFile(join(dir, manifest.id, "history_data.sql.gz"))).toString("utf8");
    expect(historyData).toContain('COPY "supabase_migrations"."schema_migrations"');
  });

  it("writes roles.sql without reserved roles, idempotent: psql applies it twice", async () => {
    const roles = gunzipSync(await readFile(join(dir, manifest.id, "roles.sql.gz"))).toString("utf8");
    const statements = roles.split("\n").filter((l) => l && !l.startsWith("--"));
    const reserved =
      /"(anon|authenticated|authenticator|service_role|postgres|dashboard_user|pgbouncer|supabase_[^"]*|pgsodium_[^"]*)"/;
    for (const line of statements) {
      if (/^(CREATE|ALTER) ROLE|^DO /.test(line) && !/ SET "statement_timeout" /.test(line)) expect(line).not.toMatch(reserved);
      if (line.startsWith("GRANT ")) expect(line).not.toMatch(new RegExp(` TO ${reserved.source}`));
      expect(line).not.toMatch(/NOSUPERUSER|NOREPLICATION|GRANTED BY/);
    }
    expect(roles).toMatch(/CREATE ROLE "stowage_fixture_app"; EXCEPTION WHEN duplicate_object/);
    // pg_dumpall's own psql guard is kept (the Supabase CLI deletes it): one \restrict and its \unrestrict, same key.
    const guard = roles.split("\n").filter((l) => /^\\(un)?restrict /.test(l));
    expect(guard).toHaveLength(2);
    expect(guard[1]).toBe(guard[0]!.replace("\\restrict", "\\unrestrict"));
    expect(roles).toContain('GRANT "authenticated" TO "stowage_fixture_app"');
    const target = uniqueName("roles");
    scratch.push(target);
    const url = await createDatabase(target);
    const file = join(root, "roles.sql");
    await writeFile(file, roles);
    await psqlSingleTransaction(url, file);
    await psqlSingleTransaction(url, file);
    const [app] = await adminQuery<{ rolcanlogin: boolean }>(
      "select rolcanlogin from pg_roles where rolname = 'stowage_fixture_app'",
    );
    expect(app?.rolcanlogin).toBe(false);
  });

  it("restores with plain psql into a fresh Supabase-like project (roles, schema, data, history, post-data)", async () => {
    const target = uniqueName("rt");
    scratch.push(target);
    const url = await createPlatformDatabase(target);
    const sqlFile = join(root, "restore.sql");
    const parts = ["roles", "schema", "history_schema", "data", "history_data", "post-data"].map(
      (role) => manifest.files.find((f) => f.role === role)!,
    );
    const sql = await Promise.all(
      parts.map(async (f) => gunzipSync(await readFile(join(dir, manifest.id, f.name))).toString("utf8")),
    );
    await writeFile(sqlFile, sql.join("\n"));
    await psqlSingleTransaction(url, sqlFile);
    const [counts] = await adminQuery<{ events: string; orders: string; users: string; history: string }>(
      `select (select count(*) from public.events) as events, (select count(*) from public.orders) as orders,
              (select count(*) from auth.users) as users, (select count(*) from supabase_migrations.schema_migrations) as history`,
      target,
    );
    expect(counts).toEqual({ events: "120000", orders: "20000", users: "3", history: "2" });
  });
});

describe("user objects on Supabase-managed tables", () => {
  let dest: LocalMappedDestination;
  let id: string;
  let schema: string;
  let postData: string;

  beforeAll(async () => {
    const d = await destination("managed");
    dest = d.dest;
    const result = await runBackup({ databaseUrl: fixtureUrl, destinations: [dest], type: "schema" });
    expect(result.ok).toBe(true);
    id = result.backupId;
    schema = gunzipSync(await readFile(join(d.dir, id, "schema.sql.gz"))).toString("utf8");
    postData = gunzipSync(await readFile(join(d.dir, id, "post-data.sql.gz"))).toString("utf8");
  });

  it("post-data.sql ends with the user's triggers, policies, RLS and grants on auth/storage tables, not the platform's", () => {
    // The trigger functions are defined in schema.sql, restored before; the section follows pg_dump's
    // post-data (after the data: an ALWAYS trigger must not fire during the load), before the final RESET ALL.
    expect(schema).toContain('CREATE OR REPLACE FUNCTION "public"."handle_new_user"()');
    expect(schema).not.toContain(MANAGED_OBJECTS_HEADER);
    const start = postData.indexOf(MANAGED_OBJECTS_HEADER);
    const end = postData.indexOf(MANAGED_OBJECTS_FOOTER);
    expect(start).toBeGreaterThan(postData.indexOf('CREATE POLICY "users update their own profile"'));
    expect(end).toBeGreaterThan(start);
    expect(postData.slice(end).trim()).toBe(`${MANAGED_OBJECTS_FOOTER}\n\nRESET ALL;`);
    const section = postData.slice(start, end);
    expect(section).toContain(
      "DROP TRIGGER IF EXISTS on_auth_user_created ON auth.users;\n" +
        "CREATE TRIGGER on_auth_user_created AFTER INSERT ON auth.users FOR EACH ROW EXECUTE FUNCTION public.handle_new_user();",
    );
    expect(section).toContain(
      'CREATE TRIGGER "Bucket renamed" BEFORE UPDATE OF name ON storage.buckets FOR EACH ROW WHEN ((old.name IS DISTINCT FROM new.name)) EXECUTE FUNCTION public.log_bucket_rename();\n' +
        'ALTER TABLE storage.buckets DISABLE TRIGGER "Bucket renamed";',
    );
    expect(section).toContain('DROP POLICY IF EXISTS "avatar images are public" ON storage.objects;');
    expect(section).toContain(
      'CREATE POLICY "only owners delete" ON storage.objects AS RESTRICTIVE FOR DELETE TO authenticated, stowage_fixture_app USING ((owner = ( SELECT auth.uid() AS uid)));',
    );
    expect(section).toContain(
      'CREATE POLICY "buckets are listed" ON storage.buckets AS PERMISSIVE FOR ALL TO anon, authenticated USING (public) WITH CHECK (false);',
    );
    expect(section).toMatch(/THEN ALTER TABLE storage\.buckets ENABLE ROW LEVEL SECURITY; END IF;/);
    expect(section).toContain("GRANT SELECT, UPDATE ON TABLE storage.objects TO stowage_fixture_app;");
    // The platform's own: storage's trigger calls a storage function; grants to reserved roles.
    expect(section).not.toContain("update_objects_updated_at");
    expect(section).not.toMatch(/TO (anon|authenticated|service_role|postgres);$/m);
  });

  it("restores into a fresh Supabase-like project, and again with --clean; the section alone applies twice", async () => {
    const name = uniqueName("managed");
    scratch.push(name);
    const url = await createPlatformDatabase(name);
    const source = { destination: dest, folder: id };
    await runRestore({ source, targetUrl: url });
    await runRestore({ source, targetUrl: url, clean: true });
    const file = join(root, "managed-section.sql");
    await writeFile(file, postData.slice(postData.indexOf(MANAGED_OBJECTS_HEADER)));
    await psqlSingleTransaction(url, file);
    await psqlSingleTransaction(url, file);

    const catalog = `
      select (select string_agg(tgname || ':' || tgenabled::text, ',' order by tgname) from pg_trigger
               where tgrelid in ('auth.users'::regclass, 'storage.buckets'::regclass, 'storage.objects'::regclass)
                 and not tgisinternal) as triggers,
             (select string_agg(concat_ws('/', tablename, policyname, permissive, cmd, roles::text, qual, with_check), ','
                                order by tablename, policyname)
                from pg_policies where schemaname = 'storage') as policies,
             (select count(*)::int from pg_policies where schemaname = 'storage') as policy_count,
             (select string_agg(relname || ':' || relrowsecurity, ',' order by relname) from pg_class
               where oid in ('storage.buckets'::regclass, 'storage.objects'::regclass)) as rls,
             has_table_privilege('stowage_fixture_app', 'storage.objects', 'UPDATE') as granted`;
    const [restored] = await adminQuery(catalog, name);
    const [original] = await adminQuery(catalog, fixtureName);
    expect(restored).toEqual(original);
    expect(restored).toMatchObject({
      triggers: "Bucket renamed:D,on_auth_user_created:O,update_objects_updated_at:O",
      rls: "buckets:true,objects:true",
      granted: true,
      policy_count: 4,
    });
    expect(restored!.policies).toContain("objects/only owners delete/RESTRICTIVE/DELETE/{authenticated,stowage_fixture_app}/");
    // The trigger works: a new user gets a profile, as on the source project.
    await adminQuery(
      "insert into auth.users (id, email) values ('00000000-0000-0000-0000-0000000000aa', 'new@example.com')",
      name,
    );
    const [profile] = await adminQuery<{ email: string }>(
      "select email from public.profiles where id = '00000000-0000-0000-0000-0000000000aa'",
      name,
    );
    expect(profile?.email).toBe("new@example.com");
  });

  it("a data-only backup carries no schema and no section", async () => {
    const { dest: d, dir } = await destination("managed-data");
    const result = await runBackup({ databaseUrl: fixtureUrl, destinations: [d], type: "data", compression: "none" });
    const m = await readManifest(dir, result.backupId);
    expect(m.files.map((f) => f.role)).toEqual(["data"]);
    expect(await readFile(join(dir, m.id, "data.sql"), "utf8")).not.toContain("Stowage: user objects");
  });
});

describe("compression and encryption", () => {
  it("zstd: stored bytes decompress with the zstd CLI to the recorded plain SQL", async () => {
    const { dest, dir } = await destination("zstd");
    const result = await runBackup({ databaseUrl: fixtureUrl, destinations: [dest], type: "data", compression: "zstd" });
    const m = await readManifest(dir, result.backupId);
    expect(m.files.map((f) => f.name)).toEqual(["data.sql.zst"]);
    const { stdout } = await run("sh", ["-c", 'zstd -dc "$1" | sha256sum', "sh", join(dir, m.id, "data.sql.zst")]);
    expect(stdout.split(" ")[0]).toBe(m.files[0]!.plainSha256);
  });

  it("none: the stored file is the plain SQL", async () => {
    const { dest, dir } = await destination("none");
    const result = await runBackup({ databaseUrl: fixtureUrl, destinations: [dest], type: "schema", compression: "none" });
    const m = await readManifest(dir, result.backupId);
    expect(m.files.map((f) => f.name)).toEqual(["schema.sql", "post-data.sql"]);
    for (const f of m.files) expect(f.sha256).toBe(f.plainSha256);
    expect(m.tables).toEqual([]);
    expect(await readFile(join(dir, m.id, "schema.sql"), "utf8")).toContain('"public"."profiles"');
  });

  it("age X25519: Debian's `age -d` decrypts the backup; the manifest holds only the public recipient", async () => {
    const keyFile = join(root, "key.txt");
    await run("age-keygen", ["-o", keyFile]);
    const identity = await readFile(keyFile, "utf8");
    const recipient = /public key: (age1[0-9a-z]+)/.exec(identity)![1]!;
    const { dest, dir } = await destination("age");
    const result = await runBackup({
      databaseUrl: fixtureUrl,
      destinations: [dest],
      type: "data",
      encryption: { recipients: [recipient] },
    });
    const m = await readManifest(dir, result.backupId);
    expect(m.files[0]!.name).toBe("data.sql.gz.age");
    expect(m.encryption).toEqual({ algorithm: "age", recipients: [recipient], passphrase: false });
    expect(await readFile(join(dir, m.id, "manifest.json"), "utf8")).not.toContain("AGE-SECRET-KEY");
    const { stdout } = await run("sh", [
      "-c",
      'age -d -i "$1" "$2" | gunzip | sha256sum',
      "sh",
      keyFile,
      join(dir, m.id, "data.sql.gz.age"),
    ]);
    expect(stdout.split(" ")[0]).toBe(m.files[0]!.plainSha256);
  });

  it("age passphrase: decrypts with the passphrase (age-encryption), which is stored nowhere", async () => {
    const passphrase = "correct horse battery staple 42";
    const { dest, dir } = await destination("age-pass");
    const result = await runBackup({
      databaseUrl: fixtureUrl,
      destinations: [dest],
      type: "schema",
      encryption: { passphrase, scryptWorkFactor: 10 },
    });
    const m = await readManifest(dir, result.backupId);
    expect(m.encryption).toEqual({ algorithm: "age", recipients: [], passphrase: true });
    const stored = await readFile(join(dir, m.id, m.files[0]!.name));
    expect(stored.subarray(0, 21).toString()).toBe("age-encryption.org/v1");
    const decrypter = new Decrypter();
    decrypter.addPassphrase(passphrase);
    const plain = gunzipSync(await decrypter.decrypt(stored));
    expect(sha256(plain)).toBe(m.files[0]!.plainSha256);
    for (const f of await readdir(join(dir, m.id)))
      expect(await readFile(join(dir, m.id, f), "latin1")).not.toContain(passphrase);
  });
});

describe("plain PostgreSQL", () => {
  it("is detected and dumped whole: every user schema, roles without the bootstrap superuser", async () => {
    const name = uniqueName("plain");
    scratch.push(name);
    const url = await createDatabase(name);
    await psql(url, {
      sql: "create schema app; create table app.items (id int primary key, label text); insert into app.items select i, 'x' || i from generate_series(1, 50) i;",
    });
    const { dest, dir } = await destination("plain");
    const result = await runBackup({ databaseUrl: url, destinations: [dest] });
    const m = await readManifest(dir, result.backupId);
    expect(m.server.supabase).toBe(false);
    expect(m.tables).toEqual([{ schema: "app", name: "items", rows: 50 }]);
    const schema = gunzipSync(await readFile(join(dir, m.id, "schema.sql.gz"))).toString("utf8");
    expect(schema).toContain('CREATE SCHEMA "app"');
    expect(schema).not.toContain("PRIMARY KEY");
    const postData = gunzipSync(await readFile(join(dir, m.id, "post-data.sql.gz"))).toString("utf8");
    expect(postData).toMatch(/^ {4}ADD CONSTRAINT "items_pkey" PRIMARY KEY \("id"\);$/m);
    expect(postData).not.toContain(MANAGED_OBJECTS_HEADER);
    const roles = gunzipSync(await readFile(join(dir, m.id, "roles.sql.gz"))).toString("utf8");
    const [boot] = await adminQuery<{ rolname: string }>("select rolname from pg_roles where oid = 10");
    expect(roles).not.toContain(`ROLE "${boot!.rolname}"`);
  });
});

describe("fan-out", () => {
  it("one destination failing does not fail the other", async () => {
    const good = await destination("fan-good");
    const bad = new LocalMappedDestination({ basePath: join(root, "does-not-exist"), mustExist: true });
    const result = await runBackup({ databaseUrl: fixtureUrl, destinations: [bad, good.dest], type: "schema" });
    expect(result.ok).toBe(false);
    const [r0, r1] = result.destinations;
    expect(r0!.ok).toBe(false);
    if (!r0!.ok) expect(r0!.error.code).toBe("STORAGE");
    expect(r1!.ok).toBe(true);
    expect((await readManifest(good.dir, result.backupId)).files.map((f) => f.role)).toEqual(["schema", "post-data"]);
  });
});

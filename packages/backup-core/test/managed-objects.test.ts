/**
 * The "user's object" rule of dump/managed-objects.ts against a real catalog: a fresh Supabase-like
 * project plus triggers, policies and grants on its managed tables, read through a held snapshot.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MANAGED_OBJECTS_HEADER, readManagedTableObjects, renderSection } from "../src/dump/managed-objects.ts";
import { parseDatabaseUrl } from "../src/pg/connection.ts";
import { holdSnapshot } from "../src/pg/snapshot.ts";
import { createPlatformDatabase, dropDatabase, psql, uniqueName } from "./helpers/pg.ts";

const name = uniqueName("managed_rule");
let url: string;

beforeAll(async () => {
  url = await createPlatformDatabase(name);
  await psql(url, {
    sql: `
      -- A database webhook on auth.users: the function is Supabase's, the trigger the user's.
      CREATE SCHEMA supabase_functions;
      CREATE FUNCTION supabase_functions.http_request() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN new; END $$;
      CREATE TRIGGER "new user webhook" AFTER INSERT ON auth.users FOR EACH ROW EXECUTE FUNCTION supabase_functions.http_request();
      -- A platform-style trigger: auth's own function on an auth table.
      CREATE FUNCTION auth.audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN new; END $$;
      CREATE TRIGGER auth_audit AFTER UPDATE ON auth.users FOR EACH ROW EXECUTE FUNCTION auth.audit();
      -- A policy on auth.users (every policy there is the user's) and one on a user table (pg_dump's).
      ALTER TABLE auth.users ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
      CREATE POLICY "self" ON auth.users FOR SELECT TO authenticated USING (id = auth.uid());
      CREATE TABLE public.notes (id int);
      CREATE POLICY "public note policy" ON public.notes USING (true);
      -- Grants: to a reserved role (the platform's kind) and to the owner are not carried.
      GRANT SELECT ON auth.users TO service_role;
      -- A trigger that fires in replica mode only.
      CREATE FUNCTION public.on_object() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN new; END $$;
      CREATE TRIGGER replica_only AFTER INSERT ON storage.objects FOR EACH ROW EXECUTE FUNCTION public.on_object();
      ALTER TABLE storage.objects ENABLE REPLICA TRIGGER replica_only;`,
  });
});

afterAll(async () => {
  await dropDatabase(name);
});

describe("user objects on managed tables", () => {
  it("keeps the user's triggers and policies, leaves the platform's and pg_dump's", async () => {
    const snapshot = await holdSnapshot(parseDatabaseUrl(url, {}));
    let section: string;
    try {
      section = await readManagedTableObjects(snapshot, snapshot.facts.versionNum);
      // The snapshot's search_path is back to what it was: later queries there are unaffected.
      const [path] = await snapshot.query<{ p: string }>("select current_setting('search_path') as p");
      expect(path?.p).toBe('"$user", public');
    } finally {
      await snapshot.release();
    }
    expect(section).toContain(MANAGED_OBJECTS_HEADER);
    expect(section).toContain(
      'CREATE TRIGGER "new user webhook" AFTER INSERT ON auth.users FOR EACH ROW EXECUTE FUNCTION supabase_functions.http_request();',
    );
    expect(section).toContain(
      "CREATE TRIGGER replica_only AFTER INSERT ON storage.objects FOR EACH ROW EXECUTE FUNCTION public.on_object();\n" +
        "ALTER TABLE storage.objects ENABLE REPLICA TRIGGER replica_only;",
    );
    expect(section).not.toContain("auth_audit");
    expect(section).not.toContain("update_objects_updated_at");
    expect(section).toContain(
      "CREATE POLICY self ON auth.users AS PERMISSIVE FOR SELECT TO authenticated USING ((id = auth.uid()));",
    );
    expect(section).not.toContain("public note policy");
    expect(section).toMatch(/THEN ALTER TABLE auth\.users ENABLE ROW LEVEL SECURITY;/);
    expect(section).toMatch(/THEN ALTER TABLE auth\.users FORCE ROW LEVEL SECURITY;/);
    expect(section).toMatch(/THEN ALTER TABLE storage\.objects ENABLE ROW LEVEL SECURITY;/);
    expect(section).not.toMatch(/^GRANT /m);
  });

  it("renders nothing when there is nothing, and skips a trigger dropped after the snapshot began", () => {
    expect(renderSection({ rls: [], policies: [], grants: [], triggers: [] })).toBe("");
    expect(
      renderSection({ rls: [], policies: [], grants: [], triggers: [{ drop: "DROP TRIGGER x;", create: null, state: null }] }),
    ).toBe("");
  });
});

/**
 * bin/stowage.js's two ways to start: the prebuilt bundle (bin/build.js) when it is fresh, the
 * TypeScript sources through tsx otherwise. The freshness rule is tested on a fake build; the
 * bundle itself is built into a temporary folder and run for real (backup + verify of a small
 * database), so a bundling mistake (a CommonJS dependency, a file read relative to a source) fails here.
 */
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDatabase, dropDatabase, psql, uniqueName } from "../../../packages/backup-core/test/helpers/pg.ts";

const run = promisify(execFile);
// Plain-JS modules of bin/, imported by URL so TypeScript does not look for their types.
const check = (await import(new URL("../bin/bundle-check.js", import.meta.url).href)) as {
  freshBundle: (distDir: URL) => string | undefined;
};
const builder = (await import(new URL("../bin/build.js", import.meta.url).href)) as {
  buildFreshBundle: (outdir: string) => Promise<{ entry: string; inputs: number }>;
};

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "stowage-bin-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("bundle freshness", () => {
  /** A build that started a minute ago from one input last changed two minutes ago. */
  async function fakeBuild(name: string, startedAt = Date.now() - 60_000): Promise<{ dist: URL; input: string }> {
    const dist = join(dir, name);
    await mkdir(dist);
    const input = join(dir, `${name}-input.ts`);
    await writeFile(input, "export {};\n");
    await utimes(input, new Date(startedAt - 60_000), new Date(startedAt - 60_000));
    await writeFile(join(dist, "stowage.js"), "");
    await writeFile(join(dist, "build-info.json"), JSON.stringify({ startedAt, entry: "stowage.js", inputs: [input] }));
    return { dist: pathToFileURL(`${dist}/`), input };
  }

  it("uses a bundle whose inputs are all older than its build", async () => {
    const { dist } = await fakeBuild("fresh");
    expect(check.freshBundle(dist)).toBe(new URL("stowage.js", dist).href);
  });

  it("refuses it once an input changed, disappeared, or the entry is gone", async () => {
    const edited = await fakeBuild("edited");
    await writeFile(edited.input, "export const x = 1;\n"); // mtime: now, a minute after the build started
    expect(check.freshBundle(edited.dist)).toBeUndefined();

    const removed = await fakeBuild("removed");
    await rm(removed.input);
    expect(check.freshBundle(removed.dist)).toBeUndefined();

    const noEntry = await fakeBuild("no-entry");
    await rm(new URL("stowage.js", noEntry.dist));
    expect(check.freshBundle(noEntry.dist)).toBeUndefined();
  });

  it("refuses a missing or unreadable build-info.json", async () => {
    expect(check.freshBundle(pathToFileURL(join(dir, "nothing/")))).toBeUndefined();
    const garbled = await fakeBuild("garbled");
    await writeFile(new URL("build-info.json", garbled.dist), "{");
    expect(check.freshBundle(garbled.dist)).toBeUndefined();
  });
});

describe("the bundle", () => {
  const databases: string[] = [];
  afterAll(async () => {
    for (const name of databases) await dropDatabase(name);
  });

  it("is fresh right after a build, and backs up and verifies like the sources", async () => {
    const out = join(dir, "dist");
    const { entry, inputs } = await builder.buildFreshBundle(out);
    expect(inputs).toBeGreaterThan(10);
    expect(check.freshBundle(pathToFileURL(`${out}/`))).toBe(pathToFileURL(entry).href);
    const info = JSON.parse(await readFile(join(out, "build-info.json"), "utf8")) as { inputs: string[] };
    expect(info.inputs.some((f) => f.endsWith("/apps/backup/src/cli/main.ts"))).toBe(true);
    expect(info.inputs.some((f) => f.endsWith("/node_modules/commander/package.json"))).toBe(true);

    const pkg = JSON.parse(await readFile(new URL("../package.json", import.meta.url), "utf8")) as { version: string };
    const version = await run(process.execPath, [entry, "--version"]);
    expect(version.stdout.trim()).toBe(pkg.version);

    const name = uniqueName("stowage_bin");
    databases.push(name);
    const url = await createDatabase(name);
    await psql(url, {
      sql: "create table t (id int primary key, v text); insert into t select i, md5(i::text) from generate_series(1, 500) i;",
    });
    const dest = join(dir, "dest");
    await mkdir(dest);
    const backup = await run(process.execPath, [
      entry,
      "backup",
      "--db",
      url,
      "--to",
      `file://${dest}`,
      "--name",
      "bin",
      "--json",
    ]);
    const { backupId } = JSON.parse(backup.stdout) as { backupId: string };
    expect(backupId).toMatch(/^bin\//);
    const manifest = JSON.parse(await readFile(join(dest, backupId, "manifest.json"), "utf8")) as {
      tool: { version: string };
      tables: unknown;
    };
    // backup-core reads its version from ../package.json relative to its source: the bundle must read that same file.
    const core = JSON.parse(await readFile(new URL("../../../packages/backup-core/package.json", import.meta.url), "utf8")) as {
      version: string;
    };
    expect(manifest.tool.version).toBe(core.version);
    const verify = await run(process.execPath, [entry, "verify", "--from", `file://${dest}`, backupId]);
    expect(verify.stdout).toMatch(/ok|verified/i);
  });
});

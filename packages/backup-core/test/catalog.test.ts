import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { LocalMappedDestination } from "@stowage/storage";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listBackups, locateBackup, readManifest } from "../src/catalog.ts";
import { deleteBackup, prune } from "../src/prune.ts";
import { writeBackup } from "./read-fixture.ts";

let dir: string;
let destination: LocalMappedDestination;
const parts = [{ role: "schema" as const, sql: "select 1;\n" }];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "stowage-catalog-"));
  destination = new LocalMappedDestination({ basePath: dir });
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

describe("catalog", () => {
  it("lists complete, incomplete and bad-manifest backups oldest first, ignoring other files", async () => {
    const a = await writeBackup(destination, { name: "shop", time: new Date("2026-11-01T00:00:00Z"), parts });
    const b = await writeBackup(destination, { name: "shop", time: new Date("2026-11-02T00:00:00Z"), parts, incomplete: true });
    const c = await writeBackup(destination, { name: "crm", time: new Date("2026-11-03T00:00:00Z"), parts, compression: "zstd" });
    const bad = "crm/20261104T000000Z-badbad";
    await destination.upload(Readable.from([Buffer.from('{"format":"something-else"}')]), `${bad}/manifest.json`);
    await destination.upload(Readable.from([Buffer.from("notes")]), "README.txt");
    await destination.upload(Readable.from([Buffer.from("x")]), "shop/not-a-backup/file.sql");

    const entries = await listBackups(destination);
    expect(entries.map((e) => [e.id, e.complete])).toEqual([
      [a.id, true],
      [b.id, false],
      [c.id, true],
      [bad, false],
    ]);
    expect(entries[0]!.manifest?.files[0]?.name).toBe("schema.sql.gz");
    expect(entries[0]!.size).toBeGreaterThan(entries[0]!.manifest!.files[0]!.size);
    expect(entries[1]!.time.toISOString()).toBe("2026-11-02T00:00:00.000Z");
    expect(entries[3]!.problem).toMatch(/not a valid Stowage manifest/);
    expect((await listBackups(destination, "crm/")).map((e) => e.id)).toEqual([c.id, bad]);
  });

  it("readManifest says incomplete for a folder without manifest, and works on a local folder path", async () => {
    const m = await writeBackup(destination, { name: "x", time: new Date("2026-10-01T00:00:00Z"), parts, incomplete: true });
    await expect(readManifest({ destination, folder: m.id })).rejects.toMatchObject({ code: "MANIFEST_NOT_FOUND" });
    const ok = await writeBackup(destination, { name: "x", time: new Date("2026-10-02T00:00:00Z"), parts });
    const local = locateBackup(join(dir, ok.id));
    expect((await readManifest(local)).id).toBe(ok.id);
    await writeFile(join(dir, ok.id, "manifest.json"), "{not json");
    await expect(readManifest(local)).rejects.toMatchObject({ code: "MANIFEST_INVALID" });
  });

  it("deleteBackup removes the manifest first, so a folder is never complete with a part missing", async () => {
    const m = await writeBackup(destination, { name: "del", time: new Date("2026-09-01T00:00:00Z"), parts });
    const [entry] = await listBackups(destination, "del/");
    const order: string[] = [];
    const spy = Object.create(destination) as LocalMappedDestination;
    spy.delete = async (key: string) => {
      order.push(key.split("/").pop()!);
      await destination.delete(key);
    };
    await deleteBackup(spy, entry!);
    expect(order).toEqual(["manifest.json", "schema.sql.gz"]);
    expect(await listBackups(destination, `${m.id}/`)).toEqual([]);
  });

  it("prune refuses a policy without rules and keeps the only complete backup", async () => {
    const own = new LocalMappedDestination({ basePath: await mkdtemp(join(tmpdir(), "stowage-prune-")) });
    await writeBackup(own, { name: "one", time: new Date("2020-01-01T00:00:00Z"), parts });
    await expect(prune({ destination: own, policy: {} })).rejects.toMatchObject({ code: "INVALID_POLICY" });
    const result = await prune({ destination: own, policy: { keepDaily: 1 } });
    expect(result.removed).toEqual([]);
    expect(result.decisions[0]!.action).toBe("keep");
  });

  it("prune applies the policy to each backup name: another database's only backup survives; --name limits the run", async () => {
    const own = new LocalMappedDestination({ basePath: await mkdtemp(join(tmpdir(), "stowage-prune-names-")) });
    const mine = [];
    for (let d = 1; d <= 3; d++)
      mine.push(await writeBackup(own, { name: "mydb", time: new Date(Date.UTC(2026, 10, d)), parts }));
    const other = await writeBackup(own, { name: "otherdb", time: new Date("2020-01-01T00:00:00Z"), parts });
    const third = await writeBackup(own, { name: "third", time: new Date(Date.UTC(2026, 9, 1)), parts });
    const third2 = await writeBackup(own, { name: "third", time: new Date(Date.UTC(2026, 9, 2)), parts });

    const onlyMine = await prune({ destination: own, policy: { keepLast: 1 }, dryRun: true, name: "mydb" });
    expect(onlyMine.names.map((n) => n.name)).toEqual(["mydb"]);
    expect(onlyMine.decisions.map((d) => d.id)).toEqual([mine[2]!.id, mine[1]!.id, mine[0]!.id]);

    const result = await prune({ destination: own, policy: { keepLast: 1 } });
    expect(result.names.map((n) => [n.name, n.removed.length])).toEqual([
      ["mydb", 2],
      ["otherdb", 0],
      ["third", 1],
    ]);
    const left = (await listBackups(own)).map((e) => e.id).sort();
    expect(left).toEqual([mine[2]!.id, other.id, third2.id].sort());
    expect(left).not.toContain(third.id);
  });
});

import * as crypto from "node:crypto";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { getRequestListener } from "@hono/node-server";
import { parse as parseContentDisposition } from "content-disposition";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { StorageError } from "../src/errors.ts";
import { createDownloadHandler } from "../src/providers/browser-download/handler.ts";
import { BrowserDownloadDestination, OBJECTS_FOLDER, TOKEN_INDEX_FILE } from "../src/providers/browser-download/provider.ts";
import { describeStorageContract, generatedStream } from "./contract/suite.ts";

// Pass-through spy on timingSafeEqual, to prove that a lookup compares against every stored hash.
vi.mock("node:crypto", async (importOriginal) => {
  const original = await importOriginal<typeof import("node:crypto")>();
  return { ...original, timingSafeEqual: vi.fn(original.timingSafeEqual) };
});

describeStorageContract("browser_download", async () => {
  const root = await mkdtemp(join(tmpdir(), "stowage-browser-"));
  const stagingPath = join(root, "staging");
  await mkdir(stagingPath);
  return {
    destination: new BrowserDownloadDestination({ stagingPath }),
    multipartBytes: 4 * 1024 * 1024,
    async withMissingContainer() {
      // Staging is created on demand; one that cannot be (a file in its way) is the missing case.
      await writeFile(join(root, "a-file"), "in the way");
      return new BrowserDownloadDestination({ stagingPath: join(root, "a-file", "staging") });
    },
    async withMissingBaseFolder() {
      return new BrowserDownloadDestination({ stagingPath: join(root, "new", "staging") });
    },
    async withQuota(bytes) {
      const quotaPath = join(root, "quota");
      await mkdir(quotaPath, { recursive: true });
      return new BrowserDownloadDestination({ stagingPath: quotaPath, maxSize: bytes });
    },
    badConfigs: [
      { config: { stagingPath: "relative/staging" }, field: "stagingPath" },
      { config: {}, field: "stagingPath" },
      { config: { stagingPath: "/tmp/x", ttlSeconds: 0 }, field: "ttlSeconds" },
      { config: { stagingPath: "/tmp/x", ttlSeconds: "1h" }, field: "ttlSeconds" },
      { config: { stagingPath: "/tmp/x", urlPrefix: "" }, field: "urlPrefix" },
      { config: { stagingPath: "/tmp/x", maxSize: -1 }, field: "maxSize" },
    ],
    async teardown() {
      await rm(root, { recursive: true, force: true });
    },
  };
});

const sha = (b: Buffer | Uint8Array) => createHash("sha256").update(b).digest("hex");
const tokenOf = (url: string) => url.slice(url.lastIndexOf("/") + 1);

/** Every file under `dir`, recursively. */
async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(path)));
    else out.push(path);
  }
  return out;
}

/** Polls `check` until it holds; generous by default, since a loaded CI machine is slow (it returns at once when met). */
async function eventually(check: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for: ${what}`);
}

const isGone = (d: BrowserDownloadDestination, key: string) =>
  d.stat(key).then(
    () => false,
    (e: unknown) => StorageError.is(e, "NOT_FOUND"),
  );

describe("browser_download specifics", () => {
  let root: string;
  let stagingPath: string;
  let clock: number;
  let d: BrowserDownloadDestination;
  let server: Server;
  let base: string;
  const handlerErrors: unknown[] = [];

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "stowage-browser-http-"));
    stagingPath = join(root, "staging");
    await mkdir(stagingPath);
    clock = Date.now();
    d = new BrowserDownloadDestination({ stagingPath, ttlSeconds: 60, urlPrefix: "/dl/" }, { now: () => clock });
    const handler = createDownloadHandler(d, { onError: (e) => handlerErrors.push(e) });
    server = createServer(getRequestListener(handler));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await rm(root, { recursive: true, force: true });
    expect(handlerErrors).toEqual([]);
  });

  it("issues a 256-bit base64url token and stores only its SHA-256", async () => {
    const a = await d.upload(Readable.from([Buffer.from("secret bytes")]), "tok/a.bin");
    const b = await d.upload(Readable.from([Buffer.from("other")]), "tok/b.bin");
    const token = tokenOf(a.url);
    expect(a.url).toBe(`/dl/${token}`);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(token, "base64url").length).toBe(32);
    expect(tokenOf(b.url)).not.toBe(token);
    expect(a.expiresAt.getTime()).toBe(clock + 60_000);

    const index = JSON.parse(await readFile(join(stagingPath, TOKEN_INDEX_FILE), "utf8"));
    expect(index.tokens.map((t: { hash: string }) => t.hash)).toContain(createHash("sha256").update(token).digest("hex"));
    // "grep -r" the whole staging folder for both raw tokens (as text and as bytes): absent.
    for (const file of await filesUnder(stagingPath)) {
      const content = await readFile(file);
      for (const raw of [token, tokenOf(b.url)]) {
        expect(content.includes(raw), `${file} contains a raw token`).toBe(false);
        expect(content.includes(Buffer.from(raw, "base64url")), `${file} contains raw token bytes`).toBe(false);
      }
    }
    // The index is replaced atomically: no temp files are left beside it, and only we can read it.
    expect((await readdir(stagingPath)).sort()).toEqual([OBJECTS_FOLDER, TOKEN_INDEX_FILE]);
    expect((await stat(join(stagingPath, TOKEN_INDEX_FILE))).mode & 0o077).toBe(0);
    await d.delete("tok/a.bin");
    await d.delete("tok/b.bin");
  });

  it("streams the exact bytes with attachment headers, then removes the object and the token", async () => {
    const { stream, sha256 } = generatedStream(3 * 1024 * 1024 + 17);
    const key = "exports/db 2024-05-01 résumé.dump.gz";
    const { url, size } = await d.upload(stream, key);

    const head = await fetch(`${base}${url}`, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("content-length")).toBe(String(size));

    const response = await fetch(`${base}${url}`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/octet-stream");
    expect(response.headers.get("content-length")).toBe(String(3 * 1024 * 1024 + 17));
    expect(response.headers.get("cache-control")).toBe("no-store");
    const disposition = response.headers.get("content-disposition") ?? "";
    expect(disposition).toMatch(/^attachment;/);
    expect(disposition).toContain(`filename*=UTF-8''db%202024-05-01%20r%C3%A9sum%C3%A9.dump.gz`);
    expect(parseContentDisposition(disposition).parameters.filename).toBe("db 2024-05-01 résumé.dump.gz");
    const body = Buffer.from(await response.arrayBuffer());
    expect(body.length).toBe(size);
    expect(sha(body)).toBe(sha256);

    await eventually(() => isGone(d, key), "the object is removed after a complete download");
    const again = await fetch(`${base}${url}`);
    expect(again.status).toBe(404);
    expect(again.headers.get("cache-control")).toBe("no-store");
    expect(await d.list("exports/")).toEqual([]);
    const index = JSON.parse(await readFile(join(stagingPath, TOKEN_INDEX_FILE), "utf8"));
    expect(index.tokens.filter((t: { key: string }) => t.key === key)).toEqual([]);
  });

  it("an interrupted download keeps the object and its link until expiry", async () => {
    const { stream, sha256 } = generatedStream(16 * 1024 * 1024);
    const { url } = await d.upload(stream, "big/interrupted.bin");
    const controller = new AbortController();
    const response = await fetch(`${base}${url}`, { signal: controller.signal });
    expect(response.status).toBe(200);
    const reader = response.body?.getReader();
    const first = await reader?.read();
    expect(first?.value?.length).toBeGreaterThan(0);
    controller.abort();
    await reader?.cancel().catch(() => undefined);
    // The server learns of the disconnect asynchronously: until then the link is claimed (409).
    await eventually(async () => (await d.resolveToken(tokenOf(url))).status === "valid", "the claim is released");
    expect((await d.stat("big/interrupted.bin")).size).toBe(16 * 1024 * 1024);

    const retry = await fetch(`${base}${url}`);
    expect(retry.status).toBe(200);
    expect(sha(Buffer.from(await retry.arrayBuffer()))).toBe(sha256);
    await eventually(() => isGone(d, "big/interrupted.bin"), "the object is removed after the retry completes");
  });

  it("concurrent requests with one token: exactly one gets the file, the others 409, then 404", async () => {
    const { stream, sha256 } = generatedStream(2 * 1024 * 1024 + 5);
    const { url } = await d.upload(stream, "race/once.bin");
    const responses = await Promise.all(Array.from({ length: 6 }, () => fetch(`${base}${url}`)));
    const bodies = await Promise.all(
      responses.map(async (r) => ({ status: r.status, body: Buffer.from(await r.arrayBuffer()) })),
    );
    const served = bodies.filter((b) => b.status === 200);
    expect(served).toHaveLength(1);
    expect(sha(served[0]?.body ?? Buffer.alloc(0))).toBe(sha256);
    for (const other of bodies.filter((b) => b.status !== 200)) {
      // While the winner streams, the link is in use (409); once it is done, it is gone (404).
      expect([409, 404]).toContain(other.status);
      expect(other.body.length).toBeLessThan(200);
    }
    await eventually(() => isGone(d, "race/once.bin"), "the object is removed after the one complete download");
    expect((await fetch(`${base}${url}`)).status).toBe(404);
  });

  it("a claimed link answers 409 to a second request until the first download ends", async () => {
    const { url } = await d.upload(generatedStream(8 * 1024 * 1024).stream, "race/slow.bin");
    const first = await fetch(`${base}${url}`);
    expect(first.status).toBe(200);
    const reader = first.body?.getReader();
    expect((await reader?.read())?.value?.length).toBeGreaterThan(0);
    const second = await fetch(`${base}${url}`);
    expect(second.status).toBe(409);
    expect(second.headers.get("retry-after")).toBe("60");
    expect(await second.text()).toContain("being used by another download");
    for (let chunk = await reader?.read(); chunk && !chunk.done; chunk = await reader?.read()) {
      // drain the first download
    }
    await eventually(() => isGone(d, "race/slow.bin"), "removed once the first download completed");
  });

  it("staged files are 0600 and the folders Stowage creates 0700", async () => {
    const fresh = join(root, "private", "staging");
    const staged = new BrowserDownloadDestination({ stagingPath: fresh });
    await staged.upload(Readable.from([Buffer.from("secret rows")]), "db/dump.sql.gz");
    expect((await stat(join(root, "private"))).mode & 0o777).toBe(0o700);
    expect((await stat(fresh)).mode & 0o777).toBe(0o700);
    expect((await stat(join(fresh, OBJECTS_FOLDER))).mode & 0o777).toBe(0o700);
    expect((await stat(join(fresh, OBJECTS_FOLDER, "db"))).mode & 0o777).toBe(0o700);
    expect((await stat(join(fresh, OBJECTS_FOLDER, "db", "dump.sql.gz"))).mode & 0o777).toBe(0o600);
    expect((await stat(join(fresh, TOKEN_INDEX_FILE))).mode & 0o777).toBe(0o600);
    await staged.close();
  });

  it("an expired token answers 410 Gone and its object is removed; then 404", async () => {
    const { url } = await d.upload(Readable.from([Buffer.from("too late")]), "exp/late.txt");
    clock += 60_000;
    const gone = await fetch(`${base}${url}`);
    expect(gone.status).toBe(410);
    expect(await gone.text()).toContain("expired");
    expect(await isGone(d, "exp/late.txt")).toBe(true);
    expect((await fetch(`${base}${url}`)).status).toBe(404);
  });

  it("wrong, malformed and truncated tokens all get the same 404", async () => {
    const { url } = await d.upload(Readable.from([Buffer.from("keep me")]), "wrong/keep.txt");
    const token = tokenOf(url);
    const flipped = token.slice(0, -1) + (token.endsWith("A") ? "B" : "A");
    const answers: Array<[number, string]> = [];
    for (const candidate of [
      crypto.randomBytes(32).toString("base64url"),
      flipped,
      token.slice(0, 20),
      "..%2F..%2Ftokens.json",
      "",
    ]) {
      const response = await fetch(`${base}/dl/${candidate}`);
      answers.push([response.status, await response.text()]);
    }
    expect(new Set(answers.map((a) => JSON.stringify(a))).size).toBe(1);
    expect(answers[0]?.[0]).toBe(404);
    expect((await fetch(`${base}${url}`, { method: "POST" })).status).toBe(405);
    // None of that used up or removed the real link.
    expect((await d.stat("wrong/keep.txt")).size).toBe(7);
    expect(await (await fetch(`${base}${url}`)).text()).toBe("keep me");
    await eventually(() => isGone(d, "wrong/keep.txt"), "the object is removed after its download");
  });

  it("compares the presented token with every stored hash, without stopping at a match", async () => {
    const issued = [];
    for (let i = 0; i < 5; i++) issued.push(await d.upload(Readable.from([Buffer.from(`n${i}`)]), `ct/${i}.txt`));
    const stored = JSON.parse(await readFile(join(stagingPath, TOKEN_INDEX_FILE), "utf8")).tokens.length;
    expect(stored).toBeGreaterThanOrEqual(5);
    const spy = vi.mocked(crypto.timingSafeEqual);
    for (const token of [
      tokenOf(issued[0]?.url ?? ""),
      tokenOf(issued[4]?.url ?? ""),
      crypto.randomBytes(32).toString("base64url"),
    ]) {
      spy.mockClear();
      const found = await d.resolveToken(token);
      expect(spy).toHaveBeenCalledTimes(stored);
      expect(found.status).toBe(
        token === tokenOf(issued[0]?.url ?? "") || token === tokenOf(issued[4]?.url ?? "") ? "valid" : "unknown",
      );
    }
    for (let i = 0; i < 5; i++) await d.delete(`ct/${i}.txt`);
  });

  it("a new upload of the same key revokes the earlier link", async () => {
    const first = await d.upload(Readable.from([Buffer.from("v1")]), "rep/x.txt");
    const second = await d.upload(Readable.from([Buffer.from("v2")]), "rep/x.txt");
    expect((await fetch(`${base}${first.url}`)).status).toBe(404);
    expect(await (await fetch(`${base}${second.url}`)).text()).toBe("v2");
    await eventually(() => isGone(d, "rep/x.txt"), "the object is removed after its download");
  });

  it("issueToken links an object that is already staged, and refuses a missing one", async () => {
    await d.upload(Readable.from([Buffer.from("staged")]), "issue/s.txt");
    const issued = await d.issueToken("issue/s.txt", { ttlSeconds: 5 });
    expect(issued.expiresAt.getTime()).toBe(clock + 5000);
    expect(await (await fetch(`${base}${issued.url}`)).text()).toBe("staged");
    await eventually(() => isGone(d, "issue/s.txt"), "the object is removed after its download");
    const error = await d.issueToken("issue/none.txt").catch((e: unknown) => e);
    expect(StorageError.is(error, "NOT_FOUND")).toBe(true);
  });

  it("cleanupExpired removes expired tokens with their objects, and stale objects without a token", async () => {
    await d.upload(Readable.from([Buffer.from("short")]), "clean/short.txt");
    await d.issueToken("clean/short.txt", { ttlSeconds: 10 });
    const long = await d.upload(Readable.from([Buffer.from("long")]), "clean/long.txt");
    // Left by a crash between staging and issuing: one old, one fresh.
    const objects = join(stagingPath, OBJECTS_FOLDER, "clean");
    await writeFile(join(objects, "orphan-old.bin"), "old");
    await writeFile(join(objects, "orphan-new.bin"), "new");
    // mtimes on the test's clock (moved forward by earlier tests), one past the TTL, one within it.
    const past = new Date(clock + 11_000 - 61_000);
    await utimes(join(objects, "orphan-old.bin"), past, past);
    await utimes(join(objects, "orphan-new.bin"), new Date(clock), new Date(clock));

    const report = await d.cleanupExpired(clock + 11_000);
    expect(report.removedTokens).toBe(1);
    expect(report.removedKeys).toEqual(["clean/orphan-old.bin", "clean/short.txt"]);
    expect((await d.list("clean/")).map((o) => o.key)).toEqual(["clean/long.txt", "clean/orphan-new.bin"]);
    expect(await (await fetch(`${base}${long.url}`)).text()).toBe("long");
    await eventually(() => isGone(d, "clean/long.txt"), "the object is removed after its download");

    // Nothing expired any more: a second run removes nothing.
    expect(await d.cleanupExpired(clock + 11_000)).toEqual({ removedTokens: 0, removedKeys: [] });
    await d.delete("clean/orphan-new.bin");
  });

  it("two instances on one staging folder (a web server and a backup job) lose no token", async () => {
    const other = new BrowserDownloadDestination({ stagingPath, ttlSeconds: 60, urlPrefix: "/dl/" }, { now: () => clock });
    const uploads = await Promise.all(
      Array.from({ length: 60 }, (_, i) => (i % 2 ? d : other).upload(Readable.from([Buffer.from(`p${i}`)]), `par/${i}.txt`)),
    );
    for (const [i, result] of uploads.entries()) {
      const found = await d.resolveToken(tokenOf(result.url));
      expect(found.status === "valid" && found.key, `token of par/${i}.txt`).toBe(`par/${i}.txt`);
    }
    for (let i = 0; i < 60; i++) await other.delete(`par/${i}.txt`);
    expect(await d.list("par/")).toEqual([]);
  });

  it("breaks a lock file left by a process that died", async () => {
    const lock = join(stagingPath, `${TOKEN_INDEX_FILE}.lock`);
    await writeFile(lock, "");
    const old = new Date(Date.now() - 60_000);
    await utimes(lock, old, old);
    const { url } = await d.upload(Readable.from([Buffer.from("after crash")]), "lock/x.txt");
    expect((await d.resolveToken(tokenOf(url))).status).toBe("valid");
    await expect(stat(lock)).rejects.toThrow(/ENOENT/);
    await d.delete("lock/x.txt");
  });

  it("names the staging folder, never a token, in its name and errors", async () => {
    expect(d.name).toBe(`browser-download://${stagingPath}`);
    const error = await d.stat("nope.txt").catch((e: unknown) => e);
    expect((error as StorageError).message).toContain(d.name);
    expect((error as StorageError).message).not.toContain(`${OBJECTS_FOLDER}:`);
  });
});

/**
 * The `stowage-diagrams` command starts on the embedded default (PGlite in a temp data folder),
 * generates its signing secret with 0600 permissions, answers /openapi.json and a sign-up over real
 * HTTP, and stops on SIGTERM.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const BIN = fileURLToPath(new URL("../../bin/stowage-diagrams.js", import.meta.url));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function waitFor(url: string, child: ChildProcess, output: () => string): Promise<Response> {
  // PGlite boots its WebAssembly PostgreSQL first: ~5 s on a quiet machine, 120 s measured at load 36.
  const deadline = Date.now() + 240_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`stowage-diagrams exited with ${child.exitCode}: ${output()}`);
    try {
      return await fetch(url);
    } catch {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  throw new Error(`stowage-diagrams did not answer within 240 s: ${output()}`);
}

describe("bin/stowage-diagrams.js", () => {
  let dir: string | undefined;
  let child: ChildProcess | undefined;
  afterAll(async () => {
    if (child && child.exitCode === null) child.kill("SIGKILL");
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("starts on PGlite and answers /openapi.json and a sign-up", async () => {
    dir = await mkdtemp(path.join(tmpdir(), "stowage-diagrams-bin-"));
    const port = await freePort();
    let out = "";
    const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), DIAGRAMS_DATA_DIR: dir, LOG_LEVEL: "info" };
    delete env.DATABASE_URL;
    delete env.JWT_SECRET;
    delete env.JWKS_URL;
    child = spawn(process.execPath, [BIN], { env, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout!.on("data", (d) => (out += d));
    child.stderr!.on("data", (d) => (out += d));

    const res = await waitFor(`http://127.0.0.1:${port}/openapi.json`, child, () => out);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { openapi: string }).openapi).toBe("3.1.0");
    const secret = await stat(path.join(dir, "jwt-secret"));
    expect(secret.mode & 0o777).toBe(0o600);

    const signup = await fetch(`http://127.0.0.1:${port}/auth/signup`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: "bin@example.test", password: "long enough pw" }),
    });
    expect(signup.status).toBe(201);
    const { access_token } = (await signup.json()) as { access_token: string };
    expect(out).not.toContain(access_token);
    expect(out).not.toContain("long enough pw");

    const exited = new Promise<number | null>((resolve) => child!.once("exit", (code) => resolve(code)));
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
  }, 300_000);
});

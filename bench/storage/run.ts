/**
 * @module bench/storage/run
 * Streams generated data of unknown length through each provider on loopback, each upload in its own
 * child process (so its peak RSS is the provider's, not the server's), next to a baseline that writes
 * the same bytes in the same run: `cp` for the local folder, a raw `curl` PUT for the network servers.
 * Usage: npx tsx bench/storage/run.ts [size-MiB ...]   (default 256 1024)
 * The upload child is bundled with esbuild first and run with plain node, as the stowage bin runs.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as esbuild from "esbuild";
import { startDriveEmulator } from "../../packages/storage/test/servers/drive-emulator.ts";

const sizesMiB = process.argv
  .slice(2)
  .map(Number)
  .filter((n) => n > 0);
if (sizesMiB.length === 0) sizesMiB.push(256, 1024);

const work = await mkdtemp(join(tmpdir(), "stowage-bench-storage-"));
const children: ChildProcess[] = [];
process.on("exit", () => {
  for (const c of children) c.kill("SIGKILL");
});

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const ok = await fetch(`http://127.0.0.1:${port}/`).then(
      () => true,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`server on port ${port} did not start`);
}

function start(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): void {
  const child = spawn(cmd, args, { stdio: "ignore", env: { ...process.env, ...env } });
  children.push(child);
}

interface Measured {
  seconds: number;
  mbPerSecond: number;
  peakRssMb?: number;
}

// The upload child runs as the product runs (the stowage bin uses an esbuild bundle, not tsx, with
// --max-semi-space-size=4), so its peak RSS is not inflated by tsx's loader thread (~40 MB).
// Splitting keeps the providers in their own chunks: each child loads only the SDK it uses.
const childDir = join(process.cwd(), "bench", ".results", "storage-child");
await esbuild.build({
  entryPoints: { "upload-one": "bench/storage/upload-one.ts" },
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  outdir: childDir,
  logLevel: "warning",
  // Bundled CommonJS dependencies call require(); ESM has none unless we make one.
  banner: {
    js: 'import { createRequire as __benchRequire } from "node:module"; const require = __benchRequire(import.meta.url);',
  },
});

function stowageUpload(url: string, bytes: number, env: NodeJS.ProcessEnv = {}): Measured {
  const out = execFileSync("node", ["--max-semi-space-size=4", join(childDir, "upload-one.js"), url, String(bytes)], {
    env: { ...process.env, ...env },
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  return JSON.parse(out.trim().split("\n").pop()!) as Measured;
}

function timed(bytes: number, fn: () => void): Measured {
  const started = performance.now();
  fn();
  const seconds = (performance.now() - started) / 1000;
  return { seconds, mbPerSecond: bytes / 1e6 / seconds };
}

function curlPut(url: string, file: string, config: string): void {
  // curl reads its options (credentials included) from stdin, never from the command line.
  execFileSync("curl", ["-sS", "--fail", "-K", "-", "-T", file, url], { input: config, stdio: ["pipe", "ignore", "inherit"] });
}

const rows: Array<{ provider: string; sizeMiB: number; stowage: Measured; baseline: Measured; baselineName: string }> = [];

// Servers.
const s3Port = await freePort();
await mkdir(join(work, "s3"));
// Started with node directly (not npx), so that killing the child kills the server itself.
start(process.execPath, [
  "node_modules/s3rver/bin/s3rver.js",
  "-d",
  join(work, "s3"),
  "-a",
  "127.0.0.1",
  "-p",
  String(s3Port),
  "-s",
  "--configure-bucket",
  "bench",
]);
const davPort = await freePort();
await mkdir(join(work, "dav"));
start("rclone", ["serve", "webdav", join(work, "dav"), "--addr", `127.0.0.1:${davPort}`]);
await waitForPort(s3Port);
await waitForPort(davPort);
const s3Env = { S3_ACCESS_KEY_ID: "S3RVER", S3_SECRET_ACCESS_KEY: "S3RVER" };
const drive = await startDriveEmulator();
const driveKeyFile = join(work, "drive-key.json");
const driveKey = await drive.serviceAccount();
await writeFile(driveKeyFile, JSON.stringify(driveKey), { mode: 0o600 });
// Service accounts can only store files in shared drives (the emulator enforces it, as Google does).
const driveFolder = await drive.folder(
  "bench",
  await drive.sharedDrive("bench", [{ email: driveKey.client_email, role: "organizer" }]),
);
process.on("exit", () => void drive.stop());

for (const sizeMiB of sizesMiB) {
  const bytes = sizeMiB * 1024 * 1024;
  const file = join(work, `baseline-${sizeMiB}.bin`);
  execFileSync("head", ["-c", String(bytes), "/dev/urandom"], {
    stdio: ["ignore", (await import("node:fs")).openSync(file, "w"), "inherit"],
  });

  const localDir = join(work, "local");
  await mkdir(localDir, { recursive: true });
  rows.push({
    provider: "local_mapped",
    sizeMiB,
    stowage: stowageUpload(`file://${localDir}`, bytes),
    // The provider fsyncs before it renames (a backup must survive a power cut), so the fair
    // baseline is a durable copy: cp, then sync of that file. Plain cp is printed below too.
    baseline: timed(bytes, () => {
      execFileSync("cp", [file, join(localDir, "cp.bin")]);
      execFileSync("sync", [join(localDir, "cp.bin")]);
    }),
    baselineName: "cp + sync",
  });
  await rm(join(localDir, "cp.bin"), { force: true });

  rows.push({
    provider: "s3 (s3rver)",
    sizeMiB,
    stowage: stowageUpload(`s3://bench/p?endpoint=http://127.0.0.1:${s3Port}&path_style=true&region=us-east-1`, bytes, s3Env),
    baseline: timed(bytes, () =>
      curlPut(
        `http://127.0.0.1:${s3Port}/bench/curl.bin`,
        file,
        // curl 7.88 does not send x-amz-content-sha256 itself; S3 requires it with SigV4.
        'user = "S3RVER:S3RVER"\naws-sigv4 = "aws:amz:us-east-1:s3"\nheader = "x-amz-content-sha256: UNSIGNED-PAYLOAD"\n',
      ),
    ),
    baselineName: "curl PUT (SigV4)",
  });

  rows.push({
    provider: "webdav (rclone)",
    sizeMiB,
    stowage: stowageUpload(`webdav+http://127.0.0.1:${davPort}`, bytes),
    baseline: timed(bytes, () => curlPut(`http://127.0.0.1:${davPort}/curl.bin`, file, "")),
    baselineName: "curl PUT",
  });
  rows.push({
    provider: "google_drive (emulator)",
    sizeMiB,
    stowage: stowageUpload(
      `gdrive://${driveFolder}?credentials=${driveKeyFile}&root_url=${drive.rootUrl}&token_url=${drive.tokenUrl}`,
      bytes,
    ),
    // The emulator's own write rate: one multipart upload of the whole file, as a raw request.
    baseline: timed(bytes, () => curlPut(`${drive.rootUrl}__emulator/raw-write`, file, "")),
    baselineName: "curl PUT to the emulator",
  });
  await rm(file, { force: true });
}

console.log("\nprovider            size      stowage MB/s  baseline MB/s  ratio  peak RSS MB  (baseline)");
for (const r of rows) {
  console.log(
    `${r.provider.padEnd(19)} ${`${r.sizeMiB} MiB`.padEnd(9)} ${r.stowage.mbPerSecond.toFixed(1).padStart(12)} ${r.baseline.mbPerSecond
      .toFixed(1)
      .padStart(14)} ${(r.stowage.mbPerSecond / r.baseline.mbPerSecond).toFixed(2).padStart(6)} ${(r.stowage.peakRssMb ?? 0)
      .toFixed(0)
      .padStart(12)}  (${r.baselineName})`,
  );
}
for (const provider of new Set(rows.map((r) => r.provider))) {
  const mine = rows.filter((r) => r.provider === provider);
  if (mine.length >= 2) {
    const growth = mine[mine.length - 1]!.stowage.peakRssMb! / mine[0]!.stowage.peakRssMb!;
    console.log(`${provider}: peak RSS ${mine.at(-1)!.sizeMiB} MiB vs ${mine[0]!.sizeMiB} MiB = ${growth.toFixed(2)}x`);
  }
}
for (const c of children) c.kill("SIGKILL");
await drive.stop();
await rm(work, { recursive: true, force: true });

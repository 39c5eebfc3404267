/**
 * @module test/servers/s3-server
 * Starts the test S3 server (`s3rver-child.ts`: s3rver plus SigV4 checks, AbortMultipartUpload and
 * ListMultipartUploads) in a child process on a free port with a temp directory, and can SIGKILL and
 * restart it on the same port and directory, for the "server dies mid-upload" test.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const CHILD_SCRIPT = fileURLToPath(new URL("./s3rver-child.ts", import.meta.url));
// Generous: on a shared CI machine under load a cold start of the server process takes tens of seconds.
const START_TIMEOUT_MS = 90_000;

export interface S3TestServer {
  /** `http://127.0.0.1:<port>`; use with `forcePathStyle: true`. */
  readonly endpoint: string;
  readonly port: number;
  /** Where s3rver keeps objects and pending uploads. */
  readonly directory: string;
  /** s3rver's built-in key pair, the only one it accepts. */
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** SIGKILL: no cleanup, no goodbye, like a crashed or unplugged server. */
  kill(): Promise<void>;
  /** Starts it again on the same port and directory. */
  restart(): Promise<void>;
  /** Stops it and deletes its directory. */
  stop(): Promise<void>;
}

/** Spawns the child and resolves with its port once it prints `READY <port>`; rejects loudly otherwise. */
function spawnChild(env: Record<string, string>): Promise<{ child: ChildProcess; port: number }> {
  return new Promise((resolve, reject) => {
    // s3rver encrypts ListObjectsV2 continuation tokens with DES, which OpenSSL 3 only offers
    // through its legacy provider: without the flag, listing past 1,000 keys answers 500.
    const child = spawn(process.execPath, ["--openssl-legacy-provider", "--import", "tsx", CHILD_SCRIPT], {
      env: { ...process.env, ...env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`the test S3 server did not start within ${START_TIMEOUT_MS} ms; stderr: ${stderr}`));
    }, START_TIMEOUT_MS);
    child.stdout?.on("data", (data: Buffer) => {
      stdout += data.toString();
      const match = /READY (\d+)/.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolve({ child, port: Number(match[1]) });
      }
    });
    child.stderr?.on("data", (data: Buffer) => {
      stderr += data.toString();
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the test S3 server exited before it was ready (code ${code}, signal ${signal}); stderr: ${stderr}`));
    });
  });
}

function waitForExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

/**
 * Starts s3rver in a child process with `buckets` created. Those also in `objectLockBuckets` refuse
 * uploads without Content-MD5 or an x-amz-checksum-* header, as S3 buckets with Object Lock do.
 */
export async function startS3Server(options: { buckets: string[]; objectLockBuckets?: string[] }): Promise<S3TestServer> {
  const directory = await mkdtemp(join(tmpdir(), "stowage-s3rver-"));
  const env = {
    S3RVER_DIR: directory,
    S3RVER_BUCKETS: options.buckets.join(","),
    S3RVER_OBJECT_LOCK_BUCKETS: (options.objectLockBuckets ?? []).join(","),
  };
  let { child, port } = await spawnChild({ ...env, S3RVER_PORT: "0" });
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    directory,
    accessKeyId: "S3RVER",
    secretAccessKey: "S3RVER",
    async kill() {
      child.kill("SIGKILL");
      await waitForExit(child);
    },
    async restart() {
      ({ child } = await spawnChild({ ...env, S3RVER_PORT: String(port) }));
    },
    async stop() {
      child.kill("SIGTERM");
      await waitForExit(child);
      await rm(directory, { recursive: true, force: true });
    },
  };
}

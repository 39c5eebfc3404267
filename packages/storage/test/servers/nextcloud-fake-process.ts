/**
 * @module test/servers/nextcloud-fake-process
 * Starts `nextcloud-fake.ts` in its own Node process (through tsx) on a free port, with its users and
 * passwords in the environment, and reads its request log for assertions.
 */
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, type ServerProcess, startServerProcess } from "./webdav-process.ts";

export interface FakeUser {
  /** The login name. */
  readonly name: string;
  /** The user ID that DAV paths use (and OCS reports); the login name when absent. */
  readonly id?: string;
  readonly password: string;
  readonly quotaBytes: number | null;
}

export interface LoggedRequest {
  method: string;
  path: string;
  contentLength: string | null;
  transferEncoding: string | null;
  destination: string | null;
  totalLength: string | null;
  status: number;
}

export interface NextcloudFake extends ServerProcess {
  readonly url: string;
  /** Where user `name`'s files are kept on disk. */
  filesDir(name: string): string;
  /** Where user `name`'s chunked uploads are kept on disk. */
  uploadsDir(name: string): string;
  /** Where user `name`'s trash bin items are kept on disk (`<file>.d<unix time>`). */
  trashDir(name: string): string;
  /** Requests handled so far (written by the server as JSON lines). */
  requests(): Promise<LoggedRequest[]>;
}

const here = dirname(fileURLToPath(import.meta.url));

export interface FakeBehaviour {
  /** Answer the final MOVE with 504 (a proxy timing out) and finish assembling this many ms later. */
  readonly assemblyDelayMs?: number;
  /** Fail the first PUT of this chunk (`00002`) of every upload with 503. */
  readonly failChunkOnce?: string;
}

export async function startNextcloudFake(root: string, users: FakeUser[], behaviour: FakeBehaviour = {}): Promise<NextcloudFake> {
  const port = await freePort();
  const logFile = join(root, "requests.jsonl");
  const server = await startServerProcess(port, {
    label: "nextcloud-fake",
    command: process.execPath,
    args: ["--import", "tsx", join(here, "nextcloud-fake.ts")],
    cwd: join(here, "..", ".."),
    env: {
      FAKE_NC_ROOT: join(root, "data"),
      FAKE_NC_PORT: String(port),
      FAKE_NC_USERS: JSON.stringify(users),
      FAKE_NC_LOG: logFile,
      ...(behaviour.assemblyDelayMs ? { FAKE_NC_ASSEMBLY_DELAY_MS: String(behaviour.assemblyDelayMs) } : {}),
      ...(behaviour.failChunkOnce ? { FAKE_NC_FAIL_CHUNK_ONCE: behaviour.failChunkOnce } : {}),
    },
  });
  const userDir = (name: string) => join(root, "data", encodeURIComponent(name));
  return {
    ...server,
    url: `http://127.0.0.1:${port}`,
    filesDir: (name) => join(userDir(name), "files"),
    uploadsDir: (name) => join(userDir(name), "uploads"),
    trashDir: (name) => join(userDir(name), "trash"),
    async requests() {
      const text = await readFile(logFile, "utf8").catch(() => "");
      return text
        .split("\n")
        .filter((line) => line.trim())
        .map((line) => JSON.parse(line) as LoggedRequest);
    },
  };
}

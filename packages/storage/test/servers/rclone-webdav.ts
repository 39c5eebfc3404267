/**
 * @module test/servers/rclone-webdav
 * A real WebDAV server from Debian: `rclone serve webdav` over a temp folder, on a free loopback port.
 * The user and password reach rclone through RCLONE_USER / RCLONE_PASS (rclone maps every flag to an
 * RCLONE_<FLAG> variable), so the password never appears on a command line.
 */
import { execFileSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, type ServerProcess, startServerProcess } from "./webdav-process.ts";

export interface RcloneWebdav extends ServerProcess {
  readonly url: string;
  readonly user: string;
  readonly password: string;
  /** The folder rclone serves. */
  readonly dir: string;
}

export async function startRcloneWebdav(dir: string): Promise<RcloneWebdav> {
  try {
    execFileSync("rclone", ["version"], { stdio: "ignore" });
  } catch {
    throw new Error("rclone is not installed: run `apt-get install -y rclone` (scripts/test.sh does it)");
  }
  const port = await freePort();
  const user = "backup-user";
  const password = `pw-${Math.random().toString(36).slice(2)}`;
  // An empty config file keeps rclone from looking for (and warning about) the user's own.
  const configDir = await mkdtemp(join(tmpdir(), "stowage-rclone-conf-"));
  const config = join(configDir, "rclone.conf");
  await writeFile(config, "");
  const server = await startServerProcess(port, {
    label: "rclone serve webdav",
    command: "rclone",
    args: ["serve", "webdav", dir, "--addr", `127.0.0.1:${port}`, "--config", config],
    env: { RCLONE_USER: user, RCLONE_PASS: password },
  });
  return {
    ...server,
    async stop() {
      await server.stop();
      await rm(configDir, { recursive: true, force: true });
    },
    url: `http://127.0.0.1:${port}`,
    user,
    password,
    dir,
  };
}

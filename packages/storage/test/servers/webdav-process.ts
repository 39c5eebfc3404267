/**
 * @module test/servers/webdav-process
 * Runs a test server as a child process on a fixed free port, so a test can SIGKILL it mid-request
 * and start it again on the same port and folder. Secrets go through the environment, never argv.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { connect, createServer } from "node:net";

export interface ServerSpec {
  readonly command: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly cwd?: string;
  /** For error messages. */
  readonly label: string;
}

export interface ServerProcess {
  readonly port: number;
  /** SIGKILL, waiting for the process to be gone. */
  kill(): Promise<void>;
  /** Starts the server again on the same port. */
  restart(): Promise<void>;
  /** Stops the server (SIGTERM, then SIGKILL after 3 s). Safe to call twice. */
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: "127.0.0.1" });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

/** Starts `spec` with `PORT`-style port already in its args/env and waits until the port accepts connections. */
export async function startServerProcess(port: number, spec: ServerSpec): Promise<ServerProcess> {
  let child: ChildProcess | undefined;
  let output = "";

  const launch = async () => {
    output = "";
    const proc = spawn(spec.command, [...spec.args], {
      env: { ...process.env, ...spec.env },
      cwd: spec.cwd,
      stdio: ["ignore", "pipe", "pipe"],
    });
    child = proc;
    const collect = (data: Buffer) => {
      output = (output + data.toString()).slice(-4000);
    };
    proc.stdout?.on("data", collect);
    proc.stderr?.on("data", collect);
    // Generous: under load a cold start takes tens of seconds (the hook allows 120 s).
    const deadline = Date.now() + 90_000;
    while (Date.now() < deadline) {
      if (proc.exitCode !== null || proc.signalCode !== null) {
        throw new Error(`${spec.label} exited during start-up (code ${proc.exitCode}):\n${output}`);
      }
      if (await canConnect(port)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    proc.kill("SIGKILL");
    throw new Error(`${spec.label} did not listen on port ${port} within 90 s:\n${output}`);
  };

  await launch();
  return {
    port,
    async kill() {
      if (!child) return;
      child.kill("SIGKILL");
      await exited(child);
    },
    async restart() {
      if (child) {
        child.kill("SIGKILL");
        await exited(child);
      }
      await launch();
    },
    async stop() {
      const proc = child;
      child = undefined;
      if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill("SIGTERM");
      const timer = setTimeout(() => proc.kill("SIGKILL"), 3_000);
      await exited(proc);
      clearTimeout(timer);
    },
  };
}

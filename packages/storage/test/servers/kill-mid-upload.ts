/**
 * @module test/servers/kill-mid-upload
 * The "kill the server mid-upload" step of the conformance suite, shared by the WebDAV harnesses.
 */
import type { StorageDestination } from "../../src/contract.ts";
import { endlessStream } from "../contract/suite.ts";

/** Starts an upload of an endless stream, SIGKILLs the server once `afterBytes` were read, restarts it. */
export async function uploadThenKill(
  d: StorageDestination,
  key: string,
  afterBytes: number,
  server: { kill(): Promise<void>; restart(): Promise<void> },
): Promise<unknown> {
  let reached!: () => void;
  const progressed = new Promise<void>((resolve) => {
    reached = resolve;
  });
  const upload = d.upload(endlessStream(), key, { onProgress: (bytes) => bytes > afterBytes && reached() });
  const settled = upload.then(
    () => new Error("the endless upload completed"),
    (error: unknown) => error,
  );
  await Promise.race([progressed, settled]);
  await server.kill();
  const timeout = new Promise((resolve) =>
    setTimeout(() => resolve(new Error("upload did not fail within 20 s of the kill")), 20_000),
  );
  const uploadError = await Promise.race([settled, timeout]);
  await server.restart();
  return uploadError;
}

/**
 * @module objects/multipart
 * Streams the files of a multipart/form-data request through busboy, one at a time, to a handler
 * that consumes each file's stream (storing it, or reading a small document). Nothing is buffered
 * here: busboy stops a file one byte past `maxFileBytes`, and the consumer's own count refuses it
 * (PAYLOAD_TOO_LARGE); the request's total is the body-limit middleware's. A failing handler does not stop the other files: each
 * file's outcome is collected and returned in order.
 */
import { Readable } from "node:stream";
import busboy from "busboy";
import { ApiError } from "../errors.ts";
import { ObjectError } from "./errors.ts";

export interface UploadedFile {
  /** The client's file name (untrusted: only ever shown, or reduced with safeFileName). */
  readonly fileName: string;
  readonly mimeType: string;
  readonly stream: Readable;
}

export type FileOutcome<T> = { ok: true; fileName: string; value: T } | { ok: false; fileName: string; error: unknown };

export async function forEachUploadedFile<T>(
  request: Request,
  limits: { maxFileBytes: number; maxFiles: number },
  handle: (file: UploadedFile) => Promise<T>,
): Promise<FileOutcome<T>[]> {
  const type = request.headers.get("content-type") ?? "";
  if (!/^multipart\/form-data/i.test(type) || !request.body) {
    throw new ApiError(415, "UNSUPPORTED_MEDIA_TYPE", "send the files as multipart/form-data (one part per file)");
  }
  let parser: busboy.Busboy;
  try {
    parser = busboy({
      headers: { "content-type": type },
      // One byte over the limit reaches the consumer, whose own count refuses it (store.put, readSmallFile).
      limits: { fileSize: limits.maxFileBytes + 1, files: limits.maxFiles, fields: 20, fieldSize: 64 * 1024 },
      defParamCharset: "utf8",
    });
  } catch (error) {
    throw new ApiError(400, "BAD_REQUEST", `the multipart body is malformed: ${(error as Error).message}`);
  }
  const outcomes: Promise<FileOutcome<T>>[] = [];
  let chain: Promise<unknown> = Promise.resolve();
  let tooMany = false;
  parser.on("file", (_field, stream, info) => {
    const fileName = info.filename || "upload";
    // One file at a time: busboy waits while this file's stream is not read.
    const outcome = chain.then(() =>
      handle({ fileName, mimeType: info.mimeType, stream }).then(
        (value): FileOutcome<T> => ({ ok: true, fileName, value }),
        (error: unknown): FileOutcome<T> => {
          stream.resume();
          return { ok: false, fileName, error };
        },
      ),
    );
    chain = outcome;
    outcomes.push(outcome);
  });
  parser.on("filesLimit", () => {
    tooMany = true;
  });
  const done = new Promise<void>((resolve, reject) => {
    parser.once("close", resolve);
    parser.once("error", reject);
  });
  const body = Readable.fromWeb(request.body as import("node:stream/web").ReadableStream);
  body.once("error", (error) => parser.destroy(error));
  body.pipe(parser);
  try {
    await done;
  } catch (error) {
    await Promise.allSettled(outcomes);
    if (error instanceof ApiError) throw error;
    throw new ApiError(400, "BAD_REQUEST", `the multipart body could not be read: ${(error as Error).message}`);
  }
  const results = await Promise.all(outcomes);
  if (results.length === 0) throw new ApiError(400, "VALIDATION_FAILED", "no file in the request: add at least one file part");
  if (tooMany) {
    throw new ApiError(413, "PAYLOAD_TOO_LARGE", `at most ${limits.maxFiles} files per request`, { max_files: limits.maxFiles });
  }
  return results;
}

/** Reads a small file whole (a .bpmn document); PAYLOAD_TOO_LARGE past `maxBytes`. */
export async function readSmallFile(file: UploadedFile, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of file.stream) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) {
      file.stream.resume();
      throw new ObjectError("PAYLOAD_TOO_LARGE", `${file.fileName} is over the limit of ${maxBytes} bytes (MAX_DIAGRAM_BYTES)`, {
        max_bytes: maxBytes,
      });
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

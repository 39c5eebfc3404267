/**
 * @module test/servers/s3rver-child
 * A real S3 server for the tests, run in its own process so a test can SIGKILL it mid-upload:
 * `s3rver` (objects on disk in S3RVER_DIR) behind a thin front that adds three things s3rver 3.7
 * lacks and the provider relies on, each following the S3 API reference:
 * - SigV4 signature checking (s3rver only checks that the access key id exists), so a wrong secret
 *   gets 403 SignatureDoesNotMatch as on AWS;
 * - AbortMultipartUpload (`DELETE /bucket/key?uploadId=`), which s3rver answers with 405;
 * - ListMultipartUploads (`GET /bucket?uploads`), which s3rver answers with 501, so tests can see
 *   that no upload was left pending.
 * For the multipart tests it also keeps a log of the requests it answered and can fail a part:
 * - `GET /__stowage/requests`: JSON list of { op, method, key, partNumber, contentLength, chunked,
 *   contentMd5, checksumHeader, status };
 * - `POST /__stowage/fail-next-part?status=500&code=InternalError`: the next UploadPart gets that answer.
 * (`__stowage` cannot be a bucket name, so these never shadow S3 requests.)
 * Buckets named in S3RVER_OBJECT_LOCK_BUCKETS behave as buckets with Object Lock (default retention) do
 * on AWS: PutObject and UploadPart without `Content-MD5` or an `x-amz-checksum-*` header get 400
 * InvalidRequest ("Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests with
 * Object Lock parameters", S3 API reference for PutObject/UploadPart; aws-sdk-php#1694, cyberduck#15557).
 * A Content-MD5 is checked on every request to any bucket (s3rver ignores it): it is compared with the
 * MD5 s3rver computed of the bytes it stored (its ETag), and a mismatch answers 400 BadDigest, as S3 does.
 * (The mismatching part or object stays on s3rver's disk; the client never gets its ETag.)
 * Env: S3RVER_PORT (0 = any free port), S3RVER_DIR, S3RVER_BUCKETS (comma-separated, created at start),
 * S3RVER_OBJECT_LOCK_BUCKETS (comma-separated, a subset of S3RVER_BUCKETS).
 * Prints `READY <port>` on stdout once listening; exits when its stdin closes (the parent died).
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { readdir, readFile, rm, stat } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createRequire } from "node:module";
import { join } from "node:path";

/** s3rver's default account (lib/models/account.js): the only key pair it knows. */
const ACCESS_KEY_ID = "S3RVER";
const SECRET_ACCESS_KEY = "S3RVER";

interface S3rverInstance {
  configureBuckets(): Promise<unknown>;
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
}
type S3rverConstructor = new (options: Record<string, unknown>) => S3rverInstance;

const require = createRequire(import.meta.url);
const S3rver = require("s3rver") as S3rverConstructor;

const port = Number(process.env.S3RVER_PORT ?? 0);
const directory = process.env.S3RVER_DIR;
if (!directory) throw new Error("S3RVER_DIR is required");
const buckets = (process.env.S3RVER_BUCKETS ?? "").split(",").filter(Boolean);
const objectLockBuckets = new Set((process.env.S3RVER_OBJECT_LOCK_BUCKETS ?? "").split(",").filter(Boolean));

const escapeUri = (s: string) =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
const sha256Hex = (s: string) => createHash("sha256").update(s).digest("hex");
const hmac = (key: Buffer | string, data: string) => createHmac("sha256", key).update(data).digest();

function xmlError(res: ServerResponse, status: number, code: string, message: string): void {
  res.writeHead(status, { "content-type": "application/xml" });
  res.end(`<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`);
}

/**
 * Recomputes an `AWS4-HMAC-SHA256` header signature with the known secret. Returns false on a
 * mismatch; true when it matches or when the request is not signed with SigV4 by our key id
 * (unknown key ids are left to s3rver, which answers InvalidAccessKeyId).
 */
function signatureMatches(req: IncomingMessage, url: URL): boolean {
  const auth = req.headers.authorization ?? "";
  const match = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/([^,]+), ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]+)$/.exec(auth);
  if (!match) return true;
  const [, keyId, scope, signedHeaders, signature] = match as unknown as [string, string, string, string, string];
  if (keyId !== ACCESS_KEY_ID) return true;
  const [date, region, service] = scope.split("/") as [string, string, string];
  const amzDate = String(req.headers["x-amz-date"] ?? "");
  const query = [...url.searchParams.entries()]
    .map(([k, v]) => [escapeUri(k), escapeUri(v)] as const)
    .sort(([ak, av], [bk, bv]) => (ak === bk ? (av < bv ? -1 : 1) : ak < bk ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join("&");
  const headers = signedHeaders
    .split(";")
    .map(
      (name) =>
        `${name}:${String(req.headers[name] ?? "")
          .trim()
          .replace(/\s+/g, " ")}\n`,
    )
    .join("");
  const payloadHash = String(req.headers["x-amz-content-sha256"] ?? "UNSIGNED-PAYLOAD");
  const rawPath = (req.url ?? "/").split("?")[0] ?? "/";
  const canonical = [req.method, rawPath, query, headers, signedHeaders, payloadHash].join("\n");
  const stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256Hex(canonical)].join("\n");
  const key = hmac(hmac(hmac(hmac(`AWS4${SECRET_ACCESS_KEY}`, date), region), service), "aws4_request");
  const expected = createHmac("sha256", key).update(stringToSign).digest("hex");
  return expected.length === signature.length && timingSafeEqual(Buffer.from(expected), Buffer.from(signature));
}

/** Where s3rver's FilesystemStore keeps a bucket's pending multipart uploads (one folder per upload id). */
const uploadsDir = (bucket: string) => join(directory, bucket, "._S3rver_uploads");
const validBucket = (name: string) => /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name);

async function abortMultipartUpload(res: ServerResponse, bucket: string, uploadId: string): Promise<void> {
  if (!/^[0-9a-f]+$/.test(uploadId)) return xmlError(res, 404, "NoSuchUpload", "The specified upload does not exist.");
  const dir = join(uploadsDir(bucket), uploadId);
  const exists = await stat(dir).then(
    () => true,
    () => false,
  );
  if (!exists) return xmlError(res, 404, "NoSuchUpload", "The specified upload does not exist.");
  await rm(dir, { recursive: true, force: true });
  res.writeHead(204);
  res.end();
}

async function listMultipartUploads(res: ServerResponse, bucket: string): Promise<void> {
  const ids = await readdir(uploadsDir(bucket)).catch(() => [] as string[]);
  const uploads: string[] = [];
  for (const id of ids.sort()) {
    const key = await readFile(join(uploadsDir(bucket), id, "key"), "utf8").catch(() => undefined);
    if (key === undefined) continue;
    const initiated = (await stat(join(uploadsDir(bucket), id))).mtime.toISOString();
    const escaped = key.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
    uploads.push(`<Upload><Key>${escaped}</Key><UploadId>${id}</UploadId><Initiated>${initiated}</Initiated></Upload>`);
  }
  res.writeHead(200, { "content-type": "application/xml" });
  res.end(
    `<?xml version="1.0" encoding="UTF-8"?>\n<ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>${bucket}</Bucket><MaxUploads>1000</MaxUploads><IsTruncated>false</IsTruncated>${uploads.join("")}</ListMultipartUploadsResult>`,
  );
}

/** One answered request, as the tests see it. */
interface LoggedRequest {
  op: string;
  method: string;
  bucket: string;
  key: string;
  partNumber?: number;
  contentLength?: number;
  chunked: boolean;
  /** A Content-MD5 header was sent. */
  contentMd5: boolean;
  /** The name of an `x-amz-checksum-*` header that was sent, if any (not `-algorithm`). */
  checksumHeader?: string;
  status?: number;
}

const requestLog: LoggedRequest[] = [];
let failNextPart: { status: number; code: string } | undefined;

/** The S3 operation a request is, from its method and query (only the ones the provider sends). */
function operation(method: string, keyParts: string[], query: URLSearchParams): string {
  const onObject = keyParts.length > 0;
  if (onObject && method === "PUT") return query.has("uploadId") ? "UploadPart" : "PutObject";
  if (onObject && method === "POST") return query.has("uploads") ? "CreateMultipartUpload" : "CompleteMultipartUpload";
  if (onObject && method === "DELETE") return query.has("uploadId") ? "AbortMultipartUpload" : "DeleteObject";
  return `${method} ${onObject ? "object" : "bucket"}`;
}

/** Answers the `/__stowage/…` control requests; false when the request is not one. */
function control(req: IncomingMessage, res: ServerResponse, url: URL): boolean {
  if (url.pathname === "/__stowage/requests" && req.method === "GET") {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(requestLog));
    return true;
  }
  if (url.pathname === "/__stowage/fail-next-part" && req.method === "POST") {
    failNextPart = {
      status: Number(url.searchParams.get("status") ?? 500),
      code: url.searchParams.get("code") ?? "InternalError",
    };
    req.resume();
    res.writeHead(204);
    res.end();
    return true;
  }
  return false;
}

/**
 * Answers 400 BadDigest instead of s3rver's success when the Content-MD5 sent does not match the MD5
 * of what s3rver stored (its ETag). Koa sets the ETag header and then calls `res.end()`: the check runs
 * there, before anything is written.
 */
function checkContentMd5(req: IncomingMessage, res: ServerResponse): void {
  const sent = Buffer.from(String(req.headers["content-md5"]), "base64").toString("hex");
  const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
  res.end = ((...args: unknown[]) => {
    const etag = String(res.getHeader("etag") ?? "").replace(/"/g, "");
    if (!res.headersSent && res.statusCode === 200 && etag && etag !== sent) {
      const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>BadDigest</Code><Message>The Content-MD5 you specified did not match what we received.</Message></Error>`;
      res.statusCode = 400;
      res.removeHeader("etag");
      res.setHeader("content-type", "application/xml");
      res.setHeader("content-length", Buffer.byteLength(body));
      return end(body);
    }
    return end(...args);
  }) as ServerResponse["end"];
}

async function main(): Promise<void> {
  const s3rver = new S3rver({
    directory,
    silent: true,
    vhostBuckets: false,
    allowMismatchedSignatures: false,
    configureBuckets: buckets.map((name) => ({ name })),
  });
  await s3rver.configureBuckets();
  const s3 = s3rver.callback();

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    if (control(req, res, url)) return;
    const [, logBucket = "", ...logKey] = url.pathname.split("/");
    const keyPath = logKey.filter(Boolean);
    const entry: LoggedRequest = {
      op: operation(req.method ?? "", keyPath, url.searchParams),
      method: req.method ?? "",
      bucket: decodeURIComponent(logBucket),
      key: decodeURIComponent(keyPath.join("/")),
      partNumber: url.searchParams.has("partNumber") ? Number(url.searchParams.get("partNumber")) : undefined,
      contentLength: req.headers["content-length"] === undefined ? undefined : Number(req.headers["content-length"]),
      chunked: /chunked/i.test(String(req.headers["transfer-encoding"] ?? "")),
      contentMd5: typeof req.headers["content-md5"] === "string",
      checksumHeader: Object.keys(req.headers).find((h) => h.startsWith("x-amz-checksum-") && h !== "x-amz-checksum-algorithm"),
    };
    requestLog.push(entry);
    res.once("finish", () => {
      entry.status = res.statusCode;
    });
    if (entry.op === "UploadPart" && failNextPart) {
      const { status, code } = failNextPart;
      failNextPart = undefined;
      // Read the part to its end first, as a real server would before answering.
      req.resume();
      req.once("end", () => xmlError(res, status, code, "Injected failure (fail-next-part)."));
      return;
    }
    if (!signatureMatches(req, url)) {
      req.resume();
      return xmlError(
        res,
        403,
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided.",
      );
    }
    const [, bucket = "", ...rest] = url.pathname.split("/");
    const keyParts = rest.filter(Boolean);
    const writesData = entry.op === "PutObject" || entry.op === "UploadPart";
    if (writesData && objectLockBuckets.has(decodeURIComponent(bucket)) && !entry.contentMd5 && !entry.checksumHeader) {
      req.resume();
      return xmlError(
        res,
        400,
        "InvalidRequest",
        "Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests with Object Lock parameters",
      );
    }
    if (writesData && entry.contentMd5) checkContentMd5(req, res);
    if (validBucket(bucket)) {
      if (req.method === "DELETE" && keyParts.length > 0 && url.searchParams.has("uploadId")) {
        return void abortMultipartUpload(res, bucket, url.searchParams.get("uploadId") ?? "").catch((e: Error) =>
          xmlError(res, 500, "InternalError", e.message),
        );
      }
      if (req.method === "GET" && keyParts.length === 0 && url.searchParams.has("uploads")) {
        return void listMultipartUploads(res, bucket).catch((e: Error) => xmlError(res, 500, "InternalError", e.message));
      }
    }
    s3(req, res);
  });
  server.listen(port, "127.0.0.1", () => {
    const address = server.address();
    process.stdout.write(`READY ${typeof address === "object" && address ? address.port : port}\n`);
  });
  // The parent holds our stdin open; when it dies, stop rather than linger as an orphan.
  process.stdin.on("end", () => process.exit(0));
  process.stdin.resume();
  // Nothing to flush: s3rver writes every object before it answers.
  process.on("SIGTERM", () => process.exit(0));
}

main().catch((error: unknown) => {
  process.stderr.write(`s3rver-child: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});

/**
 * @module providers/s3/errors
 * Maps AWS SDK v3 errors (service exceptions, socket errors, aborts) to `StorageError` codes, with
 * messages that name the destination and say what to check. Secrets are redacted from every message.
 */
import { isAbortError, isNetworkError, redact, StorageError, type StorageErrorCode } from "../../errors.ts";
import { isTransientNetworkError, isTransientStatus } from "../../layer/retry.ts";

/** What a message needs to know about the destination. */
export interface S3ErrorContext {
  /** Display name, `s3://bucket/prefix`. */
  readonly name: string;
  readonly bucket: string;
  /** Where requests go: the configured endpoint, or AWS's regional endpoint. */
  readonly endpoint: string;
  readonly secrets: ReadonlyArray<string | undefined>;
}

const AUTH_CODES = new Set([
  "InvalidAccessKeyId",
  "SignatureDoesNotMatch",
  "AccessDenied",
  "InvalidToken",
  "ExpiredToken",
  "TokenRefreshRequired",
  "AllAccessDisabled",
  "Forbidden",
  "Unauthorized",
]);
const NOT_FOUND_CODES = new Set(["NoSuchBucket", "NoSuchKey", "NotFound", "NoSuchUpload"]);
const QUOTA_CODES = new Set([
  "QuotaExceeded",
  "EntityTooLarge",
  "StorageQuotaExceeded",
  "XMinioStorageFull",
  "XMinioAdminBucketQuotaExceeded",
  "ServiceQuotaExceededException",
]);

interface SdkErrorShape {
  name?: string;
  Code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

/** Throttling and transient server answers worth sending a request again for. */
const TRANSIENT_CODES = new Set(["SlowDown", "RequestTimeout", "InternalError", "ServiceUnavailable", "Throttling"]);

/** Worth another attempt: throttling, 5xx, a connection that broke mid-request. Never an abort. */
export function isTransientS3Error(error: unknown): boolean {
  if (error instanceof StorageError) return error.transient;
  if (isAbortError(error)) return false;
  const { code, status } = s3ErrorCode(error);
  return isTransientStatus(status) || TRANSIENT_CODES.has(code ?? "") || isTransientNetworkError(error);
}

/** The S3 error code (`NoSuchKey`) or, for bodiless answers (HEAD), the HTTP status. */
export function s3ErrorCode(error: unknown): { code: string | undefined; status: number | undefined } {
  const e = (error ?? {}) as SdkErrorShape;
  return { code: e.Code ?? e.name, status: e.$metadata?.httpStatusCode };
}

export function classifyS3Error(error: unknown): StorageErrorCode {
  if (error instanceof StorageError) return error.code;
  if (isAbortError(error)) return "INTERRUPTED";
  const { code, status } = s3ErrorCode(error);
  if (code && AUTH_CODES.has(code)) return "AUTH";
  if (code && NOT_FOUND_CODES.has(code)) return "NOT_FOUND";
  if (code && QUOTA_CODES.has(code)) return "QUOTA_EXCEEDED";
  if (status === 401 || status === 403) return "AUTH";
  if (status === 404) return "NOT_FOUND";
  if (status === 507 || status === 413) return "QUOTA_EXCEEDED";
  if (status === 409 || status === 412) return "CONFLICT";
  if (isNetworkError(error)) return "UNREACHABLE";
  return "UNKNOWN";
}

/** A sentence saying what to do about an error of this code on this destination. */
function advice(code: StorageErrorCode, ctx: S3ErrorContext, error: unknown): string {
  const s3Code = s3ErrorCode(error).code;
  switch (code) {
    case "AUTH":
      return `access denied${s3Code ? ` (${s3Code})` : ""}: check S3_ACCESS_KEY_ID/S3_SECRET_ACCESS_KEY, and that this key may read and write bucket "${ctx.bucket}"`;
    case "UNREACHABLE":
      return `cannot reach ${ctx.endpoint}: check S3_ENDPOINT, that the server is running, and the network`;
    case "QUOTA_EXCEEDED":
      return `the server refused the data as too large or over quota${s3Code ? ` (${s3Code})` : ""}: free space or raise the bucket's quota`;
    case "INTERRUPTED":
      return "aborted; the multipart upload was cancelled and nothing was stored";
    default:
      return "";
  }
}

/**
 * Turns any error from an S3 call into a `StorageError`. `what` says which operation on which key
 * (`upload of db/x.dump`); `notFound` overrides the NOT_FOUND sentence (a missing key vs a missing bucket).
 */
export function mapS3Error(error: unknown, ctx: S3ErrorContext, what: string): StorageError {
  if (error instanceof StorageError) return error;
  const code = classifyS3Error(error);
  const { code: s3Code } = s3ErrorCode(error);
  let sentence: string;
  if (code === "NOT_FOUND") {
    sentence =
      s3Code === "NoSuchBucket"
        ? `bucket "${ctx.bucket}" does not exist at ${ctx.endpoint}: create it, or check S3_BUCKET and S3_ENDPOINT`
        : "no such object";
  } else {
    const raw = error instanceof Error ? error.message : String(error);
    sentence = advice(code, ctx, error) || raw || s3Code || "unknown error";
    if (code === "UNKNOWN" && s3Code && !sentence.includes(s3Code)) sentence = `${s3Code}: ${sentence}`;
  }
  return new StorageError(code, ctx.name, redact(`${what}: ${sentence}`, ctx.secrets), {
    cause: error,
    transient: isTransientS3Error(error),
  });
}

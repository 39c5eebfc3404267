/**
 * @module server/schedules/transient
 * Which failed runs are worth another attempt within the same run: the destination or the database
 * could not be reached for a moment (refused, reset, timed out, DNS, throttled, 5xx). Permanent
 * failures (wrong password, missing database, a bad config, a cancel) fail at once. The job reports
 * a redacted message, so this reads the error codes and phrases the engine and the providers use.
 */
const TRANSIENT =
  /\b(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN|ENOTFOUND|EPIPE|UND_ERR_\w+|UNREACHABLE|UNAVAILABLE|THROTTLED|TIMEOUT)\b|connection refused|could not connect|cannot reach|can.t reach|not reachable|unreachable|timed? ?out|socket hang up|temporarily|try again|too many connections|HTTP (429|5\d\d)\b|\b50[234]\b/i;
const PERMANENT =
  /\b(AUTH_FAILED|DATABASE_NOT_FOUND|INVALID_OPTIONS|INVALID_CONFIG|ACCESS_DENIED|PG_TOOLS_MISSING|PG_VERSION_MISMATCH)\b|password authentication failed|does not exist|cancelled/i;

export function isTransientFailure(message: string | null | undefined): boolean {
  if (!message) return false;
  return TRANSIENT.test(message) && !PERMANENT.test(message);
}

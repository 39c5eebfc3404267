/**
 * @module pitr/lsn
 * PostgreSQL log sequence numbers (`16/B374D848`) as bigints, so they compare and sort exactly,
 * and commit timestamps as microseconds since the Unix epoch (pgoutput's precision; a JS Date only
 * keeps milliseconds, and two commits within one millisecond must stay ordered).
 */

export type Lsn = bigint;

const LSN_RE = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/;

export function parseLsn(text: string): Lsn {
  const m = LSN_RE.exec(text.trim());
  if (!m) throw new Error(`not an LSN: ${JSON.stringify(text)}`);
  return (BigInt(`0x${m[1]}`) << 32n) | BigInt(`0x${m[2]}`);
}

export function formatLsn(lsn: Lsn): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
}

/** 16 hex digits: file names that sort in LSN order. */
export function lsnKey(lsn: Lsn): string {
  return lsn.toString(16).toUpperCase().padStart(16, "0");
}

/** `2026-11-28T10:15:00.123456Z` from microseconds since the Unix epoch. */
export function microsToIso(micros: bigint): string {
  const ms = micros / 1000n;
  const rest = (micros % 1000000n).toString().padStart(6, "0");
  return new Date(Number(ms)).toISOString().replace(/\.\d{3}Z$/, `.${rest}Z`);
}

/** Microseconds since the Unix epoch from an ISO 8601 time with any fraction (or none) and any offset. */
export function isoToMicros(iso: string): bigint {
  const m = /^(.*T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})$/.exec(iso.trim());
  if (!m) throw new Error(`not an ISO 8601 time with a time zone: ${JSON.stringify(iso)}`);
  const seconds = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(seconds)) throw new Error(`not a valid time: ${JSON.stringify(iso)}`);
  const fraction = BigInt((m[2] ?? "").padEnd(6, "0").slice(0, 6) || "0");
  return BigInt(seconds) * 1000n + fraction;
}

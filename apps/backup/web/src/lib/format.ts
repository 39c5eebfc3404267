import type { Timestamp } from "./types.ts";

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];

export function formatBytes(bytes: number | null | undefined): string {
  if (bytes == null || !Number.isFinite(bytes)) return "—";
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(value < 10 ? 1 : 0)} ${UNITS[unit]}`;
}

export function formatRate(bytesPerSecond: number | null | undefined): string {
  if (!bytesPerSecond) return "—";
  return `${formatBytes(bytesPerSecond)}/s`;
}

export function toDate(value: Timestamp | undefined): Date | null {
  if (value == null || value === "") return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

export function formatDateTime(value: Timestamp | undefined): string {
  const date = toDate(value);
  return date ? dateTime.format(date) : "—";
}

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });

export function formatRelative(value: Timestamp | undefined, now = Date.now()): string {
  const date = toDate(value);
  if (!date) return "never";
  const seconds = Math.round((date.getTime() - now) / 1000);
  const abs = Math.abs(seconds);
  if (abs < 45) return relative.format(seconds, "second");
  if (abs < 45 * 60) return relative.format(Math.round(seconds / 60), "minute");
  if (abs < 22 * 3600) return relative.format(Math.round(seconds / 3600), "hour");
  if (abs < 26 * 86400) return relative.format(Math.round(seconds / 86400), "day");
  return dateTime.format(date);
}

export function formatDuration(start: Timestamp | undefined, end: Timestamp | undefined): string {
  const a = toDate(start);
  const b = toDate(end);
  if (!a || !b) return "—";
  const ms = b.getTime() - a.getTime();
  if (ms < 1000) return `${ms} ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

export const DESTINATION_TYPE_LABELS: Record<string, string> = {
  s3: "S3 Compatible (AWS, R2, MinIO)",
  google_drive: "Google Drive",
  nextcloud: "Nextcloud",
  local_mapped: "Local Mapped Storage",
};

export const BACKUP_TYPE_LABELS: Record<string, string> = {
  full: "Full Backup (Roles + Schema + Data)",
  schema: "Schema Only",
  data: "Data Only",
};

export const BACKUP_TYPE_SHORT: Record<string, string> = { full: "Full", schema: "Schema", data: "Data" };

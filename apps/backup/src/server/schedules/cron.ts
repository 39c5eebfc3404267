/**
 * @module server/schedules/cron
 * Cron expressions and time zones, read by croner: 5 fields (minute precision) or 6 (seconds
 * first), in an IANA zone. Errors name the field (`cron` or `timezone`) for the API's 422.
 */
import { Cron } from "croner";
import { ApiError } from "../errors.ts";

export interface CronSpec {
  readonly cron: string;
  readonly timezone: string;
}

/** True when the runtime knows the IANA zone (`Europe/Berlin`, `UTC`). */
export function isValidTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** A paused croner job for the spec; throws a 422 `ApiError` naming `cron` or `timezone`. */
export function parseCron(spec: CronSpec): Cron {
  if (!isValidTimeZone(spec.timezone)) {
    throw new ApiError(
      "INVALID_INPUT",
      `timezone: "${spec.timezone}" is not an IANA time zone; use a name such as "UTC", "Europe/Berlin" or "America/New_York"`,
      "timezone",
    );
  }
  const fields = spec.cron.trim().split(/\s+/).length;
  if (fields !== 5 && fields !== 6) {
    throw new ApiError(
      "INVALID_INPUT",
      `cron: "${spec.cron}" has ${fields} fields; use 5 (minute hour day month weekday, e.g. "0 3 * * *") or 6 (seconds first)`,
      "cron",
    );
  }
  try {
    // croner's default keeps the classic cron OR between day-of-month and weekday, as crontab(5) users expect.
    return new Cron(spec.cron.trim(), { timezone: spec.timezone, paused: true, mode: "5-or-6-parts" });
  } catch (error) {
    const detail = (error as Error).message.replace(/^CronPattern: /, "");
    throw new ApiError("INVALID_INPUT", `cron: "${spec.cron}" is not a valid cron expression: ${detail}`, "cron");
  }
}

/** The next `count` run times strictly after `after`. */
export function nextRuns(spec: CronSpec, after: Date, count: number): Date[] {
  return parseCron(spec).nextRuns(count, after);
}

/** The next run strictly after `after`, or null when the expression never fires again. */
export function nextRun(spec: CronSpec, after: Date): Date | null {
  return parseCron(spec).nextRun(after);
}

/**
 * The schedule's interval for the dead man's switch: the longest gap among the next few runs (a
 * "weekdays at 3:00" schedule has a 3-day gap over the weekend, and must not alarm on Sunday).
 */
export function cronInterval(spec: CronSpec, from: Date): number | undefined {
  const runs = nextRuns(spec, from, 8);
  let longest = 0;
  for (let i = 1; i < runs.length; i++) longest = Math.max(longest, runs[i]!.getTime() - runs[i - 1]!.getTime());
  return longest > 0 ? longest : undefined;
}

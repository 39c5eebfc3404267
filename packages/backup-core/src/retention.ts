/**
 * @module retention
 * Which backups a retention policy keeps, with restic's `forget` semantics
 * (https://restic.readthedocs.io/en/stable/060_forget.html):
 * - `keepLast n` keeps the n newest backups;
 * - `keepDaily/Weekly/Monthly/Yearly n` walk the backups newest first and keep the newest backup of
 *   each of the n most recent UTC days / ISO weeks / months / years that HAVE a backup;
 * - a backup is kept when any rule keeps it; `-1` means "unlimited" for a rule, as in restic.
 * Stowage's own safety rules on top: only COMPLETE backups count and can be removed; the newest
 * complete backup is always kept, so a prune never leaves a destination without a restorable backup.
 * Incomplete folders are left alone unless `pruneIncompleteOlderThanMs` is set.
 *
 * Rules apply PER BACKUP NAME (the folder holding the backup, `mydb` for `mydb/2026…-ab12cd`), as
 * restic groups snapshots by host and paths: two databases in one destination each keep their own
 * last n, daily, weekly, … and their own newest complete backup. A policy whose every rule is zero
 * keeps nothing and is refused, as no policy at all is.
 */
import { BackupError } from "./errors.ts";

export interface RetentionPolicy {
  readonly keepLast?: number;
  readonly keepDaily?: number;
  readonly keepWeekly?: number;
  readonly keepMonthly?: number;
  readonly keepYearly?: number;
  /** When set, incomplete folders whose newest file is older than this are removed too. */
  readonly pruneIncompleteOlderThanMs?: number;
}

/** What the planner needs to know about a backup. */
export interface RetentionCandidate {
  readonly id: string;
  readonly time: Date;
  readonly complete: boolean;
  /** Newest file time, for incomplete folders (an upload may still be running). Defaults to `time`. */
  readonly lastModified?: Date;
  /** The backup name the rules apply within. Default: the id without its last segment (`backupName`). */
  readonly name?: string;
}

/** `mydb` for `mydb/20261125T101500Z-ab12cd`, `team/mydb` for a nested one, `""` for a bare id. */
export function backupName(id: string): string {
  const slash = id.lastIndexOf("/");
  return slash < 0 ? "" : id.slice(0, slash);
}

const nameOf = (b: RetentionCandidate) => b.name ?? backupName(b.id);

export interface PrunePlan<T extends RetentionCandidate = RetentionCandidate> {
  readonly keep: T[];
  readonly remove: T[];
  /** The same plan per backup name, names in alphabetical order. */
  readonly names: ReadonlyArray<{ readonly name: string; readonly keep: T[]; readonly remove: T[] }>;
  /** Why each backup is kept or removed, by id: `["last 1/3", "daily 2026-11-25"]`. */
  readonly reasons: Map<string, string[]>;
}

type Rule = "last" | "daily" | "weekly" | "monthly" | "yearly";

const pad = (n: number) => String(n).padStart(2, "0");

/** ISO 8601 week of a UTC date: `2026-W48`. */
export function isoWeek(date: Date): string {
  const d = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()));
  const weekday = d.getUTCDay() || 7; // Monday 1 … Sunday 7
  d.setUTCDate(d.getUTCDate() + 4 - weekday); // the Thursday of this week decides the year
  const yearStart = Date.UTC(d.getUTCFullYear(), 0, 1);
  const week = Math.ceil(((d.getTime() - yearStart) / 86_400_000 + 1) / 7);
  return `${d.getUTCFullYear()}-W${pad(week)}`;
}

const BUCKETS: Record<Exclude<Rule, "last">, (d: Date) => string> = {
  daily: (d) => `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`,
  weekly: isoWeek,
  monthly: (d) => `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}`,
  yearly: (d) => String(d.getUTCFullYear()),
};

const POLICY_KEYS: Record<Rule, keyof RetentionPolicy> = {
  last: "keepLast",
  daily: "keepDaily",
  weekly: "keepWeekly",
  monthly: "keepMonthly",
  yearly: "keepYearly",
};

/** True when the policy names at least one rule that keeps something. */
export function policyKeepsAnything(policy: RetentionPolicy): boolean {
  return (Object.values(POLICY_KEYS) as (keyof RetentionPolicy)[]).some((k) => {
    const v = policy[k];
    return v !== undefined && (v > 0 || v === -1);
  });
}

/** Throws INVALID_POLICY for a policy that keeps nothing (no rule, or every rule 0). */
export function assertPolicyKeepsAnything(policy: RetentionPolicy): void {
  if (!policyKeepsAnything(policy)) {
    throw new BackupError(
      "INVALID_POLICY",
      "the retention policy keeps nothing: pass at least one of --keep-last, --keep-daily, --keep-weekly, --keep-monthly, --keep-yearly with a number > 0 (or -1 for unlimited)",
    );
  }
}

/**
 * Decides, without touching anything, which backups a policy keeps and which it removes, for each
 * backup name on its own.
 */
export function planPrune<T extends RetentionCandidate>(backups: readonly T[], policy: RetentionPolicy, now: Date): PrunePlan<T> {
  assertPolicyKeepsAnything(policy);
  const groups = new Map<string, T[]>();
  for (const backup of backups) {
    const list = groups.get(nameOf(backup)) ?? [];
    list.push(backup);
    groups.set(nameOf(backup), list);
  }
  const reasons = new Map<string, string[]>();
  const keep: T[] = [];
  const remove: T[] = [];
  const names: { name: string; keep: T[]; remove: T[] }[] = [];
  for (const name of [...groups.keys()].sort()) {
    const plan = planGroup(groups.get(name)!, policy, now, reasons);
    keep.push(...plan.keep);
    remove.push(...plan.remove);
    names.push({ name, ...plan });
  }
  return { keep, remove, names, reasons };
}

/** The rules applied to the backups of one name. */
function planGroup<T extends RetentionCandidate>(
  backups: readonly T[],
  policy: RetentionPolicy,
  now: Date,
  reasons: Map<string, string[]>,
): { keep: T[]; remove: T[] } {
  const note = (id: string, reason: string) => {
    const list = reasons.get(id) ?? [];
    list.push(reason);
    reasons.set(id, list);
  };
  // Newest first; ties broken by id so the plan does not depend on input order.
  const complete = backups
    .filter((b) => b.complete)
    .sort((a, b) => b.time.getTime() - a.time.getTime() || b.id.localeCompare(a.id));
  const kept = new Set<string>();

  for (const rule of Object.keys(POLICY_KEYS) as Rule[]) {
    const limit = policy[POLICY_KEYS[rule]];
    if (limit === undefined || limit === 0) continue;
    let remaining = limit === -1 ? Number.POSITIVE_INFINITY : limit;
    let lastBucket: string | undefined;
    let index = 0;
    for (const backup of complete) {
      if (remaining <= 0) break;
      const bucket = rule === "last" ? String(index++) : BUCKETS[rule](backup.time);
      if (bucket === lastBucket) continue;
      lastBucket = bucket;
      kept.add(backup.id);
      note(backup.id, rule === "last" ? `last ${Number(bucket) + 1}` : `${rule} ${bucket}`);
      remaining--;
    }
  }

  const newest = complete[0];
  if (newest && !kept.has(newest.id)) {
    kept.add(newest.id);
    note(newest.id, "newest complete backup (always kept)");
  }

  const keep: T[] = [];
  const remove: T[] = [];
  for (const backup of complete) {
    if (kept.has(backup.id)) keep.push(backup);
    else {
      remove.push(backup);
      note(backup.id, "no rule keeps it");
    }
  }
  for (const backup of backups.filter((b) => !b.complete)) {
    const age = now.getTime() - (backup.lastModified ?? backup.time).getTime();
    if (policy.pruneIncompleteOlderThanMs !== undefined && age > policy.pruneIncompleteOlderThanMs) {
      remove.push(backup);
      note(backup.id, "incomplete and stale");
    } else {
      keep.push(backup);
      note(
        backup.id,
        policy.pruneIncompleteOlderThanMs === undefined ? "incomplete (not a candidate)" : "incomplete, may still be uploading",
      );
    }
  }
  // Safety net: never remove every complete backup of a name.
  if (complete.length > 0 && !complete.some((b) => kept.has(b.id)))
    throw new Error("planPrune: would remove every complete backup");
  return { keep, remove };
}

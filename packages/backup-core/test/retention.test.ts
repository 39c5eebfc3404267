import { describe, expect, it } from "vitest";
import { isoWeek, planPrune, type RetentionCandidate } from "../src/retention.ts";

const now = new Date("2026-11-25T12:00:00Z");
const b = (iso: string, complete = true, id = iso): RetentionCandidate => ({ id, time: new Date(iso), complete });
const ids = (list: readonly RetentionCandidate[]) => list.map((x) => x.id).sort();

/** One backup a day at 02:00 UTC for `days` days ending 2026-11-25. */
const daily = (days: number) => Array.from({ length: days }, (_, i) => b(new Date(Date.UTC(2026, 10, 25 - i, 2)).toISOString()));

describe("isoWeek", () => {
  it("follows ISO 8601 at year boundaries", () => {
    expect(isoWeek(new Date("2026-01-01T00:00:00Z"))).toBe("2026-W01"); // Thursday
    expect(isoWeek(new Date("2027-01-01T00:00:00Z"))).toBe("2026-W53"); // Friday of 2026's week 53
    expect(isoWeek(new Date("2024-12-30T00:00:00Z"))).toBe("2025-W01"); // Monday
    expect(isoWeek(new Date("2026-11-29T23:59:59Z"))).toBe("2026-W48"); // Sunday
    expect(isoWeek(new Date("2026-11-30T00:00:00Z"))).toBe("2026-W49"); // Monday
  });
});

describe("planPrune", () => {
  it("keep-last keeps the n newest complete backups", () => {
    const list = daily(5);
    const plan = planPrune(list, { keepLast: 2 }, now);
    expect(ids(plan.keep)).toEqual(ids(list.slice(0, 2)));
    expect(ids(plan.remove)).toEqual(ids(list.slice(2)));
    expect(plan.reasons.get(list[0]!.id)).toEqual(["last 1"]);
  });

  it("keep-daily keeps the newest backup of each of the n most recent days with backups", () => {
    const list = [
      b("2026-11-25T10:00:00Z"),
      b("2026-11-25T02:00:00Z"),
      b("2026-11-24T23:59:59Z"),
      b("2026-11-24T01:00:00Z"),
      // a gap: days without backups do not use up the count (restic semantics)
      b("2026-11-20T05:00:00Z"),
      b("2026-11-19T05:00:00Z"),
    ];
    const plan = planPrune(list, { keepDaily: 3 }, now);
    expect(ids(plan.keep)).toEqual(["2026-11-20T05:00:00Z", "2026-11-24T23:59:59Z", "2026-11-25T10:00:00Z"]);
    expect(plan.reasons.get("2026-11-20T05:00:00Z")).toEqual(["daily 2026-11-20"]);
  });

  it("uses UTC days, not local time", () => {
    // 23:30 and 00:30 UTC are different UTC days whatever the machine's zone.
    const list = [b("2026-11-25T00:30:00Z"), b("2026-11-24T23:30:00Z")];
    expect(planPrune(list, { keepDaily: 2 }, now).remove).toEqual([]);
  });

  it("keep-weekly buckets by ISO week", () => {
    const list = [
      b("2026-11-30T01:00:00Z"), // Mon W49
      b("2026-11-29T01:00:00Z"), // Sun W48
      b("2026-11-23T01:00:00Z"), // Mon W48
      b("2026-11-22T01:00:00Z"), // Sun W47
    ];
    const plan = planPrune(list, { keepWeekly: 2 }, now);
    expect(ids(plan.keep)).toEqual(["2026-11-29T01:00:00Z", "2026-11-30T01:00:00Z"]);
  });

  it("keep-monthly and keep-yearly keep the newest of each month / year", () => {
    const list = [
      b("2026-11-02T00:00:00Z"),
      b("2026-11-01T00:00:00Z"),
      b("2026-10-31T00:00:00Z"),
      b("2025-12-31T00:00:00Z"),
      b("2025-01-01T00:00:00Z"),
    ];
    expect(ids(planPrune(list, { keepMonthly: 2 }, now).keep)).toEqual(["2026-10-31T00:00:00Z", "2026-11-02T00:00:00Z"]);
    expect(ids(planPrune(list, { keepYearly: 5 }, now).keep)).toEqual(["2025-12-31T00:00:00Z", "2026-11-02T00:00:00Z"]);
  });

  it("a backup is kept when any rule keeps it, with every reason listed", () => {
    const list = daily(40);
    const plan = planPrune(list, { keepLast: 3, keepDaily: 7, keepWeekly: 4, keepMonthly: 2 }, now);
    const kept = new Set(plan.keep.map((x) => x.id));
    for (const x of list.slice(0, 7)) expect(kept.has(x.id)).toBe(true);
    expect(plan.reasons.get(list[0]!.id)).toEqual(["last 1", "daily 2026-11-25", "weekly 2026-W48", "monthly 2026-11"]);
    // October's newest (31st) is kept by the monthly rule.
    expect(kept.has("2026-10-31T02:00:00.000Z")).toBe(true);
    expect(plan.keep.length + plan.remove.length).toBe(40);
    expect(plan.reasons.get(plan.remove[0]!.id)).toEqual(["no rule keeps it"]);
  });

  it("-1 means unlimited, as in restic", () => {
    const list = daily(10);
    expect(planPrune(list, { keepDaily: -1 }, now).remove).toEqual([]);
  });

  it("never removes the newest complete backup, even when no rule keeps it", () => {
    const list = daily(3);
    const plan = planPrune(list, { keepLast: 0 }, now);
    expect(plan.keep.map((x) => x.id)).toEqual([list[0]!.id]);
    expect(plan.reasons.get(list[0]!.id)).toEqual(["newest complete backup (always kept)"]);
  });

  it("only complete backups count: an incomplete newest backup does not use up keep-last", () => {
    const list = [b("2026-11-25T03:00:00Z", false), b("2026-11-25T02:00:00Z"), b("2026-11-24T02:00:00Z")];
    const plan = planPrune(list, { keepLast: 1 }, now);
    expect(ids(plan.keep)).toEqual(["2026-11-25T02:00:00Z", "2026-11-25T03:00:00Z"]);
    expect(ids(plan.remove)).toEqual(["2026-11-24T02:00:00Z"]);
    expect(plan.reasons.get("2026-11-25T03:00:00Z")).toEqual(["incomplete (not a candidate)"]);
  });

  it("removes nothing when there is no complete backup", () => {
    const list = [b("2026-11-20T00:00:00Z", false), b("2026-11-21T00:00:00Z", false)];
    const plan = planPrune(list, { keepLast: 1 }, now);
    expect(plan.remove).toEqual([]);
    expect(plan.keep).toHaveLength(2);
  });

  it("removes stale incomplete folders only when asked, and never fresh ones", () => {
    const list = [
      b("2026-11-25T11:00:00Z", false, "fresh"),
      b("2026-11-20T00:00:00Z", false, "stale"),
      b("2026-11-19T00:00:00Z"),
    ];
    expect(planPrune(list, { keepLast: 1 }, now).remove).toEqual([]);
    const plan = planPrune(list, { keepLast: 1, pruneIncompleteOlderThanMs: 86_400_000 }, now);
    expect(ids(plan.remove)).toEqual(["stale"]);
    expect(plan.reasons.get("fresh")).toEqual(["incomplete, may still be uploading"]);
  });

  it("an incomplete folder with a recent file is not stale, whatever its name says", () => {
    const old: RetentionCandidate = {
      id: "x",
      time: new Date("2026-11-01T00:00:00Z"),
      complete: false,
      lastModified: new Date("2026-11-25T11:00:00Z"),
    };
    expect(
      planPrune([old, b("2026-11-19T00:00:00Z")], { keepLast: 1, pruneIncompleteOlderThanMs: 86_400_000 }, now).remove,
    ).toEqual([]);
  });

  it("does not depend on the input order", () => {
    const list = daily(20);
    const a = planPrune(list, { keepDaily: 5, keepWeekly: 2 }, now);
    const c = planPrune([...list].reverse(), { keepDaily: 5, keepWeekly: 2 }, now);
    expect(ids(a.keep)).toEqual(ids(c.keep));
  });

  it("a single complete backup is always kept", () => {
    const plan = planPrune([b("2020-01-01T00:00:00Z")], { keepDaily: 1 }, now);
    expect(plan.remove).toEqual([]);
  });
});

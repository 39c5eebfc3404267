import { describe, expect, it } from "vitest";
import { backupName, isoWeek, planPrune, type RetentionCandidate, type RetentionPolicy } from "../src/retention.ts";

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

  it("refuses a policy whose every rule is zero (it keeps nothing), like no policy at all", () => {
    const list = daily(3);
    for (const policy of [{}, { keepLast: 0 }, { keepLast: 0, keepDaily: 0, keepWeekly: 0, keepMonthly: 0, keepYearly: 0 }]) {
      expect(() => planPrune(list, policy, now)).toThrow(expect.objectContaining({ code: "INVALID_POLICY" }));
    }
    expect(() => planPrune(list, { keepLast: 0, pruneIncompleteOlderThanMs: 1 }, now)).toThrow(/keeps nothing/);
    expect(planPrune(list, { keepLast: 0, keepYearly: 1 }, now).keep.map((x) => x.id)).toEqual([list[0]!.id]);
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

describe("planPrune per backup name", () => {
  /** A backup of `name` at `iso`, with a random id suffix that does not sort by time. */
  const nb = (name: string, iso: string, suffix: string, complete = true): RetentionCandidate => ({
    id: `${name}/${suffix}`,
    time: new Date(iso),
    complete,
  });

  it("two databases in one destination: keep-last 1 keeps each one's newest, never removes otherdb's only backup", () => {
    const list = [
      nb("mydb", "2026-11-25T02:00:00Z", "zz"),
      nb("mydb", "2026-11-24T02:00:00Z", "aa"),
      nb("mydb", "2026-11-23T02:00:00Z", "mm"),
      nb("otherdb", "2026-01-01T00:00:00Z", "only"),
    ];
    const plan = planPrune(list, { keepLast: 1 }, now);
    expect(ids(plan.keep)).toEqual(["mydb/zz", "otherdb/only"]);
    expect(ids(plan.remove)).toEqual(["mydb/aa", "mydb/mm"]);
    expect(plan.names.map((n) => [n.name, ids(n.keep), ids(n.remove)])).toEqual([
      ["mydb", ["mydb/zz"], ["mydb/aa", "mydb/mm"]],
      ["otherdb", ["otherdb/only"], []],
    ]);
  });

  it("orders by time, not by id: ids that sort the other way round under one prefix", () => {
    // Under the prefix "team/", names "team/a" and "team/b"; in each, the id order is the reverse of the time order.
    const list = [
      nb("team/a", "2026-11-20T00:00:00Z", "1-newest"),
      nb("team/a", "2026-11-10T00:00:00Z", "5-middle"),
      nb("team/a", "2026-11-01T00:00:00Z", "9-oldest"),
      nb("team/b", "2026-11-01T00:00:00Z", "z-oldest"),
      nb("team/b", "2026-11-24T00:00:00Z", "a-newest"),
    ];
    const plan = planPrune(list, { keepLast: 1 }, now);
    expect(ids(plan.keep)).toEqual(["team/a/1-newest", "team/b/a-newest"]);
    const lastTwo = planPrune(list, { keepLast: 2 }, now);
    expect(ids(lastTwo.remove)).toEqual(["team/a/9-oldest"]);
    expect(lastTwo.reasons.get("team/b/z-oldest")).toEqual(["last 2"]);
    expect(backupName("team/a/20261125T101500Z-ab12cd")).toBe("team/a");
    expect(backupName("bare")).toBe("");
  });

  const RULES: RetentionPolicy[] = [
    { keepLast: 2 },
    { keepDaily: 3 },
    { keepWeekly: 2 },
    { keepMonthly: 2 },
    { keepYearly: 1 },
    { keepLast: 1, keepDaily: 2, keepWeekly: 1, keepMonthly: 1, keepYearly: 1 },
  ];

  it("on every rule, each name is planned exactly as if it were alone, and keeps its newest complete backup", () => {
    // Deterministic pseudo-random ages and counts (no flakiness): several names, different ages and counts.
    let seed = 42;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const list: RetentionCandidate[] = [];
    const names = ["alpha", "beta", "team/gamma", "team/delta", "solo"];
    names.forEach((name, n) => {
      const count = name === "solo" ? 1 : 2 + n * 4;
      for (let i = 0; i < count; i++) {
        const time = new Date(now.getTime() - Math.floor(rand() * 400) * 86_400_000 - Math.floor(rand() * 86_400_000));
        list.push(nb(name, time.toISOString(), `${Math.floor(rand() * 1e9).toString(36)}`, rand() > 0.15 || i === 0));
      }
    });
    for (const policy of RULES) {
      const plan = planPrune(list, policy, now);
      expect(plan.keep.length + plan.remove.length).toBe(list.length);
      for (const name of names) {
        const own = list.filter((x) => x.id.startsWith(`${name}/`));
        const alone = planPrune(own, policy, now);
        const group = plan.names.find((g) => g.name === name)!;
        expect(ids(group.keep)).toEqual(ids(alone.keep));
        expect(ids(group.remove)).toEqual(ids(alone.remove));
        const newest = own.filter((x) => x.complete).sort((a, b) => b.time.getTime() - a.time.getTime())[0]!;
        expect(ids(group.keep)).toContain(newest.id);
      }
    }
  });
});

/**
 * Boundaries of `retention.ts` that retention.test.ts left open (issue 20, mutation testing):
 * the stale-incomplete boundary, the reasons text, ties in time, the order of names and the
 * `name` override.
 */
import { describe, expect, it } from "vitest";
import {
  assertPolicyKeepsAnything,
  backupName,
  planPrune,
  policyKeepsAnything,
  type RetentionCandidate,
} from "../src/retention.ts";

const now = new Date("2026-11-25T12:00:00Z");
const c = (id: string, iso: string, complete = true, extra: Partial<RetentionCandidate> = {}): RetentionCandidate => ({
  id,
  time: new Date(iso),
  complete,
  ...extra,
});

describe("retention: boundaries", () => {
  it("an incomplete folder exactly as old as the limit is not stale; one millisecond more is", () => {
    const day = 86_400_000;
    const list = [c("db/ok", "2026-11-20T00:00:00Z"), c("db/edge", new Date(now.getTime() - day).toISOString(), false)];
    expect(planPrune(list, { keepLast: 1, pruneIncompleteOlderThanMs: day }, now).remove).toEqual([]);
    const older = [list[0]!, c("db/edge", new Date(now.getTime() - day - 1).toISOString(), false)];
    const plan = planPrune(older, { keepLast: 1, pruneIncompleteOlderThanMs: day }, now);
    expect(plan.remove.map((x) => x.id)).toEqual(["db/edge"]);
    expect(plan.reasons.get("db/edge")).toEqual(["incomplete and stale"]);
  });

  it("the reasons name the rule, its position, and why the rest go", () => {
    const list = [
      c("db/3", "2026-11-25T02:00:00Z"),
      c("db/2", "2026-11-24T02:00:00Z"),
      c("db/1", "2026-10-01T02:00:00Z"),
      c("db/0", "2025-10-01T02:00:00Z"),
    ];
    const plan = planPrune(list, { keepLast: 2, keepMonthly: 2 }, now);
    expect(plan.reasons.get("db/3")).toEqual(["last 1", "monthly 2026-11"]);
    expect(plan.reasons.get("db/2")).toEqual(["last 2"]);
    expect(plan.reasons.get("db/1")).toEqual(["monthly 2026-10"]);
    expect(plan.reasons.get("db/0")).toEqual(["no rule keeps it"]);
    const yearly = planPrune(list, { keepYearly: 5, keepDaily: 1, keepWeekly: 1 }, now);
    expect(yearly.reasons.get("db/3")).toEqual(["daily 2026-11-25", "weekly 2026-W48", "yearly 2026"]);
    expect(yearly.reasons.get("db/0")).toEqual(["yearly 2025"]);
  });

  it("ties in time are broken by id, newest id first, whatever the input order", () => {
    const a = c("db/a", "2026-11-25T02:00:00Z");
    const z = c("db/z", "2026-11-25T02:00:00Z");
    expect(planPrune([a, z], { keepLast: 1 }, now).keep.map((x) => x.id)).toEqual(["db/z"]);
    expect(planPrune([z, a], { keepLast: 1 }, now).keep.map((x) => x.id)).toEqual(["db/z"]);
  });

  it("names are listed in alphabetical order and `name` overrides the folder", () => {
    const list = [
      c("zeta/1", "2026-11-25T02:00:00Z"),
      c("alpha/1", "2026-11-25T02:00:00Z"),
      c("x/1", "2026-11-24T02:00:00Z", true, { name: "alpha" }),
    ];
    const plan = planPrune(list, { keepLast: 1 }, now);
    expect(plan.names.map((n) => n.name)).toEqual(["alpha", "zeta"]);
    expect(plan.names[0]!.remove.map((x) => x.id)).toEqual(["x/1"]);
    expect(plan.keep.map((x) => x.id)).toEqual(["alpha/1", "zeta/1"]);
  });

  it("backupName is the id up to its last slash", () => {
    expect(backupName("mydb/20261125T101500Z-ab12cd")).toBe("mydb");
    expect(backupName("team/mydb/x")).toBe("team/mydb");
    expect(backupName("bare")).toBe("");
  });

  it("policyKeepsAnything: positive or -1 on any rule; 0 and other negatives keep nothing", () => {
    expect(policyKeepsAnything({ keepYearly: 1 })).toBe(true);
    expect(policyKeepsAnything({ keepWeekly: -1 })).toBe(true);
    expect(policyKeepsAnything({ keepMonthly: -2 })).toBe(false);
    expect(policyKeepsAnything({ keepDaily: 0, pruneIncompleteOlderThanMs: 5 })).toBe(false);
    expect(() => assertPolicyKeepsAnything({})).toThrow(
      "the retention policy keeps nothing: pass at least one of --keep-last, --keep-daily, --keep-weekly, --keep-monthly, --keep-yearly with a number > 0 (or -1 for unlimited)",
    );
  });
});

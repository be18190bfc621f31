import { money } from "@tributary/money";
import { describe, expect, it } from "vitest";
import { examplePolicy } from "./example-policy.js";
import { activeStepIndex, admitToRollout } from "./rollout.js";
import type { RoutingOrder } from "./routing-order.js";
import type { RampStep, Rollout } from "./routing-policy.js";

const base = examplePolicy().rollouts[0]!;
const order = (buyerId: string, overrides: Partial<RoutingOrder> = {}): RoutingOrder => ({
  merchantId: "m-taobao-1",
  buyerId,
  amount: money(9_900n, "CNY"),
  lineCategories: ["apparel"],
  channel: "app",
  country: "CN",
  preferredProvider: undefined,
  buyerAccounts: {},
  ...overrides,
});
const step = (startsAt: string, percent: number, merchants: RampStep["merchants"] = "allowlist"): RampStep => ({
  startsAt: new Date(startsAt),
  percent,
  merchants,
});
const withRamp = (...ramp: RampStep[]): Rollout => ({ ...base, buyerAllowlist: [], ramp });
const buyers = Array.from({ length: 100_000 }, (_, i) => `buyer-${i}`);

describe("staged roll-out by stable hash", () => {
  it("admits 10 % ± 1 % of 100,000 buyers at 10 %, and every one of them still at 50 %", () => {
    const at10 = withRamp(step("2026-12-01T00:00:00Z", 10));
    const at50 = withRamp(step("2026-12-01T00:00:00Z", 10), step("2026-12-08T00:00:00Z", 50));
    const now = new Date("2026-12-09T00:00:00Z");
    const admittedAt10 = buyers.filter((b) => admitToRollout(at10, order(b), now).admitted);
    const admittedAt50 = new Set(buyers.filter((b) => admitToRollout(at50, order(b), now).admitted));
    expect(admittedAt10.length).toBeGreaterThanOrEqual(9_000);
    expect(admittedAt10.length).toBeLessThanOrEqual(11_000);
    expect(admittedAt50.size).toBeGreaterThanOrEqual(49_000);
    expect(admittedAt50.size).toBeLessThanOrEqual(51_000);
    expect(admittedAt10.filter((b) => !admittedAt50.has(b))).toEqual([]);
  });

  it("admits nobody at 0 % and everybody at 100 %, and honours 0.01 % resolution", () => {
    const now = new Date("2026-12-02T00:00:00Z");
    const count = (percent: number) =>
      buyers.filter((b) => admitToRollout(withRamp(step("2026-12-01T00:00:00Z", percent)), order(b), now).admitted).length;
    expect(count(0)).toBe(0);
    expect(count(100)).toBe(100_000);
    expect(count(0.05)).toBeGreaterThan(20); // ≈ 50 of 100,000
    expect(count(0.05)).toBeLessThan(90);
  });

  it("picks the step in force at now: none before the first, then each in turn", () => {
    const rollout = base;
    expect(activeStepIndex(rollout, new Date("2026-11-30T23:59:59Z"))).toBe(-1);
    expect(activeStepIndex(rollout, new Date("2026-12-01T00:00:00Z"))).toBe(0);
    expect(activeStepIndex(rollout, new Date("2026-12-10T00:00:00Z"))).toBe(1);
    expect(activeStepIndex(rollout, new Date("2026-12-15T00:00:00Z"))).toBe(2);
    expect(activeStepIndex(rollout, new Date("2027-03-01T00:00:00Z"))).toBe(4);
  });

  it("holds the paused step whatever the schedule says", () => {
    const paused: Rollout = { ...base, pause: { pausedAt: new Date("2026-12-09T00:00:00Z"), heldStepIndex: 1, reason: "guardrail", by: "guardrail" } };
    expect(activeStepIndex(paused, new Date("2027-03-01T00:00:00Z"))).toBe(1);
    const admitted = buyers.slice(0, 20_000).filter((b) => admitToRollout(paused, order(b), new Date("2027-03-01T00:00:00Z")).admitted);
    expect(admitted.length).toBeGreaterThan(1_700); // ≈ 10 %, not 100 %
    expect(admitted.length).toBeLessThan(2_300);
  });

  it("says why a buyer is out: not started, not admitted by share", () => {
    expect(admitToRollout(base, order("buyer-1"), new Date("2026-11-01T00:00:00Z")).dropped.map((r) => r.code)).toEqual(["rollout_not_started"]);
    const out = buyers.find((b) => !admitToRollout(base, order(b), new Date("2026-12-02T00:00:00Z")).admitted)!;
    const admission = admitToRollout(base, order(out), new Date("2026-12-02T00:00:00Z"));
    expect(admission.dropped.map((r) => r.code)).toEqual(["rollout_buyer_not_admitted"]);
    expect(admission.dropped[0]!.text).toMatch(/≥ 100 of 10000 \(step 0, 1 %\)/);
  });
});

describe("roll-out allowlists and categories", () => {
  const early = new Date("2026-12-02T00:00:00Z"); // step 0: 1 %, pilot merchants only
  const late = new Date("2027-01-06T00:00:00Z"); // last step: 100 %, every merchant

  it("admits an allowlisted buyer at any step, even before the first", () => {
    expect(admitToRollout(base, order("b-staff-1"), new Date("2026-11-01T00:00:00Z"))).toMatchObject({
      admitted: true,
      kept: [{ code: "rollout_admitted_by_allowlist" }],
    });
  });

  it("keeps the rail to pilot merchants until a step opens it to all", () => {
    const other = order("b-staff-1", { merchantId: "m-small-2" });
    expect(admitToRollout(base, other, early).dropped.map((r) => r.code)).toEqual(["rollout_merchant_not_in_pilot"]);
    expect(admitToRollout(base, other, late).admitted).toBe(true);
  });

  it("drops orders with an excluded category, and with a category outside the included ones", () => {
    const giftCard = order("b-staff-1", { lineCategories: ["apparel", "gift_card"] });
    expect(admitToRollout(base, giftCard, late).dropped.map((r) => r.code)).toEqual(["rollout_category_excluded"]);
    const onlyFood: Rollout = { ...base, includedCategories: ["food"] };
    expect(admitToRollout(onlyFood, order("b-staff-1", { lineCategories: ["food"] }), late).admitted).toBe(true);
    expect(admitToRollout(onlyFood, order("b-staff-1", { lineCategories: ["food", "apparel"] }), late).dropped.map((r) => r.code)).toEqual([
      "rollout_category_not_included",
    ]);
  });

  it("reports every failing gate, not only the first", () => {
    const codes = admitToRollout(base, order("buyer-x", { merchantId: "m-small-2", lineCategories: ["gift_card"] }), new Date("2026-11-01T00:00:00Z")).dropped.map(
      (r) => r.code,
    );
    expect(codes).toEqual(["rollout_not_started", "rollout_merchant_not_in_pilot", "rollout_category_excluded"]);
  });
});

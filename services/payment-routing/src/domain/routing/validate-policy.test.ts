import type { ProviderId } from "@tributary/contracts";
import type { CurrencyCode } from "@tributary/money";
import { describe, expect, it } from "vitest";
import { exampleMerchantIds, examplePolicy } from "./example-policy.js";
import type { Rollout, RoutingPolicy } from "./routing-policy.js";
import { validatePolicy } from "./validate-policy.js";

const refs = { merchantIds: exampleMerchantIds };
const valid = examplePolicy();
const rollout0 = valid.rollouts[0]!;
const withRollout = (change: Partial<Rollout>): RoutingPolicy => ({ ...valid, rollouts: [{ ...rollout0, ...change }] });
const ramp = rollout0.ramp;

function violations(policy: RoutingPolicy): { field: string; description: string }[] {
  const result = validatePolicy(policy, refs);
  if (result.ok) return [];
  expect(result.error.code).toBe("invalid_policy");
  expect(result.error.message).toContain(result.error.fieldViolations[0]!.field);
  return [...result.error.fieldViolations];
}

describe("validatePolicy", () => {
  it("accepts the example policy as it is", () => {
    expect(validatePolicy(valid, refs)).toEqual({ ok: true, value: valid });
  });

  it.each<[string, RoutingPolicy, string, RegExp]>([
    ["a roll-out over 100 %", withRollout({ ramp: [...ramp.slice(0, 3), { ...ramp[3]!, percent: 101 }] }), "rollouts[0].ramp[3].percent", /between 0 and 100/],
    ["a share finer than 0.01 %", withRollout({ ramp: [{ ...ramp[0]!, percent: 0.001 }, ...ramp.slice(1)] }), "rollouts[0].ramp[0].percent", /0\.01 %/],
    ["a ramp going backwards in percent", withRollout({ ramp: [ramp[0]!, ramp[1]!, { ...ramp[2]!, percent: 5 }, ramp[3]!] }), "rollouts[0].ramp[2].percent", /backwards/],
    ["a ramp going backwards in time", withRollout({ ramp: [ramp[0]!, { ...ramp[1]!, startsAt: ramp[0]!.startsAt }] }), "rollouts[0].ramp[1].startsAt", /after/],
    ["a ramp going back to the allowlist", withRollout({ ramp: [...ramp, { startsAt: new Date("2027-02-01T00:00:00Z"), percent: 100, merchants: "allowlist" }] }), "rollouts[0].ramp[5].merchants", /backwards/],
    ["an empty ramp", withRollout({ ramp: [] }), "rollouts[0].ramp", /at least one step/],
    ["a roll-out of an unknown provider", withRollout({ provider: "paypal" as ProviderId }), "rollouts[0].provider", /unknown provider paypal/],
    ["an unknown pilot merchant", withRollout({ merchantAllowlist: ["m-taobao-1", "m-ghost"] }), "rollouts[0].merchantAllowlist[1]", /unknown merchant m-ghost/],
    ["a category both included and excluded", withRollout({ includedCategories: ["gift_card"] }), "rollouts[0].includedCategories[0]", /also excluded/],
    ["a guardrail threshold over 100 pp", withRollout({ guardrail: { ...rollout0.guardrail, thresholdPp: 150 } }), "rollouts[0].guardrail.thresholdPp", /percentage points/],
    ["a guardrail without a minimum sample", withRollout({ guardrail: { ...rollout0.guardrail, minSamplesPerArm: 0 } }), "rollouts[0].guardrail.minSamplesPerArm", /positive/],
    ["an empty salt", withRollout({ salt: "" }), "rollouts[0].salt", /empty/],
    ["two roll-outs of one rail", { ...valid, rollouts: [rollout0, { ...rollout0, rolloutId: "ecny-again" }] }, "rollouts[1].provider", /already listed at rollouts\[0\]\.provider/],
    ["an unknown merchant", { ...valid, merchants: [...valid.merchants, { merchantId: "m-ghost", enabledProviders: ["alipay"] }] }, "merchants[2].merchantId", /unknown merchant m-ghost/],
    ["a merchant enabling an unknown provider", { ...valid, merchants: [{ merchantId: "m-small-2", enabledProviders: ["alipay", "paypal" as ProviderId] }] }, "merchants[0].enabledProviders[1]", /unknown provider/],
    ["an unknown provider", { ...valid, providers: [...valid.providers, { provider: "paypal" as ProviderId, enabled: true, fees: [] }] }, "providers[5].provider", /unknown provider/],
    ["a provider listed twice", { ...valid, providers: [...valid.providers, valid.providers[0]!] }, "providers[5].provider", /already listed/],
    ["an unknown fee currency", { ...valid, providers: [{ ...valid.providers[0]!, fees: [{ currency: "RMB" as CurrencyCode, schedule: valid.providers[0]!.fees[0]!.schedule }] }] }, "providers[0].fees[0].currency", /unknown currency/],
    ["a fee rate over 100 %", { ...valid, providers: [{ ...valid.providers[0]!, fees: [{ currency: "CNY", schedule: { ratePpm: 1_000_001n, fixedMinor: 0n, rounding: "half_up" } }] }] }, "providers[0].fees[0].schedule.ratePpm", /1000000/],
  ])("refuses %s", (_name, policy, field, description) => {
    const found = violations(policy).find((v) => v.field === field);
    expect(found, JSON.stringify(violations(policy))).toBeDefined();
    expect(found!.description).toMatch(description);
  });

  const rule0 = valid.rules[0]!;
  const withWhen = (when: RoutingPolicy["rules"][number]["when"]): RoutingPolicy => ({ ...valid, rules: [{ ...rule0, when }] });
  it.each<[string, RoutingPolicy, string, RegExp]>([
    [
      "overlapping time windows",
      withWhen({ type: "all", conditions: [{ type: "time_of_day", windows: [{ fromMinute: 60, untilMinute: 120 }, { fromMinute: 119, untilMinute: 200 }] }] }),
      "rules[0].when.conditions[0].windows[1]",
      /overlaps rules\[0\]\.when\.conditions\[0\]\.windows\[0\]/,
    ],
    ["a window ending before it starts", withWhen({ type: "time_of_day", windows: [{ fromMinute: 1_380, untilMinute: 60 }] }), "rules[0].when.windows[0].untilMinute", /midnight/],
    ["an empty amount range", withWhen({ type: "amount", currency: "CNY", atLeastMinor: 500n, belowMinor: 500n }), "rules[0].when.belowMinor", /above atLeastMinor/],
    ["an unknown merchant in a condition", withWhen({ type: "not", condition: { type: "merchant", merchantIds: ["m-ghost"] } }), "rules[0].when.condition.merchantIds[0]", /unknown merchant/],
    ["an empty any", withWhen({ type: "any", conditions: [] }), "rules[0].when.conditions", /at least one/],
    ["a lower-case country", withWhen({ type: "country", countries: ["cn"] }), "rules[0].when.countries[0]", /alpha-2/],
    ["a rule naming an unknown provider", { ...valid, rules: [{ ...rule0, effect: { type: "exclude", providers: ["paypal" as ProviderId] } }] }, "rules[0].effect.providers[0]", /unknown provider/],
    ["two rules with one id", { ...valid, rules: [rule0, rule0] }, "rules[1].ruleId", /already listed/],
  ])("refuses %s", (_name, policy, field, description) => {
    const found = violations(policy).find((v) => v.field === field);
    expect(found, JSON.stringify(violations(policy))).toBeDefined();
    expect(found!.description).toMatch(description);
  });

  it("accepts touching windows and collects every violation at once", () => {
    expect(violations(withWhen({ type: "time_of_day", windows: [{ fromMinute: 60, untilMinute: 120 }, { fromMinute: 120, untilMinute: 200 }] }))).toEqual([]);
    const many = violations({ ...withRollout({ salt: "" }), health: { ...valid.health, explorationShare: 0.9 }, breaker: { ...valid.breaker, openMs: 0 } });
    expect(many.map((v) => v.field)).toEqual(["rollouts[0].salt", "health.explorationShare", "breaker.openMs"]);
  });
});

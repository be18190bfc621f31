import { describe, expect, it } from "vitest";
import { examplePolicy } from "../../domain/routing/example-policy.js";
import type { RoutingPolicy } from "../../domain/routing/routing-policy.js";
import { policyFromJson, policyFromJsonText, policyToJson, policyToJsonText } from "./policy-json.js";

/** The example policy with everything the codec must carry: a pause, both amount bounds, a huge bigint. */
function richPolicy(): RoutingPolicy {
  const base = examplePolicy();
  const [rollout] = base.rollouts;
  if (rollout === undefined) throw new Error("the example policy has a roll-out");
  return {
    ...base,
    version: 7,
    providers: base.providers.map((p) =>
      p.provider === "unionpay"
        ? { ...p, fees: [...p.fees, { currency: "USD", schedule: { ratePpm: 12_345n, fixedMinor: 9_007_199_254_740_993n, rounding: "ceiling" } }] }
        : p,
    ),
    rules: [
      ...base.rules,
      {
        ruleId: "mid-size",
        description: "",
        when: { type: "amount", currency: "CNY", atLeastMinor: 100n, belowMinor: 9_223_372_036_854_775_807n },
        effect: { type: "restrict", providers: ["alipay"] },
      },
      { ruleId: "only-upper", description: "x", when: { type: "amount", currency: "CNY", belowMinor: 5n }, effect: { type: "exclude", providers: ["ecny"] } },
    ],
    rollouts: [
      {
        ...rollout,
        pause: { pausedAt: new Date("2026-12-09T03:04:05.678Z"), heldStepIndex: 1, reason: "guardrail: worse", by: "guardrail" },
      },
    ],
  };
}

describe("the routing policy's JSON codec", () => {
  it("round-trips a policy exactly, bigints past 2^53 and dates included", () => {
    for (const policy of [examplePolicy(), richPolicy()]) {
      const decoded = policyFromJsonText(policyToJsonText(policy));
      expect(decoded).toEqual({ ok: true, value: policy });
    }
  });

  it("writes bigints as decimal strings, times as ISO strings and no pause as null", () => {
    const json = policyToJson(richPolicy()) as unknown as {
      providers: { fees: { schedule: { ratePpm: unknown; fixedMinor: unknown } }[] }[];
      rules: { when: Record<string, unknown> }[];
      rollouts: { ramp: { startsAt: unknown }[]; pause: unknown }[];
    };
    expect(json.providers[2]?.fees[1]?.schedule).toEqual({ ratePpm: "12345", fixedMinor: "9007199254740993", rounding: "ceiling" });
    expect(json.rules[4]?.when).toEqual({ type: "amount", currency: "CNY", belowMinor: "5" });
    expect(json.rollouts[0]?.ramp[0]?.startsAt).toBe("2026-12-01T00:00:00.000Z");
    expect(json.rollouts[0]?.pause).toEqual({ pausedAt: "2026-12-09T03:04:05.678Z", heldStepIndex: 1, reason: "guardrail: worse", by: "guardrail" });
    expect((policyToJson(examplePolicy()) as unknown as { rollouts: { pause: unknown }[] }).rollouts[0]?.pause).toBeNull();
    // JSON.stringify throws on a bigint: nothing slipped through unconverted.
    expect(() => JSON.stringify(policyToJson(richPolicy()))).not.toThrow();
  });

  it("refuses a bigint written as a JSON number, a bad time and an unknown condition, each with its path", () => {
    const json = JSON.parse(policyToJsonText(examplePolicy())) as {
      providers: { fees: { schedule: Record<string, unknown> }[] }[];
      rules: { when: Record<string, unknown> }[];
      rollouts: { ramp: Record<string, unknown>[]; trial: unknown }[];
    };
    const fee = json.providers[0]?.fees[0];
    if (fee !== undefined) fee.schedule["ratePpm"] = 6000;
    const step = json.rollouts[0]?.ramp[1];
    if (step !== undefined) step["startsAt"] = "next tuesday";
    const rule = json.rules[0];
    if (rule !== undefined) rule.when = { type: "weather", sunny: true };
    const rollout = json.rollouts[0];
    if (rollout !== undefined) rollout.trial = "yes";
    const decoded = policyFromJson(json);
    expect(decoded.ok).toBe(false);
    if (decoded.ok) return;
    expect(decoded.error.code).toBe("invalid_policy");
    expect(decoded.error.fieldViolations.map((v) => v.field)).toEqual([
      "providers[0].fees[0].schedule.ratePpm",
      "rules[0].when.type",
      "rollouts[0].ramp[1].startsAt",
      "rollouts[0].trial",
    ]);
  });

  it("refuses text that is not JSON, and a time without a zone", () => {
    const notJson = policyFromJsonText("{ not json");
    expect(notJson.ok ? [] : notJson.error.fieldViolations.map((v) => v.field)).toEqual(["policy"]);
    const text = policyToJsonText(examplePolicy()).replace("2026-12-01T00:00:00.000Z", "2026-12-01T00:00:00");
    const noZone = policyFromJsonText(text);
    expect(noZone.ok ? [] : noZone.error.fieldViolations.map((v) => v.field)).toEqual(["rollouts[0].ramp[0].startsAt"]);
  });

  it("reads a policy without a version as version 0 (the store sets it)", () => {
    const { version: _ignored, ...withoutVersion } = policyToJson(examplePolicy());
    const decoded = policyFromJson(withoutVersion);
    expect(decoded.ok && decoded.value.version).toBe(0);
  });
});

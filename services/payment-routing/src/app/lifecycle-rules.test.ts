import { money } from "@tributary/money";
import { describe, expect, it } from "vitest";
import type { ProviderCallError } from "../adapters/providers/provider-adapter.js";
import { healthEffectOf } from "../domain/routing/health.js";
import { examplePolicy } from "../domain/routing/example-policy.js";
import {
  attemptKindOf,
  captureFee,
  feeScheduleOf,
  providerRefundNo,
  refundedFee,
  rolloutArmOf,
  routingRuleOf,
  unownedCaptureRefundRef,
} from "./lifecycle-rules.js";
import type { StoredDecision } from "./ports.js";

const cny = (minor: bigint) => money(minor, "CNY");

describe("attemptKindOf: only provider-side failures count against a rail", () => {
  const cases: readonly [ProviderCallError, string, string][] = [
    [{ code: "rejected", providerCode: "ACQ.BUYER_BALANCE_NOT_ENOUGH", message: "", buyerSide: true, retryable: false }, "buyer_declined", "not_counted"],
    [{ code: "rejected", providerCode: "channel_not_supported", message: "", buyerSide: false, retryable: false }, "invalid_request", "not_counted"],
    [{ code: "not_found", message: "", retryable: false }, "invalid_request", "not_counted"],
    [{ code: "outcome_unknown", message: "no answer in time (aborted)", retryable: true }, "timed_out", "provider_failure"],
    [{ code: "outcome_unknown", message: "HTTP 502", retryable: true }, "provider_5xx", "provider_failure"],
    [{ code: "unreachable", message: "ECONNREFUSED", retryable: true }, "provider_system_error", "provider_failure"],
    [{ code: "bad_response_signature", message: "", retryable: false }, "provider_system_error", "provider_failure"],
    [{ code: "integrity_mismatch", field: "amount", message: "", retryable: false }, "provider_system_error", "provider_failure"],
    [{ code: "unknown_provider_status", providerStatus: "WAT", message: "", retryable: false }, "provider_system_error", "provider_failure"],
  ];
  it.each(cases)("%o → %s (%s)", (error, kind, effect) => {
    const attemptKind = attemptKindOf(error);
    expect(attemptKind).toBe(kind);
    expect(healthEffectOf(attemptKind)).toBe(effect);
  });
});

describe("providerRefundNo", () => {
  it("keeps a ref every provider accepts and hashes any other, the same every time", () => {
    expect(providerRefundNo("refund0001")).toBe("refund0001");
    const hashed = providerRefundNo("capture-refund:01a23164119c70f5bac434ab8e1a05da");
    expect(hashed).toMatch(/^R[0-9a-f]{31}$/);
    expect(providerRefundNo("capture-refund:01a23164119c70f5bac434ab8e1a05da")).toBe(hashed);
    expect(providerRefundNo("capture-refund:01a23164119c70f5bac434ab8e1a05db")).not.toBe(hashed);
    // Too short for UnionPay (8–40), too long, or with characters some provider refuses.
    for (const ref of ["r1", "x".repeat(33), "r-part-1", "退款-1"]) expect(providerRefundNo(ref)).toMatch(/^R[0-9a-f]{31}$/);
  });

  it("names an unowned capture's refund as the order service does", () => {
    expect(unownedCaptureRefundRef("p-1")).toBe("capture-refund:p-1");
  });
});

describe("fees", () => {
  const policy = examplePolicy();
  it("takes the provider's schedule and rounding; full refunds in parts give back exactly the fee", () => {
    const schedule = feeScheduleOf(policy, "wechat_pay", "CNY");
    const captured = cny(12_345n);
    const fee = captureFee(schedule, captured);
    expect(fee).toEqual(cny(74n)); // 0.6 % of 123.45 = 0.7407 → 0.74, half up
    const first = refundedFee(schedule, captured, cny(4_000n), cny(0n));
    const rest = refundedFee(schedule, captured, cny(8_345n), cny(4_000n));
    expect(first.amountMinor + rest.amountMinor).toBe(74n);
  });

  it("is zero when the policy holds no schedule for the currency", () => {
    expect(feeScheduleOf(policy, "alipay", "USD")).toBeUndefined();
    expect(captureFee(undefined, money(100n, "USD"))).toEqual(money(0n, "USD"));
  });
});

describe("routing rule and roll-out arm", () => {
  const decision: StoredDecision = {
    policyVersion: 1,
    candidates: [
      { provider: "ecny", tier: "trial", reasons: ["rollout_admitted_by_share", "trial_treatment"] },
      { provider: "wechat_pay", tier: "ranked", reasons: ["eligible", "ranked_by_expected_value"] },
    ],
    dropped: [{ provider: "jd_pay", reasons: ["excluded_by_rule"] }],
    matchedRuleIds: ["no-jd-for-gift-cards"],
    explored: false,
  };
  it("says what put the rail there, and marks a failover", () => {
    const [trial, ranked] = decision.candidates;
    if (trial === undefined || ranked === undefined) throw new Error("candidates");
    expect(routingRuleOf(trial, decision, "ecny-2026", 1)).toBe("rollout:ecny-2026:trial_treatment;rules:no-jd-for-gift-cards");
    expect(routingRuleOf(ranked, decision, undefined, 2)).toBe("ranked_by_expected_value;rules:no-jd-for-gift-cards;failover:2");
  });

  it("puts a trial's treatment in the treatment arm and a buyer kept out of the trial in the control arm", () => {
    const policy = examplePolicy();
    const [trial, ranked] = decision.candidates;
    if (trial === undefined || ranked === undefined) throw new Error("candidates");
    expect(rolloutArmOf(policy, decision, trial)).toEqual({ rolloutId: "ecny-2026", arm: "treatment" });
    expect(rolloutArmOf(policy, decision, ranked)).toBeUndefined();
    const keptOut: StoredDecision = { ...decision, dropped: [{ provider: "ecny", reasons: ["rollout_buyer_not_admitted"] }] };
    expect(rolloutArmOf(policy, keptOut, ranked)).toEqual({ rolloutId: "ecny-2026", arm: "control" });
  });
});

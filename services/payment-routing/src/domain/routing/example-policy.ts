import type { RoutingPolicy } from "./routing-policy.js";

/**
 * A complete, valid policy for tests, the benchmark and the README: five rails with CNY fees,
 * two merchants, three rules and a guarded, staged roll-out of e-CNY (1 % → 10 % → 50 % → 100 %,
 * then every merchant). Not a production policy — real fees and merchants come from config.
 */
export function examplePolicy(): RoutingPolicy {
  return {
    version: 1,
    utcOffsetMinutes: 480,
    providers: [
      { provider: "alipay", enabled: true, fees: [{ currency: "CNY", schedule: { ratePpm: 6000n, fixedMinor: 0n, rounding: "half_up" } }] },
      { provider: "wechat_pay", enabled: true, fees: [{ currency: "CNY", schedule: { ratePpm: 6000n, fixedMinor: 0n, rounding: "half_up" } }] },
      { provider: "unionpay", enabled: true, fees: [{ currency: "CNY", schedule: { ratePpm: 5500n, fixedMinor: 0n, rounding: "half_even" } }] },
      { provider: "jd_pay", enabled: true, fees: [{ currency: "CNY", schedule: { ratePpm: 5000n, fixedMinor: 0n, rounding: "down" } }] },
      { provider: "ecny", enabled: true, fees: [{ currency: "CNY", schedule: { ratePpm: 0n, fixedMinor: 0n, rounding: "half_up" } }] },
    ],
    merchants: [
      { merchantId: "m-taobao-1", enabledProviders: ["alipay", "wechat_pay", "unionpay", "jd_pay", "ecny"] },
      { merchantId: "m-small-2", enabledProviders: ["alipay", "wechat_pay"] },
    ],
    rules: [
      {
        ruleId: "no-jd-for-gift-cards",
        description: "JD Pay does not take gift cards",
        when: { type: "category", categories: ["gift_card"] },
        effect: { type: "exclude", providers: ["jd_pay"] },
      },
      {
        ruleId: "large-web-orders-to-card-or-alipay",
        description: "web orders of 50,000 CNY or more go to UnionPay or Alipay",
        when: {
          type: "all",
          conditions: [
            { type: "channel", channels: ["web"] },
            { type: "amount", currency: "CNY", atLeastMinor: 5_000_000n },
          ],
        },
        effect: { type: "restrict", providers: ["unionpay", "alipay"] },
      },
      {
        ruleId: "unionpay-maintenance-night",
        description: "UnionPay's nightly batch window, 01:00–01:30 Beijing time, or outside China",
        when: {
          type: "any",
          conditions: [
            { type: "time_of_day", windows: [{ fromMinute: 60, untilMinute: 90 }] },
            { type: "not", condition: { type: "country", countries: ["CN"] } },
          ],
        },
        effect: { type: "exclude", providers: ["unionpay"] },
      },
    ],
    rollouts: [
      {
        rolloutId: "ecny-2026",
        provider: "ecny",
        salt: "ecny-2026",
        ramp: [
          { startsAt: new Date("2026-12-01T00:00:00Z"), percent: 1, merchants: "allowlist" },
          { startsAt: new Date("2026-12-08T00:00:00Z"), percent: 10, merchants: "allowlist" },
          { startsAt: new Date("2026-12-15T00:00:00Z"), percent: 50, merchants: "allowlist" },
          { startsAt: new Date("2026-12-22T00:00:00Z"), percent: 100, merchants: "allowlist" },
          { startsAt: new Date("2027-01-05T00:00:00Z"), percent: 100, merchants: "all" },
        ],
        buyerAllowlist: ["b-staff-1"],
        merchantAllowlist: ["m-taobao-1"],
        includedCategories: [],
        excludedCategories: ["gift_card"],
        trial: true,
        guardrail: { thresholdPp: 2, minSamplesPerArm: 1_000, alpha: 0.05 },
        pause: undefined,
      },
    ],
    health: { windowSize: 125, priorSuccesses: 9, priorAttempts: 10, explorationShare: 0.05 },
    breaker: { minAttempts: 20, failureRateMax: 0.5, latencyMsMax: 3_000, slowRateMax: 0.5, openMs: 30_000, probeSuccessesToClose: 3 },
  };
}

/** The merchants {@link examplePolicy} refers to, as {@link PolicyReferences} expects them. */
export const exampleMerchantIds: ReadonlySet<string> = new Set(["m-taobao-1", "m-small-2"]);

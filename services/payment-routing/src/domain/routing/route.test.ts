import type { ProviderId } from "@tributary/contracts";
import { money } from "@tributary/money";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { exampleMerchantIds, examplePolicy } from "./example-policy.js";
import { healthKey, recordAttempt, type AttemptKind, type HealthState } from "./health.js";
import { route, type RouteInput, type RoutingDecision } from "./route.js";
import type { RoutingOrder } from "./routing-order.js";
import type { RoutingPolicy } from "./routing-policy.js";
import { rolloutBucket } from "./stable-hash.js";
import { validatePolicy } from "./validate-policy.js";

const now = new Date("2026-12-02T04:00:00Z"); // 12:00 in Beijing; e-CNY roll-out at step 0 (1 %)
const policy = examplePolicy();
const order = (overrides: Partial<RoutingOrder> = {}): RoutingOrder => ({
  merchantId: "m-taobao-1",
  buyerId: "b-1",
  amount: money(10_000n, "CNY"),
  lineCategories: ["apparel"],
  channel: "app",
  country: "CN",
  preferredProvider: undefined,
  buyerAccounts: {},
  ...overrides,
});

/** A health state with exactly these counts (no breaker trip), built directly for speed. */
function stateOf(successes: number, attempts: number): HealthState {
  return {
    samples: Array.from({ length: attempts }, (_, i) => ({ success: i < successes, slow: false })),
    successCount: successes,
    slowCount: 0,
    breaker: { state: "closed" },
  };
}
const book = (entries: readonly [ProviderId, HealthState][], channel: RoutingOrder["channel"] = "app") =>
  new Map(entries.map(([provider, state]) => [healthKey(provider, channel), state]));

const decide = (input: Partial<RouteInput> = {}): RoutingDecision =>
  route({ order: order(), policy, health: new Map(), now, random: 0.5, ...input });
const order_ = (d: RoutingDecision) => d.candidates.map((c) => c.provider);
const droppedCodes = (d: RoutingDecision, provider: ProviderId) => d.dropped.find((x) => x.provider === provider)?.reasons.map((r) => r.code);

it("the example policy is valid", () => {
  expect(validatePolicy(policy, { merchantIds: exampleMerchantIds }).ok).toBe(true);
});

describe("eligibility: every gate, with reasons", () => {
  it("offers only the merchant's enabled rails", () => {
    const d = decide({ order: order({ merchantId: "m-small-2" }) });
    expect(order_(d).sort()).toEqual(["alipay", "wechat_pay"]);
    expect(droppedCodes(d, "unionpay")).toEqual(["not_enabled_for_merchant"]);
    expect(droppedCodes(d, "jd_pay")).toEqual(["not_enabled_for_merchant"]);
  });

  it("drops everything for a merchant with no rails configured", () => {
    const d = decide({ order: order({ merchantId: "m-nobody" }) });
    expect(d.candidates).toEqual([]);
    expect(droppedCodes(d, "alipay")).toEqual(["merchant_not_configured"]);
  });

  it("drops a rail that takes no fee schedule in the order's currency", () => {
    const d = decide({ order: order({ amount: money(10_000n, "HKD") }) });
    expect(d.candidates).toEqual([]);
    expect(droppedCodes(d, "wechat_pay")).toEqual(["currency_not_supported"]);
  });

  it("drops a rail switched off in the policy, and one missing from it", () => {
    const p: RoutingPolicy = {
      ...policy,
      providers: policy.providers.filter((x) => x.provider !== "jd_pay").map((x) => (x.provider === "unionpay" ? { ...x, enabled: false } : x)),
    };
    const d = decide({ policy: p });
    expect(droppedCodes(d, "unionpay")).toEqual(["provider_disabled"]);
    expect(droppedCodes(d, "jd_pay")).toEqual(["provider_not_in_policy"]);
  });

  it("drops a rail whose breaker is open, and offers a half-open one last, as a probe", () => {
    const open: HealthState = { ...stateOf(0, 30), breaker: { state: "open", openedAt: now } };
    const halfOpen: HealthState = { ...stateOf(0, 30), breaker: { state: "open", openedAt: new Date(now.getTime() - 60_000) } };
    const d = decide({ health: book([["alipay", open], ["wechat_pay", halfOpen]]) });
    expect(droppedCodes(d, "alipay")).toEqual(["breaker_open"]);
    expect(d.candidates.at(-1)).toMatchObject({ provider: "wechat_pay", tier: "probe", reasons: [{ code: "eligible" }, { code: "half_open_probe" }] });
  });

  it("drops a mini-program product that needs the buyer's account at the provider when the order carries none", () => {
    const without = decide({ order: order({ merchantId: "m-small-2", channel: "mini_program" }) });
    expect(without.candidates).toEqual([]);
    expect(droppedCodes(without, "alipay")).toEqual(["buyer_account_missing"]);
    expect(droppedCodes(without, "wechat_pay")).toEqual(["buyer_account_missing"]);
    expect(without.dropped.find((x) => x.provider === "wechat_pay")?.reasons[0]?.text).toContain("WeChat openid");
    const withOpenid = decide({ order: order({ merchantId: "m-small-2", channel: "mini_program", buyerAccounts: { wechat_pay: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o" } }) });
    expect(order_(withOpenid)).toEqual(["wechat_pay"]);
    expect(droppedCodes(withOpenid, "alipay")).toEqual(["buyer_account_missing"]);
    // Other channels' products need no account: QR codes and app parameters are made for whoever pays.
    expect(order_(decide({ order: order({ merchantId: "m-small-2", channel: "web" }) })).sort()).toEqual(["alipay", "wechat_pay"]);
  });

  it("reads health per channel", () => {
    const open: HealthState = { ...stateOf(0, 30), breaker: { state: "open", openedAt: now } };
    expect(droppedCodes(decide({ health: book([["alipay", open]], "web") }), "alipay")).toBeUndefined();
    expect(droppedCodes(decide({ health: book([["alipay", open]], "app") }), "alipay")).toEqual(["breaker_open"]);
  });
});

describe("rules: one table row per rule of the example policy", () => {
  const night = new Date("2026-12-01T17:10:00Z"); // 01:10 in Beijing
  it.each<[string, Partial<RoutingOrder>, Date, ProviderId, string | undefined, string[]]>([
    ["gift cards exclude JD Pay", { lineCategories: ["gift_card"] }, now, "jd_pay", "excluded_by_rule", ["no-jd-for-gift-cards"]],
    ["no gift card keeps JD Pay", {}, now, "jd_pay", undefined, []],
    ["a large web order is restricted to UnionPay/Alipay", { channel: "web", amount: money(5_000_000n, "CNY") }, now, "wechat_pay", "outside_rule_restriction", ["large-web-orders-to-card-or-alipay"]],
    ["a large app order is not", { amount: money(5_000_000n, "CNY") }, now, "wechat_pay", undefined, []],
    ["a web order just below the bound is not", { channel: "web", amount: money(4_999_999n, "CNY") }, now, "wechat_pay", undefined, []],
    ["UnionPay is out in its night window", {}, night, "unionpay", "excluded_by_rule", ["unionpay-maintenance-night"]],
    ["UnionPay is out for a buyer outside China", { country: "HK" }, now, "unionpay", "excluded_by_rule", ["unionpay-maintenance-night"]],
    ["UnionPay is in at noon in China", {}, now, "unionpay", undefined, []],
  ])("%s", (_name, overrides, at, provider, code, matched) => {
    const d = decide({ order: order(overrides), now: at });
    expect(d.matchedRuleIds).toEqual(matched);
    if (code === undefined) {
      expect(order_(d)).toContain(provider);
    } else {
      expect(order_(d)).not.toContain(provider);
      expect(droppedCodes(d, provider)).toContain(code);
    }
  });

  it("explains a rail kept by a restriction", () => {
    const d = decide({ order: order({ channel: "web", amount: money(5_000_000n, "CNY") }) });
    expect(order_(d).sort()).toEqual(["alipay", "unionpay"]);
    expect(d.candidates.find((c) => c.provider === "unionpay")?.reasons[0]).toMatchObject({ code: "kept_by_rule" });
  });
});

describe("ranking", () => {
  const noRollout: RoutingPolicy = { ...policy, rollouts: [], providers: policy.providers.filter((p) => p.provider !== "ecny") };

  it("honours the buyer's preferred rail when it is eligible, and says so", () => {
    const d = decide({ policy: noRollout, order: order({ preferredProvider: "wechat_pay" }) });
    expect(d.candidates[0]).toMatchObject({ provider: "wechat_pay", tier: "preferred" });
    expect(d.candidates[0]?.reasons.at(-1)?.code).toBe("preferred_by_buyer");
  });

  it("does not honour a preference for a rail that is not eligible", () => {
    const d = decide({ policy: noRollout, order: order({ preferredProvider: "jd_pay", lineCategories: ["gift_card"] }) });
    expect(order_(d)).not.toContain("jd_pay");
    expect(d.candidates.every((c) => c.tier === "ranked")).toBe(true);
  });

  it("at equal success rates, the cheaper rail wins (JD 0.50 % < UnionPay 0.55 % < Alipay = WeChat 0.60 %)", () => {
    const equal = stateOf(95, 100);
    const d = decide({ policy: noRollout, health: book([["alipay", equal], ["wechat_pay", equal], ["unionpay", equal], ["jd_pay", equal]]) });
    expect(order_(d)).toEqual(["jd_pay", "unionpay", "alipay", "wechat_pay"]);
    // 100.00 − 0.50 = 99.50 × 104/110 (95 of 100 recent plus the 9-of-10 prior) → 94.07.
    expect(d.candidates[0]?.expectedValue).toMatchObject({ netMinor: 9_950n, expectedValueMinor: 9_407n });
    expect(d.candidates[0]?.reasons.at(-1)?.text).toMatch(/expected value 94\.07 CNY = 94\.55 % success \(95\/100 recent\) × \(100\.00 − fee 0\.50\)/);
  });

  it("a cheaper rail does not win by being cheap while failing", () => {
    const d = decide({ policy: noRollout, health: book([["alipay", stateOf(98, 100)], ["jd_pay", stateOf(80, 100)], ["unionpay", stateOf(80, 100)], ["wechat_pay", stateOf(80, 100)]]) });
    expect(d.candidates[0]?.provider).toBe("alipay");
  });

  it("cost never beats a markedly higher success rate (property: ≥ 5 pp better, fees ≤ 1 %)", () => {
    const twoRails: RoutingPolicy = { ...noRollout, health: { ...noRollout.health, priorSuccesses: 0, priorAttempts: 0 } };
    fc.assert(
      fc.property(
        fc.bigInt({ min: 100n, max: 10n ** 10n }),
        fc.bigInt({ min: 0n, max: 10_000n }),
        fc.bigInt({ min: 0n, max: 10_000n }),
        fc.integer({ min: 0, max: 950 }),
        fc.integer({ min: 50, max: 1_000 }),
        (amountMinor, feeBetterPpm, feeCheaperPpm, worseSuccesses, gap) => {
          const betterSuccesses = Math.min(1_000, worseSuccesses + gap);
          fc.pre(betterSuccesses - worseSuccesses >= 50);
          const p: RoutingPolicy = {
            ...twoRails,
            providers: [
              { provider: "alipay", enabled: true, fees: [{ currency: "CNY", schedule: { ratePpm: feeBetterPpm, fixedMinor: 0n, rounding: "half_up" } }] },
              { provider: "wechat_pay", enabled: true, fees: [{ currency: "CNY", schedule: { ratePpm: feeCheaperPpm, fixedMinor: 0n, rounding: "down" } }] },
            ],
          };
          const d = route({
            order: order({ amount: money(amountMinor, "CNY") }),
            policy: p,
            health: book([["alipay", stateOf(betterSuccesses, 1_000)], ["wechat_pay", stateOf(worseSuccesses, 1_000)]]),
            now,
            random: 0.5,
          });
          expect(d.candidates[0]?.provider).toBe("alipay");
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("trial roll-out", () => {
  const inTrial = Array.from({ length: 5_000 }, (_, i) => `buyer-${i}`).find((b) => rolloutBucket("ecny-2026", b) < 100)!;
  const outOfTrial = Array.from({ length: 5_000 }, (_, i) => `buyer-${i}`).find((b) => rolloutBucket("ecny-2026", b) >= 100)!;

  it("routes an admitted buyer to the trial rail first, with the admission as its reason", () => {
    const d = decide({ order: order({ buyerId: inTrial }) });
    expect(d.candidates[0]).toMatchObject({ provider: "ecny", tier: "trial" });
    expect(d.candidates[0]?.reasons.map((r) => r.code)).toEqual(["rollout_admitted_by_share", "trial_treatment"]);
  });

  it("keeps the control arm off the trial rail", () => {
    const d = decide({ order: order({ buyerId: outOfTrial }) });
    expect(order_(d)).not.toContain("ecny");
    expect(droppedCodes(d, "ecny")).toEqual(["rollout_buyer_not_admitted"]);
  });

  it("lets the buyer's preference go before the trial", () => {
    const d = decide({ order: order({ buyerId: inTrial, preferredProvider: "alipay" }) });
    expect(order_(d).slice(0, 2)).toEqual(["alipay", "ecny"]);
  });
});

describe("exploration", () => {
  const plain: RoutingPolicy = { ...policy, rollouts: [] };
  const healthy = book([["alipay", stateOf(99, 100)], ["wechat_pay", stateOf(90, 100)], ["unionpay", stateOf(90, 100)], ["jd_pay", stateOf(90, 100)], ["ecny", stateOf(90, 100)]]);

  it("is deterministic in the draw: below the share a non-leader goes first, above it the leader", () => {
    const leader = decide({ policy: plain, health: healthy, random: 0.05 });
    expect(leader.explored).toBe(false);
    expect(leader.candidates[0]?.provider).toBe("alipay");
    const explored = decide({ policy: plain, health: healthy, random: 0.01 });
    expect(explored.explored).toBe(true);
    expect(explored.candidates[0]?.provider).not.toBe("alipay");
    expect(explored.candidates[0]?.reasons.at(-1)?.code).toBe("explored");
    expect(decide({ policy: plain, health: healthy, random: 0.01 })).toEqual(explored);
  });

  it("spreads the explored decisions over every non-leader", () => {
    const firsts = new Set(Array.from({ length: 100 }, (_, i) => decide({ policy: plain, health: healthy, random: (i / 100) * 0.05 }).candidates[0]?.provider));
    expect([...firsts].sort()).toEqual(["ecny", "jd_pay", "unionpay", "wechat_pay"]);
  });

  it("does not override the buyer's preference", () => {
    const d = decide({ policy: plain, health: healthy, random: 0.001, order: order({ preferredProvider: "alipay" }) });
    expect(d.explored).toBe(false);
    expect(d.candidates[0]?.provider).toBe("alipay");
  });

  it("lets a recovered rail win its traffic back (simulation: breaker, probes, exploration)", () => {
    // Two rails of equal fees: Alipay fails outright for 100 s, then succeeds 99 %; WeChat 95 %.
    const p: RoutingPolicy = { ...plain };
    let random = 12345;
    const next = () => {
      random = (Math.imul(random, 1103515245) + 12345) >>> 0;
      return random / 4_294_967_296;
    };
    let health = new Map<string, HealthState>();
    const chosen: ProviderId[] = [];
    for (let i = 0; i < 4_000; i += 1) {
      const at = new Date(now.getTime() + i * 100);
      const d = route({ order: order({ merchantId: "m-small-2" }), policy: p, health, now: at, random: next() });
      const first = d.candidates[0]!.provider;
      chosen.push(first);
      const rate = first === "alipay" ? (i < 1_000 ? 0 : 0.99) : 0.95;
      const kind: AttemptKind = next() < rate ? "succeeded" : "provider_5xx";
      const key = healthKey(first, "app");
      health = new Map(health).set(key, recordAttempt(health.get(key) ?? stateOf(0, 0), { kind, latencyMs: 200 }, at, p.health, p.breaker));
    }
    const share = (from: number, to: number) => chosen.slice(from, to).filter((x) => x === "alipay").length / (to - from);
    expect(share(500, 1_000)).toBeLessThan(0.1); // broken: breaker open, only probes
    expect(share(3_000, 4_000)).toBeGreaterThan(0.85); // recovered: leads again
  });
});

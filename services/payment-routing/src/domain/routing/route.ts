import { PROVIDER_IDS, type ProviderId } from "@tributary/contracts";
import { formatDecimal } from "@tributary/money";
import { assertNever } from "@tributary/result";
import { buyerAccountNeeded } from "./buyer-account.js";
import { matches, minuteOfDay, type ConditionContext } from "./condition.js";
import { compareExpectedValue, expectedValueOf, type ExpectedValue } from "./expected-value.js";
import { percentText } from "./format.js";
import { freshHealth, healthKey, healthOf, type HealthBook, type ProviderHealth } from "./health.js";
import { admitToRollout } from "./rollout.js";
import type { RoutingOrder } from "./routing-order.js";
import type { RoutingPolicy, RoutingRule } from "./routing-policy.js";
import { reasonOf, type DropReason, type KeepReason } from "./routing-reason.js";

/** Everything one routing decision depends on; the clock and the random draw are parameters. */
export interface RouteInput {
  readonly order: RoutingOrder;
  /** A policy that passed {@link validatePolicy} (routing does not re-validate it). */
  readonly policy: RoutingPolicy;
  readonly health: HealthBook;
  readonly now: Date;
  /** A uniform draw in [0, 1) for exploration; the same draw gives the same decision. */
  readonly random: number;
}

/**
 * A rail that stays in, in the order to try: `rank` 0 first, then fail over down the list. Its
 * reasons say why it is eligible and why it is where it is.
 */
export interface RankedCandidate {
  readonly provider: ProviderId;
  readonly rank: number;
  readonly tier: CandidateTier;
  readonly health: ProviderHealth;
  readonly expectedValue: ExpectedValue;
  readonly reasons: readonly KeepReason[];
}

/** A rail that is out, with every reason it is out. */
export interface DroppedProvider {
  readonly provider: ProviderId;
  readonly reasons: readonly DropReason[];
}

/**
 * The ranking's coarse order, before expected value: the buyer's preferred rail, then a trial
 * roll-out's treatment rail, then every healthy rail, then half-open rails being probed.
 */
export type CandidateTier = "preferred" | "trial" | "ranked" | "probe";

const tierOrder: Readonly<Record<CandidateTier, number>> = { preferred: 0, trial: 1, ranked: 2, probe: 3 };

/** A routing decision, explained: what to try in order, what was dropped and why. */
export interface RoutingDecision {
  readonly policyVersion: number;
  readonly candidates: readonly RankedCandidate[];
  readonly dropped: readonly DroppedProvider[];
  /** The ids of the rules whose condition held, in policy order. */
  readonly matchedRuleIds: readonly string[];
  /** Whether this decision was one of the exploration share that puts a non-leader first. */
  readonly explored: boolean;
}

interface Draft {
  readonly provider: ProviderId;
  readonly tier: CandidateTier;
  readonly health: ProviderHealth;
  readonly expectedValue: ExpectedValue;
  readonly reasons: KeepReason[];
}

function placementReason(tier: CandidateTier, provider: ProviderId, valueText: () => string): KeepReason {
  switch (tier) {
    case "preferred":
      return reasonOf("preferred_by_buyer", () => `the buyer prefers ${provider}; ${valueText()}`);
    case "trial":
      return reasonOf("trial_treatment", () => `trial roll-out: admitted buyers try ${provider} first; ${valueText()}`);
    case "ranked":
      return reasonOf("ranked_by_expected_value", valueText);
    case "probe":
      return reasonOf("half_open_probe", () => `${provider}'s breaker is half-open: offered behind healthy rails as a probe; ${valueText()}`);
    default:
      return assertNever(tier, "candidate tier");
  }
}

function describeRule(rule: RoutingRule): string {
  return rule.description === "" ? rule.ruleId : `${rule.ruleId} (${rule.description})`;
}

/**
 * Decides which rails an order may take and in which order to try them. Pure and deterministic:
 * the same input gives the same decision.
 *
 * Eligibility (a rail must pass every gate; a dropped rail lists every gate it failed): known to
 * the policy and enabled; enabled by the merchant; takes the order's currency; not excluded by a
 * matching `exclude` rule and inside every matching `restrict` rule; admitted by its roll-out, if
 * it has one; the buyer's account at the provider known where the channel's product needs one
 * ({@link buyerAccountNeeded}); breaker not open.
 *
 * Ranking: by {@link CandidateTier}, then by expected value (success rate × (amount − fee)),
 * then by the canonical provider order for ties. A `random` below the health config's
 * `explorationShare` moves one of the non-leading rails (chosen by the same draw) to the front,
 * unless the leader is the buyer's preference or a trial's treatment.
 */
export function route(input: RouteInput): RoutingDecision {
  const { order, policy, now } = input;
  const context: ConditionContext = { order, minuteOfDay: minuteOfDay(now, policy.utcOffsetMinutes) };
  const matchedRules = policy.rules.filter((rule) => matches(rule.when, context));
  const merchant = policy.merchants.find((m) => m.merchantId === order.merchantId);
  const currency = order.amount.currency;

  const drafts: Draft[] = [];
  const dropped: DroppedProvider[] = [];
  for (const provider of PROVIDER_IDS) {
    const kept: KeepReason[] = [];
    const out: DropReason[] = [];
    const providerPolicy = policy.providers.find((p) => p.provider === provider);
    if (providerPolicy === undefined) {
      dropped.push({ provider, reasons: [reasonOf("provider_not_in_policy", () => `${provider} is not in policy v${policy.version}`)] });
      continue;
    }
    if (!providerPolicy.enabled) out.push(reasonOf("provider_disabled", () => `${provider} is switched off in policy v${policy.version}`));
    if (merchant === undefined) {
      out.push(reasonOf("merchant_not_configured", () => `merchant ${order.merchantId} has no rails configured`));
    } else if (!merchant.enabledProviders.includes(provider)) {
      out.push(reasonOf("not_enabled_for_merchant", () => `merchant ${order.merchantId} has not enabled ${provider}`));
    }
    const fee = providerPolicy.fees.find((f) => f.currency === currency);
    if (fee === undefined) out.push(reasonOf("currency_not_supported", () => `${provider} has no fee schedule for ${currency}`));
    for (const rule of matchedRules) {
      const listed = rule.effect.providers.includes(provider);
      if (rule.effect.type === "exclude" && listed) {
        out.push(reasonOf("excluded_by_rule", () => `rule ${describeRule(rule)} excludes ${provider}`));
      } else if (rule.effect.type === "restrict") {
        if (listed) kept.push(reasonOf("kept_by_rule", () => `rule ${describeRule(rule)} allows ${provider}`));
        else out.push(reasonOf("outside_rule_restriction", () => `rule ${describeRule(rule)} allows only ${rule.effect.providers.join(", ")}`));
      }
    }
    const rollout = policy.rollouts.find((r) => r.provider === provider);
    const admission = rollout === undefined ? undefined : admitToRollout(rollout, order, now);
    if (admission !== undefined) {
      kept.push(...admission.kept);
      out.push(...admission.dropped);
    }
    const accountNeeded = buyerAccountNeeded(provider, order.channel);
    if (accountNeeded !== undefined && order.buyerAccounts[provider] === undefined) {
      out.push(reasonOf("buyer_account_missing", () => `${provider} on ${order.channel} needs the buyer's ${accountNeeded}; the order carries none`));
    }
    const health = healthOf(input.health.get(healthKey(provider, order.channel)) ?? freshHealth, now, policy.health, policy.breaker);
    if (health.breaker === "open") {
      out.push(reasonOf("breaker_open", () => `${provider}'s circuit breaker on ${order.channel} is open`));
    }
    if (out.length > 0 || fee === undefined) {
      dropped.push({ provider, reasons: out });
      continue;
    }
    const expectedValue = expectedValueOf(order.amount, fee.schedule, health);
    const tier: CandidateTier =
      health.breaker === "half_open"
        ? "probe"
        : order.preferredProvider === provider
          ? "preferred"
          : rollout?.trial === true
            ? "trial"
            : "ranked";
    if (kept.length === 0) kept.push(reasonOf("eligible", () => `${provider} passes every gate`));
    drafts.push({ provider, tier, health, expectedValue, reasons: kept });
  }

  drafts.sort((a, b) => {
    const byTier = tierOrder[a.tier] - tierOrder[b.tier];
    if (byTier !== 0) return byTier;
    const byValue = compareExpectedValue(b.expectedValue, a.expectedValue);
    if (byValue !== 0) return byValue;
    return PROVIDER_IDS.indexOf(a.provider) - PROVIDER_IDS.indexOf(b.provider);
  });

  const leader = drafts[0];
  const share = policy.health.explorationShare;
  const explored =
    leader !== undefined && drafts.length > 1 && input.random < share && (leader.tier === "ranked" || leader.tier === "probe");
  if (explored) {
    // The draw below `share` is itself uniform on [0, share): scaled, it picks a non-leader evenly.
    const pick = 1 + Math.min(drafts.length - 2, Math.floor((input.random / share) * (drafts.length - 1)));
    const [chosen] = drafts.splice(pick, 1);
    if (chosen !== undefined) drafts.unshift(chosen);
  }

  const candidates = drafts.map((draft, rank): RankedCandidate => {
    const ev = draft.expectedValue;
    const reasons = draft.reasons;
    const valueText = (): string =>
      `expected value ${formatDecimal({ amountMinor: ev.expectedValueMinor, currency })} ${currency} = ` +
      `${percentText(draft.health.successRate)} success (${draft.health.successes}/${draft.health.attempts} recent) × ` +
      `(${formatDecimal(order.amount)} − fee ${formatDecimal(ev.fee)})`;
    reasons.push(placementReason(draft.tier, draft.provider, valueText));
    if (explored && rank === 0) {
      reasons.push(reasonOf("explored", () => `exploration draw ${percentText(input.random)} < share ${percentText(share)}: a non-leading rail goes first so its health stays known`));
    }
    return { provider: draft.provider, rank, tier: draft.tier, health: draft.health, expectedValue: ev, reasons };
  });

  return { policyVersion: policy.version, candidates, dropped, matchedRuleIds: matchedRules.map((r) => r.ruleId), explored };
}

import { isProviderId } from "@tributary/contracts";
import { isCurrencyCode, isRoundingMode, PPM_PER_UNIT } from "@tributary/money";
import { err, ok, type Result } from "@tributary/result";
import type { Condition } from "./condition.js";
import { isChannel } from "./routing-order.js";
import type { Rollout, RoutingPolicy } from "./routing-policy.js";

/** One bad field of a policy: its path (`rollouts[0].ramp[2].percent`) and what is wrong. */
export interface FieldViolation {
  readonly field: string;
  readonly description: string;
}

/**
 * A policy version that must not take effect; nothing changed. A gRPC adapter maps it to
 * INVALID_ARGUMENT with the violations as `BadRequest.field_violations`.
 */
export interface InvalidPolicyError {
  readonly code: "invalid_policy";
  readonly message: string;
  readonly fieldViolations: readonly FieldViolation[];
}

/** What a policy is checked against that the policy itself cannot know: the merchants that exist. */
export interface PolicyReferences {
  readonly merchantIds: ReadonlySet<string>;
}

const MINUTES_PER_DAY = 1_440;

function isNonNegativeInteger(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 0;
}

function isPositiveInteger(value: number): boolean {
  return Number.isSafeInteger(value) && value > 0;
}

function isRate(value: number, { allowZero }: { allowZero: boolean }): boolean {
  return Number.isFinite(value) && (allowZero ? value >= 0 : value > 0) && value <= 1;
}

class Violations {
  readonly list: FieldViolation[] = [];
  add(field: string, description: string): void {
    this.list.push({ field, description });
  }
  check(valid: boolean, field: string, description: string): void {
    if (!valid) this.add(field, description);
  }
}

function duplicates(values: readonly string[], path: (index: number) => string, what: string, v: Violations): void {
  const seen = new Map<string, number>();
  values.forEach((value, index) => {
    const first = seen.get(value);
    if (first === undefined) seen.set(value, index);
    else v.add(path(index), `${what} ${value} is already listed at ${path(first)}`);
  });
}

function checkCondition(condition: Condition, path: string, refs: PolicyReferences, v: Violations): void {
  switch (condition.type) {
    case "all":
    case "any":
      v.check(condition.conditions.length > 0, `${path}.conditions`, `an "${condition.type}" needs at least one condition`);
      condition.conditions.forEach((c, i) => checkCondition(c, `${path}.conditions[${i}]`, refs, v));
      return;
    case "not":
      checkCondition(condition.condition, `${path}.condition`, refs, v);
      return;
    case "merchant":
      v.check(condition.merchantIds.length > 0, `${path}.merchantIds`, "lists no merchant");
      condition.merchantIds.forEach((id, i) => v.check(refs.merchantIds.has(id), `${path}.merchantIds[${i}]`, `unknown merchant ${id}`));
      return;
    case "buyer":
      v.check(condition.buyerIds.length > 0, `${path}.buyerIds`, "lists no buyer");
      return;
    case "category":
      v.check(condition.categories.length > 0, `${path}.categories`, "lists no category");
      return;
    case "channel":
      v.check(condition.channels.length > 0, `${path}.channels`, "lists no channel");
      condition.channels.forEach((c, i) => v.check(isChannel(c), `${path}.channels[${i}]`, `unknown channel ${String(c)}`));
      return;
    case "amount": {
      v.check(isCurrencyCode(condition.currency), `${path}.currency`, `unknown currency ${String(condition.currency)}`);
      const { atLeastMinor, belowMinor } = condition;
      v.check(atLeastMinor !== undefined || belowMinor !== undefined, path, "an amount range needs atLeastMinor, belowMinor or both");
      if (atLeastMinor !== undefined) v.check(atLeastMinor >= 0n, `${path}.atLeastMinor`, "must not be negative");
      if (belowMinor !== undefined) v.check(belowMinor > 0n, `${path}.belowMinor`, "must be positive");
      if (atLeastMinor !== undefined && belowMinor !== undefined) {
        v.check(atLeastMinor < belowMinor, `${path}.belowMinor`, `must be above atLeastMinor (${atLeastMinor})`);
      }
      return;
    }
    case "currency":
      v.check(condition.currencies.length > 0, `${path}.currencies`, "lists no currency");
      condition.currencies.forEach((c, i) => v.check(isCurrencyCode(c), `${path}.currencies[${i}]`, `unknown currency ${String(c)}`));
      return;
    case "country":
      v.check(condition.countries.length > 0, `${path}.countries`, "lists no country");
      condition.countries.forEach((c, i) => v.check(/^[A-Z]{2}$/.test(c), `${path}.countries[${i}]`, `${c} is not an ISO 3166-1 alpha-2 code`));
      return;
    case "time_of_day": {
      v.check(condition.windows.length > 0, `${path}.windows`, "lists no window");
      condition.windows.forEach((w, i) => {
        const at = `${path}.windows[${i}]`;
        v.check(isNonNegativeInteger(w.fromMinute) && w.fromMinute < MINUTES_PER_DAY, `${at}.fromMinute`, "must be a whole minute in [0, 1440)");
        v.check(isPositiveInteger(w.untilMinute) && w.untilMinute <= MINUTES_PER_DAY, `${at}.untilMinute`, "must be a whole minute in (0, 1440]");
        v.check(w.fromMinute < w.untilMinute, `${at}.untilMinute`, "must be after fromMinute (split a window across midnight in two)");
        condition.windows.forEach((other, j) => {
          if (j < i && w.fromMinute < other.untilMinute && other.fromMinute < w.untilMinute) {
            v.add(at, `overlaps ${path}.windows[${j}]`);
          }
        });
      });
      return;
    }
    default: {
      const unknown: never = condition;
      v.add(`${path}.type`, `unknown condition type ${String((unknown as { type: unknown }).type)}`);
    }
  }
}

function checkRollout(rollout: Rollout, path: string, policy: RoutingPolicy, refs: PolicyReferences, v: Violations): void {
  v.check(rollout.rolloutId !== "", `${path}.rolloutId`, "must not be empty");
  v.check(rollout.salt !== "", `${path}.salt`, "must not be empty (it keeps the roll-out's buyers stable)");
  if (!isProviderId(rollout.provider)) {
    v.add(`${path}.provider`, `unknown provider ${String(rollout.provider)}`);
  } else {
    v.check(policy.providers.some((p) => p.provider === rollout.provider), `${path}.provider`, `${rollout.provider} is not in providers`);
  }
  v.check(rollout.ramp.length > 0, `${path}.ramp`, "needs at least one step");
  rollout.ramp.forEach((step, k) => {
    const at = `${path}.ramp[${k}]`;
    if (!Number.isFinite(step.percent) || step.percent < 0 || step.percent > 100) {
      v.add(`${at}.percent`, `must be between 0 and 100, got ${step.percent}`);
    } else if (Math.abs(step.percent * 100 - Math.round(step.percent * 100)) > 1e-9) {
      v.add(`${at}.percent`, `has a resolution of 0.01 %, got ${step.percent}`);
    }
    v.check(Number.isFinite(step.startsAt.getTime()), `${at}.startsAt`, "is not a valid time");
    const previous = rollout.ramp[k - 1];
    if (previous === undefined) return;
    v.check(step.startsAt.getTime() > previous.startsAt.getTime(), `${at}.startsAt`, `must be after ${path}.ramp[${k - 1}].startsAt`);
    v.check(step.percent >= previous.percent, `${at}.percent`, `the ramp goes backwards: ${step.percent} % after ${previous.percent} %`);
    v.check(!(previous.merchants === "all" && step.merchants === "allowlist"), `${at}.merchants`, "the ramp goes backwards: allowlist after all merchants");
  });
  rollout.merchantAllowlist.forEach((id, i) => v.check(refs.merchantIds.has(id), `${path}.merchantAllowlist[${i}]`, `unknown merchant ${id}`));
  rollout.includedCategories.forEach((c, i) =>
    v.check(!rollout.excludedCategories.includes(c), `${path}.includedCategories[${i}]`, `${c} is also excluded`),
  );
  const g = rollout.guardrail;
  v.check(Number.isFinite(g.thresholdPp) && g.thresholdPp >= 0 && g.thresholdPp <= 100, `${path}.guardrail.thresholdPp`, "must be between 0 and 100 percentage points");
  v.check(isPositiveInteger(g.minSamplesPerArm), `${path}.guardrail.minSamplesPerArm`, "must be a positive integer");
  v.check(Number.isFinite(g.alpha) && g.alpha > 0 && g.alpha <= 0.5, `${path}.guardrail.alpha`, "must be in (0, 0.5]");
  if (rollout.pause !== undefined) {
    const held = rollout.pause.heldStepIndex;
    v.check(Number.isSafeInteger(held) && held >= -1 && held < rollout.ramp.length, `${path}.pause.heldStepIndex`, "names no step of the ramp");
  }
}

/**
 * Checks a policy version before it may take effect, collecting every violation with its field
 * path rather than stopping at the first, so an operator fixes everything in one go. Covers what
 * the type system cannot: unknown providers (config arrives as JSON), unknown merchants, roll-outs
 * over 100 % or finer than 0.01 %, ramps going backwards, overlapping time windows, duplicate ids,
 * empty conditions and nonsensical health, breaker or guardrail settings.
 */
export function validatePolicy(policy: RoutingPolicy, refs: PolicyReferences): Result<RoutingPolicy, InvalidPolicyError> {
  const v = new Violations();
  v.check(isPositiveInteger(policy.version), "version", "must be a positive integer");
  v.check(Number.isSafeInteger(policy.utcOffsetMinutes) && Math.abs(policy.utcOffsetMinutes) <= 14 * 60, "utcOffsetMinutes", "must be whole minutes within ±14 h");

  policy.providers.forEach((p, i) => {
    const path = `providers[${i}]`;
    v.check(isProviderId(p.provider), `${path}.provider`, `unknown provider ${String(p.provider)}`);
    p.fees.forEach((fee, j) => {
      const at = `${path}.fees[${j}]`;
      v.check(isCurrencyCode(fee.currency), `${at}.currency`, `unknown currency ${String(fee.currency)}`);
      v.check(fee.schedule.ratePpm >= 0n && fee.schedule.ratePpm <= PPM_PER_UNIT, `${at}.schedule.ratePpm`, "must be between 0 and 1000000");
      v.check(fee.schedule.fixedMinor >= 0n, `${at}.schedule.fixedMinor`, "must not be negative");
      v.check(isRoundingMode(fee.schedule.rounding), `${at}.schedule.rounding`, `unknown rounding ${String(fee.schedule.rounding)}`);
    });
    duplicates(p.fees.map((f) => f.currency), (j) => `${path}.fees[${j}].currency`, "currency", v);
  });
  duplicates(policy.providers.map((p) => p.provider), (i) => `providers[${i}].provider`, "provider", v);
  const inPolicy = new Set<string>(policy.providers.map((p) => p.provider));
  const checkProviderRef = (provider: string, field: string): void => {
    if (!isProviderId(provider)) v.add(field, `unknown provider ${provider}`);
    else v.check(inPolicy.has(provider), field, `${provider} is not in providers`);
  };

  policy.merchants.forEach((m, i) => {
    v.check(refs.merchantIds.has(m.merchantId), `merchants[${i}].merchantId`, `unknown merchant ${m.merchantId}`);
    m.enabledProviders.forEach((p, j) => checkProviderRef(p, `merchants[${i}].enabledProviders[${j}]`));
  });
  duplicates(policy.merchants.map((m) => m.merchantId), (i) => `merchants[${i}].merchantId`, "merchant", v);

  policy.rules.forEach((rule, i) => {
    v.check(rule.ruleId !== "", `rules[${i}].ruleId`, "must not be empty");
    checkCondition(rule.when, `rules[${i}].when`, refs, v);
    v.check(rule.effect.providers.length > 0, `rules[${i}].effect.providers`, "lists no provider");
    rule.effect.providers.forEach((p, j) => checkProviderRef(p, `rules[${i}].effect.providers[${j}]`));
  });
  duplicates(policy.rules.map((r) => r.ruleId), (i) => `rules[${i}].ruleId`, "rule", v);

  policy.rollouts.forEach((rollout, i) => checkRollout(rollout, `rollouts[${i}]`, policy, refs, v));
  duplicates(policy.rollouts.map((r) => r.rolloutId), (i) => `rollouts[${i}].rolloutId`, "roll-out", v);
  duplicates(policy.rollouts.map((r) => r.provider), (i) => `rollouts[${i}].provider`, "a roll-out of provider", v);

  const h = policy.health;
  v.check(isPositiveInteger(h.windowSize), "health.windowSize", "must be a positive integer");
  v.check(isNonNegativeInteger(h.priorAttempts), "health.priorAttempts", "must be a non-negative integer");
  v.check(isNonNegativeInteger(h.priorSuccesses) && h.priorSuccesses <= h.priorAttempts, "health.priorSuccesses", "must be a non-negative integer at most priorAttempts");
  v.check(Number.isFinite(h.explorationShare) && h.explorationShare >= 0 && h.explorationShare <= 0.5, "health.explorationShare", "must be between 0 and 0.5");
  const b = policy.breaker;
  v.check(isPositiveInteger(b.minAttempts), "breaker.minAttempts", "must be a positive integer");
  v.check(isRate(b.failureRateMax, { allowZero: false }), "breaker.failureRateMax", "must be in (0, 1]");
  v.check(isRate(b.slowRateMax, { allowZero: false }), "breaker.slowRateMax", "must be in (0, 1]");
  v.check(Number.isFinite(b.latencyMsMax) && b.latencyMsMax > 0, "breaker.latencyMsMax", "must be positive");
  v.check(Number.isFinite(b.openMs) && b.openMs > 0, "breaker.openMs", "must be positive");
  v.check(isPositiveInteger(b.probeSuccessesToClose), "breaker.probeSuccessesToClose", "must be a positive integer");

  if (v.list.length === 0) return ok(policy);
  const first = v.list[0];
  const more = v.list.length > 1 ? ` (and ${v.list.length - 1} more)` : "";
  return err({
    code: "invalid_policy",
    message: `invalid routing policy: ${first?.field ?? ""} ${first?.description ?? ""}${more}`,
    fieldViolations: v.list,
  });
}

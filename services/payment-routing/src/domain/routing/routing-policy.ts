import type { ProviderId } from "@tributary/contracts";
import type { CurrencyCode, FeeSchedule } from "@tributary/money";
import type { Condition } from "./condition.js";
import type { BreakerConfig, HealthConfig } from "./health.js";
import type { GuardrailConfig } from "./guardrail.js";

/**
 * One rail as the policy knows it: whether it is switched on at all, and its fee per currency it
 * accepts (a currency without a schedule is a currency the rail does not take). Fees are contract
 * data and round the way the provider rounds (`FeeSchedule.rounding`).
 */
export interface ProviderPolicy {
  readonly provider: ProviderId;
  readonly enabled: boolean;
  readonly fees: readonly { readonly currency: CurrencyCode; readonly schedule: FeeSchedule }[];
}

/** The rails a merchant has signed for; a rail not listed is never offered for its orders. */
export interface MerchantPolicy {
  readonly merchantId: string;
  readonly enabledProviders: readonly ProviderId[];
}

/**
 * What a matching rule does to the candidate rails:
 * - `exclude`: drop these rails (e.g. no credit-like rail for gift cards);
 * - `restrict`: keep only these rails (e.g. only e-CNY for a government merchant).
 */
export type RuleEffect =
  | { readonly type: "exclude"; readonly providers: readonly ProviderId[] }
  | { readonly type: "restrict"; readonly providers: readonly ProviderId[] };

/** A named rule: when `when` holds for the order, `effect` applies. Rules apply in list order. */
export interface RoutingRule {
  readonly ruleId: string;
  readonly description: string;
  readonly when: Condition;
  readonly effect: RuleEffect;
}

/**
 * One step of a ramp: from `startsAt` on, `percent` of buyers (0.01 % resolution, by stable hash)
 * are admitted. `merchants: "allowlist"` keeps the rail to the roll-out's pilot merchants;
 * `"all"` opens it to every merchant that has the rail enabled. Steps only go forward: later
 * start, same or higher percent, and once `"all"` never back to `"allowlist"`.
 */
export interface RampStep {
  readonly startsAt: Date;
  readonly percent: number;
  readonly merchants: "allowlist" | "all";
}

/** Why and since when a roll-out's ramp is held; cleared only by an operator's resume. */
export interface RolloutPause {
  readonly pausedAt: Date;
  /** The ramp step that was active when the pause happened; the ramp holds there. */
  readonly heldStepIndex: number;
  readonly reason: string;
  readonly by: "guardrail" | "operator";
}

/**
 * A staged roll-out of one rail. A buyer is admitted when the rail's gates all pass:
 * - the buyer is on `buyerAllowlist` (staff, testers: admitted at any step, even before the
 *   first), or the buyer's {@link rolloutBucket} is below the active step's share;
 * - the merchant is on `merchantAllowlist` while the active step says `"allowlist"`;
 * - no line is in `excludedCategories`, and when `includedCategories` is not empty every line is
 *   in it.
 *
 * `trial`: the roll-out is an experiment. Admitted buyers are routed to the rail first (the
 * treatment arm) instead of letting it compete on health and cost, so the guardrail compares real
 * traffic; the rest never see it (the control arm). Without `trial`, admitted buyers only gain the
 * rail as one more candidate.
 *
 * `guardrail`: compared at each step against the control; a significant regression pauses the
 * ramp ({@link RolloutPause}) until an operator resumes it.
 */
export interface Rollout {
  readonly rolloutId: string;
  readonly provider: ProviderId;
  /** Mixed into the hash so each roll-out draws its own buyers; never change it mid-ramp. */
  readonly salt: string;
  readonly ramp: readonly RampStep[];
  readonly buyerAllowlist: readonly string[];
  readonly merchantAllowlist: readonly string[];
  readonly includedCategories: readonly string[];
  readonly excludedCategories: readonly string[];
  readonly trial: boolean;
  readonly guardrail: GuardrailConfig;
  readonly pause: RolloutPause | undefined;
}

/**
 * The whole routing policy, one immutable version of it. Changes go through
 * {@link decidePolicyChange}, which validates the next version and audits the change.
 */
export interface RoutingPolicy {
  /** Starts at 1; every change (including an automatic pause) adds one. */
  readonly version: number;
  /** The fixed UTC offset of `time_of_day` conditions (China: 480). */
  readonly utcOffsetMinutes: number;
  readonly providers: readonly ProviderPolicy[];
  readonly merchants: readonly MerchantPolicy[];
  readonly rules: readonly RoutingRule[];
  readonly rollouts: readonly Rollout[];
  readonly health: HealthConfig;
  readonly breaker: BreakerConfig;
}

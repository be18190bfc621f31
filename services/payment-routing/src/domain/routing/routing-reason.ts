/**
 * Why a rail was dropped, kept or put where it is in a routing decision. Codes are for machines
 * (dashboards, tests, the decision log); `text` is for the person reading the log.
 */
export type DropReasonCode =
  | "provider_not_in_policy"
  | "provider_disabled"
  | "merchant_not_configured"
  | "not_enabled_for_merchant"
  | "currency_not_supported"
  | "excluded_by_rule"
  | "outside_rule_restriction"
  | "rollout_not_started"
  | "rollout_buyer_not_admitted"
  | "rollout_merchant_not_in_pilot"
  | "rollout_category_excluded"
  | "rollout_category_not_included"
  | "breaker_open"
  | "buyer_account_missing";

/** Why a rail stayed in, and what placed it where it is. */
export type KeepReasonCode =
  | "eligible"
  | "kept_by_rule"
  | "rollout_admitted_by_share"
  | "rollout_admitted_by_allowlist"
  | "preferred_by_buyer"
  | "trial_treatment"
  | "ranked_by_expected_value"
  | "half_open_probe"
  | "explored";

/** One reason, a code and a sentence. */
export interface Reason<C extends string = DropReasonCode | KeepReasonCode> {
  readonly code: C;
  readonly text: string;
}

/** The reason type of a dropped rail. */
export type DropReason = Reason<DropReasonCode>;

/** The reason type of a kept rail. */
export type KeepReason = Reason<KeepReasonCode>;

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

/**
 * A reason whose sentence is written the first time `text` is read, then kept. Routing runs for
 * every accepted order and the payment path reads only the codes; `PreviewRoute`, the CLI and
 * tests read the sentences, and get the same ones an eager reason would hold. `toJSON` writes
 * both fields, so a logged or serialized reason reads as `{ code, text }`.
 */
class ReasonWrittenOnRead<C extends string> implements Reason<C> {
  readonly code: C;
  #write: (() => string) | undefined;
  #text = "";

  constructor(code: C, write: () => string) {
    this.code = code;
    this.#write = write;
  }

  get text(): string {
    if (this.#write !== undefined) {
      this.#text = this.#write();
      this.#write = undefined;
    }
    return this.#text;
  }

  toJSON(): { readonly code: C; readonly text: string } {
    return { code: this.code, text: this.text };
  }
}

/** A {@link Reason} with `code` now and the sentence `write` gives when it is first read. */
export function reasonOf<C extends string>(code: C, write: () => string): Reason<C> {
  return new ReasonWrittenOnRead(code, write);
}

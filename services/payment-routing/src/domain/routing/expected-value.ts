import { feeFor, type FeeSchedule, type Money } from "@tributary/money";

/**
 * A rail's expected value for one payment: success rate × (amount − fee), the rule Juspay's
 * decision engine and Hyperswitch use so that a cheaper rail wins only when it is cheaper *and*
 * succeeds nearly as often — never by being cheap while failing. The rate is the health fraction
 * `rateSuccesses / rateAttempts`; the value is kept as the exact fraction
 * `numerator / denominator` minor units, so comparisons stay in integers and no amount passes
 * through a float.
 */
export interface ExpectedValue {
  readonly fee: Money;
  readonly netMinor: bigint;
  readonly numerator: bigint;
  readonly denominator: bigint;
  /** The value rounded toward zero, for explanations. */
  readonly expectedValueMinor: bigint;
}

/** The expected value of paying `amount` through a rail with this fee and success fraction. */
export function expectedValueOf(
  amount: Money,
  schedule: FeeSchedule,
  rate: { readonly rateSuccesses: number; readonly rateAttempts: number },
): ExpectedValue {
  const fee = feeFor(amount, schedule);
  const netMinor = amount.amountMinor - fee.amountMinor;
  // No samples and no prior: nothing is known, so the rate is 0 (a check with no data fails).
  const numerator = rate.rateAttempts === 0 ? 0n : BigInt(rate.rateSuccesses) * netMinor;
  const denominator = rate.rateAttempts === 0 ? 1n : BigInt(rate.rateAttempts);
  return { fee, netMinor, numerator, denominator, expectedValueMinor: numerator / denominator };
}

/** Orders two expected values exactly (denominators are positive): -1, 0 or 1 as `a` is less, equal or more. */
export function compareExpectedValue(a: ExpectedValue, b: ExpectedValue): -1 | 0 | 1 {
  const left = a.numerator * b.denominator;
  const right = b.numerator * a.denominator;
  return left < right ? -1 : left > right ? 1 : 0;
}

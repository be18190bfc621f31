import { err, ok, type Result } from "@tributary/result";
import type { RateError } from "./errors.js";
import { CurrencyMismatchError } from "./errors.js";
import { formatDecimalScaled, parseDecimalScaled } from "./decimal.js";
import { money, zero, type Money } from "./money.js";
import { divideRounded, type RoundingMode } from "./rounding.js";

/** One million: a rate in parts per million is `ratePpm / PPM_PER_UNIT` of the amount. */
export const PPM_PER_UNIT = 1_000_000n;

/**
 * A provider's fee for one transaction: a percentage (in parts per million, so 0.6% is 6000n and
 * 0.38% is 3800n, exact without floats) plus a fixed part in minor units, and the way the provider
 * rounds the percentage part. Rates are contract data per provider, channel and merchant, so they
 * come from config, never from code.
 */
export interface FeeSchedule {
  readonly ratePpm: bigint;
  readonly fixedMinor: bigint;
  readonly rounding: RoundingMode;
}

/**
 * The fee a provider charges on one payment: `round(amount × ratePpm / 1_000_000) + fixedMinor`,
 * rounded per transaction as the wallets do (1299.02 CNY at 0.6% half_up → 7.79; 0.01 CNY → 0.00).
 * The amount, rate and fixed part must not be negative (refunds use {@link refundFee}); violating
 * that, or an int64 overflow, throws.
 */
export function feeFor(amount: Money, schedule: FeeSchedule): Money {
  if (amount.amountMinor < 0n) {
    throw new RangeError(`feeFor: amount must not be negative, got ${amount.amountMinor}`);
  }
  if (schedule.ratePpm < 0n || schedule.fixedMinor < 0n) {
    throw new RangeError("feeFor: ratePpm and fixedMinor must not be negative");
  }
  const percentagePart = divideRounded(amount.amountMinor * schedule.ratePpm, PPM_PER_UNIT, schedule.rounding);
  return money(percentagePart + schedule.fixedMinor, amount.currency);
}

/**
 * The part of an original fee given back with a (partial) refund, as a non-negative amount (bill
 * rows show it negated).
 *
 * Rule — cumulative proportional rounding: with A the original amount, F the original fee and R the
 * total refunded so far *including* this refund, the fee returned so far is `round(F × R / A)`;
 * this refund returns that minus what earlier refunds returned, `round(F × (P + r) / A) −
 * round(F × P / A)` with P = `alreadyRefunded`. The per-refund amounts telescope, so for any split
 * and any rounding mode: a full refund (at once or in parts) returns exactly F, and the refunded
 * fees never exceed F. The guarantee needs `alreadyRefunded` to be the amount refunded before this
 * refund; it defaults to zero (the first refund).
 *
 * Refunds that are negative, or that together exceed the original amount, are bugs upstream and
 * throw, as do mixed currencies.
 */
export function refundFee(
  originalAmount: Money,
  originalFee: Money,
  refundAmount: Money,
  rounding: RoundingMode,
  alreadyRefunded: Money = zero(originalAmount.currency),
): Money {
  for (const other of [originalFee, refundAmount, alreadyRefunded]) {
    if (other.currency !== originalAmount.currency) {
      throw new CurrencyMismatchError(originalAmount.currency, other.currency);
    }
  }
  const total = originalAmount.amountMinor;
  const before = alreadyRefunded.amountMinor;
  const after = before + refundAmount.amountMinor;
  if (total < 0n || originalFee.amountMinor < 0n || refundAmount.amountMinor < 0n || before < 0n) {
    throw new RangeError("refundFee: amounts and fee must not be negative");
  }
  if (after > total) {
    throw new RangeError(`refundFee: refunds (${after}) exceed the original amount (${total})`);
  }
  if (total === 0n) {
    return zero(originalAmount.currency);
  }
  const fee = originalFee.amountMinor;
  const returnedAfter = divideRounded(fee * after, total, rounding);
  const returnedBefore = divideRounded(fee * before, total, rounding);
  return money(returnedAfter - returnedBefore, originalAmount.currency);
}

/**
 * Parses a fee rate from contract or bill text into parts per million: a percentage "0.60%" →
 * 6000n, or a bare fraction "0.0038" → 3800n. Precision finer than one ppm, negative rates and
 * rates above 100% are errors, never rounded.
 */
export function parseRatePpm(text: string): Result<bigint, RateError> {
  const isPercent = text.endsWith("%");
  // A percentage has 4 decimal places of ppm (1% = 10_000 ppm); a fraction has 6 (1 = 1_000_000).
  const parsed = isPercent ? parseDecimalScaled(text.slice(0, -1), 4) : parseDecimalScaled(text, 6);
  if (!parsed.ok) {
    return err({ ...parsed.error, text });
  }
  if (parsed.value < 0n) {
    return err({ code: "invalid_rate", text, reason: "negative rate" });
  }
  if (parsed.value > PPM_PER_UNIT) {
    return err({ code: "invalid_rate", text, reason: "rate above 100%" });
  }
  return ok(parsed.value);
}

/**
 * Writes a rate in parts per million as a percentage for reports and bills: 6000n → "0.60%",
 * 3800n → "0.38%", 1n → "0.0001%". At least two fraction digits, more only when needed, so the
 * text parses back to the same ppm.
 */
export function formatRatePercent(ratePpm: bigint): string {
  const [integerPart = "", fractionPart = ""] = formatDecimalScaled(ratePpm, 4).split(".");
  let fraction = fractionPart;
  while (fraction.length > 2 && fraction.endsWith("0")) {
    fraction = fraction.slice(0, -1);
  }
  return `${integerPart}.${fraction}%`;
}

import { err, ok, type Result } from "@tributary/result";
import { isCurrencyCode, type CurrencyCode } from "./currency.js";
import { CurrencyMismatchError, type CurrencyMismatchErrorValue } from "./errors.js";
import { assertInt64 } from "./int64.js";

/**
 * An amount of money: an integer count of the currency's minor unit (fen for CNY, yen for JPY)
 * and its ISO 4217 code. It mirrors the `int64 amount_minor` + `string currency` pair of our
 * protobuf contracts, so it crosses every boundary without conversion and never holds a float.
 */
export interface Money {
  readonly amountMinor: bigint;
  readonly currency: CurrencyCode;
}

/**
 * Builds a {@link Money}, checking the invariants a plain object literal cannot: the amount fits
 * int64 and the currency is in our table (the literal type can be bypassed by a cast or by JSON).
 * Throws on violation, because a caller passing those has a bug.
 */
export function money(amountMinor: bigint, currency: CurrencyCode): Money {
  if (!isCurrencyCode(currency)) {
    throw new RangeError(`unknown currency: ${String(currency)}`);
  }
  return { amountMinor: assertInt64(amountMinor, "money"), currency };
}

/** The zero amount of a currency: the start of every sum and the fee when there is none. */
export function zero(currency: CurrencyCode): Money {
  return money(0n, currency);
}

function requireSameCurrency(a: Money, b: Money): void {
  if (a.currency !== b.currency) {
    throw new CurrencyMismatchError(a.currency, b.currency);
  }
}

function mismatch(a: Money, b: Money): CurrencyMismatchErrorValue | undefined {
  return a.currency === b.currency ? undefined : { code: "currency_mismatch", expected: a.currency, actual: b.currency };
}

/** Adds two amounts of one currency; throws `CurrencyMismatchError` or `Int64OverflowError`. */
export function add(a: Money, b: Money): Money {
  requireSameCurrency(a, b);
  return { amountMinor: assertInt64(a.amountMinor + b.amountMinor, "add"), currency: a.currency };
}

/** Subtracts `b` from `a` in one currency; throws `CurrencyMismatchError` or `Int64OverflowError`. */
export function subtract(a: Money, b: Money): Money {
  requireSameCurrency(a, b);
  return { amountMinor: assertInt64(a.amountMinor - b.amountMinor, "subtract"), currency: a.currency };
}

/** Flips the sign, e.g. to turn a refunded fee into the negative bill cell; throws on -2^63. */
export function negate(a: Money): Money {
  return { amountMinor: assertInt64(-a.amountMinor, "negate"), currency: a.currency };
}

/** Orders two amounts of one currency as -1, 0 or 1 (usable with `Array.prototype.sort`). */
export function compare(a: Money, b: Money): -1 | 0 | 1 {
  requireSameCurrency(a, b);
  return a.amountMinor < b.amountMinor ? -1 : a.amountMinor > b.amountMinor ? 1 : 0;
}

/** Tells whether two amounts are the same currency and the same number of minor units. */
export function equals(a: Money, b: Money): boolean {
  return a.currency === b.currency && a.amountMinor === b.amountMinor;
}

/** Tells whether an amount is zero, e.g. a fee rounded away on a one-fen payment. */
export function isZero(a: Money): boolean {
  return a.amountMinor === 0n;
}

/** Tells whether an amount is below zero, e.g. a refund row or a negative net settlement. */
export function isNegative(a: Money): boolean {
  return a.amountMinor < 0n;
}

/** Tells whether an amount is above zero. */
export function isPositive(a: Money): boolean {
  return a.amountMinor > 0n;
}

/**
 * Sums a list of amounts that must all be in `currency`. The currency is a parameter so that the
 * sum of an empty list is still a typed zero. Throws `CurrencyMismatchError` on a foreign amount
 * and `Int64OverflowError` if any running total leaves int64.
 */
export function sum(list: readonly Money[], currency: CurrencyCode): Money {
  let total = zero(currency);
  for (const item of list) {
    total = add(total, item);
  }
  return total;
}

/** {@link add} for input that may legitimately mix currencies: the mismatch is a value. */
export function addChecked(a: Money, b: Money): Result<Money, CurrencyMismatchErrorValue> {
  const error = mismatch(a, b);
  return error === undefined ? ok(add(a, b)) : err(error);
}

/** {@link subtract} for input that may legitimately mix currencies: the mismatch is a value. */
export function subtractChecked(a: Money, b: Money): Result<Money, CurrencyMismatchErrorValue> {
  const error = mismatch(a, b);
  return error === undefined ? ok(subtract(a, b)) : err(error);
}

/** {@link compare} for input that may legitimately mix currencies: the mismatch is a value. */
export function compareChecked(a: Money, b: Money): Result<-1 | 0 | 1, CurrencyMismatchErrorValue> {
  const error = mismatch(a, b);
  return error === undefined ? ok(compare(a, b)) : err(error);
}

/**
 * {@link sum} for lists read from outside (a bill, a batch) that may contain a foreign currency:
 * the first mismatch is returned as a value. Overflow still throws.
 */
export function sumChecked(list: readonly Money[], currency: CurrencyCode): Result<Money, CurrencyMismatchErrorValue> {
  const expected = zero(currency);
  for (const item of list) {
    const error = mismatch(expected, item);
    if (error !== undefined) {
      return err(error);
    }
  }
  return ok(sum(list, currency));
}

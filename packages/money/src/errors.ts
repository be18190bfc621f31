import type { CurrencyCode } from "./currency.js";

/**
 * The text was not a plain decimal number. Bills and callbacks must carry amounts as
 * `[+-]digits[.digits]`; anything looser (exponents, grouping commas, spaces, "NaN") is refused
 * rather than guessed at, because a guessed amount is a wrong amount.
 */
export interface InvalidDecimalError {
  readonly code: "invalid_decimal";
  readonly text: string;
  readonly reason: string;
}

/**
 * The text has more fraction digits than the target scale can hold and the excess digits are not
 * all zero, and the caller did not say how to round. Returned instead of silently rounding so a
 * bill column with an unexpected precision is noticed.
 */
export interface TooManyFractionDigitsError {
  readonly code: "too_many_fraction_digits";
  readonly text: string;
  readonly fractionDigits: number;
  readonly scale: number;
}

/** The parsed value does not fit a signed 64-bit integer, the width of `int64` in our contracts. */
export interface OutOfInt64RangeError {
  readonly code: "out_of_int64_range";
  readonly text: string;
}

/** Two amounts in different currencies met in an operation that needs one currency. */
export interface CurrencyMismatchErrorValue {
  readonly code: "currency_mismatch";
  readonly expected: CurrencyCode;
  readonly actual: CurrencyCode;
}

/** A currency code outside our ISO 4217 table. */
export interface UnknownCurrencyError {
  readonly code: "unknown_currency";
  readonly text: string;
}

/** A fee rate that parsed as a number but is not a usable rate (negative, or above 100%). */
export interface InvalidRateError {
  readonly code: "invalid_rate";
  readonly text: string;
  readonly reason: string;
}

/** Everything that can go wrong when turning decimal text into an exact integer. */
export type DecimalError = InvalidDecimalError | TooManyFractionDigitsError | OutOfInt64RangeError;

/** Everything that can go wrong when parsing a fee rate. */
export type RateError = DecimalError | InvalidRateError;

/**
 * The operating errors of this package as one union keyed by `code`, so an adapter can map them
 * in one exhaustive switch. Each function returns the narrowest member set it can produce.
 */
export type MoneyError = DecimalError | CurrencyMismatchErrorValue | UnknownCurrencyError | InvalidRateError;

/**
 * Thrown when the unchecked arithmetic (`add`, `sum`, `compare`, …) meets two currencies. Mixing
 * currencies there is a bug in the caller, not an operating error; use the `…Checked` variants
 * where mixed input is expected.
 */
export class CurrencyMismatchError extends Error {
  override readonly name = "CurrencyMismatchError";
  readonly expected: CurrencyCode;
  readonly actual: CurrencyCode;

  constructor(expected: CurrencyCode, actual: CurrencyCode) {
    super(`currency mismatch: expected ${expected}, got ${actual}`);
    this.expected = expected;
    this.actual = actual;
  }
}

/**
 * Thrown when arithmetic leaves the signed 64-bit range. No real amount comes near it, so reaching
 * it means corrupted input or a bug, and continuing would write a value no `int64` column holds.
 */
export class Int64OverflowError extends RangeError {
  override readonly name = "Int64OverflowError";
  readonly value: bigint;

  constructor(value: bigint, operation: string) {
    super(`${operation} left the int64 range: ${value.toString()}`);
    this.value = value;
  }
}

import { err, ok, type Result } from "@tributary/result";
import { minorUnitDigits, type CurrencyCode } from "./currency.js";
import type { DecimalError } from "./errors.js";
import { isInt64 } from "./int64.js";
import type { Money } from "./money.js";
import { divideRounded, type RoundingMode } from "./rounding.js";

/**
 * Options for parsing decimal text. Without `rounding`, surplus fraction digits that are not all
 * zero are an error; with it, the value is rounded to the target scale in that mode.
 */
export interface ParseDecimalOptions {
  readonly rounding?: RoundingMode;
}

/**
 * The one accepted shape: optional sign, at least one integer digit, and optionally a dot followed
 * by at least one digit. Leading zeros are allowed ("007.50") because fixed-width bill fields pad
 * with them; they cannot be misread.
 */
const DECIMAL_PATTERN = /^([+-]?)([0-9]+)(?:\.([0-9]+))?$/;

/**
 * No real amount, padded field or rate needs more characters than this; the cap keeps a hostile
 * cell of a million digits from costing a million-digit BigInt.
 */
const MAX_DECIMAL_TEXT_LENGTH = 256;

function describeInvalid(text: string): string {
  if (text === "") return "empty";
  if (text.trim() !== text) return "leading or trailing whitespace";
  if (/[eE]/.test(text)) return "exponent notation";
  if (text.includes(",")) return "grouping separator";
  if (text.endsWith(".")) return "no digits after the decimal point";
  if (/^[+-]?\./.test(text)) return "no digits before the decimal point";
  return "not a plain decimal number";
}

/**
 * Parses decimal text into an exact integer count of `10^-scale` units: `("0.60", 4)` → 6000n,
 * `("7.79000", 5)` → 779000n. It exists for values that are not Money in a currency's minor unit:
 * WeChat's five-decimal fee column, rates, FX quotes. The result always fits int64.
 */
export function parseDecimalScaled(
  text: string,
  scale: number,
  options: ParseDecimalOptions = {},
): Result<bigint, DecimalError> {
  if (!Number.isSafeInteger(scale) || scale < 0) {
    throw new RangeError(`parseDecimalScaled: scale must be a non-negative integer, got ${scale}`);
  }
  if (text.length > MAX_DECIMAL_TEXT_LENGTH) {
    return err({ code: "invalid_decimal", text, reason: `longer than ${MAX_DECIMAL_TEXT_LENGTH} characters` });
  }
  const fast = plainScaled(text, scale);
  if (fast !== undefined) return ok(fast);
  const match = DECIMAL_PATTERN.exec(text);
  if (match === null) {
    return err({ code: "invalid_decimal", text, reason: describeInvalid(text) });
  }
  const negative = match[1] === "-";
  const integerDigits = match[2] ?? "";
  const fractionDigits = match[3] ?? "";

  let magnitude: bigint;
  if (fractionDigits.length <= scale) {
    magnitude = BigInt(integerDigits + fractionDigits.padEnd(scale, "0"));
  } else {
    const kept = fractionDigits.slice(0, scale);
    const surplus = fractionDigits.slice(scale);
    if (/^0+$/.test(surplus)) {
      magnitude = BigInt(integerDigits + kept);
    } else if (options.rounding === undefined) {
      return err({ code: "too_many_fraction_digits", text, fractionDigits: fractionDigits.length, scale });
    } else {
      // Round the signed exact value, so floor/ceiling see the sign; the sign is re-applied below.
      const exact = BigInt(integerDigits + fractionDigits);
      const signedExact = negative ? -exact : exact;
      const rounded = divideRounded(signedExact, 10n ** BigInt(surplus.length), options.rounding);
      return rangeChecked(rounded, text);
    }
  }
  return rangeChecked(negative ? -magnitude : magnitude, text);
}

const DIGIT_0 = 0x30;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;

/**
 * The common case of {@link parseDecimalScaled} read character by character: the accepted shape
 * whose value in `10^-scale` units has at most 15 digits (exact in a double), with any fraction
 * digits beyond `scale` all zero. Anything else — a bad shape, surplus non-zero digits, a larger
 * value — is undefined, and the general path (pattern, BigInt, errors, rounding) decides it. A bill
 * of a million rows parses eight amounts a row; the pattern, its capture strings and the BigInt
 * of a concatenation were a fifth of the parse.
 */
function plainScaled(text: string, scale: number): bigint | undefined {
  const length = text.length;
  let at = 0;
  const first = text.charCodeAt(0);
  const negative = first === MINUS;
  if (negative || first === PLUS) at = 1;
  let value = 0;
  const integerStart = at;
  for (; at < length; at++) {
    const digit = text.charCodeAt(at) - DIGIT_0;
    if (digit < 0 || digit > 9) break;
    value = value * 10 + digit;
  }
  if (at === integerStart) return undefined;
  let fractionDigits = 0;
  if (at < length) {
    if (text.charCodeAt(at) !== DOT) return undefined;
    for (at++; at < length; at++) {
      const digit = text.charCodeAt(at) - DIGIT_0;
      if (digit < 0 || digit > 9) return undefined;
      if (fractionDigits < scale) value = value * 10 + digit;
      else if (digit !== 0) return undefined;
      fractionDigits++;
    }
    if (fractionDigits === 0) return undefined;
  }
  for (let k = Math.min(fractionDigits, scale); k < scale; k++) value *= 10;
  // Every step only grows the value, so one that ever left the exact range ends outside it too.
  if (value > MAX_EXACT_SCALED) return undefined;
  return BigInt(negative ? -value : value);
}

/** 15 digits: below 2^53, so every step of {@link plainScaled} is exact. */
const MAX_EXACT_SCALED = 999_999_999_999_999;

function rangeChecked(value: bigint, text: string): Result<bigint, DecimalError> {
  // `-0` does not exist for bigint, so "-0.00" comes out as 0n without special handling.
  return isInt64(value) ? ok(value) : err({ code: "out_of_int64_range", text });
}

/**
 * Parses an amount written in major units ("1299.02" CNY) into exact minor units (129902n fen).
 * This is how every bill cell, callback field and API string becomes Money; it never goes
 * through a float. Surplus zero digits ("7.79000") are accepted; surplus non-zero digits need
 * `options.rounding`.
 */
export function parseDecimal(
  text: string,
  currency: CurrencyCode,
  options: ParseDecimalOptions = {},
): Result<Money, DecimalError> {
  const parsed = parseDecimalScaled(text, minorUnitDigits(currency), options);
  return parsed.ok ? ok({ amountMinor: parsed.value, currency }) : parsed;
}

/**
 * Writes an integer count of `10^-scale` units as decimal text with exactly `scale` fraction
 * digits: `(779000n, 5)` → "7.79000", `(-1n, 2)` → "-0.01". The inverse of
 * {@link parseDecimalScaled} for canonical text.
 */
export function formatDecimalScaled(value: bigint, scale: number): string {
  if (!Number.isSafeInteger(scale) || scale < 0) {
    throw new RangeError(`formatDecimalScaled: scale must be a non-negative integer, got ${scale}`);
  }
  const negative = value < 0n;
  const digits = (negative ? -value : value).toString().padStart(scale + 1, "0");
  const integerPart = digits.slice(0, digits.length - scale);
  const fractionPart = digits.slice(digits.length - scale);
  return `${negative ? "-" : ""}${integerPart}${scale > 0 ? `.${fractionPart}` : ""}`;
}

/**
 * Options for formatting Money. `fractionDigits` pads to a fixed width at least the currency's
 * own, for formats that demand it (WeChat's fee column has five: "7.79000").
 */
export interface FormatDecimalOptions {
  readonly fractionDigits?: number;
}

/**
 * Writes Money as canonical decimal text in major units: "1299.02", "-0.01", "0.00", JPY "1500".
 * No grouping, no currency symbol, no "+": the form bills and provider APIs expect. Asking for
 * fewer fraction digits than the currency has would lose money, so it throws.
 */
export function formatDecimal(amount: Money, options: FormatDecimalOptions = {}): string {
  const digits = minorUnitDigits(amount.currency);
  const fractionDigits = options.fractionDigits ?? digits;
  if (!Number.isSafeInteger(fractionDigits) || fractionDigits < digits) {
    throw new RangeError(
      `formatDecimal: fractionDigits must be an integer >= ${digits} for ${amount.currency}, got ${fractionDigits}`,
    );
  }
  return formatDecimalScaled(amount.amountMinor * 10n ** BigInt(fractionDigits - digits), fractionDigits);
}

import { err, ok, type Result } from "@tributary/result";
import type { UnknownCurrencyError } from "./errors.js";

/**
 * ISO 4217 minor-unit digits for the currencies we settle in. This is the only place that knows
 * that 1 CNY is 100 fen and 1 JPY has no minor unit; every conversion between "12.34" and 1234n
 * reads it. Values follow the ISO 4217 list (TWD is 2 there even though cash uses 0).
 */
const MINOR_UNIT_DIGITS = {
  AUD: 2,
  BHD: 3,
  CAD: 2,
  CHF: 2,
  CNY: 2,
  EUR: 2,
  GBP: 2,
  HKD: 2,
  JPY: 0,
  KRW: 0,
  KWD: 3,
  MOP: 2,
  MYR: 2,
  NZD: 2,
  SGD: 2,
  THB: 2,
  TWD: 2,
  USD: 2,
} as const satisfies Record<string, 0 | 2 | 3>;

/** An ISO 4217 code from our table; a literal union so an unknown code fails to compile. */
export type CurrencyCode = keyof typeof MINOR_UNIT_DIGITS;

/** Every supported currency code, for property tests, validation messages and config checks. */
export const CURRENCY_CODES: readonly CurrencyCode[] = Object.freeze(
  Object.keys(MINOR_UNIT_DIGITS).sort() as CurrencyCode[],
);

/** Narrows untrusted text (a bill cell, a proto field) to a code we know how to handle. */
export function isCurrencyCode(text: string): text is CurrencyCode {
  return Object.hasOwn(MINOR_UNIT_DIGITS, text);
}

/** Like {@link isCurrencyCode}, but as a Result that names the offending text. */
export function parseCurrencyCode(text: string): Result<CurrencyCode, UnknownCurrencyError> {
  return isCurrencyCode(text) ? ok(text) : err({ code: "unknown_currency", text });
}

/** The number of decimal places of the currency's minor unit: 2 for CNY (fen), 0 for JPY. */
export function minorUnitDigits(code: CurrencyCode): number {
  return MINOR_UNIT_DIGITS[code];
}

/**
 * @tributary/money — integer minor-unit money (bigint), the ISO 4217 table, exact decimal
 * parsing and formatting, rounding, fees and allocation. This file is the whole public surface;
 * anything not named here is internal.
 */
export { CURRENCY_CODES, isCurrencyCode, minorUnitDigits, parseCurrencyCode } from "./currency.js";
export type { CurrencyCode } from "./currency.js";

export {
  add,
  addChecked,
  compare,
  compareChecked,
  equals,
  isNegative,
  isPositive,
  isZero,
  money,
  negate,
  subtract,
  subtractChecked,
  sum,
  sumChecked,
  zero,
} from "./money.js";
export type { Money } from "./money.js";

export { formatDecimal, formatDecimalScaled, parseDecimal, parseDecimalScaled } from "./decimal.js";
export type { FormatDecimalOptions, ParseDecimalOptions } from "./decimal.js";

export { divideRounded, isRoundingMode, ROUNDING_MODES } from "./rounding.js";
export type { RoundingMode } from "./rounding.js";

export { feeFor, formatRatePercent, parseRatePpm, PPM_PER_UNIT, refundFee } from "./fee.js";
export type { FeeSchedule } from "./fee.js";

export { allocate, allocateEvenly } from "./allocate.js";

export { INT64_MAX, INT64_MIN, isInt64 } from "./int64.js";

export { CurrencyMismatchError, Int64OverflowError } from "./errors.js";
export type {
  CurrencyMismatchErrorValue,
  DecimalError,
  InvalidDecimalError,
  InvalidRateError,
  MoneyError,
  OutOfInt64RangeError,
  RateError,
  TooManyFractionDigitsError,
  UnknownCurrencyError,
} from "./errors.js";
